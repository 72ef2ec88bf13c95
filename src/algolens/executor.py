"""One executor for every sweep: run independent work items locally or on a dask cluster.

Every study that runs many independent points -- ``algolens mips --all`` (one item per task),
the Clock/Pizza sweep (one item per batched group of runs), the RNN search over seeds and the
studies to come (nuclear ensembles, recursion) -- hands its items to ``run_items`` and gets
``(item_id, result)`` pairs back as they finish. Because every run is a pure function of its
(config, seed), where it runs does not change what it returns; results merge by id.

    from algolens.executor import TaskSource, run_items

    def train_one(payload):                   # top-level (picklable), pure in its argument
        name, seed = payload
        ...
        return {"task": name, "seed": seed, ...}

    items = [(f"{name}-s{seed}", (name, seed)) for name in names for seed in seeds]
    for item_id, result in run_items(train_one, items, executor="local", jobs=2,
                                     task_sources=TaskSource.read_all(task_files),
                                     failed=lambda item_id, reason: {"status": "failed",
                                                                     "reason": reason}):
        merged[item_id] = result

Executors (``executor=``; ``parse_executor`` checks the spelling before any work starts):
  - ``"local"`` with ``jobs == 1``: in this process, in order (the caller's task registry).
  - ``"local"`` with ``jobs > 1``: a process pool with the ``spawn`` start method (or
    ``start_method=``), so workers start clean and nothing depends on ``fork``.
  - ``"dask://HOST:PORT"`` (or ``tcp://HOST:PORT``): a ``dask.distributed`` scheduler
    (``pip install algolens[dist]``; the workers need algolens installed, and an output folder
    the items write to must be on a file system every worker shares). ``jobs`` is ignored: the
    cluster's workers set the parallelism.

Contract:
  - ``fn`` is a module-level function taking one argument (the payload); payloads and results
    are picklable. Ids are strings, unique within one call.
  - A crashed item never loses the others: it becomes ``failed(item_id, reason)`` (default: a
    ``Failure``), ``reason`` being ``"ExceptionType: message"``.
  - User task files reach the workers explicitly: each ``TaskSource`` carries the file's path
    *and source text*, and every worker registers it (once per process and content) before
    running an item -- so spawn/forkserver pools and remote dask workers see the same tasks as
    the caller. A task file must be self-contained (imports of installed packages only).
  - A tqdm progress bar counts finished items (``progress=False`` to hide it).

This module is the bottom layer beside ``algolens.io``: it imports no torch and no study.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import multiprocessing as mp
import sys
import tempfile
import traceback
import uuid
from collections import Counter
from concurrent.futures.process import BrokenProcessPool
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EXECUTOR_HELP = "'local' (with --jobs N) or 'dask://HOST:PORT' (pip install algolens[dist])"


@dataclass(frozen=True)
class ExecutorSpec:
    """A parsed ``--executor`` value: ``kind`` is "local" or "dask"; ``address`` for dask."""

    kind: str
    jobs: int = 1
    address: str | None = None


def parse_executor(spec: str, jobs: int = 1) -> ExecutorSpec:
    """Check an ``--executor``/``--jobs`` pair; a bad value is a ValueError naming the fix."""
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise ValueError(f"--jobs must be an integer >= 1, got {jobs!r}; e.g. --jobs 2")
    s = str(spec).strip()
    if s == "local":
        return ExecutorSpec("local", jobs)
    for prefix in ("dask://", "tcp://"):
        if s.startswith(prefix):
            host, _, port = s[len(prefix):].rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"executor {spec!r} needs a host and a port, e.g. "
                                 "dask://127.0.0.1:8786")
            return ExecutorSpec("dask", jobs, f"tcp://{host}:{port}")
    raise ValueError(f"unknown executor {spec!r}; use {EXECUTOR_HELP}")


@dataclass(frozen=True)
class Failure:
    """The record of an item that raised (or whose worker died): ``reason`` says why."""

    reason: str


# ------------------------------------------------------------------------------ task files
@dataclass(frozen=True)
class TaskSource:
    """A user task file travelling with the work: where it came from and its source text."""

    path: str
    source: str

    @classmethod
    def read(cls, path: str | Path) -> TaskSource:
        p = Path(path)
        if not p.is_file():
            raise ValueError(f"task file {str(path)!r} does not exist; pass the path of a .py "
                             "file that calls algolens.tasks.register(...)")
        return cls(str(p.resolve()), p.read_text(encoding="utf-8"))

    @classmethod
    def read_all(cls, paths: Iterable[str | Path]) -> tuple[TaskSource, ...]:
        return tuple(cls.read(p) for p in paths)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.source.encode("utf-8")).hexdigest()

    def load(self) -> list[str]:
        """Register this file's tasks in this process (idempotent); return their names."""
        return _load_source(self)


_LOADED: dict[str, tuple[str, list[str]]] = {}     # origin path -> (sha256, names) per process


def _load_source(src: TaskSource) -> list[str]:
    """Run the task file's text once per process and content.

    If the original file is readable here with the same content (local workers), it is loaded
    from its own path, so the registry records the path the user gave. Otherwise (a remote
    worker, or the file changed since) the text is written to a content-addressed file in the
    temp folder and loaded from there; an older version of the same origin is unregistered first.
    """
    from . import tasks

    seen = _LOADED.get(src.path)
    if seen is not None and seen[0] == src.sha256:
        return seen[1]
    if seen is not None:
        for name in seen[1]:
            tasks.unregister(name)
    names = tasks.load_task_file(_local_copy(src))
    _LOADED[src.path] = (src.sha256, names)
    return names


def _local_copy(src: TaskSource) -> Path:
    """The original path if it holds the same text, else a content-addressed copy of it."""
    orig = Path(src.path)
    try:
        if orig.is_file() and orig.read_text(encoding="utf-8") == src.source:
            return orig
    except OSError:
        pass
    copy = Path(tempfile.gettempdir()) / "algolens-task-files" / src.sha256[:16] / orig.name
    if not copy.is_file():
        from .io import atomic_write_text
        atomic_write_text(copy, src.source)
    return copy


def _call(fn: Callable[[Any], Any], payload: Any, sources: tuple[TaskSource, ...]) -> Any:
    """What a worker runs: register the task files, then the item."""
    for s in sources:
        s.load()
    return fn(payload)


# ------------------------------------------------------------------------------ executors
def run_items(fn: Callable[[Any], Any], items: Iterable[tuple[str, Any]], executor: str = "local",
              jobs: int = 1, task_sources: Iterable[TaskSource] = (),
              failed: Callable[[str, str], Any] | None = None, progress: bool = True,
              desc: str = "run", unit: str = "item", start_method: str = "spawn"
              ) -> Iterator[tuple[str, Any]]:
    """Run ``fn(payload)`` for every ``(item_id, payload)``; yield ``(item_id, result)`` as each
    finishes (in completion order).

    Everything that can be checked is checked here, before the first item runs: the executor
    spelling, ``jobs``, unique ids, that dask is installed and its scheduler reachable.
    """
    spec = parse_executor(executor, jobs)
    items = list(items)
    dup = sorted(i for i, n in Counter(i for i, _ in items).items() if n > 1)
    if dup:
        raise ValueError(f"work item ids must be unique; repeated: {dup[:5]}")
    on_fail = failed or (lambda _id, reason: Failure(reason))
    sources = tuple(task_sources)
    if not items:                     # everything finished already: nothing to start or reach
        gen = (x for x in ())
    elif spec.kind == "dask":
        gen = _dask(fn, items, sources, on_fail, _dask_client(spec.address))
    elif spec.jobs == 1 or len(items) <= 1:
        gen = _in_process(fn, items, sources, on_fail)
    else:
        gen = _pool(fn, items, sources, on_fail, spec.jobs, start_method)
    return _with_bar(gen, len(items), progress, desc, unit)


def _with_bar(gen: Iterator, total: int, progress: bool, desc: str, unit: str) -> Iterator:
    from tqdm.auto import tqdm
    bar = tqdm(total=total, disable=not progress, desc=desc, unit=unit, file=sys.stderr,
               leave=False)
    try:
        for out in gen:
            bar.update(1)
            yield out
    finally:
        bar.close()
        gen.close()


def _reason(e: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(e), e)).strip()


def _in_process(fn, items, sources, on_fail) -> Iterator[tuple[str, Any]]:
    """jobs == 1: in order, in this process (task files load once per process and content)."""
    for item_id, payload in items:
        try:
            result = _call(fn, payload, sources)
        except Exception as e:  # noqa: BLE001 - one crashed item must not lose the others
            result = on_fail(item_id, _reason(e))
        yield item_id, result


def _pool(fn, items, sources, on_fail, jobs: int, start_method: str) -> Iterator[tuple[str, Any]]:
    """A process pool of fresh (spawned) workers.

    A worker that dies (segfault, out of memory, ``os._exit``) breaks the whole pool and every
    unfinished item with it; those items are then run again one at a time, each in its own
    fresh process, so only the item that kills its worker is recorded as failed.
    """
    ctx = mp.get_context(start_method)
    broken = []
    for item, result, error in _pool_round(fn, items, sources, jobs, ctx):
        if isinstance(error, BrokenProcessPool):
            broken.append(item)
        else:
            yield item[0], result if error is None else on_fail(item[0], _reason(error))
    for item in broken:
        for _, result, error in _pool_round(fn, [item], sources, 1, ctx):
            yield item[0], result if error is None else on_fail(item[0], _reason(error))


def _pool_round(fn, items, sources, jobs: int, ctx) -> Iterator[tuple[tuple, Any, Any]]:
    """One pool over ``items``; yields (item, result, None) or (item, None, the exception)."""
    pool = cf.ProcessPoolExecutor(min(jobs, len(items)), mp_context=ctx,
                                  initializer=_worker_init)
    try:
        futs = {pool.submit(_call, fn, item[1], sources): item for item in items}
        for f in cf.as_completed(futs):
            try:
                yield futs[f], f.result(), None
            except Exception as e:  # noqa: BLE001 - recorded per item, the sweep goes on
                yield futs[f], None, e
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _worker_init() -> None:
    """Each pool worker is a fresh process of ours: tune its allocator as ``cli.main`` does
    (``perf.keep_freed_memory``; small-net training allocates and frees the same sizes every
    step). Dask workers are the user's processes and are left alone."""
    from .perf import keep_freed_memory
    keep_freed_memory()


def _outcome(fut, item_id: str, on_fail) -> Any:
    try:
        return fut.result()
    except Exception as e:  # noqa: BLE001 - recorded per item, the sweep goes on
        return on_fail(item_id, _reason(e))


def _dask_client(address: str):
    """A connected dask.distributed Client, or a ValueError naming the fix."""
    try:
        from dask.distributed import Client
    except ImportError as e:
        raise ValueError("the dask executor needs dask.distributed: pip install algolens[dist] "
                         "(or use --executor local)") from e
    try:
        return Client(address, timeout="10s")
    except (OSError, TimeoutError) as e:
        raise ValueError(f"cannot reach the dask scheduler at {address} ({e}); start one with "
                         f"`dask scheduler` and `dask worker {address}`, or use --executor "
                         "local") from e


def _dask(fn, items, sources, on_fail, client) -> Iterator[tuple[str, Any]]:
    from dask.distributed import as_completed
    token = uuid.uuid4().hex[:8]          # keys unique per call: two sweeps never share a key
    try:
        futs = {client.submit(_call, fn, payload, sources, key=f"algolens-{item_id}-{token}",
                              pure=False): item_id for item_id, payload in items}
        for f in as_completed(list(futs)):
            yield futs[f], _outcome(f, futs[f], on_fail)
    finally:
        client.close()

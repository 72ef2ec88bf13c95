"""Run many modular-addition trainings through an executor; merge results by run id.

Every run is a pure function of (config, seed): its id is a hash of both
(``algolens.train.modular.run_id``), so any executor can run any subset, a crashed sweep resumes
by skipping finished run directories, and results from several machines merge by id.

Runs that share everything but α and seed are *grouped* into one ``TransformerEnsemble`` (up to
``batch`` members) so each process uses the batched trainer. Executors: ``"local"`` (a process
pool of ``jobs`` workers; in-process when jobs == 1) or ``"dask://host:port"`` (a
dask.distributed scheduler; ``pip install algolens[dist]``).
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from ..io import atomic_write_json, read_json
from ..models.transformer import TransformerConfig
from ..perf import fast_cpu
from .modular import RunResult, TrainConfig, run_id, save_run, train_ensemble

# analyse(result: RunResult, run_dir: Path | None) -> metrics dict; a top-level function (pickled)
Analyse = Callable[[RunResult, "Path | None"], dict]


@dataclass(frozen=True)
class SweepPoint:
    """One run: model config (its ``attn_rate`` is this run's α), train config and seed."""

    model: TransformerConfig
    train: TrainConfig
    seed: int

    @property
    def run_id(self) -> str:
        return run_id(self.model, self.train, self.seed)

    def group_key(self) -> str:
        """Runs with equal keys can share one ensemble (they differ only in α and seed)."""
        return run_id(replace(self.model, attn_rate=0.0), self.train, 0)


def grid(alphas: Iterable[float], seeds: Iterable[int], widths: Iterable[int] = (128,),
         base: TransformerConfig = TransformerConfig(), train: TrainConfig = TrainConfig()
         ) -> list[SweepPoint]:
    """The cartesian product α × seed × width (d_mlp = 4·width, heads kept)."""
    out = []
    for w in widths:
        heads = base.n_heads if w % base.n_heads == 0 else 1
        cfg = replace(base, d_model=int(w), d_mlp=4 * int(w), n_heads=heads)
        for a in alphas:
            for s in seeds:
                out.append(SweepPoint(replace(cfg, attn_rate=float(a)), train, int(s)))
    return out


def group_points(points: list[SweepPoint], batch: int) -> list[list[SweepPoint]]:
    """Chunks of at most ``batch`` compatible points, in input order within each group."""
    if batch < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    groups: dict[str, list[SweepPoint]] = {}
    for pt in points:
        groups.setdefault(pt.group_key(), []).append(pt)
    return [g[i:i + batch] for g in groups.values() for i in range(0, len(g), batch)]


def run_group(points: list[SweepPoint], out_root: str | None, analyse: Analyse | None = None,
              threads: int = 1) -> list[dict]:
    """Train one group as one ensemble; save each run's directory; return one summary each.

    Pure given its arguments (the executor's unit of work). Analysis failures are recorded in
    the summary (``analysis_error``), never lost silently.
    """
    first = points[0]
    with fast_cpu(threads=threads):      # the caller's thread count is back afterwards
        results = train_ensemble(first.model, [p.seed for p in points],
                                 [p.model.attn_rate for p in points], first.train,
                                 checkpoint_dirs=_dirs(points, out_root), progress=False)
    rows = []
    for r in results:
        row = r.summary()
        run_dir = None if out_root is None else Path(out_root) / r.run_id
        if analyse is not None and r.status == "ok":
            try:
                row.update(analyse(r, run_dir))
            except Exception as e:  # noqa: BLE001 - recorded per run, the sweep goes on
                row["analysis_error"] = f"{type(e).__name__}: {e}"
        if out_root is not None:
            save_run(run_dir, r, {"analysis": dict(row)})
        rows.append(row)
    return rows


def _dirs(points: list[SweepPoint], out_root: str | None) -> list[Path] | None:
    return None if out_root is None else [Path(out_root) / p.run_id for p in points]


def finished(out_root: str | Path, rid: str) -> dict | None:
    """The saved summary of run ``rid`` if its directory is complete, else None."""
    path = Path(out_root) / rid / "metrics.json"
    if not path.is_file():
        return None
    try:
        m = read_json(path)
    except ValueError:
        return None
    return m.get("analysis") or m.get("summary")


def run_sweep(points: list[SweepPoint], out_root: str | Path | None = None,
              executor: str = "local", jobs: int = 1, batch: int = 8,
              analyse: Analyse | None = None, threads: int = 1, resume: bool = True,
              progress: bool = True) -> dict[str, dict]:
    """Run every point (skipping finished ones when ``resume``); return {run_id: summary}.

    ``out_root/sweep.json`` is rewritten (atomically) after every finished group, so an
    interrupted sweep keeps what it did.
    """
    out = str(out_root) if out_root is not None else None
    merged: dict[str, dict] = {}
    todo = []
    for pt in points:
        done = finished(out, pt.run_id) if (out and resume) else None
        if done is not None:
            merged[pt.run_id] = done
        else:
            todo.append(pt)
    groups = group_points(todo, batch)
    bar = _bar(len(groups), progress)
    for rows in _execute(groups, out, analyse, threads, executor, jobs):
        for row in rows:
            merged[row["run_id"]] = row
        if out is not None:
            atomic_write_json(Path(out) / "sweep.json", {"runs": merged})
        bar.update(1)
    bar.close()
    return merged


def _execute(groups, out, analyse, threads, executor: str, jobs: int):
    """Yield each group's rows as it finishes, on the chosen executor."""
    if jobs < 1:
        raise ValueError(f"--jobs must be >= 1, got {jobs}")
    if executor.startswith(("dask://", "tcp://")):
        yield from _dask(groups, out, analyse, threads, executor)
    elif executor == "local":
        if jobs == 1:
            for g in groups:
                yield run_group(g, out, analyse, threads)
            return
        with cf.ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn")) as pool:
            futs = {pool.submit(run_group, g, out, analyse, threads): g for g in groups}
            for f in cf.as_completed(futs):
                yield _result(f, futs[f])
    else:
        raise ValueError(f"unknown executor {executor!r}; use 'local' (with --jobs N) or "
                         "'dask://host:port'")


def _dask(groups, out, analyse, threads, address: str):
    try:
        from dask.distributed import Client, as_completed
    except ImportError as e:
        raise ValueError("the dask executor needs dask.distributed: pip install algolens[dist]"
                         ) from e
    client = Client(address.replace("dask://", "tcp://"))
    try:
        futs = {client.submit(run_group, g, out, analyse, threads, pure=False): i
                for i, g in enumerate(groups)}
        for f in as_completed(list(futs)):
            yield _result(f, groups[futs[f]])
    finally:
        client.close()


def _result(fut, group: list[SweepPoint]) -> list[dict]:
    """A group's rows; a crashed group becomes one "failed" row per run (others are kept)."""
    try:
        return fut.result()
    except Exception as e:  # noqa: BLE001 - a crashed worker must not lose the others' runs
        why = "".join(traceback.format_exception_only(type(e), e)).strip()
        return [{"run_id": pt.run_id, "seed": pt.seed, "attn_rate": pt.model.attn_rate,
                 "status": "failed", "reason": why} for pt in group]


def _bar(total: int, enabled: bool):
    from tqdm.auto import tqdm
    return tqdm(total=total, disable=not enabled, unit="group", desc="sweep", leave=False)

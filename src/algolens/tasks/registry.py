"""The task registry: the 62 benchmark tasks, the recursion tasks, plus any the user registers.

Three kinds share it: sequence tasks (``SequenceTask``, one output per input step: MIPS),
sequence-to-sequence tasks (``Seq2SeqTask``, outputs of another length: successor, traversals)
and table tasks (``TableTask``, a dataset with named inputs and targets: modular addition, the
nuclear mass table). ``names()`` lists the sequence tasks (what ``mips --all`` iterates);
``names(kind="seq2seq")`` / ``names(kind="table")`` the others, ``names(None)`` all (what
``algolens tasks`` lists); ``get`` finds any; ``origin`` says where one comes from.
"""

from __future__ import annotations

import difflib
import runpy
import sys
from pathlib import Path

from .library import BENCHMARK_TASKS
from .nuclear_tasks import NUCLEAR_TABLE_TASKS
from .recursion import RECURSION_TASKS
from .seq2seq import Seq2SeqTask
from .spec import SequenceTask, TaskError
from .table import TABLE_TASKS, TableTask

AnyTask = SequenceTask | Seq2SeqTask | TableTask
KINDS = ("sequence", "seq2seq", "table")
_SHIPPED = BENCHMARK_TASKS + RECURSION_TASKS + TABLE_TASKS + NUCLEAR_TABLE_TASKS
_BENCHMARK = frozenset(t.name for t in _SHIPPED)
_REGISTRY: dict[str, AnyTask] = {t.name: t for t in _SHIPPED}
_SOURCE: dict[str, str] = {}        # user task name -> task file it came from
_LOADING: list[dict] = []           # stack of {"path": str, "names": [...]} while loading files


def kind_of(task: AnyTask) -> str:
    if isinstance(task, TableTask):
        return "table"
    return "seq2seq" if isinstance(task, Seq2SeqTask) else "sequence"


def names(kind: str | None = "sequence") -> list[str]:
    """Registered task names of one kind (None: all), benchmark tasks first in the paper's order."""
    if kind is not None and kind not in KINDS:
        raise TaskError(f"unknown task kind {kind!r}; use one of {list(KINDS)} or None")
    return [n for n, t in _REGISTRY.items() if kind is None or kind_of(t) == kind]


def origin(name: str | AnyTask) -> str:
    """Where a registered task comes from, in words: the MIPS benchmark, a shipped study's task,
    or the user task file that registered it (``algolens tasks NAME`` shows it)."""
    task = _lookup(name)
    if task.name in _SOURCE or task.name not in _BENCHMARK:
        where = _SOURCE.get(task.name)
        return f"user task from {where}" if where else "user task"
    if any(t.name == task.name for t in BENCHMARK_TASKS):
        return "benchmark (MIPS)"
    if isinstance(task, Seq2SeqTask):
        return "shipped: algolens recursion"
    if any(t.name == task.name for t in NUCLEAR_TABLE_TASKS):
        return "shipped: algolens nuclear"
    return "shipped table task"


def benchmark_names() -> list[str]:
    """The 62 MIPS benchmark task names in the paper's order."""
    return [t.name for t in BENCHMARK_TASKS]


def get(name: str | AnyTask, kind: str | None = None) -> AnyTask:
    """Look a task up by name; unknown names get a did-you-mean suggestion. With ``kind``, a task
    of the other kind is a clear error."""
    task = _lookup(name)
    if kind is not None and kind_of(task) != kind:
        where = {"seq2seq": "algolens recursion", "table": "a study that trains on tables"
                 }.get(kind_of(task), "algolens mips / train")
        raise TaskError(f"task {task.name!r} is a {kind_of(task)} task, but a {kind} task is "
                        f"needed here; use it with `{where}`")
    return task


def _lookup(name: str | AnyTask) -> AnyTask:
    if isinstance(name, (SequenceTask, Seq2SeqTask, TableTask)):
        return name
    if name in _REGISTRY:
        return _REGISTRY[name]
    lower = {n.lower(): n for n in _REGISTRY}
    if isinstance(name, str) and name.lower() in lower:
        return _REGISTRY[lower[name.lower()]]
    close = difflib.get_close_matches(str(name), list(_REGISTRY), n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise TaskError(f"unknown task {name!r}{hint or '.'} See `algolens tasks` for the list, or register "
                    "your own with algolens.tasks.register / --task-file.")


def register(task: AnyTask, replace: bool = False) -> AnyTask:
    """Validate a task (its reference runs on sampled rows) and add it to the registry.

    Re-loading the same task file replaces the tasks it registered before, so a file can be
    loaded twice in one process (tests, notebooks) without a duplicate-name error.
    """
    if not isinstance(task, (SequenceTask, Seq2SeqTask, TableTask)):
        raise TaskError(f"register() takes a SequenceTask, Seq2SeqTask or TableTask, got "
                        f"{type(task).__name__}; build one with SequenceTask(name=..., "
                        "alphabet=..., length=..., reference=...)")
    loading = _LOADING[-1] if _LOADING else None
    if task.name in _BENCHMARK and _REGISTRY[task.name] is not task:
        raise TaskError(f"{task.name!r} is a benchmark task and cannot be replaced; give your "
                        "task another name")
    same_file = loading is not None and _SOURCE.get(task.name) == loading["path"]
    if task.name in _REGISTRY and _REGISTRY[task.name] is not task and not (replace or same_file):
        where = f" (from {_SOURCE[task.name]})" if task.name in _SOURCE else ""
        raise TaskError(f"a task named {task.name!r} is already registered{where}; choose another "
                        "name or pass replace=True")
    if loading is not None:
        _check_not_twice(task.name, loading)
    task.validate()
    if loading is not None and task.name in _REGISTRY:
        loading["previous"].setdefault(task.name, _REGISTRY[task.name])
    _REGISTRY[task.name] = task
    if loading is not None:
        _SOURCE[task.name] = loading["path"]
        loading["names"].append(task.name)
    return task


def _check_not_twice(name: str, loading: dict) -> None:
    """A task file that registers one name twice would silently keep only the second."""
    line = _caller_line(loading["path"])
    first = loading.setdefault("lines", {}).get(name)
    if name in loading["names"]:
        raise TaskError(f"task file {loading['path']!r} registers {name!r} twice (line {first} "
                        f"and line {line}); rename one of them")
    loading["lines"][name] = line


def _caller_line(path: str) -> int | None:
    """The line of the task file that is calling register() right now."""
    frame = sys._getframe(1)
    while frame is not None:
        if str(Path(frame.f_code.co_filename).resolve()) == path:
            return frame.f_lineno
        frame = frame.f_back
    return None


def unregister(name: str) -> None:
    """Remove a user task (benchmark tasks cannot be removed); unknown names are ignored."""
    if name in _BENCHMARK:
        raise TaskError(f"{name!r} is a benchmark task and cannot be unregistered")
    _REGISTRY.pop(name, None)
    _SOURCE.pop(name, None)


def load_task_file(path: str | Path) -> list[str]:
    """Execute a Python file that calls ``register(...)``; return the names it registered.

    If the file fails part-way, the registry is put back as it was before the call.
    """
    p = Path(path)
    if p.is_dir():
        raise TaskError(f"task file {str(path)!r} is a directory; pass the path of a .py file "
                        "that calls algolens.tasks.register(...)")
    if not p.is_file():
        raise TaskError(f"task file {str(path)!r} does not exist; pass the path of a .py file "
                        "that calls algolens.tasks.register(...)")
    key = str(p.resolve())
    loading: dict = {"path": key, "names": [], "previous": {}}
    _LOADING.append(loading)
    try:
        _run_task_file(p)
    except BaseException:
        for n in loading["names"]:            # undo a half-loaded file
            unregister(n)
        for n, old in loading["previous"].items():
            _REGISTRY[n] = old
            _SOURCE[n] = key
        raise
    finally:
        _LOADING.pop()
    if not loading["names"]:
        raise TaskError(f"task file {str(p)!r} registered no task; call "
                        "algolens.tasks.register(SequenceTask(...)) in it")
    return list(dict.fromkeys(loading["names"]))


def _run_task_file(p: Path) -> None:
    try:
        runpy.run_path(str(p), run_name="algolens_task_file")
    except TaskError as e:
        raise TaskError(f"task file {str(p)!r}: {e}") from e
    except SyntaxError as e:
        raise TaskError(f"task file {str(p)!r} has a syntax error at line {e.lineno}: {e.msg}") from e
    except SystemExit as e:          # sys.exit()/exit() in a task file must not end the command
        raise TaskError(f"task file {str(p)!r} called sys.exit({e.code!r}) while loading; a "
                        "task file should only define and register tasks") from None
    except Exception as e:
        raise TaskError(f"task file {str(p)!r} failed while loading: {e!r}") from e

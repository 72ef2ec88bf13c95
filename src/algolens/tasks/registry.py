"""The task registry: the 62 benchmark tasks plus any the user registers."""

from __future__ import annotations

import difflib
import runpy
from pathlib import Path

from .library import BENCHMARK_TASKS
from .spec import SequenceTask, TaskError

_REGISTRY: dict[str, SequenceTask] = {t.name: t for t in BENCHMARK_TASKS}


def names() -> list[str]:
    """All registered task names, benchmark tasks first in the paper's order."""
    return list(_REGISTRY)


def benchmark_names() -> list[str]:
    """The 62 MIPS benchmark task names in the paper's order."""
    return [t.name for t in BENCHMARK_TASKS]


def get(name: str | SequenceTask) -> SequenceTask:
    """Look a task up by name; unknown names get a did-you-mean suggestion."""
    if isinstance(name, SequenceTask):
        return name
    if name in _REGISTRY:
        return _REGISTRY[name]
    lower = {n.lower(): n for n in _REGISTRY}
    if isinstance(name, str) and name.lower() in lower:
        return _REGISTRY[lower[name.lower()]]
    close = difflib.get_close_matches(str(name), list(_REGISTRY), n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise TaskError(f"unknown task {name!r}{hint} See `algolens tasks` for the list, or register "
                    "your own with algolens.tasks.register / --task-file.")


def register(task: SequenceTask, replace: bool = False) -> SequenceTask:
    """Validate a task (its reference runs on sampled rows) and add it to the registry."""
    if not isinstance(task, SequenceTask):
        raise TaskError(f"register() takes a SequenceTask, got {type(task).__name__}; build one "
                        "with SequenceTask(name=..., alphabet=..., length=..., reference=...)")
    if task.name in _REGISTRY and not replace and _REGISTRY[task.name] is not task:
        raise TaskError(f"a task named {task.name!r} is already registered; choose another name "
                        "or pass replace=True")
    task.validate()
    _REGISTRY[task.name] = task
    return task


def unregister(name: str) -> None:
    """Remove a user task (benchmark tasks cannot be removed)."""
    if name in {t.name for t in BENCHMARK_TASKS}:
        raise TaskError(f"{name!r} is a benchmark task and cannot be unregistered")
    _REGISTRY.pop(name, None)


def load_task_file(path: str | Path) -> list[str]:
    """Execute a Python file that calls ``register(...)``; return the names it added."""
    p = Path(path)
    if not p.is_file():
        raise TaskError(f"task file {str(path)!r} does not exist; pass the path of a .py file "
                        "that calls algolens.tasks.register(...)")
    before = set(_REGISTRY)
    try:
        runpy.run_path(str(p), run_name="algolens_task_file")
    except TaskError:
        raise
    except SyntaxError as e:
        raise TaskError(f"task file {str(p)!r} has a syntax error at line {e.lineno}: {e.msg}") from e
    except Exception as e:
        raise TaskError(f"task file {str(p)!r} failed while loading: {e!r}") from e
    added = [n for n in _REGISTRY if n not in before]
    if not added:
        raise TaskError(f"task file {str(p)!r} registered no task; call "
                        "algolens.tasks.register(SequenceTask(...)) in it")
    return added

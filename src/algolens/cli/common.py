"""Options and helpers shared by subcommands."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from .. import tasks
from ..tasks.spec import SequenceTask
from ..io import make_writable_dir


INTERRUPT_HINT = "algolens.interrupt_hint"      # ctx.meta key: what to do after Ctrl-C
ARGV = "algolens.argv"                          # ctx.meta key: the command's own arguments
NOT_SOLVED_EXIT = 1                             # `mips` / `train` when the task is not solved


def command_line() -> str:
    """The command as the user typed it (``algolens ...``), quoted for a shell."""
    ctx = click.get_current_context(silent=True)
    args = ctx.find_root().meta.get(ARGV, []) if ctx is not None else []
    return shlex.join(["algolens", *args])


def on_interrupt(hint: str) -> None:
    """Say what the user should run if this command is interrupted (printed after Ctrl-C)."""
    click.get_current_context().meta[INTERRUPT_HINT] = hint


def check_out(out: str | Path) -> Path:
    """Fail before any work (ValueError with the fix) unless ``out`` can be the run store: a
    writable folder (made if missing) whose index opens. ``--out`` is the store root in every
    command, so this is the one check; a corrupt index fails here too, naming ``algolens runs
    reindex``.
    """
    from ..store import RunStore
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file, not a folder; pass another --out (a folder "
                         "that does not exist yet is made)")
    try:
        make_writable_dir(out)
    except OSError as e:
        raise ValueError(f"cannot write to --out {out} ({e.strerror or e}); pass a writable "
                         "--out") from e
    RunStore(out).check_writable()
    return out


def store_at(out: str | Path):
    """The run store ``out``, checked writable before any work (``check_out``)."""
    from ..store import RunStore
    check_out(out)
    return RunStore(out)


def open_done(study: Any, run: str, out: str | Path):
    """RUN (an id, or a run folder inside the store ``out``) as a finished run of ``study``;
    a missing store, a run of another study or an unfinished run is a ValueError with the fix."""
    from ..store import RunStore, StoreError
    cli = study.name.replace("_", "-")
    if not (Path(out) / "index.db").is_file():
        hint = _store_hint(run) or ("; pass --out with the folder you trained into (see "
                                    "`algolens runs list --out FOLDER`)")
        raise ValueError(f"no run store in {str(out)!r}{hint}")
    try:
        opened = RunStore(out).open(run)
    except StoreError as e:
        raise StoreError(f"{e}{_store_hint(run)}") from None
    if opened.study != study.name:
        raise ValueError(f"run {opened.id} is a {opened.study} run, not {study.name}; use "
                         f"`algolens {opened.study.replace('_', '-')} --help` (or `algolens runs "
                         f"show {opened.id} --out {out}`)")
    if opened.status != "done":
        raise ValueError(f"run {opened.id} is {opened.status} ({opened.record.reason}); train it "
                         f"again: `algolens {cli} train ... --out {out}`")
    return opened


def _store_hint(run: str) -> str:
    """'; ... pass --out X' when RUN is a run folder laid out as X/<study>/<id>."""
    p = Path(run)
    if (p / "config.json").is_file() and (p.parent.parent / "index.db").is_file():
        return (f"; the folder {run} is a run of the store {p.parent.parent}: pass --out "
                f"{p.parent.parent}")
    return ""


def task_file_option(fn: Callable) -> Callable:
    """``--task-file PATH``: a Python file that registers extra tasks (repeatable)."""
    return click.option(
        "--task-file", "task_files", multiple=True, type=click.Path(dir_okay=False),
        help="Python file that calls algolens.tasks.register(...); its tasks become usable.",
    )(fn)


def executor_options(fn: Callable) -> Callable:
    """``--jobs N`` and ``--executor local|dask://HOST:PORT`` (checked before any work starts)."""
    from ..executor import EXECUTOR_HELP, parse_executor

    def check(ctx: click.Context, param: click.Parameter, value: str) -> str:
        try:
            parse_executor(value)
        except ValueError as e:
            raise click.BadParameter(str(e)) from None
        return value

    fn = click.option("--executor", default="local", show_default=True, callback=check,
                      help=f"Where runs execute: {EXECUTOR_HELP}.")(fn)
    return click.option("--jobs", default=1, show_default=True, type=click.IntRange(min=1),
                        help="Local worker processes (with --executor local).")(fn)


def json_option(fn: Callable) -> Callable:
    return click.option("--json", "as_json", is_flag=True,
                        help="Print one JSON object instead of text.")(fn)


def resolve_task(name: str, task_files: tuple[str, ...] = ()) -> SequenceTask:
    """Load task files (if any), then look the task up (did-you-mean on a miss)."""
    for f in task_files:
        tasks.load_task_file(f)
    return tasks.get(name)


def echo_json(obj: Any) -> None:
    from ..io import _default
    click.echo(json.dumps(obj, indent=2, sort_keys=True, default=_default))

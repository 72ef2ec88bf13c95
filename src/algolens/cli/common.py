"""Options and helpers shared by subcommands."""

from __future__ import annotations

import json
from typing import Any
from collections.abc import Callable

import click

from .. import tasks
from ..tasks.spec import SequenceTask


INTERRUPT_HINT = "algolens.interrupt_hint"      # ctx.meta key: what to do after Ctrl-C


def on_interrupt(hint: str) -> None:
    """Say what the user should run if this command is interrupted (printed after Ctrl-C)."""
    click.get_current_context().meta[INTERRUPT_HINT] = hint


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

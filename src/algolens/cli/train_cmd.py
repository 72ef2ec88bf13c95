"""``algolens train TASK``: search for the smallest RNN that solves a task."""

from __future__ import annotations

import sys

import click

from .common import (
    NOT_SOLVED_EXIT,
    check_out,
    command_line,
    echo_json,
    json_option,
    on_interrupt,
    resolve_task,
    task_file_option,
)


def register(group: click.Group) -> None:
    """Add ``train`` to the ``algolens`` group."""
    group.add_command(train)


@click.command("train")
@click.argument("task_name", metavar="TASK")
@task_file_option
@click.option("--budget-seconds", type=float, default=None,
              help="Safety cap on wall-clock seconds (default: none). The search's limits are "
                   "counted in steps, so its answer is a function of TASK and --seed; if the cap "
                   "bites, the result is marked 'budget exhausted'.")
@click.option("--out", default="runs", show_default=True, type=click.Path(file_okay=False),
              help="The run store (its root folder, holding index.db): the search is a run "
                   "OUT/train/<run-id>/.")
@click.option("--seed", type=int, default=0, show_default=True, help="Data and init seed.")
@click.option("--resume", is_flag=True,
              help="Continue the latest interrupted search of TASK, skipping tried architectures.")
@click.option("--threads", type=int, default=1, show_default=True,
              help="CPU threads for torch (small nets run fastest on one).")
@json_option
def train(task_name: str, task_files: tuple[str, ...], budget_seconds: float | None, out: str,
          seed: int, resume: bool, threads: int, as_json: bool) -> None:
    """Find the smallest RNN that is 100% correct on TASK.

    Tries linear nets first when the targets are linear up to rounding, then ReLU nets of growing
    hidden size, several seeds at once; the winner is checked on 10,000 fresh sequences.

    \b
    Examples:
      algolens train Parity_Last3
      algolens train Add_Mod_5 --seed 1 --json
      algolens train My_Task --task-file my_tasks.py

    Exit status: 0 when a network solves TASK, 1 when none does (NOT solved), 2 for bad input,
    130 when interrupted (then --resume continues the search).
    """
    from ..train.search import exhausted_reason, search

    if threads < 1:
        raise ValueError(f"--threads must be >= 1, got {threads}")
    task = resolve_task(task_name, task_files)
    check_out(out)
    again = command_line() if resume else f"{command_line()} --resume"
    on_interrupt(f"to continue the search, skipping the architectures already tried, run: {again}")
    r = search(task, budget_seconds=budget_seconds, seed=seed, out=out, resume=resume,
               progress=not as_json, threads=threads)
    if as_json:
        echo_json(r.summary())
        sys.exit(0 if r.solved else NOT_SOLVED_EXIT)
    verdict = "solved" if r.solved else "NOT solved"
    if r.budget_exhausted:
        click.echo(f"{r.task}: BUDGET EXHAUSTED after {r.seconds:.1f} s -- "
                   + exhausted_reason(r.budget_seconds).split(": ", 1)[1])
    click.echo(f"{r.task}: {verdict} by {r.config.describe()} ({r.config.encoding} inputs), "
               f"{r.parameters} parameters")
    click.echo(f"  test accuracy {r.accuracy:.4%} on 10,000 fresh sequences; {r.seconds:.1f} s; "
               f"{len(r.tried)} architecture(s) tried")
    for row in r.tried:
        click.echo(f"    {row['key']:<28} steps {row['steps']:>5}  {row['seconds']:>6.1f} s  "
                   f"val {row['val_acc']:.4f}  {row['status']}")
    if r.run_dir is not None:
        click.echo(f"  run directory: {r.run_dir}")
    if not r.solved:
        sys.exit(NOT_SOLVED_EXIT)

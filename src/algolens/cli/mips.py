"""``algolens mips``: RNN -> verified Python program, for one task or the whole benchmark."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .common import (
    NOT_SOLVED_EXIT,
    check_out,
    echo_json,
    executor_options,
    json_option,
    on_interrupt,
    resolve_task,
    task_file_option,
)


def register(group: click.Group) -> None:
    """Add this module's commands to the ``algolens`` group."""
    group.add_command(mips_cmd)


@click.command("mips")
@click.argument("task", required=False)
@task_file_option
@json_option
@click.option("--out", default="runs", show_default=True, type=click.Path(file_okay=False),
              help="The run store (its root folder, holding index.db): each task is a run "
                   "OUT/mips/<run-id>/ (program.py, result.json), its network a run OUT/train/.")
@click.option("--budget-seconds", default=None, type=float,
              help="Optional wall-clock safety cap per task search (default: none; the search's "
                   "limits are counted in steps). If it bites, the result says 'budget "
                   "exhausted'.")
@click.option("--all", "all_tasks", is_flag=True, help="Run the 62-task benchmark.")
@click.option("--tasks", "task_list", default=None, help="With --all: comma-separated subset.")
@executor_options
@click.option("--rerun", is_flag=True,
              help="With --all: run every task again, even those already finished in --out.")
@click.option("--retrain", is_flag=True,
              help="Train a new network even if --out holds one for the same task definition. "
                   "With --all: for every task of the run (62 searches, hours on a laptop; "
                   "narrow it with --tasks); tasks already retrained by the same command in "
                   "--out are skipped when it is re-run (add --rerun to retrain them again).")
@click.option("--seed", default=0, show_default=True, type=int)
def mips_cmd(task, task_files, as_json, out, budget_seconds, all_tasks, task_list, jobs, executor,
             rerun, retrain, seed):
    """Train (or reuse) an RNN for TASK, distil it into Python, verify the program.

    \b
    Examples:
      algolens mips Parity_All                # prints the program and its verification
      algolens mips Add_Mod_3 --json          # one JSON object
      algolens mips --all --jobs 2            # benchmark table (exported to runs/mips/)
      algolens mips --all --executor dask://127.0.0.1:8786   # the same on a dask cluster
      algolens sweep mips --grid task=Parity_Last3,Sum_Last3 --seeds 0-1   # any points

    A network trained earlier in --out for the same task definition (a fingerprint of its
    reference, alphabet and length) is reused; --retrain trains a new one. With --all, each
    task is a point of the one sweep: tasks already finished in --out for the same task
    definition, seed and budget are not run again (--rerun to force); --all --retrain searches
    a new network for every task (--tasks to narrow it). The table is read back
    from the store's runs and exported as --out/mips/benchmark.md and benchmark.json.

    Exit status: 0 when the task is solved (a verified program), 1 when it is not solved, 2 for
    bad input, 130 when interrupted.
    """
    from ..studies import mips

    check_out(out)
    if all_tasks:
        _run_benchmark(task, task_files, as_json, out, budget_seconds, task_list, jobs,
                       executor, rerun, seed, retrain)
        return
    if not task:
        raise click.UsageError("give a TASK name (see `algolens tasks`) or --all")
    t = resolve_task(task, task_files)
    if not retrain:
        _say_if_definition_changed(t, out)
    res = mips.run(t, budget_seconds=budget_seconds, out=out, seed=seed, progress=not as_json,
                   reuse=not retrain, write=False)
    save_error = _save(res, out, seed, budget_seconds, retrain)
    if as_json:
        echo_json({**res.to_dict(), **({"save_error": save_error} if save_error else {})})
    else:
        _print_text(res, budget_seconds)
    if save_error:
        click.echo(f"error: the result above was not saved: {save_error}; free space, fix the "
                   "permissions or pass another --out", err=True)
        sys.exit(2)
    if not res.solved:
        sys.exit(NOT_SOLVED_EXIT)


def _run_benchmark(task, task_files, as_json, out, budget_seconds, task_list, jobs, executor,
                   rerun, seed, retrain) -> None:
    """``--all``: the benchmark's points through the one sweep; the table read from the store."""
    from ..store import RunStore
    from ..studies import mips_benchmark as bench

    on_interrupt(f"re-run the same command to continue: tasks already finished in {out} are "
                 "skipped")
    names = None if task_list is None else [t.strip() for t in task_list.split(",") if t.strip()]
    for f in task_files:
        resolve_task(task or "Parity_All", (f,))
    store = RunStore(out)
    results = bench.run_all(names, jobs=jobs, budget_seconds=budget_seconds, out=store,
                            seed=seed, progress=not as_json, executor=executor,
                            task_files=task_files, resume=not rerun, retrain=retrain)
    md_path, js_path = bench.write_benchmark(
        store, [r for r in results if r.get("failed_pass") == "run"])
    if as_json:
        echo_json({"results": results, "markdown": str(md_path), "json": str(js_path)})
    else:
        click.echo(bench.benchmark_markdown(results))
        click.echo(f"\nwrote {md_path} and {js_path}", err=True)


def _save(res, out: str, seed: int, budget_seconds, retrain: bool) -> str:
    """Write the mips run; '' or why it could not be written (the result is printed anyway)."""
    from ..studies import mips
    try:
        mips.save(res, out, seed, mips.MIPSConfig(res.task, budget_seconds, retrain))
    except OSError as e:
        return f"cannot write {e.filename or Path(out) / 'mips'} ({e.strerror or e})"
    except ValueError as e:            # StoreError: the store refused the run folder
        return str(e)
    return ""


def _say_if_definition_changed(task, out: str) -> None:
    """A network trained for an older definition of this task name is not reused: say so."""
    from ..store import RunStore
    from ..train.runs import find_run
    store = RunStore(out)
    if find_run(store, task.name) is not None and \
            find_run(store, task.name, task.fingerprint()) is None:
        click.echo(f"# task {task.name!r}: its definition changed since its network in {out} was "
                   "trained; training a new network for the new definition", err=True)


def _print_text(res, budget_seconds: float | None) -> None:
    from ..train.search import exhausted_reason

    if res.program_source:
        click.echo(res.program_source)
    status = "SOLVED" if res.solved else "NOT SOLVED"
    click.echo(f"# {res.task}: {status} (form: {res.form}); network {res.network_desc}; "
               f"train {res.train_seconds:.1f}s, distil {res.distill_seconds:.1f}s", err=True)
    if res.verification:
        click.echo(f"# verification: {res.verification.summary()}", err=True)
    for p in res.passes:
        click.echo(f"#   {'ok  ' if p.ok else 'FAIL'} {p.name}: {p.reason}", err=True)
    if res.run_dir:
        click.echo(f"# wrote {res.run_dir}", err=True)
    if res.budget_exhausted and res.solved:       # (unsolved: the reason below starts with it)
        click.echo(f"# {exhausted_reason(budget_seconds)}", err=True)
    if not res.solved:
        where = f"failed pass: {res.failed_pass}" if res.failed_pass else "not solved"
        click.echo(f"# {where}: {res.reason}", err=True)
    sys.stdout.flush()

"""``algolens sweep STUDY --grid field=v1,v2 --seeds 0-4``: any study's (config, seed) points
through the one executor, finished points skipped, results merged by run id into the store."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import click

from ..studies import registry
from ..studies.registry import Study
from ..typed import to_json
from ..tasks import load_task_file
from .common import (check_out, command_line, echo_json, executor_options, json_option,
                     on_interrupt, task_file_option)


def register(group: click.Group) -> None:
    group.add_command(sweep)


@click.command("sweep")
@click.argument("study_name", metavar="STUDY")
@click.option("--preset", default=None, help="The study's named settings to start from.")
@click.option("--grid", "grids", multiple=True, metavar="FIELD=V1,V2",
              help="A config field and its values (repeat for a product of several fields).")
@click.option("--seeds", default="0", show_default=True, help="Seeds: '0-4' or '0,3,7'.")
@click.option("--threads", default=1, show_default=True, type=click.IntRange(min=1),
              help="Torch threads per run.")
@click.option("--out", default="runs", show_default=True, type=click.Path(file_okay=False),
              help="The run store (its root folder, holding index.db).")
@click.option("--export", "export", default=None, type=click.Path(dir_okay=False),
              help="Also write the table as Markdown (.md) or JSON (.json).")
@task_file_option
@executor_options
@json_option
def sweep(study_name: str, preset: str | None, grids: tuple[str, ...], seeds: str, threads: int,
          out: str, export: str | None, task_files: tuple[str, ...], executor: str, jobs: int,
          as_json: bool) -> None:
    """Run a study over a grid of settings and seeds (any study on the study contract).

    Every point is a run of the store with an id made from its config and seed, so a sweep
    run again skips what is finished and a cluster's results merge into the same index.

    \b
    Examples:
      algolens sweep sparse_parity --grid n=20,30,40 --seeds 0-2
      algolens sweep sparse_parity --grid n=20,30 --jobs 2 --export plateau.md
      algolens sweep sparse_parity --executor dask://127.0.0.1:8786 --seeds 0-9
    """
    from ..store import RunStore

    study = registry.get(study_name)
    if not study.contract:
        raise ValueError(f"study {study.name} is not on the study contract yet (no config and "
                         f"train); use its own commands (`algolens {study.name} --help`)")
    for f in task_files:                              # user tasks named in the grid
        load_task_file(f)
    points = grid_points(study, preset, grids, parse_seeds(seeds))
    if export is not None and Path(export).suffix not in (".md", ".json"):
        raise ValueError(f"--export {export}: give a .md or .json file name")
    check_out(out)
    store = RunStore(out)
    on_interrupt(f"finished points are kept in {out}; to run the rest: {command_line()}")
    rows, skipped, failed = run_sweep(study, points, store, threads=threads, executor=executor,
                                      jobs=jobs, task_files=task_files, progress=not as_json,
                                      log=None if as_json else click.echo)
    if export:
        write_export(export, study, rows)
    if as_json:
        echo_json({"study": study.name, "points": rows, "skipped": skipped})
        return
    click.echo(markdown(rows))
    if failed:
        raise click.ClickException(f"{len(failed)} point(s) failed; see the reasons above")


def run_sweep(study: Study, points: list[tuple[str, Any, int]], store, *, threads: int = 1,
              executor: str = "local", jobs: int = 1, task_files: tuple[str, ...] = (),
              progress: bool = True, log=None) -> tuple[list[dict[str, Any]], int, dict[str, str]]:
    """Run the (run id, config, seed) points that ``store`` has not finished through the one
    executor, in groups of ``study.group_key`` up to ``study.group_size``: (one row per point
    read back from the store, points skipped as finished, {run id: reason} of failed ones)."""
    from ..executor import TaskSource, run_items
    done = {r.id for r in store.list(study=study.name, status="done") if r.dir.is_dir()}
    todo_points = [(cfg, seed) for rid, cfg, seed in points if rid not in done]
    todo, members = [], {}
    for g in registry.groups(study, todo_points):
        item_id = study.run_id(*g[0]) + (f"+{len(g) - 1}" if len(g) > 1 else "")
        members[item_id] = [study.run_id(c, s) for c, s in g]
        todo.append((item_id, (study.name, [(to_json(c), s) for c, s in g], str(store.root),
                               threads)))
    if log is not None:
        log(f"{study.name}: {len(points)} points, {len(points) - len(todo_points)} finished "
            f"already, {len(todo_points)} to run in {len(todo)} group(s) ({executor}, jobs {jobs})")
    failed: dict[str, str] = {}
    for item_id, res in run_items(registry.sweep_point, todo, executor=executor, jobs=jobs,
                                  task_sources=TaskSource.read_all(task_files),
                                  failed=lambda i, reason: {"status": "failed", "reason": reason},
                                  progress=progress, desc=study.name, unit="group"):
        if isinstance(res, dict) and res.get("status") == "failed":
            failed.update({rid: res["reason"] for rid in members[item_id]})
    return table(study, store, points, failed), len(points) - len(todo_points), failed


def parse_seeds(text: str) -> list[int]:
    """'0-4' -> [0..4]; '0,3,7' -> [0, 3, 7]; a bad spelling names the fix."""
    try:
        seeds: list[int] = []
        for part in text.split(","):
            a, _, b = part.strip().partition("-")
            seeds += list(range(int(a), int(b) + 1)) if b else [int(a)]
    except ValueError:
        raise ValueError(f"--seeds {text!r}: write a range '0-4' or a list '0,3,7' of "
                         "integers >= 0") from None
    if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
        raise ValueError(f"--seeds {text!r}: give distinct integers >= 0 (e.g. '0-4')")
    return seeds


def grid_points(study: Study, preset: str | None, grids: tuple[str, ...], seeds: list[int]
                ) -> list[tuple[str, Any, int]]:
    """(run id, config, seed) for the product of the grid fields and the seeds, all validated
    before any work starts."""
    axes: list[tuple[str, list[Any]]] = []
    for g in grids:
        name, eq, values = g.partition("=")
        name = name.strip().replace("-", "_")
        if not eq or not values.strip():
            raise ValueError(f"--grid {g!r}: write FIELD=V1,V2 (e.g. n=20,30)")
        sep = ";" if ";" in values else ","
        study.make_config(preset)                      # an unknown preset fails first
        if name not in {f for f in _fields(study)}:
            raise ValueError(f"--grid {g!r}: {study.name} has no setting {name!r}; known: "
                             f"{', '.join(_fields(study))}")
        axes.append((name, [study.parse_value(name, v.strip()) for v in values.split(sep)]))
    points = []
    for combo in itertools.product(*(vals for _, vals in axes)):
        cfg = study.make_config(preset, **dict(zip([n for n, _ in axes], combo)))
        points += [(study.run_id(cfg, s), cfg, s) for s in seeds]
    return points


def _fields(study: Study) -> list[str]:
    import dataclasses
    return [f.name for f in dataclasses.fields(study.config)]


def table(study: Study, store, points, failed: dict[str, str]) -> list[dict[str, Any]]:
    """One row per point, read back from the store (a view of the index, not a side file)."""
    rows = []
    for rid, _cfg, seed in points:
        if rid in failed:
            rows.append({"run": rid, "seed": seed, "status": "failed", "reason": failed[rid]})
            continue
        run = store.open(rid)
        rows.append({"status": run.status, **study.summary_row(run, run.result)})
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    cols = list(dict.fromkeys(k for r in rows for k in r))
    fmt = lambda v: f"{v:.4g}" if isinstance(v, float) else ("" if v is None else str(v))
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(fmt(r.get(c)) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def write_export(path: str, study: Study, rows: list[dict[str, Any]]) -> None:
    from ..io import atomic_write_json, atomic_write_text
    if path.endswith(".json"):
        atomic_write_json(path, {"study": study.name, "points": rows})
    else:
        atomic_write_text(path, f"# {study.name} sweep\n\n{markdown(rows)}\n")

"""``algolens clock-pizza train|analyze|sweep`` and ``algolens grokking train|analyze``.

Both studies are on the study contract; these are their own verbs (training several α × seeds
as one batched ensemble and reading them out at once; the phase table of a sweep). The model
and schedule options are generated from the study's config dataclass (``--preset`` fills what
is not given), ``--seed``, ``--threads``, ``--json`` and ``--out`` (the run store's root) behave
as in every study's generated commands, and runs go through ``registry.run_points``.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from ..studies import registry
from ..typed import to_json
from .common import (command_line, echo_json, executor_options, json_option,
                     on_interrupt, open_done, store_at)
from .study_cmds import analyze_options

MAX_GRID = 1000          # most values one 'start:stop:step' may expand to (a typo guard)
OUT_HELP = "The run store (its root folder, holding index.db)."


def _study(name: str):
    return registry.get(name)


# ------------------------------------------------------------------------------ options
def _setting_options(name: str, skip: tuple[str, ...] = ()):
    """``--preset`` and one option per config field (defaults: the preset's values)."""
    from .study_cmds import field_option
    study = _study(name)

    def deco(fn):
        for f in reversed(dataclasses.fields(study.config)):
            if f.name not in skip:
                fn = field_option(study, f)(fn)
        return click.option("--preset", default=None, type=click.Choice(list(study.presets)),
                            help=f"Named settings (default: {study.default_preset}); explicit "
                                 "options override single values.")(fn)
    return deco


def _run_options(fn):
    fn = click.option("--quiet", is_flag=True, help="No progress bar.")(fn)
    fn = json_option(fn)
    fn = click.option("--out", default="runs", show_default=True,
                      type=click.Path(file_okay=False), help=OUT_HELP)(fn)
    return click.option("--threads", default=1, show_default=True, type=click.IntRange(min=1),
                        help="Torch threads while training (the caller's count is restored). "
                             "One is fastest for these small models on a busy machine.")(fn)


def _config(study, preset: str | None, fields: dict[str, Any]):
    """The preset's config with the options the user gave (checked before any work)."""
    return study.make_config(preset, **{k: study.parse_value(k, v) for k, v in fields.items()
                                        if v is not None})


def _as_json(study, run, result) -> dict[str, Any]:
    return {"run": run.id, "study": study.name, "seed": run.seed, "dir": str(run.dir),
            "status": run.status, "config": to_json(run.config),
            **({"trained": study.trained(result), **to_json(result)} if result is not None
               else {})}


def _saved_or_exit(res) -> None:
    """After printing: a result that could not be saved exits non-zero, saying so."""
    if getattr(res, "save_error", ""):
        click.echo(f"error: results above not saved: {res.save_error}; free space or fix the "
                   "permissions of the run folder, or copy it somewhere writable", err=True)
        raise SystemExit(2)


def _floats(spec: str) -> list[float]:
    """``"0,0.5,1"`` or ``"0:1:0.1"`` (start:stop:step, stop included) -> list of floats."""
    try:
        if ":" not in spec:
            return [float(x) for x in spec.split(",") if x.strip()]
        lo, hi, step = (float(x) for x in spec.split(":"))
    except ValueError as e:
        raise ValueError(f"cannot read {spec!r} as numbers; use '0,0.5,1' or '0:1:0.1'") from e
    if not step > 0 or not hi >= lo:
        raise ValueError(f"{spec!r}: the step must be > 0 and stop >= start "
                         "(start:stop:step, e.g. '0:1:0.1')")
    n = int(round((hi - lo) / step))
    if n + 1 > MAX_GRID:
        raise ValueError(f"{spec!r} gives {n + 1:,} values (at most {MAX_GRID}); use a larger "
                         "step, e.g. '0:1:0.1'")
    return [round(lo + i * step, 10) for i in range(n + 1)]


def _ints(spec: str) -> list[int]:
    """``"0,1,2"``, ``"0-9"`` (inclusive) -> list of ints."""
    try:
        if "-" in spec and "," not in spec:
            lo, hi = (int(x) for x in spec.split("-"))
        else:
            return [int(x) for x in spec.split(",") if x.strip()]
    except ValueError as e:
        raise ValueError(f"cannot read {spec!r} as integers; use '0,1,2' or '0-9'") from e
    if not 0 <= hi - lo < MAX_GRID:
        raise ValueError(f"{spec!r}: a range lo-hi must go up and hold at most {MAX_GRID} "
                         "values, e.g. '0-9'")
    return list(range(lo, hi + 1))


def _presets_help(name: str) -> str:
    study = _study(name)
    return "\n".join(f"  {n:<17} {c.describe()}" + (" (default)" if n == study.default_preset
                                                     else "")
                     for n, c in study.presets.items())


# ------------------------------------------------------------------------------ clock-pizza
@click.group("clock-pizza")
def clock_pizza() -> None:
    """Clock vs Pizza: which algorithm does a modular-addition transformer learn?

    \b
    Examples:
      algolens clock-pizza train --alpha 0 --alpha 1          # Pizza and Clock (p=59, d=128)
      algolens clock-pizza train --alpha 1 --preset reduced-p31-d32  # a quick look
      algolens clock-pizza analyze RUN_ID
      algolens clock-pizza sweep --preset reduced-p31-d32 --alphas 0:1:0.1 --seeds 0-9 --jobs 2
      algolens sweep clock_pizza --preset reduced-p31-d32 --grid attn_rate=0,0.5,1 --seeds 0-2
    """


@clock_pizza.command("train")
@click.option("--alpha", "alphas", multiple=True, type=float,
              help="Attention rate α (repeatable; up to 8 α × seed runs train as one "
                   "batched ensemble). [default: the preset's, 1]")
@click.option("--seed", "seeds", multiple=True, type=click.IntRange(min=0), default=(0,),
              show_default=True, help="Seed of a run (repeatable).")
@_setting_options("clock_pizza", skip=("attn_rate",))
@_run_options
def cp_train(alphas, seeds, preset, threads, out, as_json, quiet, **fields) -> None:
    """Train α × seed models into the store, measure and classify each.

    \b
    Example:
      algolens clock-pizza train --alpha 0 --alpha 1 --seed 0 --preset reduced-p31-d32
    """
    study = _study("clock_pizza")
    base = _config(study, preset, fields)
    points = [(replace(base, attn_rate=a), s) for a in (alphas or (base.attn_rate,))
              for s in dict.fromkeys(seeds)]
    store = store_at(out)
    on_interrupt(f"the unfinished runs are marked interrupted in {out}; to train them again "
                 f"run: {command_line()}")
    pairs = registry.run_points(study, points, store, threads=threads,
                                progress=not (quiet or as_json), ids=False)
    if as_json:
        echo_json([_as_json(study, run, res) for run, res in pairs])
        return
    for run, res in pairs:
        click.echo(f"{run.id}: {study.summary_line(run, res)}")
    click.echo(f"evidence: algolens clock-pizza analyze RUN_ID --out {out}; "
               f"algolens report {out}")


@clock_pizza.command("analyze")
@analyze_options("Measure a run that did not train anyway (its verdict stays withheld).")
def cp_analyze(run: str, out: str, force: bool, as_json: bool) -> None:
    """Measure a trained run: s_g, q, circularity, circles, verdict and the evidence plots.

    RUN is a run id (or its folder in the store). Writes result.json, analysis.txt and the
    plots into the run.

    \b
    Example:
      algolens clock-pizza analyze p59-d128-a1.000-1234abcd
    """
    study = _study("clock_pizza")
    opened = open_done(study, run, out)
    r = study.analyze(opened, force=force)
    if as_json:
        echo_json(_as_json(study, opened, r))
    else:
        click.echo(r.report or study.summary_line(opened, r))
        if r.verdict_halfway is not None:
            click.echo(f"half-way checkpoint: {r.verdict_halfway} "
                       f"({'settled' if r.settled else 'NOT settled: train longer'})")
        if not study.trained(r):
            click.echo(f"verdict withheld: {study.verdict_text(r)}: "
                       + (r.reason or "the measurements above describe a model that has not "
                          "learned modular addition (train longer)"))
    _saved_or_exit(r)


@clock_pizza.command("sweep")
@click.option("--alphas", default="0:1:0.1", show_default=True, help="'0,0.5,1' or 'a:b:step'.")
@click.option("--seeds", default="0-9", show_default=True, help="'0-9' or '0,3,7'.")
@click.option("--widths", default=None, help="Several d_model values, '64,128' (default: --width).")
@_setting_options("clock_pizza", skip=("attn_rate",))
@executor_options
@click.option("--batch", default=0, show_default=True, type=click.IntRange(min=0),
              help="Runs per batched ensemble (same width; any α and seed). 0: auto = 1 on "
                   "CPU (measured: at d=128 a batch is memory-bound, no faster per model), "
                   "8 on a GPU.")
@click.option("--export", default=None, type=click.Path(dir_okay=False),
              help="Also write the runs and the phase table as Markdown (.md) or JSON (.json), "
                   "with the phase diagram beside it (<name>_q.png, <name>_s_g.png).")
@_run_options
def cp_sweep(alphas, seeds, widths, preset, jobs, executor, batch, export, threads, out, as_json,
             quiet, **fields) -> None:
    """Phase diagram: α × seed × width runs through the shared sweep; Fig. 7 fractions per α.

    Every point is a run of the store with an id made from its config and seed: run again,
    finished points are skipped and the table is read back from the store. Without
    --checkpoint-every, each run keeps a half-way checkpoint (the `settled` check).

    \b
    Example (a small trial, then the full reduced diagram):
      algolens clock-pizza sweep --alphas 0:1:0.25 --seeds 0-1 --steps 3000 --batch 5
      algolens clock-pizza sweep --preset reduced-p31-d32 --alphas 0:1:0.1 --seeds 0-9 --jobs 2
    """
    from ..studies import clock_pizza as cp
    from .sweep_cmd import markdown, run_sweep
    study = _study("clock_pizza")
    points = _sweep_points(study, _config(study, preset, fields), _floats(alphas), _ints(seeds),
                           _ints(widths) if widths else None)
    if export is not None and Path(export).suffix not in (".md", ".json"):
        raise ValueError(f"--export {export}: give a .md or .json file name")
    sized = copy.copy(study)                 # --batch: this sweep's ensembles, not the study's
    sized.group_size = batch or (1 if points[0][1].device == "cpu" else 8)
    store = store_at(out)
    on_interrupt(f"finished runs are kept in {out} and skipped; to continue run: {command_line()}")
    rows, skipped, failed = run_sweep(sized, points, store, threads=threads, executor=executor,
                                      jobs=jobs, progress=not (quiet or as_json),
                                      log=None if as_json else click.echo)
    table = cp.phase_table(rows)
    if export:
        _export(export, rows, table)
    if as_json:
        echo_json({"study": study.name, "points": rows, "skipped": skipped,
                   "phase_table": table, "transition": cp.transition_alpha(rows)})
    else:
        click.echo(markdown(rows) if len(rows) <= 20 else f"{len(rows)} runs (--export or "
                   "--json for every row)")
        click.echo(cp.format_phase_table(table))
    if failed:
        raise click.ClickException(f"{len(failed)} point(s) failed: "
                                   f"{next(iter(failed.values()))}")


def _sweep_points(study, base, alphas: list[float], seeds: list[int], widths: list[int] | None
                  ) -> list[tuple[str, Any, int]]:
    """(run id, config, seed) of α × seed × width (heads kept where they divide the width)."""
    if base.checkpoint_every == 0:           # a half-way checkpoint makes `settled` possible
        base = replace(base, checkpoint_every=max(1, base.steps // 2))
    out = []
    for w in widths or [base.width]:
        shape = replace(base, width=w, heads=base.heads if w % base.heads == 0 else 1)
        for a in alphas:
            cfg = replace(shape, attn_rate=float(a))
            out += [(study.run_id(cfg, s), cfg, s) for s in seeds]
    return out


def _export(path: str, rows: list[dict], table: list[dict]) -> None:
    from ..io import atomic_write_json, atomic_write_text
    from ..studies import clock_pizza as cp
    from .sweep_cmd import markdown
    if path.endswith(".json"):
        atomic_write_json(path, {"study": "clock_pizza", "points": rows, "phase_table": table,
                                 "transition": cp.transition_alpha(rows)})
    else:
        atomic_write_text(path, f"# clock_pizza phase diagram\n\n```\n{cp.format_phase_table(table)}"
                                f"\n```\n\n{markdown(rows)}\n")
    stem = Path(path).with_suffix("")
    for y, fig in cp.phase_figures(rows).items():
        fig.savefig(f"{stem}_{y}.png", dpi=120)


clock_pizza.help = inspect.cleandoc(clock_pizza.help or "") + (
    "\n\n\b\nPresets (--preset NAME on clock-pizza train and sweep):\n"
    + _presets_help("clock_pizza"))


# ------------------------------------------------------------------------------ grokking
@click.group("grokking")
def grokking() -> None:
    """Grokking progress measures (Nanda et al.): p=113, [a, b, =], 30% train.

    \b
    Examples:
      algolens grokking train                          # Nanda's setting: 40k steps, checkpoints
      algolens grokking train --preset quick-p31-d32   # a quick look: 100% by 3000 steps
      algolens grokking analyze RUN_ID
    """


@grokking.command("train")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0),
              help="Seed of the run (data split, initialisation).")
@_setting_options("grokking")
@click.option("--no-analyze", is_flag=True, help="Only train.")
@_run_options
def gk_train(seed, preset, no_analyze, threads, out, as_json, quiet, **fields) -> None:
    """Train with checkpoints (every --checkpoint-every; 0: steps // 40), then analyse.

    \b
    Below 99% test accuracy the network has not generalised: no key frequencies or phases are
    read from it (`grokking analyze --force` computes them anyway).

    \b
    Example:
      algolens grokking train --preset quick-p31-d32   # ~3000 steps, reaches 100%
    """
    study = _study("grokking")
    config = _config(study, preset, fields)
    store = store_at(out)
    on_interrupt(f"the unfinished run is marked interrupted in {out}; to train it again run: "
                 f"{command_line()}")
    run, res = registry.run_point(study, config, seed, store, threads=threads,
                                  progress=not (quiet or as_json), analyze=not no_analyze)
    if run.status != "done":
        raise ValueError(f"training diverged (run {run.id}): "
                         f"{study.record(run).summary.reason}")
    if no_analyze:
        echo_json(_as_json(study, run, None)) if as_json else click.echo(
            f"{run.id}: {study.summary_line(run, None)}\nnext: algolens grokking analyze "
            f"{run.id} --out {out}")
        return
    _show_grokking(study, run, res, as_json)


@grokking.command("analyze")
@analyze_options("Compute the progress measures of a run that did not generalise anyway.")
def gk_analyze(run: str, out: str, force: bool, as_json: bool) -> None:
    """Progress measures and phases from a run's checkpoints (writes result.json).

    RUN is a run id (or its folder in the store).

    \b
    Example:
      algolens grokking analyze p113-d128-a1.000-1234abcd
    """
    study = _study("grokking")
    opened = open_done(study, run, out)
    _show_grokking(study, opened, study.analyze(opened, force=force), as_json)


def _show_grokking(study, run, res, as_json: bool) -> None:
    from ..studies._modular import TRAINED_ACC
    if as_json:
        echo_json(_as_json(study, run, res))
    else:
        click.echo(f"{run.id}: val_acc={res.val_acc:.4f} steps={res.steps_done} "
                   f"key frequencies={list(res.key_freqs)}")
        if res.phases is not None:
            for name in ("memorisation", "circuit_formation", "cleanup"):
                click.echo(f"  {name:<18} {getattr(res.phases, name)}")
        if not study.trained(res):
            click.echo(f"  not trained (test accuracy {res.val_acc:.2f} < {TRAINED_ACC}): "
                       + (res.reason or "the key frequencies and phases above come from a "
                          "model that has not generalised"))
    _saved_or_exit(res)


grokking.help = inspect.cleandoc(grokking.help or "") + (
    "\n\n\b\nPresets (--preset NAME on grokking train):\n" + _presets_help("grokking"))


def register(group: click.Group) -> None:
    """Add this module's commands to the ``algolens`` group."""
    group.add_command(clock_pizza)
    group.add_command(grokking)

"""``algolens clock-pizza train|analyze|sweep`` and ``algolens grokking train|analyze``."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click

from .common import (
    check_out,
    command_line,
    echo_json,
    executor_options,
    json_option,
    on_interrupt,
)

MAX_GRID = 1000          # most values one 'start:stop:step' may expand to (a typo guard)


def _floats(spec: str) -> list[float]:
    """``"0,0.5,1"`` or ``"0:1:0.1"`` (start:stop:step, stop included) -> list of floats."""
    try:
        if ":" in spec:
            lo, hi, step = (float(x) for x in spec.split(":"))
        else:
            return [float(x) for x in spec.split(",") if x.strip()]
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


def _preset_option(study: str):
    """``--preset NAME``: fills every option the user did not give (explicit flags win)."""
    from ..studies import presets

    def apply(ctx: click.Context, param: click.Parameter, value: str | None):
        if value is not None:
            try:
                pre = presets.get(value, study)
            except ValueError as e:
                raise click.BadParameter(str(e)) from None
            ctx.default_map = {**(ctx.default_map or {}), **pre.options()}
        return value

    return click.option("--preset", default=None, is_eager=True, callback=apply,
                        metavar="NAME", help=f"Named setting ({', '.join(presets.names(study))}); "
                        f"default {presets.DEFAULT[study]}. Explicit options override it.")


def _model_options(study: str):
    """The options shared by the training commands; defaults come from the study's default
    preset (``algolens.studies.presets``), ``--preset`` swaps in another."""
    from ..studies import presets
    d = presets.get(presets.DEFAULT[study]).options()

    def deco(fn):
        opts = [
            _preset_option(study),
            click.option("--p", "p", default=d["p"], show_default=True, help="Modulus."),
            click.option("--width", default=d["width"], show_default=True,
                         help="d_model (d_mlp = 4·width)."),
            click.option("--heads", default=d["heads"], show_default=True),
            click.option("--layers", default=d["layers"], show_default=True),
            click.option("--act", type=click.Choice(["relu", "gelu"]), default=d["act"],
                         show_default=True),
            click.option("--steps", default=d["steps"], show_default=True,
                         help="Full-batch steps (lower for a quick look)."),
            click.option("--lr", default=d["lr"], show_default=True),
            click.option("--wd", default=d["wd"], show_default=True, help="AdamW weight decay."),
            click.option("--frac", default=d["frac"], show_default=True,
                         help="Training fraction."),
            click.option("--eval-every", default=d["eval_every"], show_default=True,
                         help="Curve resolution (metrics cost nothing extra)."),
            click.option("--checkpoint-every", default=d["checkpoint_every"], show_default=True,
                         help="Save weights every N steps under checkpoints/ (0: none)."),
            click.option("--stop-at-100", is_flag=True,
                         help="Stop when train and val accuracy are both 100%."),
            click.option("--threads", default=1, show_default=True, type=int,
                         help="torch threads for this process. One is fastest for these small "
                              "models on a busy machine; try more on an idle many-core one."),
            click.option("--device", default="cpu", show_default=True),
            click.option("--quiet", is_flag=True, help="No progress bar."),
        ]
        for o in reversed(opts):
            fn = o(fn)
        return fn
    return deco


def _configs(kw: dict, causal: bool = False, eq_token: bool = False):
    import torch

    from ..models.transformer import TransformerConfig
    from ..train.modular import TrainConfig
    if kw["threads"] < 1:
        raise ValueError(f"--threads must be >= 1, got {kw['threads']}")
    _check_device(kw["device"])
    # process-wide switches belong here, at the command's entry, not in the library
    torch.set_num_threads(kw["threads"])
    model = TransformerConfig(p=kw["p"], d_model=kw["width"], n_heads=kw["heads"],
                              d_mlp=4 * kw["width"], n_layers=kw["layers"], act=kw["act"],
                              causal=causal, eq_token=eq_token)
    train = TrainConfig(steps=kw["steps"], lr=kw["lr"], weight_decay=kw["wd"],
                        train_frac=kw["frac"], eval_every=kw["eval_every"],
                        checkpoint_every=kw["checkpoint_every"], stop_at_100=kw["stop_at_100"],
                        device=kw["device"])
    return model, train


def _check_device(device: str) -> None:
    """A --device torch knows and this machine has, before any work (ValueError otherwise)."""
    import torch
    have = ["cpu"] + (["cuda", "cuda:N"] if torch.cuda.is_available() else []) + \
        (["mps"] if torch.backends.mps.is_available() else [])
    try:
        kind = torch.device(device).type
    except (RuntimeError, ValueError):
        kind = None
    if kind not in [h.split(":")[0] for h in have]:
        raise ValueError(f"--device {device!r} is not a device on this machine; use one of: "
                         f"{', '.join(have)}")


def _withheld(r) -> str:
    """The verdict, or why there is none (a model that never learned has no algorithm)."""
    return r.verdict if r.trained else f"not trained (accuracy {r.summary.val_acc:.2f})"


def _saved_or_exit(res) -> None:
    """After printing: a result that could not be saved exits non-zero, saying so."""
    if getattr(res, "save_error", ""):
        click.echo(f"error: results above not saved: {res.save_error}; free space or fix the "
                   "permissions of the run folder, or copy it somewhere writable", err=True)
        raise SystemExit(2)


# ------------------------------------------------------------------------------ clock-pizza
@click.group("clock-pizza")
def clock_pizza() -> None:
    """Clock vs Pizza: which algorithm does a modular-addition transformer learn?

    \b
    Examples:
      algolens clock-pizza train --alpha 0 --alpha 1          # Pizza and Clock (p=59, d=128)
      algolens clock-pizza train --alpha 1 --preset reduced-p31-d32  # a quick look
      algolens clock-pizza analyze runs/clock_pizza/<id>
      algolens clock-pizza sweep --alphas 0:1:0.1 --seeds 0-9 --jobs 2
      algolens clock-pizza sweep --preset reduced-p31-d32 --alphas 0:1:0.1 --seeds 0-9 --jobs 2
    """


@clock_pizza.command("train")
@click.option("--alpha", "alphas", multiple=True, type=float, default=(1.0,), show_default=True,
              help="Attention rate α (repeatable; all runs train as one batched ensemble).")
@click.option("--seed", "seeds", multiple=True, type=int, default=(0,), show_default=True,
              help="Seed (repeatable).")
@_model_options("clock_pizza")
@click.option("--out", default="runs/clock_pizza", show_default=True, help="Runs folder.")
@json_option
def cp_train(alphas, seeds, out, as_json, preset, **kw) -> None:
    """Train (α × seed) models, save runs/clock_pizza/<id>/, measure and classify each.

    \b
    Example:
      algolens clock-pizza train --alpha 0 --alpha 1 --seed 0
    """
    from ..studies import clock_pizza as study
    model, train = _configs(kw)
    study.check_setting(model)
    check_out(out, store_root=Path(out).parent)
    on_interrupt("the unfinished runs start over when run again (training does not resume from "
                 f"checkpoints); to train them again run: {command_line()}")
    results = study.run_batch(list(alphas), list(seeds), model, train, out, not kw["quiet"])
    if as_json:
        echo_json([r.to_dict() for r in results])
        return
    for r in results:
        s, m = r.summary, r.metrics
        click.echo(f"{r.run_dir}: α={s.attn_rate:.2f} seed={s.seed} "
                   f"val_acc={s.val_acc:.4f} steps={s.steps_done} "
                   f"({s.seconds:.0f} s for {s.n_members} model(s)) -> {_withheld(r)}")
        if "s_g" in m:
            click.echo(f"    s_g={m['s_g']:.4f} q={m['q']:.4f} circularity={m['circularity']:.4f}")
        if m.get("analysis_error"):
            click.echo(f"    {m['analysis_error']}")


@clock_pizza.command("analyze")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@json_option
def cp_analyze(run_dir, as_json) -> None:
    """Measure a trained run: s_g, q, circularity, verdict (writes analysis.json).

    \b
    Example:
      algolens clock-pizza analyze runs/clock_pizza/a1.000-d128-s0-1234abcd
    """
    from ..studies import clock_pizza as study
    r = study.analyze(run_dir)
    if as_json:
        echo_json(r.to_dict())
    else:
        click.echo(r.report or f"verdict: {r.verdict} {r.metrics}")
        if not r.trained:
            click.echo(f"verdict withheld: {_withheld(r)}; the measurements above describe a "
                       "model that has not learned modular addition (train longer)")
    _saved_or_exit(r)


@clock_pizza.command("sweep")
@click.option("--alphas", default="0:1:0.1", show_default=True, help="'0,0.5,1' or 'a:b:step'.")
@click.option("--seeds", default="0-9", show_default=True, help="'0-9' or '0,3,7'.")
@click.option("--widths", default=None, help="Several d_model values, '64,128' (default: --width).")
@_model_options("clock_pizza")
@executor_options
@click.option("--batch", default=0, show_default=True,
              help="Runs per batched ensemble (same width; any α and seed). 0: auto = 1 on "
                   "CPU (measured: at d=128 a batch is memory-bound, no faster per model), "
                   "8 on a GPU.")
@click.option("--out", default="runs/clock_pizza/sweep", show_default=True)
@json_option
def cp_sweep(alphas, seeds, widths, jobs, executor, batch, out, as_json, preset, **kw) -> None:
    """Phase diagram: α × seed × width runs, measured; Fig. 7 fractions per α bin.

    Resumable: finished run directories under --out are skipped. Each worker uses --threads
    (default 1) torch threads.

    \b
    Example (a small trial, then the full reduced diagram):
      algolens clock-pizza sweep --alphas 0:1:0.25 --seeds 0-1 --steps 3000 --batch 5
      algolens clock-pizza sweep --alphas 0:1:0.1 --seeds 0-9 --steps 8000 --jobs 2 --batch 1
    """
    on_interrupt(f"finished runs in {out} are kept and skipped; to continue run: "
                 f"{command_line()}")
    from ..studies import clock_pizza as study
    kw["threads"] = kw.get("threads") or 1
    model, train = _configs(kw)
    width_list = _ints(widths) if widths else [kw["width"]]
    alpha_list, seed_list = _floats(alphas), _ints(seeds)
    study.check_setting(model)
    check_out(out, store_root=Path(out).parent)
    batch = batch or (1 if train.device == "cpu" else 8)
    rows, table = study.phase_diagram(alpha_list, seed_list, width_list, model, train, out,
                                      executor, jobs, batch, kw["threads"], not kw["quiet"])
    if as_json:
        echo_json({"runs": rows, "phase_table": table})
        return
    n_all = sum(t["n_runs"] for t in table)
    click.echo(f"{len(rows)} runs in this sweep; the table covers all {n_all} runs in {out}")
    click.echo(study.format_phase_table(table))


def _list_presets(group: click.Group, study: str) -> None:
    """Append the study's named settings to the group's --help."""
    import inspect

    from ..studies import presets
    group.help = inspect.cleandoc(group.help or "") + (f"\n\n\b\nPresets (--preset NAME on {group.name} train"
                                       f"{' and sweep' if study == 'clock_pizza' else ''}):\n"
                                       + presets.listing(study))


_list_presets(clock_pizza, "clock_pizza")


# ------------------------------------------------------------------------------ grokking
@click.group("grokking")
def grokking() -> None:
    """Grokking progress measures (Nanda et al.): p=113, [a, b, =], 30% train.

    \b
    Examples:
      algolens grokking train                          # Nanda's setting: 40k steps, checkpoints
      algolens grokking train --preset quick-p31-d32   # a quick look: 100% by 3000 steps
      algolens grokking analyze runs/grokking/<id>
    """


@grokking.command("train")
@click.option("--seed", default=0, show_default=True)
@_model_options("grokking")
@click.option("--out", default="runs/grokking", show_default=True)
@click.option("--no-analyze", is_flag=True, help="Only train.")
@json_option
def gk_train(seed, out, no_analyze, as_json, preset, **kw) -> None:
    """Train with checkpoints (every --checkpoint-every, default steps/40), then analyse.

    \b
    Below 99% test accuracy the key frequencies and phases are marked as coming from a model
    that has not generalised.

    \b
    Example:
      algolens grokking train --preset quick-p31-d32   # ~3000 steps, reaches 100%
    """
    from ..studies import grokking as study
    model, train = _configs(kw, causal=True, eq_token=True)
    study.check_setting(model)
    check_out(out, store_root=Path(out).parent)
    on_interrupt("the unfinished run starts over when run again (training does not resume from "
                 f"checkpoints); to train it again run: {command_line()}")
    if train.checkpoint_every == 0:
        train = replace(train, checkpoint_every=max(1, train.steps // 40))
    run_dir = study.train(seed, model, train, out, not kw["quiet"])
    if no_analyze:
        click.echo(str(run_dir)) if not as_json else echo_json({"run_dir": str(run_dir)})
        return
    _show_grokking(study.analyze(run_dir), as_json)


@grokking.command("analyze")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@json_option
def gk_analyze(run_dir, as_json) -> None:
    """Progress measures and phases from a run's checkpoints (writes progress.json).

    \b
    Example:
      algolens grokking analyze runs/grokking/a1.000-d128-s0-1234abcd
    """
    from ..studies import grokking as study
    _show_grokking(study.analyze(run_dir), as_json)


def _show_grokking(res, as_json: bool) -> None:
    if as_json:
        echo_json(res.to_dict())
    elif res.error:
        click.echo(f"{res.run_dir}: {res.error}")
    else:
        s = res.summary
        click.echo(f"{res.run_dir}: val_acc={s.val_acc:.4f} "
                   f"steps={s.steps_done} key frequencies={list(res.key_freqs)}")
        for name in ("memorisation", "circuit_formation", "cleanup"):
            click.echo(f"  {name:<18} {res.phases.get(name)}")
        if not res.trained:
            click.echo(f"  not trained (test accuracy {s.val_acc:.2f} < 0.99): the key "
                       "frequencies and phases above come from a model that has not "
                       "generalised; train longer (e.g. --preset quick-p31-d32)")
    _saved_or_exit(res)


_list_presets(grokking, "grokking")


def register(group: click.Group) -> None:
    """Add this module's commands to the ``algolens`` group."""
    group.add_command(clock_pizza)
    group.add_command(grokking)

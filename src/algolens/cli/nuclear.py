"""``algolens nuclear train|analyze|predict``: the nuclear-physics lab from the command line.

``train`` and ``analyze`` are the study's contract (``studies.nuclear.STUDY``) with the option
names this command always had; ``predict`` is the study's own verb. ``--out`` is the run store's
root everywhere; a RUN is its id (or its folder inside that store).
"""

from __future__ import annotations

from pathlib import Path

import click

from .common import (check_out, command_line, echo_json, json_option, on_interrupt, open_done)

OUT_HELP = "The run store (its root folder, holding index.db)."


def _out_option(fn):
    return click.option("--out", default="runs", show_default=True,
                        type=click.Path(file_okay=False), help=OUT_HELP)(fn)


@click.group()
def nuclear() -> None:
    """A model of the AME2020 mass table and the physics read out of it.

    \b
    Examples:
      algolens nuclear train --seed 0             # ~minutes on a laptop core
      algolens nuclear analyze RUN_ID             # RUN_ID as train printed it
      algolens nuclear predict RUN_ID --output pred.csv
      algolens sweep nuclear --seeds 0-2          # three held-out splits, one executor
    """


@nuclear.command()
@click.option("--seed", "split_seed", default=0, show_default=True, type=click.IntRange(min=0),
              help="Seed of the run: which 10% of the measured nuclides are held out.")
@click.option("--model-seed", default=None, type=click.IntRange(min=0),
              help="Seed of the model init (default: the preset's, 0).")
@click.option("--discovery", is_flag=True, help="Train on AME2016-measured nuclides, test on new ones.")
@click.option("--steps", default=None, type=int, help="Full-batch steps (default: the preset).")
@click.option("--members", default=None, type=int, help="Ensemble size (one batched computation).")
@click.option("--gk-weight", default=None, type=float, help="Weight of the Garvey–Kelson prior.")
@click.option("--tasks", default=None, help="Comma-separated tasks, first 'binding' (e.g. binding,Sn,Sp; "
              "also S2n, S2p, Qa, Qbm, and D2n, D2p: odd-even staggering).")
@click.option("--width", default=None, type=int, help="d_model.")
@click.option("--embed", default=None, type=int, help="d_embed: width of each of the Z and N embeddings.")
@click.option("--weight-decay", default=None, type=float, help="AdamW weight decay.")
@click.option("--embed-weight-decay", default=None, type=float,
              help="AdamW weight decay of the Z and N embedding tables alone (default: --weight-decay).")
@click.option("--aux-weight", default=None, type=float, help="Loss weight of the non-binding heads.")
@click.option(
    "--preset",
    type=click.Choice(["accuracy", "paper-embeddings", "paper-pairing", "demo"]),
    default="accuracy",
    show_default=True,
    help="accuracy: SEMF+shell baseline + physics inputs (the benchmark); paper-embeddings: "
    "embeddings only, learns all of B (as B/A) + Sn, Sp heads — the interpretable model; "
    "paper-pairing: paper-embeddings + odd-even staggering heads D2n, D2p (parity in one PC); "
    "demo: accuracy with one member and 400 steps (what `algolens demo` trains).",
)
@click.option("--lr", default=None, type=float, help="Peak learning rate (one-cycle schedule).")
@click.option(
    "--baseline",
    type=click.Choice(["semf+shell", "semf", "none"]),
    default=None,
    help="What the network corrects (none: it learns all of B, as in the paper).",
)
@click.option("--no-physics", is_flag=True, help="Embeddings only, no physics-aware inputs (the paper).")
@_out_option
@click.option("--threads", default=1, show_default=True, type=click.IntRange(min=1),
              help="torch threads while training (more than 1 may change the result from run to "
                   "run).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@json_option
def train(split_seed, model_seed, discovery, steps, members, gk_weight, tasks, width, embed,
          weight_decay, embed_weight_decay, aux_weight, preset, lr, baseline, no_physics, out,
          threads, quiet, as_json) -> None:
    """Train the embedding MLP on AME2020 and store the run.

    \b
    Examples:
      algolens nuclear train --seed 2 --json           # the accuracy preset, split 2
      algolens nuclear train --preset paper-pairing    # the interpretable model
    """
    from ..store import RunStore
    from ..studies.nuclear import STUDY, learned
    from ..studies.registry import run_point
    from ..typed import to_json

    over = {"model_seed": model_seed, "steps": steps, "n_members": members,
            "gk_weight": gk_weight, "d_model": width, "d_embed": embed,
            "weight_decay": weight_decay, "embed_weight_decay": embed_weight_decay,
            "aux_weight": aux_weight, "tasks": tuple(tasks.split(",")) if tasks else None,
            "baseline": baseline, "lr": lr, "physics_inputs": False if no_physics else None,
            "discovery": True if discovery else None}
    cfg = STUDY.make_config(preset, **{k: v for k, v in over.items() if v is not None})
    check_out(out)                      # a bad --out fails now, not after training
    on_interrupt(f"the run is marked interrupted in {out}; to train it again run: "
                 f"{command_line()}")
    run, _ = run_point(STUDY, cfg, split_seed, RunStore(out), threads=threads,
                       progress=not quiet, analyze=False)
    fit = STUDY.fit(run)
    res = {"run": run.id, "dir": str(run.dir), "study": STUDY.name, "seed": split_seed,
           "config": to_json(cfg), "trained": learned(fit),
           "test_rms_keV": fit.test_rms_keV,
           "test_semf_rms_keV": fit.test_semf_rms_keV,          # the run's baseline alone
           "test_semf_fit_rms_keV": fit.test_semf_fit_rms_keV,  # plain SEMF
           "train_rms_keV": fit.train_rms_keV}
    if as_json:
        echo_json(res)
        return
    click.echo(f"run {run.id} ({run.dir})\nheld-out binding RMS {fit.test_rms_keV:.0f} keV "
               f"(SEMF {fit.test_semf_fit_rms_keV:.0f} keV); train {fit.train_rms_keV:.0f} keV"
               + ("" if learned(fit) else "; not trained (not below half the SEMF error)"))
    click.echo(f"next: algolens nuclear analyze {run.id} --out {out}")


def open_run(out: str, run: str):
    """The finished nuclear run ``run`` (id or folder) of the store ``out``."""
    from ..studies.nuclear import STUDY
    return open_done(STUDY, run, out)


@nuclear.command()
@click.argument("run")
@_out_option
@click.option("--no-symbolic", is_flag=True, help="Skip symbolic regression (needs pyoperon).")
@click.option("--evaluations", default=None, type=click.IntRange(min=1),
              help="Symbolic-regression budget per PC (default: the run's, 100000).")
@click.option("--member", default=0, show_default=True, type=click.IntRange(min=0),
              help="Ensemble member to analyse.")
@click.option("--force", is_flag=True,
              help="Read out a run that did not train anyway (findings then marked so).")
@json_option
def analyze(run, out, no_symbolic, evaluations, member, force, as_json) -> None:
    """Embedding helix/parity, penultimate PCA, physics match, symbolic PCs, topography (+ plots).

    \b
    Example:
      algolens nuclear analyze RUN_ID --out runs --no-symbolic
    """
    from ..studies.nuclear import STUDY
    from ..typed import to_json

    opened = open_run(out, run)
    kw = {"symbolic": False if no_symbolic else None, "evaluations": evaluations,
          "member": member}
    for note in STUDY.analysis_plan(opened.config, **kw).notes:    # before the work
        click.echo(f"note: {note}", err=True)
    res = STUDY.analyze(opened, force=force, **kw)
    if as_json:
        echo_json({"run": opened.id, "study": STUDY.name, **to_json(res)})
        return
    if res.embedding_Z is None:
        click.echo(res.notes[0])
        return
    if res.forced:
        click.echo("NOT TRAINED: read out with --force; the numbers below describe an "
                   "untrained network")
    _echo_readout(res)
    click.echo(f"plots and result.json in {opened.dir}")


def _echo_readout(res) -> None:
    for e in (res.embedding_Z, res.embedding_N):
        click.echo(f"embedding_{e.name}: parity PC{e.parity_pc} {e.parity_accuracy:.1%}; helix "
                   f"period {e.helix_period:.1f} ({e.helix_fraction:.1%} of variance)")
    click.echo("penultimate: held-out RMS keeping k PCs (keV): "
               + " ".join(f"{v:.0f}" for v in res.penultimate.truncation_rms_keV[:9]))
    for match in (res.physics_match, res.physics_match_per_nucleon):
        for row in match.terms if match is not None else ():
            click.echo(f"  {row.term:16s} best PC{row.best_pc} |r|={row.best_abs_r:.2f} "
                       f"probe R²={row.probe_r2:.3f} (null q95 {row.null_r2_q95:.3f})")
    if res.symbolic is not None:
        for f, r2 in zip(res.symbolic.formulas, res.symbolic.r2):
            click.echo(f"  PC formula R²={r2:.4f}: {f}")


@nuclear.command()
@click.argument("run")
@_out_option
@click.option("--output", default=None, type=click.Path(dir_okay=False),
              help="CSV file to write (default: predictions.csv in the run, unless --json).")
@json_option
def predict(run, out, output, as_json) -> None:
    """The model's prediction for every AME2020 nuclide and task, with an in-training flag.

    \b
    Examples:
      algolens nuclear predict RUN_ID --output pred.csv
      algolens nuclear predict RUN_ID --json > pred.json     # prints JSON, writes no CSV
    """
    from ..io import atomic_write_text
    from ..studies.nuclear import predict as run_predict
    from ..typed import to_json

    if output is not None and not Path(output).resolve().parent.is_dir():
        raise ValueError(f"--output {output}: its folder does not exist; create it or pass "
                         "another --output")
    opened = open_run(out, run)
    rows = run_predict(opened)
    if output is not None:
        atomic_write_text(output, _csv(rows))
    elif not as_json:
        opened.write_text("predictions.csv", _csv(rows))
    if as_json:
        echo_json(to_json(rows))
        return
    path = output or opened.dir / "predictions.csv"
    click.echo(f"{len(rows)} predictions -> {path}")


def _csv(rows) -> str:
    import csv
    import dataclasses
    import io

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=[f.name for f in dataclasses.fields(rows[0])])
    w.writeheader()
    w.writerows(dataclasses.asdict(r) for r in rows)
    return buf.getvalue()


def register(group: click.Group) -> None:
    """Add ``algolens nuclear`` to the ``algolens`` group."""
    group.add_command(nuclear)

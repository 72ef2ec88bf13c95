"""``algolens nuclear train|analyze|predict``: the nuclear-physics lab from the command line."""

from __future__ import annotations

import click

from .common import echo_json, json_option


@click.group()
def nuclear() -> None:
    """A model of the AME2020 mass table and the physics read out of it.

    \b
    Examples:
      algolens nuclear train --seed 0             # ~minutes on a laptop core
      algolens nuclear analyze runs/nuclear/split0-1a2b3c4d
      algolens nuclear predict runs/nuclear/split0-1a2b3c4d --output pred.csv
    """


@nuclear.command()
@click.option("--seed", "split_seed", default=0, show_default=True, help="Seed of the 10% held-out split.")
@click.option("--model-seed", default=0, show_default=True, help="Seed of the model init.")
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
    type=click.Choice(["accuracy", "paper-embeddings", "paper-pairing"]),
    default="accuracy",
    show_default=True,
    help="accuracy: SEMF+shell baseline + physics inputs (the benchmark); paper-embeddings: "
    "embeddings only, learns all of B (as B/A) + Sn, Sp heads — the interpretable model; "
    "paper-pairing: paper-embeddings + odd-even staggering heads D2n, D2p (parity in one PC).",
)
@click.option("--lr", default=None, type=float, help="Peak learning rate (one-cycle schedule).")
@click.option(
    "--baseline",
    type=click.Choice(["semf+shell", "semf", "none"]),
    default=None,
    help="What the network corrects (none: it learns all of B, as in the paper).",
)
@click.option("--no-physics", is_flag=True, help="Embeddings only, no physics-aware inputs (the paper).")
@click.option("--out", default="runs", show_default=True, help="Run store folder.")
@click.option("--threads", default=1, show_default=True, type=click.IntRange(min=1),
              help="torch threads while training (more than 1 may change the result from run to "
                   "run).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@json_option
def train(
    split_seed,
    model_seed,
    discovery,
    steps,
    members,
    gk_weight,
    tasks,
    width,
    embed,
    weight_decay,
    embed_weight_decay,
    aux_weight,
    preset,
    lr,
    baseline,
    no_physics,
    out,
    threads,
    quiet,
    as_json,
) -> None:
    """Train the embedding MLP on AME2020 and store the run."""

    from .common import check_out
    check_out(out)                      # a bad --out fails now, not after training

    from ..studies.nuclear import load_run, train_run
    from ..train.nuclear import preset as make_preset

    over = {
        "seed": model_seed,
        "steps": steps,
        "n_members": members,
        "gk_weight": gk_weight,
        "d_model": width,
        "d_embed": embed,
        "weight_decay": weight_decay,
        "embed_weight_decay": embed_weight_decay,
        "aux_weight": aux_weight,
        "tasks": tuple(tasks.split(",")) if tasks else None,
        "baseline": baseline,
        "lr": lr,
        "physics_inputs": False if no_physics else None,
    }
    cfg = make_preset(preset, **over)
    run_dir = train_run(cfg, split_seed=split_seed, discovery=discovery, out=out, progress=not quiet,
                        threads=threads)
    m = load_run(run_dir).metrics
    res = {
        "run": str(run_dir),
        "test_rms_keV": m.get("test_rms_keV"),
        "test_semf_rms_keV": m.get("test_semf_rms_keV"),  # the run's baseline alone
        "test_semf_fit_rms_keV": m.get("test_semf_fit_rms_keV"),  # plain SEMF
        "train_rms_keV": m.get("train_rms_keV"),
    }
    if as_json:
        echo_json(res)
    else:
        click.echo(
            f"run {run_dir}\nheld-out binding RMS {res['test_rms_keV']:.0f} keV "
            f"(SEMF {res['test_semf_fit_rms_keV']:.0f} keV); train {res['train_rms_keV']:.0f} keV"
        )


@nuclear.command()
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.option("--no-symbolic", is_flag=True, help="Skip symbolic regression (needs pyoperon).")
@click.option("--evaluations", default=100_000, show_default=True, help="Symbolic-regression budget per PC.")
@click.option("--member", default=0, show_default=True, help="Ensemble member to analyse.")
@json_option
def analyze(run, no_symbolic, evaluations, member, as_json) -> None:
    """Embedding helix/parity, penultimate PCA, physics match, symbolic PCs, topography (+ plots)."""
    from ..studies.nuclear import analyze as run_analysis

    res = run_analysis(run, symbolic=not no_symbolic, symbolic_evaluations=evaluations, member=member)
    if as_json:
        echo_json(res)
        return
    for name in ("embedding_Z", "embedding_N"):
        e = res[name]
        click.echo(
            f"{name}: parity PC{e['parity_pc']} {e['parity_accuracy']:.1%}; helix period "
            f"{e['helix_period']:.1f} ({e['helix_fraction']:.1%} of variance)"
        )
    p = res["penultimate"]
    click.echo(
        "penultimate: held-out RMS keeping k PCs (keV): "
        + " ".join(f"{v:.0f}" for v in p["truncation_rms_keV"][:9])
    )
    for key in ("physics_match", "physics_match_per_nucleon"):
        for row in res.get(key, {}).get("terms", []):
            click.echo(
                f"  {row['term']:16s} best PC{row['best_pc']} |r|={row['best_abs_r']:.2f} "
                f"probe R²={row['probe_r2']:.3f} (null q95 {row['null_r2_q95']:.3f})"
            )
    for f, r2 in zip(res.get("symbolic", {}).get("formulas", []), res.get("symbolic", {}).get("r2", [])):
        click.echo(f"  PC formula R²={r2:.4f}: {f}")
    click.echo(f"plots and analysis.json in {run}")


@nuclear.command()
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--output",
    default=None,
    type=click.Path(dir_okay=False),
    help="CSV file to write (default: predictions.csv in the run folder).",
)
@json_option
def predict(run, output, as_json) -> None:
    """The model's prediction for every AME2020 nuclide and task, with an in-training flag."""
    import csv
    import io
    from pathlib import Path

    from ..io import atomic_write_text
    from ..studies.nuclear import predict as run_predict

    rows = run_predict(run)
    if as_json:
        echo_json(rows)
        return
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    path = Path(output) if output else Path(run) / "predictions.csv"
    atomic_write_text(path, buf.getvalue())
    click.echo(f"{len(rows)} predictions -> {path}")


def register(group: click.Group) -> None:
    """Add ``algolens nuclear`` to the ``algolens`` group."""
    group.add_command(nuclear)

"""``algolens recursion train|analyze|predict|remedy``: structural recursion and its shortcuts."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .common import echo_json, json_option


def _threads(n: int) -> None:
    import torch
    torch.set_num_threads(n)


def _fmt_by(scores: dict) -> str:
    items = sorted(scores["by_feature"].items(), key=lambda kv: int(kv[0]))
    return "  ".join(f"{k}:{v['exact']:.3f}({v['n']})" for k, v in items)


def register(group: click.Group) -> None:
    """Add the ``recursion`` command group to ``algolens``."""

    @group.group("recursion")
    def recursion() -> None:
        """Transformers on structurally recursive functions (successor, tree traversals):
        train, reconstruct the shortcut they learned, predict their failures.

        \b
        Examples:
          algolens recursion train Successor
          algolens recursion analyze runs/recursion/Successor-1a2b3c4d
          echo "1 1 1 0 1" | algolens recursion predict runs/recursion/Successor-1a2b3c4d
          algolens recursion remedy runs/recursion/Successor-1a2b3c4d --oversample 0.25
        """

    @recursion.command("train")
    @click.argument("task")
    @click.option("--seed", default=0, show_default=True)
    @click.option("--steps", default=None, type=int, help="Training steps (default: the task's "
                  "preset; Successor 2000 (cosine rate), Preorder 1200 (1 layer), "
                  "In-/Postorder 800).")
    @click.option("--oversample", default=None, type=float,
                  help="Fraction of rare cases per batch (long carry chains, deep trees).")
    @click.option("--n-eval", default=2000, show_default=True,
                  help="Fresh inputs per split for the final accuracy.")
    @click.option("--out", default="runs", show_default=True, type=click.Path(file_okay=False),
                  help="Run store root.")
    @click.option("--threads", default=1, show_default=True, help="torch threads.")
    @click.option("--quiet", is_flag=True, help="No progress bar.")
    @json_option
    def train_cmd(task, seed, steps, oversample, n_eval, out, threads, quiet, as_json) -> None:
        """Train a small transformer on TASK (Successor, Preorder, Inorder, Postorder or a
        registered seq2seq task) and report accuracy by split and by k / depth.

        \b
        Example:
          algolens recursion train Successor --seed 0
        """
        from .. import tasks
        from .common import check_out
        check_out(out)                  # a bad --out fails now, not after training
        from ..io import read_json
        from ..studies import recursion as study
        tasks.get(task, kind="seq2seq")          # a bad name fails before any work
        if steps is not None and steps < 1:
            raise ValueError(f"--steps must be >= 1, got {steps}")
        _threads(threads)
        run_dir = study.train_run(task, seed, out, steps, oversample, n_eval, progress=not quiet,
                                  threads=threads)
        metrics = read_json(run_dir / "metrics.json")
        if as_json:
            echo_json({"run": str(run_dir), **metrics})
            return
        click.echo(f"run: {run_dir}  ({metrics['steps']} steps, "
                   f"{metrics['train_seconds']} s)")
        for s in study.SPLITS:
            sc = metrics[s]
            click.echo(f"  {s:5s} exact {sc['exact']:.4f}  per-token {sc['per_token']:.4f}  "
                       f"by feature: {_fmt_by(sc)}")

    @recursion.command("analyze")
    @click.argument("run", type=click.Path(exists=True, file_okay=False))
    @click.option("--split", default=None, type=click.Choice(["test", "rare", "ood"]),
                  help="Inputs to reconstruct from and predict failures on (default: the "
                  "task's preset: rare for Successor and Preorder, test for In-/Postorder).")
    @click.option("--n-build", default=10000, show_default=True,
                  help="Inputs the shortcut is reconstructed from.")
    @click.option("--n-held", default=3000, show_default=True,
                  help="Held-out inputs per split (other seeds).")
    @click.option("--threads", default=1, show_default=True)
    @json_option
    def analyze_cmd(run, split, n_build, n_held, threads, as_json) -> None:
        """Reconstruct the shortcut of a trained RUN; write program.py, attention plots and
        analysis.json to the run directory; report agreement and failure prediction.

        \b
        Example:
          algolens recursion analyze runs/recursion/Successor-1a2b3c4d
        """
        from ..studies import recursion as study
        _threads(threads)
        res = study.analyze(run, n_build, n_held, split)
        if as_json:
            echo_json(res.to_dict() | {"program": str(Path(run) / "program.py")})
            return
        if res.method == "attention-vote":
            click.echo(f"{res.task}: attention-vote shortcut through {res.n_reads} layer-0 "
                       f"head(s), {res.n_rules} fitted numbers, tau {res.tau:g}; build "
                       f"agreement {res.build_agreement:.4f}")
        else:
            click.echo(f"{res.task}: shortcut with {res.n_reads} read(s) per step, "
                       f"{res.n_rules} rules; build agreement {res.build_agreement:.4f}")
        for s, fp in res.failures.items():
            click.echo(f"  {s:5s} agreement {fp['agreement']:.4f}  |F|={fp['F']} |P|={fp['P']} "
                       f"|P∩F|={fp['P_and_F']}  recall {fp['recall']:.4f}  "
                       f"precision {fp['precision']:.4f}")
        used = [a["name"] for a in res.ablations if a["used_by_shortcut"]]
        click.echo(f"  heads the shortcut reads through: {', '.join(used) or 'none'}; ablation "
                   f"prediction holds for {res.ablation_prediction_holds:.0%} of heads")
        for a in res.ablations:
            click.echo(f"    {a['name']}: used={a['used_by_shortcut']!s:5s} changed "
                       f"{a['changed']:.3f}  exact after {a['exact_after']:.3f}")
        for p in res.patching:
            click.echo(f"    patch {p['name']} values at slot j: output changed {p['changed']:.3f}"
                       f", became the patched-in label {p['to_new']:.3f}; the vote predicts "
                       f"the patched output {p['vote_agrees']:.3f} (unpatched "
                       f"{p['vote_agrees_clean']:.3f})")
        click.echo(f"  program: {Path(run) / 'program.py'}")

    @recursion.command("predict")
    @click.argument("run", type=click.Path(exists=True, file_okay=False))
    @click.argument("inputs", required=False, type=click.Path(dir_okay=False))
    @json_option
    def predict_cmd(run, inputs, as_json) -> None:
        """The model's outputs on input sequences, one per line, from INPUTS or stdin
        ("1 1 0", "1,1,0" or, for bit tasks, "110").

        \b
        Example:
          printf '1 1 0\\n1 1 1 1\\n' | algolens recursion predict runs/recursion/Successor-1a2b
        """
        from ..studies import recursion as study
        _, task, _ = study.load_run(run)
        if inputs is None:
            text = sys.stdin.read()
        else:
            if not Path(inputs).is_file():
                raise FileNotFoundError(f"input file {inputs!r} does not exist; give one input "
                                        "per line, or pipe them on stdin")
            text = Path(inputs).read_text()
        rows = study.parse_rows(text, digit_runs=max(task.input_alphabet) < 10)
        _threads(1)
        outs = study.predict(run, rows)
        truth = task.targets(rows)
        if as_json:
            echo_json([{"input": x, "output": y, "reference": t, "correct": y == t}
                       for x, y, t in zip(rows, outs, truth)])
            return
        for y, t in zip(outs, truth):
            click.echo(" ".join(map(str, y)) + ("" if y == t else "   # reference: "
                                                 + " ".join(map(str, t))))

    @recursion.command("remedy")
    @click.argument("run", type=click.Path(exists=True, file_okay=False))
    @click.option("--oversample", default=0.25, show_default=True,
                  help="Fraction of rare cases per training batch.")
    @click.option("--threads", default=1, show_default=True)
    @click.option("--quiet", is_flag=True)
    @json_option
    def remedy_cmd(run, oversample, threads, quiet, as_json) -> None:
        """Retrain RUN's model with rare cases oversampled and report which of the failures
        its shortcut predicted disappear (needs `analyze` first)."""
        from ..studies import recursion as study
        _threads(threads)
        res = study.remedy(run, oversample, progress=not quiet)
        if as_json:
            echo_json(res)
            return
        click.echo(f"remedied run: {res['run']}")
        click.echo(f"  {res['split']}: exact {res['old_exact']:.4f} -> {res['new_exact']:.4f}; "
                   f"{res['disappeared']} of {res['predicted_failures']} predicted failures "
                   "disappeared")
        for k, v in res["by_feature"].items():
            click.echo(f"    feature {k}: {v['now_right']}/{v['predicted']} now right")

"""``algolens recursion train|analyze|predict|remedy``: structural recursion and its shortcuts.

The study is on the contract (``studies.recursion.STUDY``): ``train`` takes the task as an
argument (its preset is the starting point) and every config field as an option, like the
generated commands; ``analyze`` follows the one trained rule; ``predict`` and ``remedy`` are the
study's own verbs. ``--out`` is the run store root everywhere; RUN is a run id (or its folder).
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

import click

from .common import (check_out, command_line, echo_json, json_option, on_interrupt, open_done)

OUT = click.option("--out", default="runs", show_default=True, type=click.Path(file_okay=False),
                   help="The run store (its root folder, holding index.db).")
THREADS = click.option("--threads", default=1, show_default=True, type=click.IntRange(min=1),
                       help="Torch threads (the caller's count is restored).")


def _fmt_by(scores: Any) -> str:
    items = sorted(scores.by_feature.items(), key=lambda kv: int(kv[0]))
    return "  ".join(f"{k}:{v.exact:.3f}({v.n})" for k, v in items)


def _open(run: str, out: str) -> Any:
    """The recursion run RUN of the store ``out`` (finished), or a ValueError with the fix."""
    from ..studies.recursion import STUDY
    return open_done(STUDY, run, out)


def register(group: click.Group) -> None:
    """Add the ``recursion`` command group to ``algolens``."""

    @group.group("recursion")
    def recursion() -> None:
        """Transformers on structurally recursive functions (successor, tree traversals):
        train, reconstruct the shortcut they learned, predict their failures.

        \b
        Examples:
          algolens recursion train Successor
          algolens recursion analyze Successor-1a2b3c4d
          echo "1 1 1 0 1" | algolens recursion predict Successor-1a2b3c4d
          algolens recursion remedy Successor-1a2b3c4d --oversample 0.25
          algolens sweep recursion --grid task=Successor,Preorder --seeds 0-2

        \b
        Presets (one per task; `train TASK` starts from the task's):
          Successor  2 layers, 2000 steps (cosine rate); failures on 'rare'
          Preorder   1 layer, 1200 steps; failures on 'rare' (the attention vote)
          Inorder    2 layers, 800 steps; failures on 'test'
          Postorder  2 layers, 800 steps; failures on 'test'
          demo       Successor, 1000 steps, small read-out samples
        """

    recursion.add_command(_train_command())
    recursion.add_command(analyze_cmd)
    recursion.add_command(predict_cmd)
    recursion.add_command(remedy_cmd)


# --------------------------------------------------------------------------- train
def _train_command() -> click.Command:
    from ..studies.recursion import STUDY
    from .study_cmds import common_options, field_option

    def train_cmd(task: str, preset: str | None, seed: int, threads: int, out: str,
                  as_json: bool, progress: bool, quiet: bool, **fields: Any) -> None:
        from ..studies import registry
        overrides = {k: STUDY.parse_value(k, v) for k, v in fields.items() if v is not None}
        config = STUDY.make_config(preset, task=task, **overrides)   # bad input fails first
        check_out(out)
        on_interrupt(f"the run is marked interrupted in {out}; to train it again run: "
                     f"{command_line()}")
        from ..store import RunStore
        run, _ = registry.run_point(STUDY, config, seed, RunStore(out), threads=threads,
                                    progress=progress and not quiet and not as_json,
                                    analyze=False)
        _print_training(run, config, as_json, out)

    train_cmd.__doc__ = """Train a small transformer on TASK (Successor, Preorder, Inorder,
    Postorder or a registered seq2seq task) from the task's preset, and report accuracy by
    split and by k / depth.

    \b
    Example:
      algolens recursion train Successor --seed 0
      algolens recursion train Preorder --steps 600 --json
    """
    cmd = click.argument("task")(click.command("train")(train_cmd))
    for opt in common_options(STUDY):          # options on a Command: added in this order
        cmd = opt(cmd)
    cmd = click.option("--quiet", is_flag=True, help="No progress bar.")(cmd)
    for f in dataclasses.fields(STUDY.config):
        if f.name != "task":
            cmd = field_option(STUDY, f)(cmd)
    for p in cmd.params:
        if p.name == "preset":
            p.help = ("Named settings (default: TASK's own preset; Successor's for a task "
                      "without one). The [preset default] values below are Successor's.")
    return cmd


def _print_training(run: Any, config: Any, as_json: bool, out: str) -> None:
    from ..studies.recursion import SPLITS, training
    from ..typed import to_json
    tr = training(run)
    if as_json:
        echo_json({"run": run.id, "study": run.study, "seed": run.seed, "dir": str(run.dir),
                   "status": run.status, "config": to_json(config), **to_json(tr)})
        return
    click.echo(f"run: {run.id}  ({tr.steps} steps, {tr.train_seconds} s)")
    for s in SPLITS:
        sc = getattr(tr, s)
        click.echo(f"  {s:5s} exact {sc.exact:.4f}  per-token {sc.per_token:.4f}  "
                   f"by feature: {_fmt_by(sc)}")
    click.echo(f"next: algolens recursion analyze {run.id} --out {out}")


# --------------------------------------------------------------------------- analyze
@click.command("analyze")
@click.argument("run")
@click.option("--split", default=None, type=click.Choice(["test", "rare", "ood"]),
              help="Inputs to reconstruct from and predict failures on (default: the run's "
              "config: rare for Successor and Preorder, test for In-/Postorder).")
@click.option("--n-build", default=None, type=click.IntRange(min=1),
              help="Inputs the shortcut is reconstructed from (default: the run's config, "
              "10000 in the task presets).")
@click.option("--n-held", default=None, type=click.IntRange(min=1),
              help="Held-out inputs per split, other seeds (default: the run's config, 3000).")
@click.option("--plots/--no-plots", default=None, help="Attention plots (default: the config).")
@click.option("--force", is_flag=True,
              help="Read out a run that did not train anyway (findings then marked so).")
@THREADS
@OUT
@json_option
def analyze_cmd(run: str, split: str | None, n_build: int | None, n_held: int | None,
                plots: bool | None, force: bool, threads: int, out: str, as_json: bool) -> None:
    """Reconstruct the shortcut of a trained RUN; write program.py, attention plots and
    result.json into the run; report agreement and failure prediction. A run below 95% exact
    in distribution is not trained: it is not interpreted unless --force.

    \b
    Example:
      algolens recursion analyze Successor-1a2b3c4d --out runs
    """
    from ..perf import fast_cpu
    from ..studies.recursion import STUDY
    from ..typed import to_json
    opened = _open(run, out)
    with fast_cpu(threads=threads):
        res = STUDY.analyze(opened, force=force, split=split, n_build=n_build, n_held=n_held,
                            plots=plots)
    program = opened.dir / res.shortcut.program if res.shortcut else None
    if as_json:
        echo_json({"run": opened.id, "dir": str(opened.dir), "trained": STUDY.trained(res),
                   "status": STUDY.status(res), "program": program and str(program),
                   **to_json(res)})
        return
    for line in analysis_lines(res, program):
        click.echo(line)


def analysis_lines(res: Any, program: Path | None) -> list[str]:
    """What ``recursion analyze`` prints: the verdict, then (when read out) the shortcut."""
    from ..studies.recursion import TRAINED_EXACT
    sc = res.shortcut
    if sc is None:
        return [f"{res.task}: not trained (exact {res.test_exact:.4f} in distribution; the rule "
                f"is >= {TRAINED_EXACT}): no shortcut read out; train it longer, or pass --force "
                "to read it out anyway"]
    lines = [f"{res.task}: NOT TRAINED (exact {res.test_exact:.4f} in distribution): read out "
             "anyway (--force); these findings describe a network that did not learn the "
             "task"] if res.forced else []
    if sc.method == "attention-vote":
        lines.append(f"{res.task}: attention-vote shortcut through {sc.n_reads} layer-0 "
                     f"head(s), {sc.n_rules} fitted numbers, tau {sc.tau:g}; build agreement "
                     f"{sc.build_agreement:.4f}")
    else:
        lines.append(f"{res.task}: shortcut with {sc.n_reads} read(s) per step, {sc.n_rules} "
                     f"rules; build agreement {sc.build_agreement:.4f}")
    for s, fp in sc.failures.items():
        lines.append(f"  {s:5s} agreement {fp.agreement:.4f}  |F|={fp.F} |P|={fp.P} "
                     f"|P∩F|={fp.P_and_F}  recall {fp.recall:.4f}  precision {fp.precision:.4f}")
    used = [a.name for a in sc.ablations if a.used_by_shortcut]
    lines.append(f"  heads the shortcut reads through: {', '.join(used) or 'none'}; ablation "
                 f"prediction holds for {sc.ablation_prediction_holds:.0%} of heads")
    lines += [f"    {a.name}: used={a.used_by_shortcut!s:5s} changed {a.changed:.3f}  exact "
              f"after {a.exact_after:.3f}" for a in sc.ablations]
    lines += [f"    patch {p.name} values at slot j: output changed {p.changed:.3f}, became "
              f"the patched-in label {p.to_new:.3f}; the vote predicts the patched output "
              f"{p.vote_agrees:.3f} (unpatched {p.vote_agrees_clean:.3f})" for p in sc.patching]
    lines.append(f"  program: {program}")
    return lines


# --------------------------------------------------------------------------- predict
@click.command("predict")
@click.argument("run")
@click.argument("inputs", required=False, type=click.Path(dir_okay=False))
@OUT
@json_option
def predict_cmd(run: str, inputs: str | None, out: str, as_json: bool) -> None:
    """The model's outputs on input sequences, one per line, from INPUTS or stdin
    ("1 1 0", "1,1,0" or, for bit tasks, "110"). One output line per input line: a blank
    line or a # comment gets an empty line (JSON: an entry with input null).

    \b
    Example:
      printf '1 1 0\\n1 1 1 1\\n' | algolens recursion predict Successor-1a2b3c4d
    """
    from .. import tasks
    from ..perf import fast_cpu
    from ..studies import recursion as study
    opened = _open(run, out)
    task = tasks.get(opened.config.task, kind="seq2seq")
    if inputs is None:
        text = sys.stdin.read()
    else:
        if not Path(inputs).is_file():
            raise FileNotFoundError(f"input file {inputs!r} does not exist; give one input "
                                    "per line, or pipe them on stdin")
        text = Path(inputs).read_text()
    lines = study.parse_rows(text, digit_runs=max(task.input_alphabet) < 10)
    rows = [r for r in lines if r is not None]
    with fast_cpu(threads=1):
        outs = iter(study.predict(opened, rows))
    truth = iter(task.targets(rows))
    answers = [None if r is None else (next(outs), next(truth)) for r in lines]
    if as_json:
        echo_json([{"input": x, "output": a and a[0], "reference": a and a[1],
                    "correct": a and a[0] == a[1]} for x, a in zip(lines, answers)])
        return
    for a in answers:
        click.echo("" if a is None else " ".join(map(str, a[0])) + (
            "" if a[0] == a[1] else "   # reference: " + " ".join(map(str, a[1]))))


# --------------------------------------------------------------------------- remedy
@click.command("remedy")
@click.argument("run")
@click.option("--oversample", default=0.25, show_default=True, type=click.FloatRange(0, 1),
              help="Fraction of rare cases per training batch.")
@click.option("--n-held", default=3000, show_default=True, type=click.IntRange(min=1),
              help="Held-out inputs the predicted failures are counted on.")
@THREADS
@OUT
@click.option("--quiet", is_flag=True, help="No progress bar.")
@json_option
def remedy_cmd(run: str, oversample: float, n_held: int, threads: int, out: str, quiet: bool,
               as_json: bool) -> None:
    """Retrain RUN's model with rare cases oversampled (a new run of the store, linked to RUN)
    and report which of the failures its shortcut predicted disappear (needs `analyze` first).

    \b
    Example:
      algolens recursion remedy Successor-1a2b3c4d --oversample 0.25
    """
    from ..perf import fast_cpu
    from ..studies import recursion as study
    from ..typed import to_json
    opened = _open(run, out)
    on_interrupt(f"the remedied run is marked interrupted in {out}; to train it again run: "
                 f"{command_line()}")
    with fast_cpu(threads=threads):
        res = study.remedy(opened, oversample, n_held, progress=not quiet and not as_json,
                           threads=threads)
    if as_json:
        echo_json(to_json(res))
        return
    click.echo(f"remedied run: {res.run} (parent {res.parent})")
    click.echo(f"  {res.split}: exact {res.old_exact:.4f} -> {res.new_exact:.4f}; "
               f"{res.disappeared} of {res.predicted_failures} predicted failures disappeared")
    for k, v in res.by_feature.items():
        click.echo(f"    feature {k}: {v.now_right}/{v.predicted} now right")

"""Structural-recursion targets (issue 10): train, reconstruct, predict failures, remedy.

Prints and writes benchmarks/results/recursion.md:
  * Successor: exact accuracy in distribution (target >= 99%), by k in and out of distribution,
    training steps and time (1 torch thread; wall time is measured on a shared machine);
    shortcut agreement (target >= 95%) and failure prediction recall (>= 95%) / precision
    (>= 80%) with |F| and |P| on held-out inputs; head ablations; the oversampling remedy.
  * Traversals: accuracy by depth in and out of distribution (and the shortcut, where it fits).

Every run goes through the study contract (``registry.run_point`` of the ``recursion`` study,
into the run store ``--out``) and is read back as typed results. A run below the study's trained
rule (>= 95% exact in distribution) is not interpreted unless ``--force``.

    python benchmarks/bench_recursion.py [--out runs] [--tasks Successor,Inorder] [--force]
    python benchmarks/bench_recursion.py --quick --steps 30 --results /tmp/recursion.md  # smoke
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import torch

from algolens.io import atomic_write_text
from algolens.perf import fast_cpu
from algolens.store import Run, RunStore
from algolens.studies import recursion as rec
from algolens.studies import registry
from algolens.train.seq2seq import SplitScore
from algolens.typed import to_json

RESULTS = "benchmarks/results/recursion.md"
# --quick: small samples everywhere (a smoke run: the numbers mean little)
QUICK = dict(eval_every=50, eval_n=200, n_eval=300, n_build=500, n_held=300, plots=False)
FAIL_HEAD = ["", "| split | agreement | F | P | P∩F | recall | precision |",
             "|---|---|---|---|---|---|---|"]


def _by(scores: SplitScore) -> str:
    items = sorted(scores.by_feature.items(), key=lambda kv: int(kv[0]))
    return ", ".join(f"{k}: {v.exact:.3f} ({v.n})" for k, v in items)


def _fail_row(split: str, fp: rec.Failures) -> str:
    return (f"| {split} | {fp.agreement:.4f} | {fp.F} | {fp.P} | {fp.P_and_F} | "
            f"{fp.recall:.4f} | {fp.precision:.4f} |")


def config_for(task: str, steps: int | None, quick: bool) -> rec.RecursionConfig:
    """The task's preset (``make_config(task=...)``), with the smoke settings if asked."""
    overrides: dict[str, Any] = dict(QUICK) if quick else {}
    if steps is not None:
        overrides["steps"] = steps
    return rec.STUDY.make_config(task=task, **overrides)


def bench_task(task: str, store: RunStore, *, steps: int | None = None, quick: bool = False,
               remedy: bool = True, pointer: bool = False, force: bool = False) -> list[str]:
    t0 = time.perf_counter()
    study = registry.get(rec.STUDY_NAME)
    config = config_for(task, steps, quick)
    run, res = registry.run_point(study, config, 0, store, progress=False)
    if force and res.shortcut is None:
        with fast_cpu(threads=1):
            res = study.analyze(run, force=True)
    tr = rec.training(run)
    feat = "k" if task == "Successor" else "depth"
    lines = [f"## {task}", "", f"run `{store.root / run.study / run.id}`: {tr.steps} steps, "
             f"{tr.train_seconds} s training (1 thread, measured under load)", ""]
    for s in rec.SPLITS:
        sc = getattr(tr, s)
        lines.append(f"- **{s}**: exact {sc.exact:.4f}, per-token {sc.per_token:.4f}; "
                     f"by {feat}: {_by(sc)}")
    lines += _shortcut_lines(study, res)
    if res.shortcut is not None and pointer and task == "Preorder":
        lines += _pointer_lines(run, force, config if quick else None)
    if res.shortcut is not None and remedy and not res.forced:
        lines += _remedy_lines(run, feat, config)
    lines += ["", f"total {time.perf_counter() - t0:.0f} s", ""]
    return lines


def _shortcut_lines(study: rec.Recursion, res: rec.RecursionResult) -> list[str]:
    a = res.shortcut
    if a is None:
        return ["", f"{study.status(res)}: exact {res.test_exact:.4f} in distribution, the rule "
                f"is >= {rec.TRAINED_EXACT}; no shortcut read out (pass --force to read it out "
                "anyway)"]
    what = (f"attention vote through {a.n_reads} layer-0 head(s), {a.n_rules} fitted numbers, "
            f"tau {a.tau:g}" if a.method == "attention-vote" else
            f"{a.n_reads} read(s) per step, {a.n_rules} rules")
    lines = [""] + ([f"**NOT trained** (exact {res.test_exact:.4f} in distribution): read out "
                     "anyway (--force); these findings describe a network that did not learn "
                     "the task", ""] if res.forced else [])
    lines += [f"shortcut: {what}, build agreement {a.build_agreement:.4f} (built on the "
              f"{a.split!r} split, seed {rec.BUILD_SEED}; held-out seed {rec.HELD_SEED})"]
    if a.build_failures:
        b = a.build_failures
        lines += ["", f"build inputs at the chosen tau: F {b.F}, P {b.P}, P∩F {b.P_and_F}, "
                  f"recall {b.recall:.4f}, precision {b.precision:.4f}"]
    lines += FAIL_HEAD + [_fail_row(s, fp) for s, fp in a.failures.items()]
    lines += ["", "head ablations (zeroed hook_z; changed = fraction of outputs that change):", ""]
    lines += [f"- {x.name}: used by shortcut {x.used_by_shortcut}, changed {x.changed:.3f}, "
              f"exact after {x.exact_after:.3f}" for x in a.ablations]
    if a.patching:
        lines += ["", "value patching (layer-0 values at slot j's label replaced by another "
                  "label's, one random step per held-out row):", ""]
        lines += [f"- {p.name}: output changed {p.changed:.3f}, became the patched-in label "
                  f"{p.to_new:.3f}; the vote predicts the patched output {p.vote_agrees:.3f} "
                  f"(unpatched steps {p.vote_agrees_clean:.3f})" for p in a.patching]
    return lines


def _pointer_lines(run: Run, force: bool, quick: rec.RecursionConfig | None) -> list[str]:
    """The pointer read-out (6000 build / 3000 held-out inputs; ``quick``: its sizes)."""
    n_build, n_held = (quick.n_build, quick.n_held) if quick else (6000, 3000)
    with fast_cpu(threads=1):
        p = rec.analyze_pointer(run, n_build=n_build, n_held=n_held, force=force)
    b = p.build
    lines = ["", f"pointer shortcut (layer-0 attention over label slots, read agreement "
             f"{p.read_agreement:.4f}; skip tree {p.tree_leaves} leaves from {p.n_steps} build "
             f"steps, {p.n_skips} slips; threshold {p.threshold} chosen on build: recall "
             f"{b.recall:.4f} precision {b.precision:.4f}):"]
    return lines + FAIL_HEAD + [_fail_row(s, fp) for s, fp in p.failures.items()]


def _remedy_lines(run: Run, feat: str, config: rec.RecursionConfig) -> list[str]:
    r = rec.remedy(run, oversample=0.25, n_held=min(config.n_held, 3000), progress=False)
    return ["", f"remedy (oversample 0.25, run `{r.run}`): exact on {r.split!r} "
            f"{r.old_exact:.4f} -> {r.new_exact:.4f}; {r.disappeared} of "
            f"{r.predicted_failures} predicted failures disappeared; by {feat}: "
            + json.dumps(to_json(r.by_feature))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="runs", help="run store root (runs/ is git-ignored)")
    ap.add_argument("--tasks", default="Successor,Inorder")
    ap.add_argument("--no-remedy", action="store_true")
    ap.add_argument("--pointer", action="store_true",
                    help="Preorder: also the older pointer + skip-tree shortcut (for comparison)")
    ap.add_argument("--force", action="store_true",
                    help="read out runs below the trained rule anyway (findings marked so)")
    ap.add_argument("--steps", type=int, default=None, help="override the presets' steps")
    ap.add_argument("--quick", action="store_true",
                    help="small evaluation and read-out samples, no plots (a smoke run)")
    ap.add_argument("--results", default=None,
                    help=f"Markdown file to write (default {RESULTS}; with --steps or --quick "
                    "nothing is written unless given)")
    args = ap.parse_args()
    results = args.results or (None if args.quick or args.steps is not None else RESULTS)
    torch.set_num_threads(1)
    store = RunStore(args.out)
    for task in args.tasks.split(","):          # bad task names fail before any training
        config_for(task, args.steps, args.quick)
    command = shlex.join(["python", "benchmarks/bench_recursion.py", *sys.argv[1:]])
    lines = ["# Structural recursion (issue 10)", "",
             f"Command: `{command}` (seed 0, 1 torch thread).", ""]
    for task in args.tasks.split(","):
        part = bench_task(task, store, steps=args.steps, quick=args.quick,
                          remedy=task == "Successor" and not args.no_remedy,
                          pointer=args.pointer, force=args.force)
        print("\n".join(part), flush=True)
        lines += part
    if results:
        Path(results).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(results, "\n".join(lines) + "\n")
        print(f"wrote {results}")


if __name__ == "__main__":
    main()

"""Structural-recursion targets (issue 10): train, reconstruct, predict failures, remedy.

Prints and writes benchmarks/results/recursion.md:
  * Successor: exact accuracy in distribution (target >= 99%), by k in and out of distribution,
    training steps and time (1 torch thread; wall time is measured on a shared machine);
    shortcut agreement (target >= 95%) and failure prediction recall (>= 95%) / precision
    (>= 80%) with |F| and |P| on held-out inputs; head ablations; the oversampling remedy.
  * Traversals: accuracy by depth in and out of distribution (and the shortcut, where it fits).

    python benchmarks/bench_recursion.py [--out runs] [--tasks Successor,Inorder]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from algolens.io import read_json
from algolens.studies import recursion as study


def _by(scores: dict) -> str:
    items = sorted(scores["by_feature"].items(), key=lambda kv: int(kv[0]))
    return ", ".join(f"{k}: {v['exact']:.3f} ({v['n']})" for k, v in items)


def bench_task(task: str, out: str, remedy: bool, pointer: bool = False) -> list[str]:
    t0 = time.perf_counter()
    run_dir = study.train_run(task, seed=0, out=out, progress=False)
    m = read_json(run_dir / "metrics.json")
    feat = "k" if task == "Successor" else "depth"
    lines = [f"## {task}", "", f"run `{run_dir}`: {m['steps']} steps, {m['train_seconds']} s "
             "training (1 thread, measured under load)", ""]
    for s in study.SPLITS:
        sc = m[s]
        lines.append(f"- **{s}**: exact {sc['exact']:.4f}, per-token {sc['per_token']:.4f}; "
                     f"by {feat}: {_by(sc)}")
    a = study.analyze(run_dir)
    what = (f"attention vote through {a.n_reads} layer-0 head(s), {a.n_rules} fitted numbers, "
            f"tau {a.tau:g}" if a.method == "attention-vote" else
            f"{a.n_reads} read(s) per step, {a.n_rules} rules")
    lines += ["", f"shortcut: {what}, build agreement {a.build_agreement:.4f} (built on the "
              f"{a.split!r} split, seed {study.BUILD_SEED}; held-out seed {study.HELD_SEED})"]
    if a.build_failures:
        b = a.build_failures
        lines += ["", f"build inputs at the chosen tau: F {b['F']}, P {b['P']}, P∩F "
                  f"{b['P_and_F']}, recall {b['recall']:.4f}, precision {b['precision']:.4f}"]
    lines += ["", "| split | agreement | F | P | P∩F | recall | precision |",
              "|---|---|---|---|---|---|---|"]
    for s, fp in a.failures.items():
        lines.append(f"| {s} | {fp['agreement']:.4f} | {fp['F']} | {fp['P']} | {fp['P_and_F']} | "
                     f"{fp['recall']:.4f} | {fp['precision']:.4f} |")
    lines += ["", "head ablations (zeroed hook_z; changed = fraction of outputs that change):", ""]
    lines += [f"- {x['name']}: used by shortcut {x['used_by_shortcut']}, changed {x['changed']:.3f}, "
              f"exact after {x['exact_after']:.3f}" for x in a.ablations]
    if a.patching:
        lines += ["", "value patching (layer-0 values at slot j's label replaced by another "
                  "label's, one random step per held-out row):", ""]
        lines += [f"- {p['name']}: output changed {p['changed']:.3f}, became the patched-in "
                  f"label {p['to_new']:.3f}; the vote predicts the patched output "
                  f"{p['vote_agrees']:.3f} (unpatched steps {p['vote_agrees_clean']:.3f})"
                  for p in a.patching]
    if task == "Preorder" and pointer:
        lines += _pointer_lines(run_dir)
    if remedy:
        r = study.remedy(run_dir, oversample=0.25, progress=False)
        lines += ["", f"remedy (oversample 0.25, run `{r['run']}`): exact on {r['split']!r} "
                  f"{r['old_exact']:.4f} -> {r['new_exact']:.4f}; {r['disappeared']} of "
                  f"{r['predicted_failures']} predicted failures disappeared; by {feat}: "
                  + json.dumps(r["by_feature"])]
    lines += ["", f"total {time.perf_counter() - t0:.0f} s", ""]
    return lines


def _pointer_lines(run_dir: Path) -> list[str]:
    p = study.analyze_pointer(run_dir)
    b = p.build
    lines = ["", f"pointer shortcut (layer-0 attention over label slots, read agreement "
             f"{p.read_agreement:.4f}; skip tree {p.tree_leaves} leaves from {p.n_steps} build "
             f"steps, {p.n_skips} slips; threshold {p.threshold} chosen on build: recall "
             f"{b['recall']:.4f} precision {b['precision']:.4f}):", "",
             "| split | agreement | F | P | P∩F | recall | precision |",
             "|---|---|---|---|---|---|---|"]
    for s, fp in p.failures.items():
        lines.append(f"| {s} | {fp['agreement']:.4f} | {fp['F']} | {fp['P']} | {fp['P_and_F']} | "
                     f"{fp['recall']:.4f} | {fp['precision']:.4f} |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="runs", help="run store root (runs/ is git-ignored)")
    ap.add_argument("--tasks", default="Successor,Inorder")
    ap.add_argument("--no-remedy", action="store_true")
    ap.add_argument("--pointer", action="store_true",
                    help="Preorder: also the older pointer + skip-tree shortcut (for comparison)")
    ap.add_argument("--results", default="benchmarks/results/recursion.md")
    args = ap.parse_args()
    torch.set_num_threads(1)
    lines = ["# Structural recursion (issue 10)", "",
             "Command: `python benchmarks/bench_recursion.py` (seed 0, 1 torch thread).", ""]
    for task in args.tasks.split(","):
        part = bench_task(task, args.out, remedy=task == "Successor" and not args.no_remedy,
                          pointer=args.pointer)
        print("\n".join(part), flush=True)
        lines += part
    Path(args.results).parent.mkdir(parents=True, exist_ok=True)
    from algolens.io import atomic_write_text
    atomic_write_text(args.results, "\n".join(lines) + "\n")
    print(f"wrote {args.results}")


if __name__ == "__main__":
    main()

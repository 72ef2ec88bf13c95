"""Check the reduced phase-diagram setting against full-size runs at the same α values.

Reads the full-size Clock/Pizza runs of a run store (``algolens clock-pizza train`` at p = 59,
d = 128, 20k steps, read out with ``algolens clock-pizza analyze``) and the reduced sweep's JSON
(``benchmarks/results/clock_pizza_phase_p31_d32.json``) and prints,
per α, the full runs' metrics beside the reduced runs' at that α: how often each is Pizza by
the q rule (q < 0.6) and by gradient symmetricity (s_g > 0.98), over all runs at 100% validation
accuracy and over the circular ones. Nothing is trained here.

    python benchmarks/clock_pizza_check_reduced.py runs
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

from algolens.analysis.transformer import CIRCULAR, Q_PIZZA, SG_SYMMETRIC



def full_runs(root: Path) -> list[dict]:
    """The store's full-size, read-out Clock/Pizza runs as rows (typed results, checksums
    verified)."""
    from algolens.store import RunStore
    from algolens.studies import registry
    cp, store, rows = registry.get("clock_pizza"), RunStore(root), []
    for rec in store.list(study="clock_pizza", status="done"):
        run = store.open(rec.id)
        cfg, res = run.config, run.result
        s = cp.record(run).summary
        if res is None or res.s_g is None or (cfg.p, cfg.width, s.steps_done) != (59, 128, 20000):
            continue
        rows.append({"alpha": round(cfg.attn_rate, 3), "seed": run.seed, "val_acc": s.val_acc,
                     "s_g": res.s_g, "q": res.q, "q_max_incorrect": res.q_max_incorrect,
                     "circularity": res.circularity, "frequencies": res.frequencies,
                     "verdict": res.raw_verdict, "seconds": s.seconds, "batch": s.n_members})
    return sorted(rows, key=lambda r: (r["alpha"], r["seed"]))


def _fracs(rows: list[dict]) -> str:
    if not rows:
        return "—"
    pq = sum(r["q"] < Q_PIZZA for r in rows) / len(rows)
    ps = sum(r["s_g"] > SG_SYMMETRIC for r in rows) / len(rows)
    return f"{pq:.2f} / {ps:.2f} (n={len(rows)})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", type=Path, help="the run store holding full-size clock-pizza runs")
    ap.add_argument("--reduced", type=Path,
                    default=Path(__file__).parent / "results" / "clock_pizza_phase_p31_d32.json")
    args = ap.parse_args()
    full = full_runs(args.runs)
    if not full:
        raise SystemExit(f"no analysed full-size (p=59, d=128, 20k-step) clock_pizza runs in the "
                         f"store {args.runs}")
    reduced = defaultdict(list)
    for r in json.loads(args.reduced.read_text())["runs"]:
        if r["val_acc"] == 1.0:
            reduced[round(r["attn_rate"], 3)].append(r)

    print("Full-size runs (p=59, d=128, 20k steps)\n")
    print("| α | seed | s_g | q | q (max incorrect) | c | PC frequencies | verdict | "
          "train s (models in its batch) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in full:
        print(f"| {r['alpha']} | {r['seed']} | {r['s_g']:.3f} | {r['q']:.3f} | "
              f"{r['q_max_incorrect']:.3f} | {r['circularity']:.4f} | "
              f"{', '.join(map(str, r['frequencies']))} | {r['verdict']} | "
              f"{r['seconds']:.0f} ({r['batch']}) |")

    print("\nPizza fractions by the q rule / by s_g, full vs reduced (p=31, d=32, 4000 steps), "
          "runs at 100% validation accuracy; circular = c >= 0.995\n")
    print("| α | full: all | full: circular | reduced: all | reduced: circular |")
    print("|---|---|---|---|---|")
    for alpha in sorted({r["alpha"] for r in full}):
        f = [r for r in full if r["alpha"] == alpha and r["val_acc"] == 1.0]
        red = reduced.get(alpha, [])
        print(f"| {alpha} | {_fracs(f)} | {_fracs([r for r in f if r['circularity'] >= CIRCULAR])} | "
              f"{_fracs(red)} | {_fracs([r for r in red if r['circularity'] >= CIRCULAR])} |")


if __name__ == "__main__":
    main()

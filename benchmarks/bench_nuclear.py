"""Held-out binding-energy RMS of the nuclear embedding MLP beside SEMF and gradient boosting.

Random split: 10% of measured AME2020 nuclides with A >= 8 held out as whole nuclides (none of
their rows, nor Sn/Sp/Q rows involving them, in training), for each split seed. Discovery split:
train on nuclides measured in AME2016, test on those first measured in AME2020. Every model sees
the same training rows. Prints a table and writes benchmarks/results/nuclear.{md,json}.

The networks are runs of the ``nuclear`` study (the run's seed is the split seed), trained
through the shared executor (``registry.run_points``) into the run store ``--out`` and read back
as typed results (``NuclearFit``); the baselines are fitted here on the same split
(``studies.nuclear.load_data``).

    python benchmarks/bench_nuclear.py                       # the preset, 3 seeds + discovery
    python benchmarks/bench_nuclear.py --steps 300 --seeds 0 # quick look
    python benchmarks/bench_nuclear.py --steps 3000 --members 4 --tag nuclear_steps3000_m4
    python benchmarks/bench_nuclear.py --quick --no-discovery --seeds 0 --tag smoke --results /tmp

Times: each run's wall seconds from the store's index (its training: data, fit, evaluation,
writes; one torch thread) and the CPU seconds of this process over all runs, with the load
average beside them (a shared machine).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor

from algolens.cli.sweep_cmd import parse_seeds
from algolens.io import atomic_write_json, atomic_write_text, read_json
from algolens.store import RunStore
from algolens.studies import nuclear as nuc
from algolens.studies import registry
from algolens.tasks.nuclear_physics import SEMF, physics_inputs, semf_terms, shell_terms
from algolens.typed import to_json

OUT = os.path.join(os.path.dirname(__file__), "results")
QUICK = dict(steps=20, n_members=1)          # --quick: a smoke run (the numbers mean nothing)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x))))


def baselines(ds, sp, max_iter: int = 600) -> dict[str, float]:
    """SEMF, SEMF+shell and gradient boosting on physics features (of the SEMF+shell residual)."""
    b = ds.rows_of("binding")
    tr, te = b[sp.train[b]], np.flatnonzero(sp.test)
    Z, N, y = ds.Z, ds.N, ds.target
    out = {}
    for name, shell in (("SEMF", False), ("SEMF+shell", True)):
        m = SEMF(shell=shell).fit(Z[tr], N[tr], y[tr])
        out[name] = rms(m.binding(Z[te], N[te]) - y[te])
    X = np.hstack([np.c_[Z, N], physics_inputs(Z, N), semf_terms(Z, N), shell_terms(Z, N)])
    gbm = HistGradientBoostingRegressor(max_iter=max_iter, learning_rate=0.05, random_state=0)
    gbm.fit(X[tr], y[tr] - m.binding(Z[tr], N[tr]))
    out["GBM"] = rms(m.binding(Z[te], N[te]) + gbm.predict(X[te]) - y[te])
    return out


def points(args: argparse.Namespace) -> list[tuple[nuc.NuclearConfig, int]]:
    """(config, split seed) of every run: the random splits, then the discovery split."""
    over: dict[str, Any] = dict(QUICK) if args.quick else {}
    over.update({k: v for k, v in (("steps", args.steps), ("n_members", args.members))
                 if v is not None})
    cfg = nuc.STUDY.make_config(args.preset, **over)
    pts = [(cfg, s) for s in parse_seeds(args.seeds)] if args.seeds.strip() else []
    if not args.no_discovery:
        pts.append((nuc.STUDY.make_config(args.preset, **over, discovery=True), 0))
    return pts


def ours(run) -> dict[str, Any]:
    """The run's typed fit and its training time from the index."""
    fit = nuc.STUDY.fit(run)
    rec = run.store.get(run.id)
    return {"rms": fit.test_rms_keV, "members": fit.test_member_rms_keV,
            "train_rms": fit.train_rms_keV, "wall_s": rec.finished - rec.created,
            "steps": run.config.steps, "run": run.id}


def bench(args: argparse.Namespace) -> tuple[list[dict[str, Any]], nuc.NuclearConfig, str]:
    """Train every point through the shared executor, then fit the baselines on its split."""
    pts = points(args)
    t0, c0 = time.time(), time.process_time()
    pairs = registry.run_points(nuc.STUDY, pts, RunStore(args.out), threads=1, analyze=False)
    wall, cpu = time.time() - t0, time.process_time() - c0
    rows = []
    for (cfg, seed), (run, _) in zip(pts, pairs):
        ds, sp = nuc.load_data(cfg, seed)
        label = (f"AME2016->2020 new ({int(sp.test.sum())})" if cfg.discovery
                 else f"random seed {seed}")
        rows.append({"split": label, **baselines(ds, sp, 50 if args.quick else 600), **ours(run)})
        print(rows[-1], flush=True)
    timing = (f"{len(pts)} run(s) through registry.run_points: {wall:.0f} s wall, {cpu:.0f} s "
              f"CPU of this process (1 torch thread)")
    return rows, pts[0][0], timing


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0,1,2", help="split seeds: '0,1,2' or '0-2' ('' none)")
    ap.add_argument("--preset", default="accuracy", help="a preset of the nuclear study")
    ap.add_argument("--steps", type=int, default=None, help="Override the preset's steps.")
    ap.add_argument("--members", type=int, default=None, help="Override the preset's ensemble size.")
    ap.add_argument("--no-discovery", action="store_true")
    ap.add_argument("--quick", action="store_true",
                    help=f"a smoke run: {QUICK} unless given, GBM with 50 iterations")
    ap.add_argument("--out", default="runs", help="run store root (runs/ is git-ignored)")
    ap.add_argument("--tag", default="nuclear")
    ap.add_argument("--results", default=OUT, help="folder of <tag>.md and <tag>.json")
    ap.add_argument(
        "--merge",
        default="",
        help="Comma-separated tags of earlier runs (e.g. one per seed,"
        " run in parallel): combine their rows into --tag and exit.",
    )
    args = ap.parse_args()
    if args.merge:
        parts = [read_json(os.path.join(args.results, f"{t}.json")) for t in args.merge.split(",")]
        write([r for p in parts for r in p["rows"]], parts[0]["config"], args.tag, args.results,
              "merged from " + args.merge)
        return
    if not args.seeds.strip() and args.no_discovery:
        raise ValueError("nothing to run: give --seeds or drop --no-discovery")
    rows, cfg, timing = bench(args)
    write(rows, to_json(cfg), args.tag, args.results, timing)


def write(rows: list[dict], config: dict, tag: str, folder: str, timing: str) -> None:
    head = ("| split | SEMF | SEMF+shell | GBM | ours (ensemble) | ours members | train | steps "
            "| wall s | run |")
    lines = [head, "|" + "---|" * 10]
    for r in rows:
        mem = "/".join(f"{m:.0f}" for m in r["members"])
        lines.append(
            f"| {r['split']} | {r['SEMF']:.0f} | {r['SEMF+shell']:.0f} | {r['GBM']:.0f} | "
            f"**{r['rms']:.0f}** | {mem} | {r['train_rms']:.0f} | {r['steps']} | "
            f"{r['wall_s']:.0f} | {r.get('run', '-')} |"
        )
    rand = [r for r in rows if r["split"].startswith("random")]
    mean = (lambda k: np.mean([r[k] for r in rand])) if rand else (lambda k: float("nan"))
    summary = (
        f"\nHeld-out binding RMS (keV). Random splits, mean over {len(rand)} seeds: "
        f"**{mean('rms'):.0f} keV** (ours); SEMF {mean('SEMF'):.0f}, GBM {mean('GBM'):.0f}. "
        f"Timing: {timing}. Load average during the run: {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} cores.\n"
    )
    text = "\n".join(lines) + "\n" + summary + "\nConfig: `" + json.dumps(config) + "`\n"
    print(text)
    atomic_write_text(os.path.join(folder, f"{tag}.md"), f"# Nuclear mass model benchmark\n\n{text}")
    atomic_write_json(os.path.join(folder, f"{tag}.json"), {"config": config, "rows": rows})


if __name__ == "__main__":
    main()

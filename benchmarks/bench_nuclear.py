"""Held-out binding-energy RMS of the nuclear embedding MLP beside SEMF and gradient boosting.

Random split: 10% of measured AME2020 nuclides with A >= 8 held out as whole nuclides (none of
their rows, nor Sn/Sp/Q rows involving them, in training), for each split seed. Discovery split:
train on nuclides measured in AME2016, test on those first measured in AME2020. Every model sees
the same training rows. Prints a table and writes benchmarks/results/nuclear.{md,json}.

    python benchmarks/bench_nuclear.py                       # the preset, 3 seeds + discovery
    python benchmarks/bench_nuclear.py --steps 300 --seeds 0 # quick look
    python benchmarks/bench_nuclear.py --steps 3000 --members 4 --tag nuclear_steps3000_m4

Times are wall and CPU seconds of this process with one torch thread; on a shared machine the
CPU time is the steadier number (the load average is printed beside them).
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch
from sklearn.ensemble import HistGradientBoostingRegressor

from algolens.io import atomic_write_json, atomic_write_text, read_json
from algolens.tasks.nuclear_data import load
from algolens.tasks.nuclear_physics import SEMF, physics_inputs, semf_terms, shell_terms
from algolens.tasks.nuclear_tasks import dataset, discovery_split, split
from algolens.train.nuclear import NuclearTrainConfig, prepare, preset, train

OUT = os.path.join(os.path.dirname(__file__), "results")


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x))))


def baselines(ds, sp) -> dict[str, float]:
    """SEMF, SEMF+shell and gradient boosting on physics features (of the SEMF+shell residual)."""
    b = ds.rows_of("binding")
    tr, te = b[sp.train[b]], np.flatnonzero(sp.test)
    Z, N, y = ds.Z, ds.N, ds.target
    out = {}
    for name, shell in (("SEMF", False), ("SEMF+shell", True)):
        m = SEMF(shell=shell).fit(Z[tr], N[tr], y[tr])
        out[name] = rms(m.binding(Z[te], N[te]) - y[te])
    X = np.hstack([np.c_[Z, N], physics_inputs(Z, N), semf_terms(Z, N), shell_terms(Z, N)])
    gbm = HistGradientBoostingRegressor(max_iter=600, learning_rate=0.05, random_state=0)
    gbm.fit(X[tr], y[tr] - m.binding(Z[tr], N[tr]))
    out["GBM"] = rms(m.binding(Z[te], N[te]) + gbm.predict(X[te]) - y[te])
    return out


def ours(ds, sp, cfg: NuclearTrainConfig) -> dict:
    t0, c0 = time.time(), time.process_time()
    trainer, _ = train(prepare(ds, sp, cfg), cfg, progress=True)
    ev = trainer.evaluate()
    wall, cpu = time.time() - t0, time.process_time() - c0
    return {
        "rms": ev["test_rms_keV"],
        "members": ev["test_member_rms_keV"],
        "train_rms": ev["train_rms_keV"],
        "wall_s": wall,
        "cpu_s": cpu,
        "load1": os.getloadavg()[0],
        "steps": cfg.steps,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--preset", default="accuracy", help="Named preset of train.nuclear.PRESETS.")
    ap.add_argument("--steps", type=int, default=None, help="Override the preset's steps.")
    ap.add_argument("--members", type=int, default=None, help="Override the preset's ensemble size.")
    ap.add_argument("--no-discovery", action="store_true")
    ap.add_argument("--tag", default="nuclear")
    ap.add_argument(
        "--merge",
        default="",
        help="Comma-separated tags of earlier runs (e.g. one per seed,"
        " run in parallel): combine their rows into --tag and exit.",
    )
    args = ap.parse_args()
    if args.merge:
        parts = [read_json(os.path.join(OUT, f"{t}.json")) for t in args.merge.split(",")]
        write(
            [r for p in parts for r in p["rows"]], NuclearTrainConfig.from_dict(parts[0]["config"]), args.tag
        )
        return
    torch.set_num_threads(1)
    cfg = preset(args.preset, steps=args.steps, n_members=args.members)
    table = load(2020)
    rows = []
    for s in [int(x) for x in args.seeds.split(",") if x.strip()]:
        ds = dataset(table, cfg.tasks)
        rows.append(
            {"split": f"random seed {s}", **baselines(ds, split(ds, s)), **ours(ds, split(ds, s), cfg)}
        )
        print(rows[-1], flush=True)
    if not args.no_discovery:
        ds, sp = discovery_split(cfg.tasks)
        rows.append(
            {"split": f"AME2016->2020 new ({int(sp.test.sum())})", **baselines(ds, sp), **ours(ds, sp, cfg)}
        )
    write(rows, cfg, args.tag)


def write(rows: list[dict], cfg: NuclearTrainConfig, tag: str) -> None:
    head = (
        "| split | SEMF | SEMF+shell | GBM | ours (ensemble) | ours members | train | steps "
        "| wall s | CPU s |"
    )
    lines = [head, "|" + "---|" * 10]
    for r in rows:
        mem = "/".join(f"{m:.0f}" for m in r["members"])
        lines.append(
            f"| {r['split']} | {r['SEMF']:.0f} | {r['SEMF+shell']:.0f} | {r['GBM']:.0f} | "
            f"**{r['rms']:.0f}** | {mem} | {r['train_rms']:.0f} | {r['steps']} | "
            f"{r['wall_s']:.0f} | {r['cpu_s']:.0f} |"
        )
    rand = [r["rms"] for r in rows if r["split"].startswith("random")] or [float("nan")]
    summary = (
        f"\nHeld-out binding RMS (keV). Random splits, mean over {len(rand)} seeds: "
        f"**{np.mean(rand):.0f} keV** (ours); SEMF {np.mean([r['SEMF'] for r in rows[: len(rand)]]):.0f}, "
        f"GBM {np.mean([r['GBM'] for r in rows[: len(rand)]]):.0f}. "
        f"Load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores.\n"
    )
    text = "\n".join(lines) + "\n" + summary + "\nConfig: `" + json.dumps(cfg.to_dict()) + "`\n"
    print(text)
    atomic_write_text(os.path.join(OUT, f"{tag}.md"), f"# Nuclear mass model benchmark\n\n{text}")
    atomic_write_json(os.path.join(OUT, f"{tag}.json"), {"config": cfg.to_dict(), "rows": rows})


if __name__ == "__main__":
    main()

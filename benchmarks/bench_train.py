"""Benchmark: architecture search over the MIPS tasks, plus batched-vs-sequential training speed.

    python benchmarks/bench_train.py                        # all 62 tasks (long: ~1 h on 2 cores)
    python benchmarks/bench_train.py Parity_Last3 Div_7     # a subset
    python benchmarks/bench_train.py --out runs/bench

Writes ``<out>/bench_train.md`` and ``<out>/bench_train.json``: task, hidden size, architecture,
parameters, test accuracy (10,000 fresh sequences) and seconds. It also measures, in the same
process, E seeds trained as one batched ensemble against the same E seeds trained one at a time
(same config, same steps) and prints the speed-up per trained seed.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from algolens import tasks
from algolens.io import atomic_write_json, atomic_write_text
from algolens.train.rnn import TaskData, default_config, train_ensemble
from algolens.train.search import search


def batched_speedup(task_name: str = "Add_Mod_3", seeds: int = 8, steps: int = 300) -> dict:
    """Seconds for ``seeds`` seeds batched vs one at a time, same config and steps."""
    task = tasks.get(task_name)
    train, val = TaskData.generate(task, 8192, 0), TaskData.generate(task, 1024, 1)
    cfg = default_config(task, 2, 2, 32, data=train)
    warm = {"train": train, "val": val, "max_steps": 20, "batch": 128, "stop_when_solved": False}
    train_ensemble(task, cfg, seeds, **warm)        # first calls allocate; keep them out of timing
    train_ensemble(task, cfg, 1, **warm)
    kw = {"train": train, "val": val, "max_steps": steps, "batch": 128, "eval_every": 100,
              "stop_when_solved": False}
    t0 = time.perf_counter()
    train_ensemble(task, cfg, seeds, seed=0, **kw)
    batched = time.perf_counter() - t0
    t0 = time.perf_counter()
    for s in range(seeds):
        train_ensemble(task, cfg, 1, seed=s, **kw)
    sequential = time.perf_counter() - t0
    return {"task": task_name, "config": cfg.describe(), "seeds": seeds, "steps": steps,
            "batched_s": round(batched, 2), "sequential_s": round(sequential, 2),
            "speedup_per_seed": round(sequential / batched, 2)}


def run(names: list[str], budget: float | None, out: Path) -> list[dict]:
    rows = []
    for name in names:
        r = search(name, budget_seconds=budget, out=out, progress=True)
        rows.append({"task": name, "hidden": r.config.hidden, "architecture": r.config.describe(),
                     "encoding": r.config.encoding, "parameters": r.parameters,
                     "accuracy": r.accuracy, "seconds": round(r.seconds, 1),
                     "tried": len(r.tried), "run_dir": str(r.run_dir)})
        print(f"{name:26s} {r.config.describe():20s} {r.config.encoding:8s} "
              f"params {r.parameters:6d}  acc {r.accuracy:.4f}  {r.seconds:6.1f} s", flush=True)
    return rows


def markdown(rows: list[dict], speed: dict, total: float) -> str:
    solved = sum(r["accuracy"] >= 1.0 for r in rows)
    lines = [f"# bench_train: {solved}/{len(rows)} tasks at 100%, {total:.0f} s total", "",
             "| task | hidden | architecture | encoding | parameters | test accuracy | seconds |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['task']} | {r['hidden']} | {r['architecture']} | {r['encoding']} | "
              f"{r['parameters']} | {r['accuracy']:.4f} | {r['seconds']} |" for r in rows]
    lines += ["", (f"Batched vs sequential ({speed['task']}, {speed['config']}, {speed['seeds']} "
              f"seeds x {speed['steps']} steps): {speed['batched_s']} s vs "
              f"{speed['sequential_s']} s, speed-up per seed {speed['speedup_per_seed']}x"), ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("tasks", nargs="*", help="task names (default: all 62 benchmark tasks)")
    ap.add_argument("--budget-seconds", type=float, default=None,
                    help="per-task safety cap (default none: limits are counted in steps)")
    ap.add_argument("--out", type=Path, default=Path("runs/bench_train"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--skip-speedup", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    names = args.tasks or tasks.benchmark_names()
    t0 = time.monotonic()
    speed = {} if args.skip_speedup else batched_speedup()
    if speed:
        print(f"batched vs sequential: {speed}", flush=True)
    rows = run(names, args.budget_seconds, args.out)
    total = time.monotonic() - t0
    speed = speed or {"task": "-", "config": "-", "seeds": 0, "steps": 0, "batched_s": 0,
                      "sequential_s": 0, "speedup_per_seed": 0}
    atomic_write_text(args.out / "bench_train.md", markdown(rows, speed, total))
    atomic_write_json(args.out / "bench_train.json", {"rows": rows, "speedup": speed,
                                                     "total_seconds": total})
    print(markdown(rows, speed, total))
    print(json.dumps(speed))


if __name__ == "__main__":
    main()

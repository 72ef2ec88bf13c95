"""Speed-up of our Clock/Pizza trainer over naive training, measured in one process.

Naive: one ``Transformer`` at a time, full sequence (queries, MLP and unembedding at every
position), full-batch AdamW, logits of the last position into float64 cross-entropy.
Ours: ``algolens.train.modular.train_ensemble`` (last position only, factored through the
vocabulary, E models batched). Both at p = 59, d = 128, the spec's recipe; each times a fixed
number of steps and extrapolates the per-model cost of a 20k-step run. Wall and CPU time are both
printed: on a shared machine the CPU time is the steadier number.

    python benchmarks/bench_clock_pizza.py                    # ~2-4 minutes on 2 cores
    python benchmarks/bench_clock_pizza.py --threads 2 --ensemble 8
    python benchmarks/bench_clock_pizza.py --paths      # train-step paths by split size

``--paths`` times one forward+backward of the train loss through each path the trainer can
take between eval steps (all p² pairs via the grid, loss masked; only the train rows via the
per-row path) for the Clock/Pizza (p = 59, 80%) and grokking (p = 113, 30%,
[a, b, =], causal) settings and a few split sizes. It is how ``ROW_PATH_MAX_FRAC`` was chosen.
"""

from __future__ import annotations

import argparse
import os
import time
from functools import partial

import torch
import torch.nn.functional as F

from algolens.models.transformer import Transformer, TransformerConfig, make_inputs
from algolens.train.modular import (
    ROW_PATH_MAX_FRAC,
    TrainConfig,
    split_mask,
    train_ensemble,
)
from algolens.perf import keep_freed_memory

FULL_STEPS = 20_000


def naive(cfg: TransformerConfig, steps: int) -> tuple[float, float]:
    """(wall, cpu) seconds for ``steps`` naive steps of one model."""
    net = Transformer(cfg, seed=0)
    tokens, labels = make_inputs(cfg)
    mask = split_mask(cfg.p, 0.8, 0)
    x, y = tokens[mask], labels[mask]
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=2.0, betas=(0.9, 0.98))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 10))

    def step() -> None:
        logits = net(x)[:, -1]                        # full sequence, then the last position
        loss = F.cross_entropy(logits.double(), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()

    step()                                            # warm-up (allocations, kernels)
    w, c = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    return time.perf_counter() - w, time.process_time() - c


def ours(cfg: TransformerConfig, steps: int, n_models: int) -> tuple[float, float]:
    """(wall, cpu) seconds for ``steps`` steps of an ensemble of ``n_models``."""
    alphas = [i / max(1, n_models - 1) for i in range(n_models)]
    tcfg = TrainConfig(steps=steps, eval_every=100)
    train_ensemble(cfg, list(range(n_models)), alphas, TrainConfig(steps=2), progress=False)
    w, c = time.perf_counter(), time.process_time()
    train_ensemble(cfg, list(range(n_models)), alphas, tcfg, progress=False)
    return time.perf_counter() - w, time.process_time() - c


def _rate(fn, rows: torch.Tensor, y: torch.Tensor, reps: int) -> float:
    """Median forward+backward rate of the train loss of ``fn()`` logits on ``rows``."""
    ts = []
    for _ in range(reps + 1):
        t = time.perf_counter()
        logits = fn()
        if logits.shape[1] != rows.shape[1]:
            logits = logits[:, rows[0]]
        F.cross_entropy(logits[0].double(), y).backward()
        ts.append(time.perf_counter() - t)
    return 1 / sorted(ts[1:])[reps // 2]


def paths(reps: int = 10) -> None:
    """Forward+backward rate of the train loss through each path, per setting and split."""
    from algolens.models.ensemble import TransformerEnsemble
    settings = [("clock-pizza", TransformerConfig(p=59), (0.3, 0.5, 0.8)),
                ("grokking", TransformerConfig(p=113, causal=True, eq_token=True), (0.3, 0.5, 0.8))]
    print(f"ROW_PATH_MAX_FRAC = {ROW_PATH_MAX_FRAC}; rates in forward+backward per second "
          f"(median of {reps}), 1 model")
    print(f"{'setting':<13}{'p':>5}{'frac':>6}{'grid all':>10}{'pair rows':>11}{'best':>11}"
          f"{'trainer uses':>14}")
    for name, cfg, fracs in settings:
        ens = TransformerEnsemble(cfg, [0])
        labels = make_inputs(cfg)[1]
        for frac in fracs:
            rows = split_mask(cfg.p, frac, 0).nonzero().flatten()[None]
            y = labels[rows[0]]
            r = {"grid all": _rate(ens.grid_logits, rows, y, reps),
                 "pair rows": _rate(partial(ens.pair_logits, rows), rows, y, reps)}
            best = max(r, key=r.get)
            uses = "pair rows" if rows.shape[1] <= ROW_PATH_MAX_FRAC * cfg.p ** 2 else "grid all"
            print(f"{name:<13}{cfg.p:>5}{frac:>6.1f}{r['grid all']:>10.1f}{r['pair rows']:>11.1f}"
                  f"{best:>11}{uses:>14}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--p", type=int, default=59)
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--naive-steps", type=int, default=20)
    ap.add_argument("--steps", type=int, default=200, help="steps timed for our trainer")
    ap.add_argument("--ensemble", type=int, default=8, help="models in the batched run")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--paths", action="store_true", help="only compare the train-step paths")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    keep_freed_memory()   # the same allocator setting for both, so the ratio is fair
    if args.paths:
        torch.set_flush_denormal(True)
        paths()
        return
    cfg = TransformerConfig(p=args.p, d_model=args.width, d_mlp=4 * args.width)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    rows = [("naive (full seq, 1 model)", 1, args.naive_steps,
             *naive(cfg, args.naive_steps))]
    rows.append(("ours (last pos, 1 model)", 1, args.steps, *ours(cfg, args.steps, 1)))
    if args.ensemble > 1:
        rows.append((f"ours (last pos, {args.ensemble} batched)", args.ensemble, args.steps,
                     *ours(cfg, args.steps, args.ensemble)))
    print(f"p={args.p} d={args.width} threads={args.threads} load average at start={load:.2f}")
    print(f"{'method':<34}{'models':>7}{'steps':>7}{'wall s/1k/model':>17}{'cpu s/1k/model':>16}"
          f"{'20k wall min/model':>20}{'20k cpu min/model':>19}")
    per = []
    for name, n, steps, wall, cpu in rows:
        w1k, c1k = 1000 * wall / steps / n, 1000 * cpu / steps / n
        per.append((w1k, c1k))
        print(f"{name:<34}{n:>7}{steps:>7}{w1k:>17.2f}{c1k:>16.2f}"
              f"{w1k * FULL_STEPS / 1000 / 60:>20.2f}{c1k * FULL_STEPS / 1000 / 60:>19.2f}")
    for (name, *_), (w1k, c1k) in zip(rows[1:], per[1:]):
        print(f"speed-up of {name} over naive: wall x{per[0][0] / w1k:.1f}, "
              f"cpu x{per[0][1] / c1k:.1f}")


if __name__ == "__main__":
    main()

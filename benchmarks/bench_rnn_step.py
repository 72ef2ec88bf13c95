"""Benchmark: one MIPS training step (forward + backward + AdamW) for rows of the search plan.

    python benchmarks/bench_rnn_step.py [--steps 200] [--repeats 3]

For each row it times ``train_ensemble`` with
  * the library's recurrence ("units first": activations [E, units, N], layers W^T @ z), and
  * the layout the library used before ("rows first": [E, N, units], layers z @ W), patched in
    for the comparison only,
each at batch 128 (the old search batch) and 64 (the new one), on one torch thread, and prints
ms per step (the best of ``--repeats``; runs of the variants alternate, so load drifts hit all
alike) with ratios against the old setting (rows first, batch 128). Evaluation is off (only the
final check runs), so the figure is the training step alone.
"""

from __future__ import annotations

import argparse
import time

import torch

from algolens import tasks
from algolens.models.rnn import RNNEnsemble
from algolens.perf import fast_cpu
from algolens.train.rnn import default_config, train_ensemble
from algolens.train.search import make_data, plan

ROWS = [("Majority_0_3", "h=1/2/3/4;f=2x32;g=1;onehot"),
        ("Majority_0_3", "h=1/2/3/4;f=2x32;g=1;onehot;bilinear"),
        ("Majority_0_3", "h=6/8;f=2x64;g=1;onehot"),
        ("Bit_Palindrome", "h=12/16;f=2x64;g=1;numeric;bilinear"),
        ("Majority_0_3", "h=24/32;f=2x64;g=1;onehot")]


def _rows_first_states(self, feat):
    """The old recurrence: [E, N, units] activations, z @ W per layer."""
    E, B, T, _ = feat.shape
    h = feat.new_zeros(E, B, self.cfg.hidden)
    hs = []
    for t in range(T):
        x = feat[:, :, t]
        parts = [h, x]
        if self.cfg.cell == "bilinear":
            parts.append((h.unsqueeze(-1) * x.unsqueeze(-2)).flatten(-2))
        z = torch.cat(parts, dim=-1)
        for k, name in enumerate(self.f_layers):
            z = torch.baddbmm(getattr(self, f"{name}_b").unsqueeze(1), z,
                              getattr(self, f"{name}_W"))
            if k < len(self.f_layers) - 1:
                z = torch.relu(z)
        h = z
        hs.append(h)
    return torch.stack(hs, dim=2)


def _rows_first_readout(self, H):
    E, B, T, _ = H.shape
    z = H.reshape(E, B * T, -1)
    for k, name in enumerate(self.g_layers):
        z = torch.baddbmm(getattr(self, f"{name}_b").unsqueeze(1), z, getattr(self, f"{name}_W"))
        if k < len(self.g_layers) - 1:
            z = torch.relu(z)
    return (z * self.cfg.output_scale).reshape(E, B, T, -1)


def time_row(task_name: str, key: str, steps: int, repeats: int) -> dict:
    task = tasks.get(task_name)
    data = make_data(task, 0)
    cand = next(c for c in plan(task, data.train) if c.key == key)
    cfg = default_config(task, cand.hidden, cand.f_depth, cand.f_width, encoding=cand.encoding,
                         data=data.train, cell=cand.cell)
    new = (RNNEnsemble.states, RNNEnsemble.readout_states)
    old = (_rows_first_states, _rows_first_readout)
    variants = {("rows first", 128): old, ("rows first", 64): old,
                ("units first", 128): new, ("units first", 64): new}
    best: dict = {}
    for _ in range(repeats):
        for (layout, batch), (states, readout) in variants.items():
            RNNEnsemble.states, RNNEnsemble.readout_states = states, readout
            try:
                t0 = time.perf_counter()
                train_ensemble(task, cfg, cand.n_models, train=data.train, val=data.val,
                               max_steps=steps, batch=batch, eval_every=0, seed=0,
                               stop_when_solved=False)
                ms = (time.perf_counter() - t0) / steps * 1000
            finally:
                RNNEnsemble.states, RNNEnsemble.readout_states = new
            best[layout, batch] = min(ms, best.get((layout, batch), float("inf")))
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    print("| task | row | E | rows first, 128 | units first, 128 | rows first, 64 | "
          "units first, 64 | old/new |")
    print("|---|---|---|---|---|---|---|---|")
    with fast_cpu(threads=1):
        for task_name, key in ROWS:
            b = time_row(task_name, key, args.steps, args.repeats)
            n = next(c.n_models for c in plan(tasks.get(task_name),
                                              make_data(tasks.get(task_name), 0).train)
                     if c.key == key)
            old, new = b["rows first", 128], b["units first", 64]
            print(f"| {task_name} | {key} | {n} | {old:.2f} ms | {b['units first', 128]:.2f} ms"
                  f" | {b['rows first', 64]:.2f} ms | {new:.2f} ms | {old / new:.2f}x |")


if __name__ == "__main__":
    main()

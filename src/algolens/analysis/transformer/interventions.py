"""Interventions that test a reconstructed shortcut: ablate one head at a time.

The shortcut names, per output step, the heads that read its input positions. Its prediction:
zero-ablating a head it relies on changes the model's outputs (those reads are gone), while
ablating a head it does not use changes little. ``head_ablations`` measures, for every head, the
fraction of inputs whose greedy output changes and the exact accuracy after ablation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ...models.seq2seq import Seq2SeqTransformer


def zero_head(head: int):
    """A forward hook for ``blocks.L.attn.hook_z`` [batch, q, head, d_head] that zeroes one head."""
    def fn(z: torch.Tensor, hook) -> torch.Tensor:
        z = z.clone()
        z[:, :, head] = 0.0
        return z
    return fn


@dataclass(frozen=True)
class HeadAblation:
    layer: int
    head: int
    used_by_shortcut: bool
    changed: float            # fraction of inputs whose output changes
    exact_after: float        # exact accuracy against the true function after ablation

    @property
    def name(self) -> str:
        return f"L{self.layer}H{self.head}"


def head_ablations(model: Seq2SeqTransformer, xs: list[list[int]], truth: list[list[int]],
                   used: set[tuple[int, int]], batch: int = 500) -> list[HeadAblation]:
    """Ablate each head alone and compare the greedy outputs with the unablated ones."""
    base = _generate(model, xs, [], batch)
    out = []
    for layer in range(model.cfg.n_layers):
        for head in range(model.cfg.n_heads):
            hooks = [(f"blocks.{layer}.attn.hook_z", zero_head(head))]
            got = _generate(model, xs, hooks, batch)
            out.append(HeadAblation(layer, head, (layer, head) in used,
                                    float(np.mean([a != b for a, b in zip(got, base)])),
                                    float(np.mean([a == t for a, t in zip(got, truth)]))))
    return out


def _generate(model, xs, hooks, batch):
    return [y for i in range(0, len(xs), batch) for y in model.generate(xs[i:i + batch], hooks)]


def prediction_holds(ablations: list[HeadAblation], threshold: float = 0.05) -> float:
    """Fraction of heads where "used by the shortcut" matches "ablating it changes more than
    ``threshold`` of the outputs"."""
    return float(np.mean([(a.changed > threshold) == a.used_by_shortcut for a in ablations]))

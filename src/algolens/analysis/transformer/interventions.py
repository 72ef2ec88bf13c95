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


# ------------------------------------------------------------------ activation patching
def patch_values(model: Seq2SeqTransformer, xs: list[list[int]], prefixes: list[list[int]],
                 positions: list[int], new_symbols: list[int], heads: set[int], layer: int = 0,
                 batch: int = 500) -> list[int]:
    """Activation patching of value vectors: the model's output at step ``len(prefix)`` of each
    row (teacher-forced on ``prefix``) when the ``layer``'s value vectors of ``heads`` at input
    position ``positions[r]`` are taken from a run on the corrupted input, ``xs[r]`` with that
    position's symbol replaced by ``new_symbols[r]``. Attention patterns stay those of the
    clean run: only what the heads *read* there changes. Returns output symbols (EOS = None)."""
    cfg, W, out = model.cfg, model.cfg.max_input_len, []
    name = f"blocks.{layer}.attn.hook_v"
    hs = torch.tensor(sorted(heads), dtype=torch.long)
    for i in range(0, len(xs), batch):
        bx, bp = xs[i:i + batch], prefixes[i:i + batch]
        pos, new = positions[i:i + batch], new_symbols[i:i + batch]
        bad = [list(x[:p]) + [s] + list(x[p + 1:]) for x, p, s in zip(bx, pos, new)]
        tokens, mask, _ = model.encode(bad, bp)
        with torch.no_grad():
            _, cache = model.run_with_cache(tokens, attention_mask=mask, names_filter=[name])
        rows, pos_t = torch.arange(len(bx)), torch.tensor(pos)
        corrupted = cache[name][rows, pos_t][:, hs]                 # [b, len(hs), d_head]
        tokens, mask, _ = model.encode(bx, bp)
        hooks = [(name, _set_values(rows, pos_t, hs, corrupted))] if len(hs) else []
        with torch.no_grad(), model.hooks(hooks):
            logits = model(tokens, attention_mask=mask)
        for r, p in enumerate(bp):
            c = int(logits[r, W + len(p)].argmax())
            out.append(None if c == cfg.n_out else cfg.output_alphabet[c])
    return out


def _set_values(rows: torch.Tensor, pos: torch.Tensor, heads: torch.Tensor,
                values: torch.Tensor):
    """A hook on ``hook_v`` [batch, pos, head, d_head] writing ``values`` [batch, heads, d_head]
    at (row, pos[row], heads)."""
    def fn(v: torch.Tensor, hook) -> torch.Tensor:
        v = v.clone()
        v[rows[:, None], pos[:, None], heads[None, :]] = values
        return v
    return fn

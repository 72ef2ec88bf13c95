"""Test models: a small real Transformer, and ``FormulaModel`` stand-ins with exact logits.

``FormulaModel`` has the attribute and hook names of ``algolens.models.transformer.Transformer``
(W_E, W_pos, W_U, hook_embed, hook_logits) and logits given by an exact formula of the token
embeddings, so metric values are known in closed form.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from algolens.models.hooks import HookedModule, HookPoint
from algolens.models.transformer import Transformer, TransformerConfig


def make_model(p: int = 11, d_model: int = 16, attn_rate: float = 1.0, eq_token: bool = False,
               seed: int = 0, n_heads: int = 2, d_mlp: int = 32) -> Transformer:
    """A small real ``algolens.models.transformer.Transformer`` (the spec's init, seeded)."""
    cfg = TransformerConfig(p=p, d_model=d_model, n_heads=n_heads, d_mlp=d_mlp,
                            attn_rate=attn_rate, eq_token=eq_token)
    return Transformer(cfg, seed=seed)


class FormulaModel(HookedModule):
    """Embeddings E_j = (cos wj, sin wj, 0, ...), logits = ``kind`` formula of (E_a, E_b).

    kind = "clock": Q = cos(w(a+b-c)) + eps·cos(2w(a+b))  (from E_a ⊗ E_b, bilinear; asymmetric
    gradients only through the product structure; the eps term makes the correct logit vary
    with a+b so that q is defined and high).
    kind = "pizza": v = E_a + E_b, Q = ((v_x²-v_y²)cos wc + 2 v_x v_y sin wc) / |v|
    = 2|cos(w(a-b)/2)| cos(w(a+b-c)): a function of E_a + E_b only, so s_g = 1, q = 0.
    kind = "accompanying": A_c = -½[cos(wa − w'c) + cos(wb − w'c)], w' = 2π(k·2⁻¹ mod p)/p.
    """

    def __init__(self, p: int = 11, k: int = 1, kind: str = "clock", d: int = 6,
                 eps: float = 0.3, extra_k: int | None = None) -> None:
        super().__init__()
        w = 2 * math.pi * k / p
        j = torch.arange(p, dtype=torch.float64)
        W_E = torch.zeros(p, d, dtype=torch.float64)
        W_E[:, 0], W_E[:, 1] = torch.cos(w * j), torch.sin(w * j)
        if extra_k:   # a second, unread circle (radius 0.5) so that PCs 3-4 are circular too
            w2 = 2 * math.pi * extra_k / p
            W_E[:, 2], W_E[:, 3] = 0.5 * torch.cos(w2 * j), 0.5 * torch.sin(w2 * j)
        self.W_E = nn.Parameter(W_E)
        self.W_pos = nn.Parameter(torch.zeros(2, d, dtype=torch.float64))
        self.W_U = nn.Parameter(torch.zeros(d, p, dtype=torch.float64))   # shape only (p)
        self.p, self.k, self.kind, self.eps, self.w = p, k, kind, eps, w
        self.hook_embed, self.hook_logits = HookPoint(), HookPoint()
        self.setup_hooks()

    def forward(self, tokens: torch.Tensor, last_only: bool = False) -> torch.Tensor:
        e = self.hook_embed(self.W_E[tokens])                       # [batch, 2, d]
        c = torch.arange(self.p, dtype=e.dtype) * self.w
        cc, sc = torch.cos(c), torch.sin(c)                         # [p]
        ea, eb = e[:, 0], e[:, 1]
        if self.kind == "clock":
            cos_s = ea[:, 0] * eb[:, 0] - ea[:, 1] * eb[:, 1]       # cos w(a+b)
            sin_s = ea[:, 1] * eb[:, 0] + ea[:, 0] * eb[:, 1]       # sin w(a+b)
            logits = cos_s[:, None] * cc + sin_s[:, None] * sc
            # cos(2w(a+b)) = 2cos² - 1 : depends on a+b only
            logits = logits + self.eps * (2 * cos_s**2 - 1)[:, None]
        elif self.kind == "pizza":
            v = ea + eb
            r = v[:, :2].norm(dim=1, keepdim=True)
            logits = ((v[:, :1]**2 - v[:, 1:2]**2) * cc + 2 * v[:, :1] * v[:, 1:2] * sc) / r
        elif self.kind == "accompanying":
            # A_c for an embedding circle of frequency k: output frequency k·2⁻¹ mod p
            wo = 2 * math.pi * (self.k * pow(2, -1, self.p) % self.p) / self.p
            co, so = torch.cos(c / self.w * wo), torch.sin(c / self.w * wo)
            logits = -0.5 * ((ea[:, :1] + eb[:, :1]) * co + (ea[:, 1:2] + eb[:, 1:2]) * so)
        else:
            raise ValueError(f"unknown kind {self.kind!r}")
        logits = self.hook_logits(logits[:, None].expand(-1, 2, -1))
        return logits[:, -1] if last_only else logits

"""Test stand-ins with the attribute and hook names of ``algolens.models.transformer``.

``TinyTransformer`` is a minimal 1-layer, no-LayerNorm transformer with attention rate α (used
until / unless the real model is importable: ``make_model`` prefers the real one). The
``Formula*`` models have a ``hook_embed`` and logits given by an exact formula of the token
embeddings, so metric values are known in closed form.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from algolens.models.hooks import HookedModule, HookPoint


@dataclass(frozen=True)
class TinyConfig:
    p: int = 11
    d_model: int = 16
    n_heads: int = 2
    d_mlp: int = 32
    n_layers: int = 1
    act: str = "relu"
    attn_rate: float = 1.0
    causal: bool = False
    eq_token: bool = False

    @property
    def n_ctx(self) -> int:
        return 3 if self.eq_token else 2

    @property
    def d_vocab(self) -> int:
        return self.p + 1 if self.eq_token else self.p


class _Attn(nn.Module):
    def __init__(self, cfg: TinyConfig) -> None:
        super().__init__()
        d, h = cfg.d_model, cfg.n_heads
        dh = d // h
        self.cfg = cfg
        self.W_Q, self.W_K, self.W_V = (nn.Parameter(torch.randn(h, d, dh) / math.sqrt(d))
                                        for _ in range(3))
        self.W_O = nn.Parameter(torch.randn(h, dh, d) / math.sqrt(d))
        self.hook_pattern = HookPoint()

    def forward(self, x: torch.Tensor) -> torch.Tensor:         # x [batch, pos, d]
        q = torch.einsum("bpd,hde->bhpe", x, self.W_Q)
        k = torch.einsum("bpd,hde->bhpe", x, self.W_K)
        v = torch.einsum("bpd,hde->bhpe", x, self.W_V)
        scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
        if self.cfg.causal:
            n = x.shape[1]
            mask = torch.triu(torch.ones(n, n, dtype=torch.bool), 1)
            scores = scores.masked_fill(mask, float("-inf"))
        a = self.cfg.attn_rate
        pattern = self.hook_pattern(a * scores.softmax(-1) + (1 - a))  # J = all-ones
        z = pattern @ v                                             # [batch, head, pos, dh]
        return torch.einsum("bhpe,hed->bpd", z, self.W_O)


class _MLP(nn.Module):
    def __init__(self, cfg: TinyConfig) -> None:
        super().__init__()
        self.W_in = nn.Parameter(torch.randn(cfg.d_model, cfg.d_mlp) / math.sqrt(cfg.d_mlp))
        self.b_in = nn.Parameter(torch.zeros(cfg.d_mlp))
        self.W_out = nn.Parameter(torch.randn(cfg.d_mlp, cfg.d_model) / math.sqrt(cfg.d_model))
        self.b_out = nn.Parameter(torch.zeros(cfg.d_model))
        self.hook_post = HookPoint()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.hook_post(torch.relu(x @ self.W_in + self.b_in)) @ self.W_out + self.b_out


class _Block(nn.Module):
    def __init__(self, cfg: TinyConfig) -> None:
        super().__init__()
        self.attn, self.mlp = _Attn(cfg), _MLP(cfg)
        self.hook_resid_post = HookPoint()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(x)
        return self.hook_resid_post(x + self.mlp(x))


class TinyTransformer(HookedModule):
    def __init__(self, cfg: TinyConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.W_E = nn.Parameter(torch.randn(cfg.d_vocab, d) / math.sqrt(d))
        self.W_pos = nn.Parameter(torch.randn(cfg.n_ctx, d) / math.sqrt(d))
        self.W_U = nn.Parameter(torch.randn(d, cfg.p) / math.sqrt(cfg.p))
        self.blocks = nn.ModuleList(_Block(cfg) for _ in range(cfg.n_layers))
        self.hook_embed, self.hook_pos_embed, self.hook_logits = HookPoint(), HookPoint(), HookPoint()
        self.setup_hooks()

    def forward(self, tokens: torch.Tensor, last_only: bool = False) -> torch.Tensor:
        x = self.hook_embed(self.W_E[tokens]) + self.hook_pos_embed(self.W_pos[None])
        for block in self.blocks:
            x = block(x)
        logits = self.hook_logits(x @ self.W_U)                     # [batch, pos, p]
        return logits[:, -1] if last_only else logits


def make_inputs(cfg) -> tuple[torch.Tensor, torch.Tensor]:
    p = cfg.p
    a, b = torch.meshgrid(torch.arange(p), torch.arange(p), indexing="ij")
    cols = [a.reshape(-1), b.reshape(-1)]
    if cfg.eq_token:
        cols.append(torch.full((p * p,), p))
    return torch.stack(cols, 1), (a + b).reshape(-1) % p


def make_model(p: int = 11, d_model: int = 16, attn_rate: float = 1.0, eq_token: bool = False,
               seed: int = 0, n_heads: int = 2, d_mlp: int = 32):
    """The real Transformer when importable, else the stand-in; same names either way."""
    torch.manual_seed(seed)
    try:
        from algolens.models.transformer import Transformer, TransformerConfig
    except ImportError:
        return TinyTransformer(TinyConfig(p=p, d_model=d_model, n_heads=n_heads, d_mlp=d_mlp,
                                          attn_rate=attn_rate, eq_token=eq_token))
    cfg = TransformerConfig(p=p, d_model=d_model, n_heads=n_heads, d_mlp=d_mlp,
                            attn_rate=attn_rate, eq_token=eq_token)
    return Transformer(cfg, seed=seed)


class FormulaModel(HookedModule):
    """Embeddings E_j = (cos wj, sin wj, 0, ...), logits = ``kind`` formula of (E_a, E_b).

    kind = "clock": Q = cos(w(a+b-c)) + eps*cos(w2(a+b))  (bilinear in E_a, E_b; asymmetric
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
            raise ValueError(kind)
        logits = self.hook_logits(logits[:, None].expand(-1, 2, -1))
        return logits[:, -1] if last_only else logits

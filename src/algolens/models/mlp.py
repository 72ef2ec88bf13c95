"""A one-hidden-layer MLP for sparse parity (Barak et al. 2022), in TransformerLens names.

    x ∈ {0,1}^n  ->  s = 1 - 2x ∈ {±1}^n  ->  relu(s @ W_in + b_in)  ->  @ W_out + b_out  ->  logit

The ±1 coding makes the parity a product, χ_S(s) = Π_{i∈S} s_i, the Fourier character the paper
reasons about; a positive logit means label 1. Hooks: ``hook_in`` (the ±1 inputs, [batch, n_in]),
``hook_pre`` / ``hook_post`` (hidden pre- and post-activation, [batch, width]), ``hook_out`` (the
logit, [batch]). The init is nn.Linear's (uniform ±1/√fan_in for weights and biases), drawn from
a generator seeded by ``seed`` so a model is a function of (config, seed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .hooks import HookedModule, HookPoint

ACTIVATIONS = {"relu": torch.relu}


@dataclass(frozen=True)
class ParityMLPConfig:
    """Shape of the network."""

    n_in: int = 40          # input bits n
    width: int = 256        # hidden units
    act: str = "relu"       # hidden nonlinearity (ACTIVATIONS)

    def __post_init__(self) -> None:
        if self.n_in < 1 or self.width < 1:
            raise ValueError(f"n_in and width must be >= 1, got n_in={self.n_in}, "
                             f"width={self.width}")
        if self.act not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.act!r}; use one of {sorted(ACTIVATIONS)}")



def _uniform(g: torch.Generator, fan_in: int, *shape: int) -> nn.Parameter:
    """nn.Linear's default init, U(-1/√fan_in, 1/√fan_in), from generator ``g``."""
    bound = 1.0 / math.sqrt(fan_in)
    return nn.Parameter((torch.rand(shape, generator=g) * 2 - 1) * bound)


class ParityMLP(HookedModule):
    """``forward(x [batch, n_in] in {0,1}) -> logit [batch]`` (logit > 0 means label 1)."""

    def __init__(self, cfg: ParityMLPConfig, seed: int = 0) -> None:
        super().__init__()
        self.cfg = cfg
        g = torch.Generator().manual_seed(int(seed))
        n, w = cfg.n_in, cfg.width
        self.W_in, self.b_in = _uniform(g, n, n, w), _uniform(g, n, w)          # [n, w], [w]
        self.W_out, self.b_out = _uniform(g, w, w), _uniform(g, w)              # [w], []
        self.hook_in, self.hook_pre, self.hook_post = HookPoint(), HookPoint(), HookPoint()
        self.hook_out = HookPoint()
        self.setup_hooks()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.cfg.n_in:
            raise ValueError(f"x has shape {tuple(x.shape)}; the last axis must be the "
                             f"n_in = {self.cfg.n_in} input bits")
        s = self.hook_in(1.0 - 2.0 * x.to(self.W_in.dtype))                    # [batch, n] ±1
        pre = self.hook_pre(s @ self.W_in + self.b_in)                         # [batch, width]
        post = self.hook_post(ACTIVATIONS[self.cfg.act](pre))                  # [batch, width]
        return self.hook_out(post @ self.W_out + self.b_out)                   # [batch]

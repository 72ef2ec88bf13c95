"""Embedding MLP for nuclear data (the NuCLR / "From Neurons to Neutrons" family), CPU-sized.

    Z, N  ->  W_E_Z[Z] ‖ W_E_N[N] (‖ physics inputs)  ->  W_in, SiLU  ->  n_blocks residual ReLU
    blocks  ->  W_U: one output per task (multi-task heads on one shared representation).

The proton and neutron numbers get their own learned embedding tables; the paper finds a helix
with a parity direction in them. The representation before ``W_U`` (``hook_resid_final``) is the
penultimate layer whose PCs line up with the terms of the mass formula. Outputs are in MeV and are
the *residual* over a fitted semi-empirical mass formula (the trainer adds the SEMF back).

Every parameter has a leading member axis ``E``: an ensemble of E independent models runs as one
batched computation (``[E, n, ...]``); ``member(i)`` extracts one. Hook names (TransformerLens
style): ``hook_embed_Z``, ``hook_embed_N``, ``hook_in``, ``hook_resid_pre``,
``blocks.{k}.hook_pre``, ``blocks.{k}.hook_post``, ``blocks.{k}.hook_resid_post``,
``hook_resid_final``, ``hook_out``; activations carry the member axis first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
from torch import nn

from .hooks import HookedModule, HookPoint


@dataclass(frozen=True)
class EmbedMLPConfig:
    """Shape of the model (and of every member of an ensemble)."""

    n_tasks: int = 7
    d_vocab_Z: int = 120        # Z in [0, d_vocab_Z)
    d_vocab_N: int = 180        # N in [0, d_vocab_N)
    d_embed: int = 16           # width of each of the Z and N embeddings
    d_model: int = 64
    n_blocks: int = 2
    n_physics: int = 0          # width of the physics-aware inputs (0 = embeddings only)
    n_members: int = 1          # ensemble size E
    init_scale: float = 0.1     # std of the embedding init

    def __post_init__(self) -> None:
        for name in ("n_tasks", "d_vocab_Z", "d_vocab_N", "d_embed", "d_model", "n_members"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.n_blocks < 0 or self.n_physics < 0:
            raise ValueError(f"n_blocks and n_physics must be >= 0, got {self.n_blocks}, {self.n_physics}")

    @property
    def d_in(self) -> int:
        return 2 * self.d_embed + self.n_physics


def _linear(E: int, d_in: int, d_out: int, zero: bool = False) -> nn.Parameter:
    w = torch.zeros(E, d_in, d_out) if zero else torch.randn(E, d_in, d_out) / math.sqrt(d_in)
    return nn.Parameter(w)


class ResidualBlock(HookedModule):
    """x + relu(x @ W_in + b_in) @ W_out + b_out; W_out starts at zero so a block starts as identity."""

    def __init__(self, cfg: EmbedMLPConfig) -> None:
        super().__init__()
        E, d = cfg.n_members, cfg.d_model
        self.W_in, self.W_out = _linear(E, d, d), _linear(E, d, d, zero=True)
        self.b_in = nn.Parameter(torch.zeros(E, 1, d))
        self.b_out = nn.Parameter(torch.zeros(E, 1, d))
        self.hook_pre, self.hook_post, self.hook_resid_post = HookPoint(), HookPoint(), HookPoint()

    def forward(self, x: torch.Tensor) -> torch.Tensor:     # x: [E, n, d_model]
        pre = self.hook_pre(x @ self.W_in + self.b_in)
        post = self.hook_post(torch.relu(pre))
        return self.hook_resid_post(x + post @ self.W_out + self.b_out)


class EmbedMLP(HookedModule):
    """An ensemble of E embedding MLPs; ``forward(Z, N, phys) -> [E, n, n_tasks]`` (MeV residuals)."""

    def __init__(self, cfg: EmbedMLPConfig) -> None:
        super().__init__()
        self.cfg = cfg
        E = cfg.n_members
        self.W_E_Z = nn.Parameter(torch.randn(E, cfg.d_vocab_Z, cfg.d_embed) * cfg.init_scale)
        self.W_E_N = nn.Parameter(torch.randn(E, cfg.d_vocab_N, cfg.d_embed) * cfg.init_scale)
        self.W_in, self.b_in = _linear(E, cfg.d_in, cfg.d_model), nn.Parameter(torch.zeros(E, 1, cfg.d_model))
        self.blocks = nn.ModuleList(ResidualBlock(cfg) for _ in range(cfg.n_blocks))
        self.W_U = _linear(E, cfg.d_model, cfg.n_tasks, zero=True)
        self.b_U = nn.Parameter(torch.zeros(E, 1, cfg.n_tasks))
        self.hook_embed_Z, self.hook_embed_N, self.hook_in = HookPoint(), HookPoint(), HookPoint()
        self.hook_resid_pre, self.hook_resid_final, self.hook_out = HookPoint(), HookPoint(), HookPoint()
        self.setup_hooks()

    def _check(self, Z: torch.Tensor, N: torch.Tensor, phys: torch.Tensor | None) -> None:
        c = self.cfg
        if Z.numel() and (int(Z.min()) < 0 or int(Z.max()) >= c.d_vocab_Z or int(N.min()) < 0
                          or int(N.max()) >= c.d_vocab_N):
            raise ValueError(f"Z must be in [0, {c.d_vocab_Z}) and N in [0, {c.d_vocab_N}); "
                             f"got Z {int(Z.min())}..{int(Z.max())}, N {int(N.min())}..{int(N.max())}")
        if c.n_physics and (phys is None or phys.shape[-1] != c.n_physics):
            raise ValueError(f"this model takes {c.n_physics} physics inputs per nuclide "
                             "(tasks.nuclear_physics.physics_inputs); pass phys=")

    def embed(self, Z: torch.Tensor, N: torch.Tensor, phys: torch.Tensor | None = None) -> torch.Tensor:
        """[E, n, d_in]: the Z and N embeddings (and physics inputs) side by side."""
        self._check(Z, N, phys)
        parts = [self.hook_embed_Z(self.W_E_Z[:, Z]), self.hook_embed_N(self.W_E_N[:, N])]
        if self.cfg.n_physics:
            parts.append(phys.to(self.W_in.dtype).expand(self.cfg.n_members, -1, -1))
        return self.hook_in(torch.cat(parts, dim=-1))

    def forward_from_input(self, h: torch.Tensor) -> torch.Tensor:
        """Run everything after the embeddings on h: [E, n, d_in] -> [E, n, n_tasks]."""
        x = self.hook_resid_pre(torch.nn.functional.silu(h @ self.W_in + self.b_in))
        for block in self.blocks:
            x = block(x)
        x = self.hook_resid_final(x)                                  # penultimate layer
        return self.hook_out(x @ self.W_U + self.b_U)

    def forward(self, Z: torch.Tensor, N: torch.Tensor, phys: torch.Tensor | None = None) -> torch.Tensor:
        return self.forward_from_input(self.embed(Z, N, phys))

    def member(self, i: int) -> EmbedMLP:
        """Member ``i`` as a one-member model (a copy)."""
        if not 0 <= i < self.cfg.n_members:
            raise ValueError(f"member {i} out of range; this ensemble has {self.cfg.n_members}")
        one = EmbedMLP(replace(self.cfg, n_members=1)).to(self.W_in.dtype)
        one.load_state_dict({k: v[i:i + 1].clone() for k, v in self.state_dict().items()})
        return one

"""A ReLU network whose sparse-parity support is known by construction (shared by tests)."""

from __future__ import annotations

import torch

from algolens.models.mlp import ParityMLP, ParityMLPConfig


def parity_network(n: int, support: tuple[int, ...], width: int = 8) -> ParityMLP:
    """ReLU net computing the parity of ``support``: with c = Σ_{i∈S} x_i, unit j computes
    relu(c - j) (j < k) and the logit is g(c) = -1 + 2 relu(c) - 4 relu(c-1) + 4 relu(c-2) - ...,
    the triangle wave -1, +1, -1, ... at c = 0, 1, 2, ... (positive logit = label 1). In the
    model's ±1 coding s = 1 - 2x, c = k/2 - Σ_{i∈S} s_i / 2. Spare units carry small noise."""
    k = len(support)
    net = ParityMLP(ParityMLPConfig(n_in=n, width=width), seed=0)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        net.W_in.copy_(0.01 * torch.randn(n, width, generator=g))
        net.W_in[:, :k] = 0.0
        net.W_in[list(support), :k] = -0.5
        net.b_in.copy_(torch.tensor([k / 2 - j for j in range(width)]))
        net.W_out.fill_(0.01)
        net.W_out[:k] = torch.tensor([2.0] + [4.0 * (-1) ** j for j in range(1, k)])
        net.b_out.fill_(-1.0)
    return net

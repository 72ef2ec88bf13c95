"""Several hidden sizes in one batched ensemble, by masking state units.

An ensemble is built with the largest hidden size H; member i keeps only its first k_i state
units: the weights into and out of the other units start at zero and their gradients are zeroed
every step, so those units stay exactly 0 and the member *is* a k_i-unit network. ``shrink``
then cuts it down to a real ``hidden = k_i`` network. This lets the search try h = 1..4 in the
time of one run instead of four.
"""

from __future__ import annotations

from dataclasses import replace

import torch

from ..models.rnn import MIPSRNN, RNNEnsemble


def member_sizes(hiddens: tuple[int, ...], n_models: int) -> list[int]:
    """Hidden size of each member: equal blocks of members per size, smallest first."""
    per = max(1, n_models // len(hiddens))
    return [hiddens[min(i // per, len(hiddens) - 1)] for i in range(n_models)]


def state_masks(model: RNNEnsemble, sizes: list[int]) -> dict[str, torch.Tensor]:
    """Per-parameter 0/1 masks (broadcastable to each parameter) that cut member i to sizes[i]."""
    H = model.cfg.hidden
    live = (torch.arange(H)[None, :] < torch.tensor(sizes)[:, None]).float()    # [E, H]
    masks: dict[str, torch.Tensor] = {}
    first, last = model.f_layers[0], model.f_layers[-1]
    F = model.cfg.n_features
    rows = [live, torch.ones(len(sizes), F)]                                     # [E, H + F]
    if model.cfg.cell == "bilinear":         # the products h_i x_k (index i * F + k) live with h_i
        rows.append(live.repeat_interleave(F, dim=1))                            # [E, H * F]
    rows = torch.cat(rows, 1)
    masks[f"{first}_W"] = rows[:, :, None]
    cols = live[:, None, :]                                                      # [E, 1, H]
    masks[f"{last}_W"] = masks.get(f"{last}_W", torch.ones_like(cols)) * cols
    masks[f"{last}_b"] = live
    g0 = model.g_layers[0]
    masks[f"{g0}_W"] = live[:, :, None]                                          # [E, H, 1]
    return masks


def apply_masks(model: RNNEnsemble, masks: dict[str, torch.Tensor]) -> None:
    """Zero the masked weights (call once after init) or, via ``mask_grads``, their gradients."""
    with torch.no_grad():
        for name, m in masks.items():
            getattr(model, name).mul_(m)


def mask_grads(model: RNNEnsemble, masks: dict[str, torch.Tensor]) -> None:
    for name, m in masks.items():
        g = getattr(model, name).grad
        if g is not None:
            g.mul_(m)


@torch.no_grad()
def shrink(net: MIPSRNN, k: int) -> MIPSRNN:
    """A ``hidden = k`` copy of a network whose state units k.. are identically zero."""
    cfg = net.cfg
    H, F = cfg.hidden, cfg.n_features
    small = MIPSRNN(replace(cfg, hidden=k))
    src, dst = net.core, small.core
    for name, p in src.named_parameters():
        t = p.detach()
        if name == f"{src.f_layers[0]}_W":   # rows [h | x | h (x) x]: keep units < k of h and h x
            t = torch.cat([t[:, :k], t[:, H : H + F], t[:, H + F : H + F + k * F]], 1)
        if name == f"{src.f_layers[-1]}_W" or name == f"{src.f_layers[-1]}_b":
            t = t[..., :k]
        if name == f"{src.g_layers[0]}_W":
            t = t[:, :k]
        getattr(dst, name).copy_(t)
    return small.eval()

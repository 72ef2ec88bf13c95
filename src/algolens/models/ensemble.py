"""Many modular-addition transformers as one batched model, with fast training paths.

``TransformerEnsemble`` holds E models of one ``TransformerConfig`` shape in stacked parameters
``[E, ...]`` (each member with its own attention rate α) so that many seeds / α values train as
one batched computation; ``.member(i)`` extracts a ``Transformer``.

The ensemble's training path (``grid_logits``, 1-layer models, all p² pairs) is *factored
through the vocabulary*: the residual stream at position k is W_E[tok] + W_pos[k], which takes
only d_vocab values, so queries, keys, values, W_O, and W_in / W_U applied to the residual are
computed once per token as small tables; per pair only the attention-weighted sum of table rows
(a batched [p, H] @ [H, d_mlp + p] matmul), the MLP activation and act(pre) @ (W_out·W_U) remain.
Only the last position is computed. This is exact algebra (float order differs, ~1e-6 relative).
"""

from __future__ import annotations

import math
from dataclasses import replace

import torch
from torch import nn

from .transformer import Transformer, TransformerConfig, _act, _mix, init_params, make_inputs


class TransformerEnsemble(nn.Module):
    """E models of one shape with stacked parameters (same names as ``Transformer``, plus [E]).

    ``alphas`` gives each member its own attention rate (default: ``cfg.attn_rate`` for all);
    ``seeds`` its init seed. ``forward(tokens)`` takes ``[N, n_ctx]`` (shared) or
    ``[E, N, n_ctx]`` (per member) and returns last-position logits ``[E, N, p]``.
    """

    def __init__(self, cfg: TransformerConfig, seeds: list[int],
                 alphas: list[float] | None = None) -> None:
        super().__init__()
        alphas = [cfg.attn_rate] * len(seeds) if alphas is None else list(alphas)
        if len(alphas) != len(seeds) or not seeds:
            raise ValueError(f"need one alpha per seed, got {len(alphas)} alphas, "
                             f"{len(seeds)} seeds")
        for a in alphas:
            replace(cfg, attn_rate=float(a))  # validates each α
        self.cfg, self.seeds = cfg, [int(s) for s in seeds]
        self.n_models = len(seeds)
        self.register_buffer("alpha", torch.tensor(alphas, dtype=torch.float32))
        inits = [init_params(cfg, s) for s in seeds]
        for name in inits[0]:
            owner, leaf = self._owner(name)
            owner.register_parameter(leaf, nn.Parameter(torch.stack([d[name] for d in inits])))

    def _owner(self, name: str) -> tuple[nn.Module, str]:
        """Create (or find) the submodule holding ``name`` so state-dict keys match Transformer."""
        *path, leaf = name.split(".")
        mod: nn.Module = self
        for part in path:
            if not hasattr(mod, part):
                mod.add_module(part, nn.ModuleList() if part == "blocks" else nn.Module())
            if isinstance(mod, nn.ModuleList):
                while len(mod) <= int(part):
                    mod.append(nn.Module())
                mod = mod[int(part)]
            else:
                mod = getattr(mod, part)
        return mod, leaf

    def member_config(self, i: int) -> TransformerConfig:
        return replace(self.cfg, attn_rate=float(self.alpha[i]))

    def member_state(self, i: int) -> dict[str, torch.Tensor]:
        return {k: v[i].detach().clone() for k, v in self.named_parameters()}

    def member(self, i: int) -> Transformer:
        """A standalone ``Transformer`` copy of member ``i`` (with its own α)."""
        net = Transformer(self.member_config(i), seed=None)
        net.load_state_dict(self.member_state(i))
        return net

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        tokens = torch.as_tensor(tokens)
        if tokens.dim() == 2:
            tokens = tokens.unsqueeze(0).expand(self.n_models, -1, -1)
        E, T = self.n_models, self.cfg.n_ctx
        if tokens.dim() != 3 or tokens.shape[2] != T or tokens.shape[0] != E:
            raise ValueError(f"tokens must be [N, {self.cfg.n_ctx}] or "
                             f"[{self.n_models}, N, {self.cfg.n_ctx}], got {list(tokens.shape)}")
        return stacked_last_logits(self, tokens)

    def grid_logits(self) -> torch.Tensor:
        """Fast last-position logits on all p² inputs ``[E, p*p, p]`` (1-layer; see below)."""
        return grid_logits(self)

    def pair_logits(self, rows: torch.Tensor) -> torch.Tensor:
        """Last-position logits ``[E, n, p]`` on each member's pairs ``rows`` [E, n] (1-layer)."""
        return pair_logits(self, rows)


def _alpha(ens: TransformerEnsemble, ndim: int) -> torch.Tensor:
    return ens.alpha.to(ens.W_E.dtype).view(-1, *([1] * (ndim - 1)))


def stacked_last_logits(ens: TransformerEnsemble, tokens: torch.Tensor) -> torch.Tensor:
    """Straightforward batched forward (any depth): tokens [E, N, n_ctx] -> [E, N, p]."""
    cfg = ens.cfg
    E, N, T = tokens.shape
    x = torch.gather(ens.W_E, 1, tokens.reshape(E, N * T, 1).expand(-1, -1, cfg.d_model))
    x = x.view(E, N, T, -1) + ens.W_pos[:, None]                          # [E, N, T, d]
    for i, blk in enumerate(ens.blocks):
        last = i == cfg.n_layers - 1
        xq = x[:, :, -1:] if last else x
        q = torch.einsum("entd,ehdk->enhtk", xq, blk.attn.W_Q)
        k = torch.einsum("entd,ehdk->enhtk", x, blk.attn.W_K)
        v = torch.einsum("entd,ehdk->enhtk", x, blk.attn.W_V)
        scores = q @ k.transpose(-1, -2) / math.sqrt(cfg.d_head)          # [E, N, H, q, k]
        mask = None
        if cfg.causal:
            mask = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()[-q.shape[3]:]
            scores = scores.masked_fill(~mask, float("-inf"))
        pattern = _mix(scores.softmax(-1), _alpha(ens, 5), mask)
        attn_out = torch.einsum("enhqk,enhkd->enqd", pattern, v @ blk.attn.W_O[:, None])
        x = xq + attn_out                                                  # [E, N, q, d]
        Eq = x.shape[:3]
        h = x.reshape(E, -1, cfg.d_model)
        pre = torch.baddbmm(blk.mlp.b_in[:, None], h, blk.mlp.W_in)
        h = h + torch.baddbmm(blk.mlp.b_out[:, None], _act(cfg)(pre), blk.mlp.W_out)
        x = h.view(*Eq, cfg.d_model)
    return torch.bmm(x[:, :, -1], ens.W_U)


def pair_logits(ens: TransformerEnsemble, rows: torch.Tensor) -> torch.Tensor:
    """Last-position logits of each member on its own pairs ``rows`` [E, n] (flat a·p + b): [E, n, p].

    1-layer models only. Queries, keys and values come from per-token tables as in
    ``grid_logits``, but the attention sum is taken in value space (d_head wide, per row) and the
    rest is the plain last-position forward on the n rows. Cheaper than ``grid_logits`` when n is
    a small part of p² (the 30% split of the grokking setting).
    """
    cfg = ens.cfg
    if cfg.n_layers != 1:
        raise NotImplementedError("pair_logits needs a 1-layer model; use forward(tokens)")
    E, T, H, dh, d = ens.n_models, cfg.n_ctx, cfg.n_heads, cfg.d_head, cfg.d_model
    rows = _check_rows(rows, E, cfg.p, ens.W_E.device)
    blk = ens.blocks[0]
    tok = make_inputs(cfg)[0].to(rows.device)[rows]                       # [E, n, T]
    n = tok.shape[1]
    X, S = _score_tables(ens)
    V = X.shape[2]
    scores = torch.gather(S.reshape(E, -1), 1, _score_index(tok, H, V).reshape(E, -1))
    scores = scores.view(E, n, T, H)
    # the last query sees every position, so a causal mask changes nothing here
    pattern = _mix(scores.softmax(2), _alpha(ens, 4), None)              # [E, n, T, H]
    vt = torch.einsum("etvd,ehdk->etvhk", X, blk.attn.W_V).reshape(E, T * V, H * dh)
    pos = torch.arange(T, device=rows.device).view(1, 1, T) * V + tok     # [E, n, T]
    vr = torch.gather(vt, 1, pos.reshape(E, -1, 1).expand(-1, -1, H * dh)).view(E, n, T, H, dh)
    z = torch.einsum("enth,enthk->enhk", pattern, vr).reshape(E, n, H * dh)
    x_last = torch.gather(X[:, -1], 1, tok[:, :, -1, None].expand(-1, -1, d))
    resid = torch.baddbmm(x_last, z, blk.attn.W_O.reshape(E, H * dh, d))  # [E, n, d]
    pre = torch.baddbmm(blk.mlp.b_in[:, None], resid, blk.mlp.W_in)
    out = torch.baddbmm(blk.mlp.b_out[:, None], _act(cfg)(pre), blk.mlp.W_out) + resid
    return torch.bmm(out, ens.W_U)


def _score_tables(ens: TransformerEnsemble) -> tuple[torch.Tensor, torch.Tensor]:
    """Residual per (position, token) X [E, T, V, d] and the last query's attention scores
    S [E, H, T, V (query token), V (key token)] of a 1-layer ensemble."""
    blk = ens.blocks[0]
    X = ens.W_E[:, None] + ens.W_pos[:, :, None]                          # [E, T, V, d]
    qt = torch.einsum("evd,ehdk->ehvk", X[:, -1], blk.attn.W_Q)
    kt = torch.einsum("etvd,ehdk->ehtvk", X, blk.attn.W_K)
    return X, torch.einsum("ehvk,ehtuk->ehtvu", qt, kt) / math.sqrt(ens.cfg.d_head)


def _score_index(tok: torch.Tensor, H: int, V: int) -> torch.Tensor:
    """Flat index into ``S`` of each input's score: tokens [..., T] -> [..., T, H]."""
    T = tok.shape[-1]
    h_i = torch.arange(H, device=tok.device)
    t_i = torch.arange(T, device=tok.device)[:, None]
    return ((h_i * T + t_i) * V + tok[..., -1:, None]) * V + tok[..., None]


def _check_rows(rows, E: int, p: int, device) -> torch.Tensor:
    rows = torch.as_tensor(rows, device=device)
    if rows.dim() != 2 or rows.shape[0] != E or rows.dtype != torch.int64:
        raise ValueError(f"rows must be an int64 [{E}, n] tensor of flat pair indices, got "
                         f"{rows.dtype} {list(rows.shape)}")
    if rows.numel() and (rows.min() < 0 or rows.max() >= p * p):
        raise ValueError(f"rows must be flat pair indices a*p+b in [0, {p * p})")
    return rows


def grid_logits(ens: TransformerEnsemble) -> torch.Tensor:
    """Last-position logits of every member on all p² inputs (make_inputs order): [E, p*p, p].

    1-layer models only. Factored through the vocabulary (see module docstring): per member,
    tables over (position, token, head) of the value path pushed through W_O·[W_in | W_U]; per
    input pair, the attention-weighted sum of those rows is a batched [p, H] @ [H, m+p] matmul
    grouped by the token at each position. The only big per-example matmul left is
    act(pre) @ (W_out·W_U). Training on a split masks the loss, so val logits come for free.
    """
    cfg = ens.cfg
    if cfg.n_layers != 1:
        raise NotImplementedError("grid_logits needs a 1-layer model; use forward(tokens)")
    E, P, T, H, m = ens.n_models, cfg.p, cfg.n_ctx, cfg.n_heads, cfg.d_mlp
    blk = ens.blocks[0]
    tokens, _ = make_inputs(cfg)
    tokens = tokens.to(ens.W_E.device)
    X, S = _score_tables(ens)
    V = cfg.d_vocab
    # gather (backward: scatter_add) rather than advanced indexing (backward sorts indices)
    idx = _score_index(tokens, H, V).reshape(1, -1).expand(E, -1)
    scores = torch.gather(S.reshape(E, -1), 1, idx).view(E, P, P, T, H)
    pattern = _mix(scores.softmax(3), _alpha(ens, 5), None)               # [E, a, b, T, H]
    # value tables [E, T, V, H, m+p]: V·W_O·W_in and V·W_O·W_U side by side
    vt = torch.einsum("etvd,ehdk->etvhk", X, blk.attn.W_V)               # [E, T, V, H, dh]
    W_OIU = blk.attn.W_O @ torch.cat([blk.mlp.W_in, ens.W_U], -1)[:, None]  # [E, H, dh, m+p]
    tab = torch.einsum("etvhk,ehkm->etvhm", vt, W_OIU)
    bias = torch.cat([blk.mlp.b_in, torch.bmm(blk.mlp.b_out[:, None], ens.W_U)[:, 0]], -1)
    res = torch.baddbmm(bias[:, None], X[:, -1], torch.cat([blk.mlp.W_in, ens.W_U], -1))  # [E,V,K]
    K = tab.shape[-1]
    # position 0 holds a: batch over (E, a): [b, H] @ [H, K]
    z = torch.bmm(pattern[..., 0, :].reshape(E * P, P, H), tab[:, 0, :P].reshape(E * P, H, K))
    # position 1 holds b: batch over (E, b), then transposed back to (a, b). (No in-place ops
    # on views here: autograd would copy whole gradients for them.)
    z1 = torch.bmm(pattern[..., 1, :].transpose(1, 2).reshape(E * P, P, H),
                   tab[:, 1, :P].reshape(E * P, H, K))
    z = torch.add(z.view(E, P, P, K), z1.view(E, P, P, K).transpose(1, 2))
    if cfg.eq_token:   # position 2 holds "=" (token p), the query position
        z2 = pattern[..., 2, :].reshape(E, P * P, H) @ tab[:, 2, P]
        z = z.add_(z2.view(E, P, P, K)).add_(res[:, P].view(E, 1, 1, K))
    else:              # the query position holds b
        z = z.add_(res[:, None, :P])
    pre, resid = z.reshape(E, P * P, K).split([m, cfg.p], -1)   # split's backward is one cat
    return torch.baddbmm(resid, _act(cfg)(pre), blk.mlp.W_out @ ens.W_U)  # [E, p*p, p]

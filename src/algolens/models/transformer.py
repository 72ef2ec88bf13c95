"""The Clock/Pizza transformer: 1+ layers, no LayerNorm, untied embeddings, learned positions.

``Transformer`` is one model with TransformerLens names (``W_E``, ``blocks[0].attn.W_Q``, hooks
``blocks.0.attn.hook_pattern`` ...) for analysis. ``TransformerEnsemble`` holds E models of one
shape in stacked parameters ``[E, ...]`` (each member with its own attention rate α) so that many
seeds / α values train as one batched computation; ``.member(i)`` extracts a ``Transformer``.

Attention rate α (Zhong et al. 2023): each head's post-softmax pattern M becomes
α·M + (1−α)·J with J the all-ones matrix (with a causal mask, J is masked the same way).
α = 1 is standard attention; α = 0 makes attention a constant sum of values.

The ensemble's training path (``grid_logits``, 1-layer models, all p² pairs) is *factored
through the vocabulary*: the residual stream at position k is W_E[tok] + W_pos[k], which takes
only d_vocab values, so queries, keys, values, W_O, and W_in / W_U applied to the residual are
computed once per token as small tables; per pair only the attention-weighted sum of table rows
(a batched [p, H] @ [H, d_mlp + p] matmul), the MLP activation and act(pre) @ (W_out·W_U) remain.
Only the last position is computed. This is exact algebra (float order differs, ~1e-6 relative).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace

import torch
import torch.nn.functional as F
from torch import nn

from .hooks import HookedModule, HookPoint


@dataclass(frozen=True)
class TransformerConfig:
    """Shape of one model. ``n_ctx`` is derived: 2 for [a, b], 3 for [a, b, =]."""

    p: int = 59                 # modulus; d_vocab = p (+1 if eq_token)
    d_model: int = 128
    n_heads: int = 4            # d_head = d_model // n_heads
    d_mlp: int = 512            # 4 * d_model by default
    n_layers: int = 1
    act: str = "relu"           # or "gelu"
    attn_rate: float = 1.0      # α: pattern -> α·softmax + (1−α)·J, J the ALL-ONES matrix
    causal: bool = False
    eq_token: bool = False      # input [a, b, =] (Nanda) instead of [a, b]
    n_ctx: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "n_ctx", 3 if self.eq_token else 2)
        if self.p < 2:
            raise ValueError(f"p must be >= 2, got {self.p}")
        if self.d_model < 1 or self.n_heads < 1 or self.d_model % self.n_heads:
            raise ValueError(f"d_model ({self.d_model}) must be a positive multiple of n_heads "
                             f"({self.n_heads}); e.g. --width 128 with 4 heads")
        if self.d_mlp < 1 or self.n_layers < 1:
            raise ValueError(f"d_mlp and n_layers must be >= 1, got {self.d_mlp}, {self.n_layers}")
        if self.act not in ("relu", "gelu"):
            raise ValueError(f"act must be 'relu' or 'gelu', got {self.act!r}")
        if not 0.0 <= self.attn_rate <= 1.0:
            raise ValueError(f"attn_rate (α) must be in [0, 1], got {self.attn_rate}")

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads

    @property
    def d_vocab(self) -> int:
        return self.p + 1 if self.eq_token else self.p

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("n_ctx")
        return d

    @classmethod
    def from_dict(cls, d: dict) -> TransformerConfig:
        d = {k: v for k, v in d.items() if k != "n_ctx"}
        return cls(**d)


def make_inputs(cfg: TransformerConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """All p² inputs in a*p+b order: tokens ``[p*p, n_ctx]`` and labels (a+b) mod p ``[p*p]``."""
    a = torch.arange(cfg.p).repeat_interleave(cfg.p)
    b = torch.arange(cfg.p).repeat(cfg.p)
    cols = [a, b] + ([torch.full_like(a, cfg.p)] if cfg.eq_token else [])
    return torch.stack(cols, dim=1), (a + b) % cfg.p


def init_params(cfg: TransformerConfig, seed: int) -> dict[str, torch.Tensor]:
    """The spec's init, drawn in a fixed order from a generator seeded by ``seed``.

    W_E, W_pos, W_Q/K/V/O ~ N(0,1)/√d; W_U ~ N(0,1)/√p; W_in ~ N(0,1)/√d_mlp (= √(4d) by
    default); W_out ~ N(0,1)/√d; biases 0. An ensemble member with seed s starts exactly where
    ``Transformer(cfg, seed=s)`` does, so a run is a function of (config, seed) however batched.
    """
    g = torch.Generator().manual_seed(int(seed))
    d, H, dh, m = cfg.d_model, cfg.n_heads, cfg.d_head, cfg.d_mlp
    randn = lambda *shape, scale: torch.randn(*shape, generator=g) / math.sqrt(scale)
    out = {"W_E": randn(cfg.d_vocab, d, scale=d), "W_pos": randn(cfg.n_ctx, d, scale=d),
           "W_U": randn(d, cfg.p, scale=cfg.p)}
    for i in range(cfg.n_layers):
        for n in ("W_Q", "W_K", "W_V"):
            out[f"blocks.{i}.attn.{n}"] = randn(H, d, dh, scale=d)
        out[f"blocks.{i}.attn.W_O"] = randn(H, dh, d, scale=d)
        out[f"blocks.{i}.mlp.W_in"] = randn(d, m, scale=m)
        out[f"blocks.{i}.mlp.b_in"] = torch.zeros(m)
        out[f"blocks.{i}.mlp.W_out"] = randn(m, d, scale=d)
        out[f"blocks.{i}.mlp.b_out"] = torch.zeros(d)
    return out


def _act(cfg: TransformerConfig):
    return torch.relu if cfg.act == "relu" else F.gelu


def _mix(pattern: torch.Tensor, alpha: torch.Tensor | float, causal_mask: torch.Tensor | None
         ) -> torch.Tensor:
    """α·softmax + (1−α)·J; J all ones (masked like the scores when causal)."""
    J = torch.ones_like(pattern) if causal_mask is None else causal_mask.to(pattern.dtype)
    return alpha * pattern + (1 - alpha) * J


# ---------------------------------------------------------------------------- single model
class Attention(HookedModule):
    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.cfg = cfg
        H, d, dh = cfg.n_heads, cfg.d_model, cfg.d_head
        self.W_Q = nn.Parameter(torch.zeros(H, d, dh))
        self.W_K = nn.Parameter(torch.zeros(H, d, dh))
        self.W_V = nn.Parameter(torch.zeros(H, d, dh))
        self.W_O = nn.Parameter(torch.zeros(H, dh, d))
        self.hook_q, self.hook_k, self.hook_v = HookPoint(), HookPoint(), HookPoint()
        self.hook_attn_scores = HookPoint()   # [batch, head, q, k]
        self.hook_pattern = HookPoint()       # [batch, head, q, k], after α mixing
        self.hook_z = HookPoint()             # [batch, q, head, d_head]

    def forward(self, x: torch.Tensor, last_only: bool = False) -> torch.Tensor:
        # x: [batch, pos, d_model]; queries only at the last position when last_only
        xq = x[:, -1:] if last_only else x
        q = self.hook_q(torch.einsum("bpd,hde->bphe", xq, self.W_Q))   # [b, q, h, dh]
        k = self.hook_k(torch.einsum("bpd,hde->bphe", x, self.W_K))    # [b, k, h, dh]
        v = self.hook_v(torch.einsum("bpd,hde->bphe", x, self.W_V))
        scores = torch.einsum("bqhe,bkhe->bhqk", q, k) / math.sqrt(self.cfg.d_head)
        mask = None
        if self.cfg.causal:
            n = x.shape[1]
            mask = torch.ones(n, n, dtype=torch.bool, device=x.device).tril()[-q.shape[1]:]
            scores = scores.masked_fill(~mask, float("-inf"))
        scores = self.hook_attn_scores(scores)
        pattern = self.hook_pattern(_mix(scores.softmax(-1), self.cfg.attn_rate, mask))
        z = self.hook_z(torch.einsum("bhqk,bkhe->bqhe", pattern, v))  # [b, q, h, dh]
        return torch.einsum("bqhe,hed->bqd", z, self.W_O)


class MLP(HookedModule):
    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.W_in = nn.Parameter(torch.zeros(cfg.d_model, cfg.d_mlp))
        self.b_in = nn.Parameter(torch.zeros(cfg.d_mlp))
        self.W_out = nn.Parameter(torch.zeros(cfg.d_mlp, cfg.d_model))
        self.b_out = nn.Parameter(torch.zeros(cfg.d_model))
        self.hook_pre = HookPoint()    # [batch, pos, d_mlp]
        self.hook_post = HookPoint()   # [batch, pos, d_mlp]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pre = self.hook_pre(x @ self.W_in + self.b_in)
        post = self.hook_post(_act(self.cfg)(pre))
        return post @ self.W_out + self.b_out


class Block(HookedModule):
    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.attn, self.mlp = Attention(cfg), MLP(cfg)
        self.hook_resid_pre, self.hook_attn_out = HookPoint(), HookPoint()
        self.hook_resid_mid, self.hook_mlp_out = HookPoint(), HookPoint()
        self.hook_resid_post = HookPoint()

    def forward(self, x: torch.Tensor, last_only: bool = False) -> torch.Tensor:
        x = self.hook_resid_pre(x)                                   # [b, pos, d]
        attn_out = self.hook_attn_out(self.attn(x, last_only))       # [b, q, d]
        x = self.hook_resid_mid((x[:, -1:] if last_only else x) + attn_out)
        x = self.hook_resid_post(x + self.hook_mlp_out(self.mlp(x)))
        return x


class Transformer(HookedModule):
    """One model. ``forward(tokens [batch, n_ctx], last_only=False)`` -> logits.

    With ``last_only`` the final block computes its query, attention output, MLP and unembedding
    only at the last position (keys/values still from every position); the last position's logits
    are identical to the full computation. Hooks in the last block then have pos/q size 1.
    """

    def __init__(self, cfg: TransformerConfig, seed: int | None = 0) -> None:
        super().__init__()
        self.cfg = cfg
        self.W_E = nn.Parameter(torch.zeros(cfg.d_vocab, cfg.d_model))
        self.W_pos = nn.Parameter(torch.zeros(cfg.n_ctx, cfg.d_model))
        self.W_U = nn.Parameter(torch.zeros(cfg.d_model, cfg.p))
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.hook_embed, self.hook_pos_embed = HookPoint(), HookPoint()
        self.hook_logits = HookPoint()
        self.setup_hooks()
        if seed is not None:
            self.load_state_dict(init_params(cfg, seed))

    def forward(self, tokens: torch.Tensor, last_only: bool = False) -> torch.Tensor:
        tokens = torch.as_tensor(tokens)
        if tokens.dim() != 2 or tokens.shape[1] != self.cfg.n_ctx:
            raise ValueError(f"tokens must be [batch, {self.cfg.n_ctx}], got {list(tokens.shape)}")
        embed = self.hook_embed(self.W_E[tokens])                               # [b, pos, d]
        pos = self.hook_pos_embed(self.W_pos.expand(tokens.shape[0], -1, -1))   # [b, pos, d]
        x = embed + pos
        for i, block in enumerate(self.blocks):
            x = block(x, last_only and i == len(self.blocks) - 1)
        logits = self.hook_logits(x @ self.W_U)                                  # [b, pos, p]
        return logits[:, -1] if last_only else logits


# ---------------------------------------------------------------------------- ensemble
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
    cols = [rows // cfg.p, rows % cfg.p] + ([torch.full_like(rows, cfg.p)] if cfg.eq_token else [])
    tok = torch.stack(cols, -1)                                           # [E, n, T] as make_inputs
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

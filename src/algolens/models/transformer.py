"""A small hooked transformer family; the Clock/Pizza modular-addition model is one configuration.

``Transformer`` is one model with TransformerLens names (``W_E``, ``W_pos``, ``blocks[0].attn.W_Q``,
hooks ``blocks.0.attn.hook_pattern``, ``blocks.0.ln1.hook_normalized`` ...) for analysis. Its shape
comes from a ``ModelConfig`` (any vocabulary and context; optional pre-LayerNorm; learned or
sinusoidal positions; padding masks through ``attention_mask``) or from a ``TransformerConfig``,
the modular-addition preset: no LayerNorm, learned positions, context [a, b] or [a, b, =], logits
over the p residues. ``TransformerConfig.model_config()`` is the ``ModelConfig`` it stands for;
the Clock/Pizza code keeps ``TransformerConfig`` because it reads ``p`` and ``eq_token``.
Sequence-to-sequence models (successor, traversals) wrap a decoder-only configuration:
``models.seq2seq``.

Attention rate α (Zhong et al. 2023): each head's post-softmax pattern M becomes
α·M + (1−α)·J with J the all-ones matrix (masked like the scores when there is a mask).
α = 1 is standard attention; α = 0 makes attention a constant sum of values.

``TransformerEnsemble`` (many modular models as one batched computation, with the fast training
paths ``grid_logits`` / ``pair_logits``) lives in ``models.ensemble``, which imports this module
(never the other way round).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from ..tasks.table import modular_addition_target
from .hooks import HookedModule, HookPoint


@dataclass(frozen=True)
class ModelConfig:
    """Shape of one model of the family (TransformerLens vocabulary)."""

    d_vocab: int                # input tokens
    n_ctx: int                  # longest input
    d_vocab_out: int            # logits per position
    d_model: int = 128
    n_heads: int = 4            # d_head = d_model // n_heads
    d_mlp: int = 512
    n_layers: int = 1
    act: str = "relu"           # or "gelu"
    attn_rate: float = 1.0      # α, see the module docstring
    causal: bool = False
    normalization: str | None = None    # None or "LN" (pre-LayerNorm in every block + final)
    positional: str = "learned"         # or "sinusoidal" (fixed, not trained)

    def __post_init__(self) -> None:
        _check_shape(self)
        if min(self.d_vocab, self.n_ctx, self.d_vocab_out) < 1:
            raise ValueError(f"d_vocab, n_ctx and d_vocab_out must be >= 1, got {self.d_vocab}, "
                             f"{self.n_ctx}, {self.d_vocab_out}")
        if self.normalization not in (None, "LN"):
            raise ValueError(f"normalization must be None or 'LN', got {self.normalization!r}")
        if self.positional not in ("learned", "sinusoidal"):
            raise ValueError(f"positional must be 'learned' or 'sinusoidal', got "
                             f"{self.positional!r}")

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads

    def model_config(self) -> ModelConfig:
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        return cls(**d)


def _check_shape(cfg) -> None:
    """Checks shared by both configs (same messages as before the family existed)."""
    if cfg.d_model < 1 or cfg.n_heads < 1 or cfg.d_model % cfg.n_heads:
        raise ValueError(f"d_model ({cfg.d_model}) must be a positive multiple of n_heads "
                         f"({cfg.n_heads}); e.g. --width 128 with 4 heads")
    if cfg.d_mlp < 1 or cfg.n_layers < 1:
        raise ValueError(f"d_mlp and n_layers must be >= 1, got {cfg.d_mlp}, {cfg.n_layers}")
    if cfg.act not in ("relu", "gelu"):
        raise ValueError(f"act must be 'relu' or 'gelu', got {cfg.act!r}")
    if not 0.0 <= cfg.attn_rate <= 1.0:
        raise ValueError(f"attn_rate (α) must be in [0, 1], got {cfg.attn_rate}")


@dataclass(frozen=True)
class TransformerConfig:
    """The modular-addition preset. ``n_ctx`` is derived: 2 for [a, b], 3 for [a, b, =]."""

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
        _check_shape(self)

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads

    @property
    def d_vocab(self) -> int:
        return self.p + 1 if self.eq_token else self.p

    def model_config(self) -> ModelConfig:
        """This preset as a member of the model family."""
        return ModelConfig(self.d_vocab, self.n_ctx, self.p, self.d_model, self.n_heads,
                           self.d_mlp, self.n_layers, self.act, self.attn_rate, self.causal)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("n_ctx")
        return d

    @classmethod
    def from_dict(cls, d: dict) -> TransformerConfig:
        d = {k: v for k, v in d.items() if k != "n_ctx"}
        return cls(**d)


def make_inputs(cfg: TransformerConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """All p² inputs in a*p+b order (the rows of ``tasks.table.modular_addition(p)``): tokens
    ``[p*p, n_ctx]`` and labels ``[p*p]`` from the table task's one definition of the target."""
    a = torch.arange(cfg.p).repeat_interleave(cfg.p)
    b = torch.arange(cfg.p).repeat(cfg.p)
    cols = [a, b] + ([torch.full_like(a, cfg.p)] if cfg.eq_token else [])
    return torch.stack(cols, dim=1), modular_addition_target(a, b, cfg.p)


def init_params(cfg: TransformerConfig | ModelConfig, seed: int) -> dict[str, torch.Tensor]:
    """The spec's init, drawn in a fixed order from a generator seeded by ``seed``.

    W_E, W_pos, W_Q/K/V/O ~ N(0,1)/√d; W_U ~ N(0,1)/√d_vocab_out; W_in ~ N(0,1)/√d_mlp (= √(4d)
    by default); W_out ~ N(0,1)/√d; biases 0; LayerNorm weights 1, biases 0 (drawn nothing, so
    the draws are the same with or without LayerNorm). An ensemble member with seed s starts
    exactly where ``Transformer(cfg, seed=s)`` does, so a run is a function of (config, seed).
    """
    mc = cfg.model_config()
    g = torch.Generator().manual_seed(int(seed))
    d, H, dh, m = mc.d_model, mc.n_heads, mc.d_head, mc.d_mlp
    randn = lambda *shape, scale: torch.randn(*shape, generator=g) / math.sqrt(scale)  # noqa: E731
    out = {"W_E": randn(mc.d_vocab, d, scale=d)}
    pos = randn(mc.n_ctx, d, scale=d)
    if mc.positional == "learned":
        out["W_pos"] = pos
    out["W_U"] = randn(d, mc.d_vocab_out, scale=mc.d_vocab_out)
    for i in range(mc.n_layers):
        for n in ("W_Q", "W_K", "W_V"):
            out[f"blocks.{i}.attn.{n}"] = randn(H, d, dh, scale=d)
        out[f"blocks.{i}.attn.W_O"] = randn(H, dh, d, scale=d)
        out[f"blocks.{i}.mlp.W_in"] = randn(d, m, scale=m)
        out[f"blocks.{i}.mlp.b_in"] = torch.zeros(m)
        out[f"blocks.{i}.mlp.W_out"] = randn(m, d, scale=d)
        out[f"blocks.{i}.mlp.b_out"] = torch.zeros(d)
    if mc.normalization == "LN":
        lns = [f"blocks.{i}.{ln}" for i in range(mc.n_layers) for ln in ("ln1", "ln2")]
        for ln in lns + ["ln_final"]:
            out[f"{ln}.w"], out[f"{ln}.b"] = torch.ones(d), torch.zeros(d)
    return out


def sinusoidal_positions(n_ctx: int, d_model: int) -> torch.Tensor:
    """Vaswani et al.'s fixed positions: sin/cos of pos / 10000^(2i/d), [n_ctx, d_model]."""
    pos = torch.arange(n_ctx, dtype=torch.float32)[:, None]
    freq = torch.exp(-math.log(10000.0) * torch.arange(0, d_model, 2) / d_model)
    out = torch.zeros(n_ctx, d_model)
    out[:, 0::2] = torch.sin(pos * freq)
    out[:, 1::2] = torch.cos(pos * freq)[:, : d_model // 2]
    return out


def _act(cfg):
    return torch.relu if cfg.act == "relu" else F.gelu


def _mix(pattern: torch.Tensor, alpha: torch.Tensor | float, mask: torch.Tensor | None
         ) -> torch.Tensor:
    """α·softmax + (1−α)·J; J all ones (masked like the scores when there is a mask)."""
    J = torch.ones_like(pattern) if mask is None else mask.to(pattern.dtype).expand_as(pattern)
    return alpha * pattern + (1 - alpha) * J


# ---------------------------------------------------------------------------- modules
class LayerNorm(HookedModule):
    """LayerNorm with TransformerLens hooks ``hook_scale`` [batch, pos, 1] and
    ``hook_normalized`` [batch, pos, d_model] (so the scale can be frozen for attribution)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.ones(cfg.d_model))
        self.b = nn.Parameter(torch.zeros(cfg.d_model))
        self.hook_scale, self.hook_normalized = HookPoint(), HookPoint()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x - x.mean(-1, keepdim=True)
        scale = self.hook_scale((x.pow(2).mean(-1, keepdim=True) + 1e-5).sqrt())
        return self.hook_normalized(x / scale) * self.w + self.b


def _norm(cfg: ModelConfig) -> nn.Module:
    return LayerNorm(cfg) if cfg.normalization == "LN" else nn.Identity()


class Attention(HookedModule):
    def __init__(self, cfg: ModelConfig) -> None:
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

    def forward(self, x: torch.Tensor, last_only: bool = False,
                key_mask: torch.Tensor | None = None) -> torch.Tensor:
        # x: [batch, pos, d_model]; queries only at the last position when last_only;
        # key_mask: [batch, pos] bool, False at padding (never attended to)
        xq = x[:, -1:] if last_only else x
        q = self.hook_q(torch.einsum("bpd,hde->bphe", xq, self.W_Q))   # [b, q, h, dh]
        k = self.hook_k(torch.einsum("bpd,hde->bphe", x, self.W_K))    # [b, k, h, dh]
        v = self.hook_v(torch.einsum("bpd,hde->bphe", x, self.W_V))
        scores = torch.einsum("bqhe,bkhe->bhqk", q, k) / math.sqrt(self.cfg.d_head)
        mask = _attention_mask(x.shape[1], q.shape[1], self.cfg.causal, key_mask, x.device)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        scores = self.hook_attn_scores(scores)
        pattern = scores.softmax(-1)
        if mask is not None:          # a query whose keys are all padding reads nothing
            pattern = pattern.nan_to_num(0.0)
        pattern = self.hook_pattern(_mix(pattern, self.cfg.attn_rate, mask))
        z = self.hook_z(torch.einsum("bhqk,bkhe->bqhe", pattern, v))  # [b, q, h, dh]
        return torch.einsum("bqhe,hed->bqd", z, self.W_O)


def _attention_mask(n: int, n_q: int, causal: bool, key_mask: torch.Tensor | None, device
                    ) -> torch.Tensor | None:
    """[1 or batch, 1, q, k] bool (True = may attend), or None when nothing is masked."""
    mask = None
    if causal:
        mask = torch.ones(n, n, dtype=torch.bool, device=device).tril()[-n_q:][None, None]
    if key_mask is not None:
        keys = key_mask[:, None, None, :].bool()
        mask = keys if mask is None else mask & keys
    return mask


class MLP(HookedModule):
    def __init__(self, cfg: ModelConfig) -> None:
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
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        if cfg.normalization == "LN":      # no modules at all without LN: same state dict
            self.ln1, self.ln2 = LayerNorm(cfg), LayerNorm(cfg)
        self.attn, self.mlp = Attention(cfg), MLP(cfg)
        self.hook_resid_pre, self.hook_attn_out = HookPoint(), HookPoint()
        self.hook_resid_mid, self.hook_mlp_out = HookPoint(), HookPoint()
        self.hook_resid_post = HookPoint()

    def forward(self, x: torch.Tensor, last_only: bool = False,
                key_mask: torch.Tensor | None = None) -> torch.Tensor:
        x = self.hook_resid_pre(x)                                   # [b, pos, d]
        ln1 = getattr(self, "ln1", None)
        attn_in = x if ln1 is None else ln1(x)
        attn_out = self.hook_attn_out(self.attn(attn_in, last_only, key_mask))   # [b, q, d]
        x = self.hook_resid_mid((x[:, -1:] if last_only else x) + attn_out)
        ln2 = getattr(self, "ln2", None)
        mlp_out = self.hook_mlp_out(self.mlp(x if ln2 is None else ln2(x)))
        return self.hook_resid_post(x + mlp_out)


class Transformer(HookedModule):
    """One model. ``forward(tokens [batch, pos], last_only=False, attention_mask=None)`` -> logits
    ``[batch, pos, d_vocab_out]`` (``[batch, d_vocab_out]`` with ``last_only``).

    With ``last_only`` the final block computes its query, attention output, MLP and unembedding
    only at the last position (keys/values still from every position); the last position's logits
    equal the full computation's. Hooks in the last block then have pos/q size 1.
    ``attention_mask`` [batch, pos] (1 = token, 0 = padding) keeps padding out of every pattern.
    ``cfg`` is a ``ModelConfig`` or the modular ``TransformerConfig`` (exactly n_ctx tokens).
    """

    def __init__(self, cfg: TransformerConfig | ModelConfig, seed: int | None = 0) -> None:
        super().__init__()
        self.cfg = cfg
        mc = cfg.model_config()
        self.W_E = nn.Parameter(torch.zeros(mc.d_vocab, mc.d_model))
        if mc.positional == "learned":
            self.W_pos = nn.Parameter(torch.zeros(mc.n_ctx, mc.d_model))
        else:
            self.register_buffer("W_pos", sinusoidal_positions(mc.n_ctx, mc.d_model),
                                 persistent=False)
        self.W_U = nn.Parameter(torch.zeros(mc.d_model, mc.d_vocab_out))
        self.blocks = nn.ModuleList(Block(mc) for _ in range(mc.n_layers))
        if mc.normalization == "LN":
            self.ln_final = LayerNorm(mc)
        self.hook_embed, self.hook_pos_embed = HookPoint(), HookPoint()
        self.hook_logits = HookPoint()
        self.setup_hooks()
        if seed is not None:
            self.load_state_dict(init_params(cfg, seed))

    def forward(self, tokens: torch.Tensor, last_only: bool = False,
                attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        tokens = self._check_tokens(tokens)
        n = tokens.shape[1]
        embed = self.hook_embed(self.W_E[tokens])                                   # [b, pos, d]
        pos = self.hook_pos_embed(self.W_pos[:n].expand(tokens.shape[0], -1, -1))   # [b, pos, d]
        x = embed + pos
        for i, block in enumerate(self.blocks):
            x = block(x, last_only and i == len(self.blocks) - 1, attention_mask)
        if hasattr(self, "ln_final"):
            x = self.ln_final(x)
        logits = self.hook_logits(x @ self.W_U)                              # [b, pos, d_out]
        return logits[:, -1] if last_only else logits

    def _check_tokens(self, tokens) -> torch.Tensor:
        tokens = torch.as_tensor(tokens)
        n_ctx = self.cfg.n_ctx
        fixed = isinstance(self.cfg, TransformerConfig)
        if tokens.dim() != 2 or (tokens.shape[1] != n_ctx if fixed else tokens.shape[1] > n_ctx):
            want = f"[batch, {n_ctx}]" if fixed else f"[batch, pos <= {n_ctx}]"
            raise ValueError(f"tokens must be {want}, got {list(tokens.shape)}")
        return tokens


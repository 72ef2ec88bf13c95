"""A decoder-only sequence-to-sequence transformer: input field, separator, greedy output.

Layout of one row (W = ``max_input_len``, the fixed width of the input field):

    position  0 .. n-1   n .. W-1   W     W+1 .. W+m     (W+m+1 ..)
    token     x_0..x_n-1 PAD        SEP   y_0 .. y_m-1   PAD
    predicts  -          -          y_0   y_1 .. EOS     -

The input sits at fixed positions so that output step i and input position i are a constant
distance apart (learned positions can align them in one head); padding is masked out of every
attention pattern. Causal attention; the logits cover the output alphabet plus EOS. Decoding is
greedy, all rows at once. ``Seq2SeqTransformer`` *is* a ``Transformer`` (same TransformerLens
hook names: ``blocks.0.attn.hook_pattern`` ...), configured by ``Seq2SeqConfig``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

from .transformer import ModelConfig, Transformer

IGNORE = -100


@dataclass(frozen=True)
class Seq2SeqConfig:
    """Vocabulary, lengths and shape of a seq2seq model (a causal ``ModelConfig`` underneath)."""

    input_alphabet: tuple[int, ...]
    output_alphabet: tuple[int, ...]
    max_input_len: int
    max_output_len: int
    d_model: int = 64
    n_heads: int = 4
    d_mlp: int = 256
    n_layers: int = 2
    act: str = "relu"
    normalization: str | None = "LN"
    positional: str = "learned"

    def __post_init__(self) -> None:
        object.__setattr__(self, "input_alphabet", tuple(int(v) for v in self.input_alphabet))
        object.__setattr__(self, "output_alphabet", tuple(int(v) for v in self.output_alphabet))
        if self.max_input_len < 1 or self.max_output_len < 1:
            raise ValueError("max_input_len and max_output_len must be >= 1")
        self.model_config()          # validates the shape

    # token ids: input symbols, output symbols, then SEP, EOS, PAD
    @property
    def n_in(self) -> int:
        return len(self.input_alphabet)

    @property
    def n_out(self) -> int:
        return len(self.output_alphabet)

    @property
    def SEP(self) -> int:
        return self.n_in + self.n_out

    @property
    def EOS(self) -> int:
        return self.SEP + 1

    @property
    def PAD(self) -> int:
        return self.SEP + 2

    @property
    def n_ctx(self) -> int:
        return self.max_input_len + 1 + self.max_output_len

    def model_config(self) -> ModelConfig:
        return ModelConfig(d_vocab=self.n_in + self.n_out + 3, n_ctx=self.n_ctx,
                           d_vocab_out=self.n_out + 1, d_model=self.d_model,
                           n_heads=self.n_heads, d_mlp=self.d_mlp, n_layers=self.n_layers,
                           act=self.act, causal=True, normalization=self.normalization,
                           positional=self.positional)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Seq2SeqConfig:
        return cls(**{k: tuple(v) if k.endswith("alphabet") else v for k, v in d.items()})


class Seq2SeqTransformer(Transformer):
    """``encode`` rows to tokens, ``loss`` by teacher forcing, ``generate`` greedily."""

    cfg: Seq2SeqConfig

    def __init__(self, cfg: Seq2SeqConfig, seed: int | None = 0) -> None:
        super().__init__(cfg, seed)
        self._in = {s: i for i, s in enumerate(cfg.input_alphabet)}
        self._out = {s: i for i, s in enumerate(cfg.output_alphabet)}

    # ------------------------------------------------------------------ encoding
    def input_field(self, xs: list[list[int]]) -> torch.Tensor:
        """Input rows -> [batch, W + 1]: the fixed-width input field and SEP."""
        W, cfg = self.cfg.max_input_len, self.cfg
        out = torch.full((len(xs), W + 1), cfg.PAD, dtype=torch.long)
        for r, x in enumerate(xs):
            if len(x) > W:
                raise ValueError(f"input of length {len(x)} is longer than the model's input "
                                 f"field ({W}); train a model with a larger max_input_len")
            try:
                out[r, :len(x)] = torch.tensor([self._in[int(v)] for v in x], dtype=torch.long)
            except KeyError as e:
                raise ValueError(f"input symbol {e.args[0]!r} is not in the model's input "
                                 f"alphabet {list(cfg.input_alphabet)}") from None
        out[:, W] = cfg.SEP
        return out

    def encode(self, xs: list[list[int]], ys: list[list[int]]
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Teacher-forcing batch: tokens, attention mask [batch, T] and targets [batch, T]
        (output class ids at the predicting positions, IGNORE elsewhere)."""
        cfg, W = self.cfg, self.cfg.max_input_len
        m = max(len(y) for y in ys)
        if m > cfg.max_output_len:
            raise ValueError(f"output of length {m} is longer than max_output_len "
                             f"{cfg.max_output_len}")
        T = W + 1 + m
        tokens = torch.full((len(xs), T), cfg.PAD, dtype=torch.long)
        tokens[:, :W + 1] = self.input_field(xs)
        targets = torch.full((len(xs), T), IGNORE, dtype=torch.long)
        for r, y in enumerate(ys):
            cls = [self._out[int(v)] for v in y]
            tokens[r, W + 1:W + 1 + len(y)] = torch.tensor(cls, dtype=torch.long) + cfg.n_in
            targets[r, W:W + len(y) + 1] = torch.tensor(cls + [cfg.n_out], dtype=torch.long)
        return tokens, tokens != cfg.PAD, targets

    def loss(self, xs: list[list[int]], ys: list[list[int]]) -> torch.Tensor:
        tokens, mask, targets = self.encode(xs, ys)
        logits = self(tokens, attention_mask=mask)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1),
                               ignore_index=IGNORE)

    # ------------------------------------------------------------------ decoding
    @torch.no_grad()
    def generate(self, xs: list[list[int]], fwd_hooks: list = ()) -> list[list[int]]:
        """Greedy outputs (symbols, EOS dropped); a row that never says EOS stops at
        ``max_output_len``. ``fwd_hooks`` (name, fn) apply at every step (interventions)."""
        tokens, cls = self.generate_tokens(xs, fwd_hooks)
        outs = []
        for row in cls.tolist():
            k = row.index(self.cfg.n_out) if self.cfg.n_out in row else self.cfg.max_output_len
            outs.append([self.cfg.output_alphabet[c] for c in row[:k]])
        return outs

    @torch.no_grad()
    def generate_tokens(self, xs: list[list[int]], fwd_hooks: list = ()
                        ) -> tuple[torch.Tensor, torch.Tensor]:
        """Greedy decoding: final tokens [batch, T] and predicted classes [batch, steps]."""
        cfg = self.cfg
        tokens = self.input_field(xs)
        done = torch.zeros(len(xs), dtype=torch.bool)
        classes = []
        with self.hooks(list(fwd_hooks)):
            for _ in range(cfg.max_output_len + 1):
                logits = self(tokens, last_only=True, attention_mask=tokens != cfg.PAD)
                c = logits.argmax(-1).masked_fill(done, cfg.n_out)      # after EOS: EOS
                classes.append(c)
                done = done | (c == cfg.n_out)
                if bool(done.all()) or tokens.shape[1] == cfg.n_ctx:
                    break
                tokens = torch.cat([tokens, (c + cfg.n_in).masked_fill(done, cfg.PAD)[:, None]], 1)
        return tokens, torch.stack(classes, 1)

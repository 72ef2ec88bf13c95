"""Where each output step of a seq2seq model reads: attention per layer, head and output step.

The model is run teacher-forced on its *own* greedy outputs, so the patterns are exactly those
of greedy decoding (the analysis reads the network, never the labels). For output step i (the
query at position W + i, W the input-field width) the pattern over the input field is averaged
over every input that has a step i, overall and per value of the task's feature (trailing ones
k, tree depth). ``AttentionSummary().fit(model, xs)`` stores:

    mean_        [layers, heads, steps, W]   average attention of step i on input position j
    by_feature_  {feature value: [layers, heads, steps, W]}
    rows_        [steps] number of inputs with that step
    outputs_     the model's greedy outputs (lists of symbols)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ...models.seq2seq import Seq2SeqTransformer


def own_outputs(model: Seq2SeqTransformer, xs: list[list[int]], batch: int = 500
                ) -> list[list[int]]:
    """The model's greedy outputs, in batches."""
    return [y for i in range(0, len(xs), batch) for y in model.generate(xs[i:i + batch])]


def step_patterns(model: Seq2SeqTransformer, xs: list[list[int]], outs: list[list[int]]
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Patterns of the output-step queries on the input field, teacher-forced on ``outs``:
    ``[rows, layers, heads, steps, W]`` and a ``[rows, steps]`` mask of steps that exist
    (step i exists for i <= len(output), the last one predicting EOS)."""
    W = model.cfg.max_input_len
    # a row whose output is too long for the context (never said EOS) is cut to fit
    outs = [y[:model.cfg.max_output_len] for y in outs]
    tokens, mask, _ = model.encode(xs, outs)
    names = [f"blocks.{i}.attn.hook_pattern" for i in range(model.cfg.n_layers)]
    with torch.no_grad():
        _, cache = model.run_with_cache(tokens, attention_mask=mask, names_filter=names)
    pat = torch.stack([cache[n] for n in names], 1)          # [b, L, H, q, k]
    pat = pat[:, :, :, W:, :W].numpy()                       # output-step queries, input keys
    lengths = np.array([len(y) for y in outs])
    exists = np.arange(pat.shape[3])[None, :] <= lengths[:, None]
    return pat, exists


class AttentionSummary:
    """Average attention of each output step on each input position (see module docstring)."""

    def __init__(self, batch: int = 500) -> None:
        self.batch = batch

    def fit(self, model: Seq2SeqTransformer, xs: list[list[int]],
            features: np.ndarray | None = None, outs: list[list[int]] | None = None
            ) -> AttentionSummary:
        outs = own_outputs(model, xs, self.batch) if outs is None else outs
        features = np.zeros(len(xs), dtype=int) if features is None else np.asarray(features)
        L, H = model.cfg.n_layers, model.cfg.n_heads
        S, W = model.cfg.max_output_len + 1, model.cfg.max_input_len
        total = np.zeros((L, H, S, W))
        count = np.zeros(S)
        by_sum: dict[int, np.ndarray] = {}
        by_cnt: dict[int, np.ndarray] = {}
        for i in range(0, len(xs), self.batch):
            pat, exists = step_patterns(model, xs[i:i + self.batch], outs[i:i + self.batch])
            s = pat.shape[3]
            w = exists[:, None, None, :, None]
            total[:, :, :s] += (pat * w).sum(0)
            count[:s] += exists.sum(0)
            for f in np.unique(features[i:i + self.batch]):
                sel = features[i:i + self.batch] == f
                by_sum.setdefault(int(f), np.zeros_like(total))[:, :, :s] += (pat * w)[sel].sum(0)
                by_cnt.setdefault(int(f), np.zeros(S))[:s] += exists[sel].sum(0)
        div = lambda a, c: a / np.maximum(c, 1)[None, None, :, None]   # noqa: E731
        self.mean_ = div(total, count)
        self.rows_ = count.astype(int)
        self.by_feature_ = {f: div(by_sum[f], by_cnt[f]) for f in sorted(by_sum)}
        self.outputs_ = outs
        return self

    def top_reads(self, min_weight: float = 0.2) -> dict[int, list[tuple[int, int, int, float]]]:
        """Per output step: (layer, head, input position, weight) of each head's most attended
        input position, when that head puts at least ``min_weight`` there; strongest first."""
        out: dict[int, list] = {}
        L, H, S, _ = self.mean_.shape
        for s in range(S):
            if self.rows_[s] == 0:
                continue
            reads = [(l_, h, int(self.mean_[l_, h, s].argmax()),
                      float(self.mean_[l_, h, s].max())) for l_ in range(L) for h in range(H)]
            out[s] = sorted((r for r in reads if r[3] >= min_weight), key=lambda r: -r[3])
        return out


def plot_attention(summary: AttentionSummary, path=None, title: str = "",
                   max_steps: int | None = None) -> Any:
    """One heatmap per (layer, head): output step (rows) x input position (columns); the
    figure (also written to ``path`` when given)."""
    from matplotlib.figure import Figure
    L, H, S, W = summary.mean_.shape
    S = int(np.max(np.nonzero(summary.rows_)[0])) + 1 if max_steps is None else max_steps
    fig = Figure(figsize=(2.6 * H, 2.4 * L + 0.6))
    axes = fig.subplots(L, H, squeeze=False)
    for l_ in range(L):
        for h in range(H):
            ax = axes[l_][h]
            ax.imshow(summary.mean_[l_, h, :S], aspect="auto", cmap="viridis", vmin=0, vmax=1)
            ax.set_title(f"L{l_}H{h}", fontsize=9)
            ax.set_xlabel("input position", fontsize=7)
            ax.set_ylabel("output step", fontsize=7)
            ax.tick_params(labelsize=6)
    fig.suptitle(title or "mean attention of output steps on the input", fontsize=10)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=90)
    return fig


def plot_by_feature(summary: AttentionSummary, layer: int, head: int, path=None,
                    feature_name: str = "feature", max_panels: int = 6) -> Any:
    """One head's pattern for each value of the feature (k or depth), side by side; the
    figure (also written to ``path`` when given)."""
    from matplotlib.figure import Figure
    feats = list(summary.by_feature_)[:max_panels]
    fig = Figure(figsize=(2.6 * len(feats), 2.6))
    axes = fig.subplots(1, len(feats), squeeze=False)[0]
    for ax, f in zip(axes, feats):
        ax.imshow(summary.by_feature_[f][layer, head], aspect="auto", cmap="viridis", vmin=0,
                  vmax=1)
        ax.set_title(f"{feature_name}={f}", fontsize=9)
        ax.tick_params(labelsize=6)
    fig.suptitle(f"L{layer}H{head} by {feature_name}", fontsize=10)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=90)
    return fig

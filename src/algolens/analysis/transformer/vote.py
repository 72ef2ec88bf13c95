"""An attention-vote shortcut for pre-order traversal: layer 0 points, its attention mass votes.

What a trained Preorder model computes (measured on the seed-0 models, numbers in
benchmarks/results/recursion_traversals.md): at output step j the layer-0 heads put most of their
attention on label slot j (the j-th label and its NODE token), a little on the neighbouring
slots, and some on the labels already emitted. Layer-0 attention is a function of the tokens and
positions alone (nothing has been computed yet), so it can be recomputed exactly from the model's
embeddings, the block-0 LayerNorm and ``W_Q`` / ``W_K``. The model's slips are near-ties of that
pointer: when the attention on slot j+1 (or on a repeated label) rivals slot j's, it emits the
other label (on deep trees 92% of the 1-layer and 94% of the 2-layer model's first mistakes
output label j+1). Patching the layer-0 value vectors at slot j's label with another label's
moves the output to that label: the heads read the label *content* at the place they point to.

The shortcut (``VoteExtractor().fit(model, xs, truth)`` -> ``shortcut_``):

1. Recompute layer-0 attention of output step j from the tables (``Layer0``), the query being the
   previous output (SEP at step 0) at position W + j, the keys the input, SEP and earlier outputs.
2. Turn each head's attention into votes for labels, by token kind (``KINDS``): a label token
   votes for its label, a NODE for the label after it, a LEAF for the next and for the previous
   label, an earlier output for that label. ``vote[kind, head]`` weights (5 x heads numbers) are
   fitted on the build inputs by a softmax over labels against the model's own outputs.
3. Output j is the label of slot j (the pointer) unless another label's vote comes within
   ``tau`` of it or beats it: ``score(other) > score(slot j) - tau`` emits the other label.
   After the first such slip, every later step emits the vote's argmax.
   ``tau`` = 0 is the plain argmax of the vote; a positive ``tau`` stands for the part of the
   decision the vote does not see (MLPs, layer 1) and is chosen on the build inputs (the
   largest of ``TAUS`` whose row-level failure-prediction precision there is >=
   ``min_precision``, by default ``MIN_PRECISION`` = 0.82, a margin over the 0.8 target),
   never on held-out ones.
4. The output has one label per NODE (the model's lengths match the truth on >99.8% of rows).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ...models.seq2seq import Seq2SeqTransformer
from .attention import own_outputs

KINDS = ("label", "node_next", "leaf_next", "leaf_prev", "emitted")
TAUS = tuple(round(0.1 * i, 1) for i in range(41))      # 0, 0.1, ..., 4 (vote units)
# Build precision the chosen tau must reach. 0.02 above the issue target: in a split-half
# check on build inputs only (seed 1000, 6000 rows; vote and margin threshold from one half,
# scored on the other) a threshold chosen for >= 0.80 on one half gave 0.774-0.803 on the
# other over training seeds 0-2, one chosen for >= 0.82 gave 0.808-0.818 (recall
# 0.843-0.968).
MIN_PRECISION = 0.82


def _round(a: np.ndarray) -> np.ndarray:
    """6 significant digits: the tables the program embeds, so program and analysis agree."""
    return np.vectorize(lambda v: float(f"{v:.6g}"))(np.asarray(a, dtype=np.float64))


@dataclass
class Layer0:
    """What block 0's attention logits depend on: token and position embeddings, ln1, W_Q, W_K
    (rounded to 6 digits, as the emitted program embeds them). ``pattern(pos, tok)`` is the
    attention of the last (position, token) on all of them, exactly as block 0 computes it."""

    W_E: np.ndarray            # [d_vocab, d_model]
    W_pos: np.ndarray          # [n_ctx, d_model]
    ln_w: np.ndarray           # [d_model] (ones without LayerNorm)
    ln_b: np.ndarray           # [d_model]
    W_Q: np.ndarray            # [heads, d_model, d_head]
    W_K: np.ndarray            # [heads, d_model, d_head]
    layer_norm: bool = True

    @classmethod
    def from_model(cls, model: Seq2SeqTransformer) -> Layer0:
        sd = {k: v.detach().double().numpy() for k, v in model.state_dict().items()}
        d = model.cfg.d_model
        ln = model.cfg.normalization == "LN"
        return cls(_round(sd["W_E"]), _round(model.W_pos.detach().double().numpy()),
                   _round(sd["blocks.0.ln1.w"]) if ln else np.ones(d),
                   _round(sd["blocks.0.ln1.b"]) if ln else np.zeros(d),
                   _round(sd["blocks.0.attn.W_Q"]), _round(sd["blocks.0.attn.W_K"]), ln)

    def _normed(self, pos: np.ndarray, tok: np.ndarray) -> np.ndarray:
        x = self.W_E[tok] + self.W_pos[pos]                              # [n, d_model]
        if not self.layer_norm:
            return x
        x = x - x.mean(-1, keepdims=True)
        return x / np.sqrt((x ** 2).mean(-1, keepdims=True) + 1e-5) * self.ln_w + self.ln_b

    def pattern(self, pos: list[int], tok: list[int]) -> np.ndarray:
        """Attention [heads, keys] of the last (pos, tok) on all of them (a causal query)."""
        x = self._normed(np.array(pos), np.array(tok))                  # [n, d_model]
        k = np.einsum("nd,hde->hne", x, self.W_K)                       # [heads, n, d_head]
        q = np.einsum("d,hde->he", x[-1], self.W_Q) / np.sqrt(self.W_Q.shape[-1])
        s = np.einsum("hne,he->hn", k, q)
        s = np.exp(s - s.max(1, keepdims=True))
        return s / s.sum(1, keepdims=True)


def attributions(x: list[int], node: int, leaf: int) -> list[list[tuple[int, int]]]:
    """Per input position, the (kind index, label) votes its attention casts (``KINDS``)."""
    n = len(x)
    is_label = [v not in (node, leaf) for v in x]
    prev_l, nxt_l, last = [None] * n, [None] * n, None
    for p in range(n):
        prev_l[p], last = last, (x[p] if is_label[p] else last)
    last = None
    for p in range(n - 1, -1, -1):
        nxt_l[p], last = last, (x[p] if is_label[p] else last)
    out = []
    for p, v in enumerate(x):
        if is_label[p]:
            out.append([(0, v)])
        elif v == node:
            out.append([(1, nxt_l[p])] if nxt_l[p] is not None else [])
        else:
            out.append([(k, lab) for k, lab in ((2, nxt_l[p]), (3, prev_l[p])) if lab is not None])
    return out


def vote_features(attr: list[list[tuple[int, int]]], prev: list[int], a: np.ndarray, W: int,
                  n_labels: int) -> np.ndarray:
    """[n_labels, kinds * heads]: attention ``a`` [heads, context] of one step spread as votes.
    Context layout: input positions 0..len(attr)-1, SEP at W, earlier outputs at W+1.."""
    H = a.shape[0]
    f = np.zeros((n_labels, len(KINDS) * H))
    for p, votes in enumerate(attr):
        for kind, lab in votes:
            f[lab, kind * H:(kind + 1) * H] += a[:, p]
    for i, lab in enumerate(prev):
        f[lab, 4 * H:5 * H] += a[:, W + 1 + i]
    return f


@dataclass
class VoteShortcut:
    """Output j = label of slot j unless another label's vote comes within tau of it (module
    docstring)."""

    layer0: Layer0
    vote: np.ndarray               # [kinds * heads] weights
    tau: float
    node: int
    leaf: int
    in_ids: dict                   # input symbol -> token id
    out_ids: dict                  # output symbol (label) -> token id
    sep: int
    width: int                     # W, the input field
    n_labels: int

    def scores(self, x: list[int], prev: list[int],
               attr: list[list[tuple[int, int]]] | None = None) -> np.ndarray:
        """The vote of every label at step len(prev), [n_labels]."""
        attr = attributions(x, self.node, self.leaf) if attr is None else attr
        pos = list(range(len(x))) + [self.width + i for i in range(len(prev) + 1)]
        tok = [self.in_ids[v] for v in x] + [self.sep] + [self.out_ids[v] for v in prev]
        a = np.zeros((self.vote.size // len(KINDS), self.width + 1 + len(prev)))
        a[:, pos] = self.layer0.pattern(pos, tok)
        return vote_features(attr, prev, a, self.width, self.n_labels) @ self.vote

    def step(self, x: list[int], prev: list[int], pointer: int,
             attr: list[list[tuple[int, int]]] | None = None) -> int:
        s = self.scores(x, prev, attr)
        other = s.copy()
        other[pointer] = -np.inf
        best = int(other.argmax())
        return best if other[best] > s[pointer] - self.tau else pointer

    def run(self, x: list[int]) -> list[int]:
        """One label per NODE. Up to the first slip (an output other than slot j's label) each
        step is ``step``; after it, the plain argmax of the vote (tau only decides *whether*
        the pointer slips; once it has, the model's pointer is off the slots and the vote's
        argmax is what follows it best: on build inputs of the seed-0 model it reproduces more
        post-slip steps than keeping tau)."""
        attr = attributions(x, self.node, self.leaf)
        labels = [x[p + 1] for p, v in enumerate(x) if v == self.node]
        out: list[int] = []
        slipped = False
        for lab in labels:
            if slipped:
                out.append(int(self.scores(x, out, attr).argmax()))
            else:
                out.append(self.step(x, out, lab, attr))
                slipped = out[-1] != lab
        return out

    @property
    def used_heads(self) -> set[tuple[int, int]]:
        H = self.vote.size // len(KINDS)
        w = np.abs(self.vote.reshape(len(KINDS), H)).sum(0)
        return {(0, h) for h in range(H) if w[h] >= 0.1 * w.max()}


def first_error(o: list[int], t: list[int]) -> int:
    """Index of the first step where output o departs from truth t (len(t) if never)."""
    return next((j for j in range(max(len(o), len(t)))
                 if j >= len(o) or j >= len(t) or o[j] != t[j]), len(t))


class VoteExtractor:
    """Estimator: ``fit(model, xs, truth)`` -> self with ``shortcut_``, ``vote_``,
    ``step_agreement_`` (argmax of the fitted vote vs the model's own outputs, build steps),
    ``taus_`` (build failure prediction per candidate tau), ``tau_``, ``build_`` (at the chosen
    tau), ``build_agreement_`` (rows where the shortcut reproduces the model, build inputs)."""

    def __init__(self, node: int, leaf: int, min_precision: float = MIN_PRECISION, batch: int = 500
                 ) -> None:
        self.node, self.leaf, self.min_precision, self.batch = node, leaf, min_precision, batch

    def fit(self, model: Seq2SeqTransformer, xs: list[list[int]], truth: list[list[int]]
            ) -> VoteExtractor:
        if tuple(model.cfg.output_alphabet) != tuple(range(model.cfg.n_out)):
            raise ValueError("the attention vote needs labels 0..n-1 as the output alphabet, "
                             f"got {list(model.cfg.output_alphabet)}")
        outs = own_outputs(model, xs, self.batch)
        feats, labels = self._features(model, xs, outs)
        self.vote_ = _fit_vote(np.stack(feats), np.array(labels))
        s = np.einsum("snf,f->sn", np.stack(feats), self.vote_)
        self.step_agreement_ = float(np.mean(s.argmax(1) == np.array(labels)))
        cfg = model.cfg
        self.shortcut_ = VoteShortcut(
            Layer0.from_model(model), self.vote_, 0.0, self.node, self.leaf,
            {s_: i for i, s_ in enumerate(cfg.input_alphabet)},
            {s_: cfg.n_in + i for i, s_ in enumerate(cfg.output_alphabet)}, cfg.SEP,
            cfg.max_input_len, cfg.n_out)
        self.tau_, self.build_, self.taus_ = self._choose_tau(xs, outs, truth)
        self.shortcut_.tau = self.tau_
        self.build_agreement_ = float(np.mean([self.shortcut_.run(x) == o
                                               for x, o in zip(xs, outs)]))
        return self

    def _features(self, model, xs, outs):
        """Vote features of every step of the model's own outputs (patterns from the model)."""
        feats, labels, W = [], [], model.cfg.max_input_len
        for i in range(0, len(xs), self.batch):
            bx, bo = xs[i:i + self.batch], outs[i:i + self.batch]
            tokens, mask, _ = model.encode(bx, [o[:model.cfg.max_output_len] for o in bo])
            with torch.no_grad():
                _, cache = model.run_with_cache(tokens, attention_mask=mask,
                                                names_filter=["blocks.0.attn.hook_pattern"])
            pat = cache["blocks.0.attn.hook_pattern"].double().numpy()   # [b, H, q, k]
            for r, (x, o) in enumerate(zip(bx, bo)):
                attr = attributions(x, self.node, self.leaf)
                for j in range(min(len(o), model.cfg.max_output_len)):
                    feats.append(vote_features(attr, o[:j], pat[r, :, W + j], W,
                                               model.cfg.n_out))
                    labels.append(model.cfg.output_alphabet.index(o[j]))
        return feats, labels

    def _choose_tau(self, xs, outs, truth):
        """Per tau, row-level failure prediction on the build inputs; the largest tau (most
        recall) with precision >= min_precision. A row is predicted to fail where the shortcut,
        fed the true prefix, departs from the truth at some step."""
        from .shortcuts import failure_prediction
        sc = self.shortcut_
        margins = []
        for x, t in zip(xs, truth):
            attr = attributions(x, self.node, self.leaf)
            m = np.inf
            for j, lab in enumerate(t):
                s = sc.scores(x, t[:j], attr)
                other = s.copy()
                other[lab] = -np.inf
                m = min(m, s[lab] - other.max())
            margins.append(m)
        margins = np.array(margins)
        wrong = [o != t for o, t in zip(outs, truth)]
        taus = {tau: failure_prediction(wrong, margins < tau,
                                        [True] * len(xs)) for tau in TAUS}
        ok = [tau for tau, fp in taus.items() if fp.precision >= self.min_precision]
        tau = max(ok) if ok else 0.0
        return tau, taus[tau], taus


def _fit_vote(feats: np.ndarray, labels: np.ndarray, iters: int = 300) -> np.ndarray:
    """Weights w [features]: softmax over labels of feats @ w, cross-entropy vs the model."""
    f = torch.tensor(feats, dtype=torch.float64)                      # [steps, labels, feats]
    y = torch.tensor(labels)
    w = torch.zeros(f.shape[-1], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w], max_iter=iters, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(f @ w * 10.0, y)
        loss.backward()
        return loss
    opt.step(closure)
    return _round(w.detach().numpy() * 10.0)


# ------------------------------------------------------------------ intervention: value patching
@dataclass(frozen=True)
class PatchResult:
    """Patch the layer-0 values of ``heads`` at slot j's label with another label's.

    ``changed``: fraction of steps whose model output changes; ``to_new``: becomes the patched-in
    label; ``vote_agrees``: the vote (argmax, with the patched label's votes moved) predicts the
    model's patched output; ``vote_agrees_clean``: the same on the unpatched steps."""

    heads: tuple[int, ...]
    n: int
    changed: float
    to_new: float
    vote_agrees: float
    vote_agrees_clean: float
    name: str = ""              # "L0H0+L0H3": the heads, filled in from ``heads``

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", "+".join(f"L0H{h}" for h in self.heads))


def patched_vote(sc: VoteShortcut, x: list[int], prev: list[int], p: int, new: int,
                 heads: tuple[int, ...]) -> int:
    """Argmax of the vote at step len(prev) when the label votes (kind 0) that ``heads`` cast at
    input position p go to ``new`` instead of x[p]."""
    pos = list(range(len(x))) + [sc.width + i for i in range(len(prev) + 1)]
    tok = [sc.in_ids[v] for v in x] + [sc.sep] + [sc.out_ids[v] for v in prev]
    H = sc.vote.size // len(KINDS)
    a = np.zeros((H, sc.width + 1 + len(prev)))
    a[:, pos] = sc.layer0.pattern(pos, tok)
    f = vote_features(attributions(x, sc.node, sc.leaf), prev, a, sc.width, sc.n_labels)
    for h in heads:
        f[x[p], h] -= a[h, p]
        f[new, h] += a[h, p]
    return int((f @ sc.vote).argmax())


def value_patching(model: Seq2SeqTransformer, sc: VoteShortcut, xs: list[list[int]],
                   truth: list[list[int]], head_sets: list[tuple[int, ...]], seed: int = 0
                   ) -> list[PatchResult]:
    """One random step j per row (teacher-forced on the true prefix) and one random new label
    (not slot j's, nor its neighbours'); patch each head set's layer-0 values at slot j's label
    (``interventions.patch_values``) and compare with what the vote predicts."""
    from .interventions import patch_values
    rng = np.random.default_rng(seed)
    rows, pre, pos, new = [], [], [], []
    for x, t in zip(xs, truth):
        sl = [p + 1 for p, v in enumerate(x) if v == sc.node]
        if not sl:
            continue
        j = int(rng.integers(0, len(sl)))
        near = {x[sl[k]] for k in range(max(0, j - 1), min(len(sl), j + 2))}
        choices = [v for v in range(sc.n_labels) if v not in near]
        rows.append(x)
        pre.append(t[:j])
        pos.append(sl[j])
        new.append(int(rng.choice(choices)))
    clean = patch_values(model, rows, pre, pos, new, set())
    vote_clean = [patched_vote(sc, x, pr, p, v, ()) for x, pr, p, v in zip(rows, pre, pos, new)]
    agree_clean = float(np.mean([a == b for a, b in zip(vote_clean, clean)]))
    out = []
    for hs in head_sets:
        got = patch_values(model, rows, pre, pos, new, set(hs))
        pred = [patched_vote(sc, x, pr, p, v, hs) for x, pr, p, v in zip(rows, pre, pos, new)]
        out.append(PatchResult(tuple(hs), len(rows),
                               float(np.mean([g != c for g, c in zip(got, clean)])),
                               float(np.mean([g == v for g, v in zip(got, new)])),
                               float(np.mean([g == q for g, q in zip(got, pred)])), agree_clean))
    return out

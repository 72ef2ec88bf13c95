"""A pointer shortcut for pre-order traversal: output j copies the label the model attends to.

On a prefix serialisation (``NODE label left right`` / ``LEAF``) the j-th pre-order label is the
label after the j-th NODE token, so the correct program is a pointer walk: "output j copies the
j-th label slot". A trained model implements that pointer only approximately. This module reads
the pointer out of the model and characterises when it slips:

1. Run the model greedily on build inputs (its own outputs) and take, at every output step, the
   label slot with the most layer-0 attention (summed over heads, on the label and its NODE
   token): the slot the step *reads*. It reproduces the model's emitted symbol on ~95% of steps.
2. The model's characteristic mistake is to read slot j+1 at step j (skip a label). For each
   step up to and including the first mistake, record structural features of slot j (below)
   and whether the model skipped; fit a small decision tree P(skip | features).
3. The shortcut: output j = label of slot j + 1 if P(skip) >= ``threshold`` else slot j; the
   threshold is chosen on the *build* inputs (the lowest one whose row-level failure-prediction
   precision on the build set is >= ``min_precision``), never on held-out ones.

Features of slot j: j, its input position p, LEAF tokens before p, the gaps (in tokens) between
slots j-1, j, j+1, j+2, j+3, the number of slots and the input length, LEAF tokens after p.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...models.seq2seq import Seq2SeqTransformer
from .attention import own_outputs, step_patterns

FEATURES = ("j", "pos", "leaves_before", "gap_prev", "gap", "gap_next", "gap_next2", "n_slots",
            "length", "leaves_after")


def slots(x: list[int], node: int) -> list[int]:
    """Input positions of the labels (the token after each NODE), in order."""
    return [p + 1 for p, v in enumerate(x) if v == node]


def slot_features(x: list[int], sl: list[int], j: int, leaf: int) -> list[int]:
    p = sl[j]

    def gap(a: int) -> int:
        return sl[a + 1] - sl[a] if 0 <= a and a + 1 < len(sl) else 0
    before = sum(1 for v in x[:p] if v == leaf)
    return [j, p, before, gap(j - 1), gap(j), gap(j + 1), gap(j + 2), len(sl), len(x),
            sum(1 for v in x[p:] if v == leaf)]


@dataclass
class SkipTree:
    """A decision tree as arrays (sklearn's layout): node -> feature, threshold, children, and the
    fraction of skips among the build steps in that leaf."""

    feature: list[int]
    threshold: list[float]
    left: list[int]
    right: list[int]
    p_skip: list[float]

    def prob(self, f: list[int]) -> float:
        n = 0
        while self.left[n] >= 0:
            n = self.left[n] if f[self.feature[n]] <= self.threshold[n] else self.right[n]
        return self.p_skip[n]


@dataclass
class PointerShortcut:
    """Output j copies label slot j, or slot j + 1 where the skip tree says the model slips."""

    tree: SkipTree
    threshold: float
    node: int
    leaf: int
    heads: list[tuple[int, int]] = field(default_factory=list)

    def run(self, x: list[int]) -> list[int]:
        sl = slots(x, self.node)
        out = []
        for j in range(len(sl)):
            skip = self.tree.prob(slot_features(x, sl, j, self.leaf)) >= self.threshold
            out.append(x[sl[min(j + 1, len(sl) - 1)] if skip else sl[j]])
        return out

    @property
    def used_heads(self) -> set[tuple[int, int]]:
        return set(self.heads)


def read_slots(model: Seq2SeqTransformer, xs: list[list[int]], outs: list[list[int]],
               node: int, batch: int = 500) -> list[list[int]]:
    """Per row, the label slot each output step reads (layer-0 attention, see module doc)."""
    reads = []
    for i in range(0, len(xs), batch):
        pat, _ = step_patterns(model, xs[i:i + batch], outs[i:i + batch])
        att = pat[:, 0].sum(1)                                   # [b, steps, W]
        for r, x in enumerate(xs[i:i + batch]):
            sl = np.array(slots(x, node))
            n = min(len(outs[i + r]), att.shape[1])
            reads.append([int(np.argmax(att[r, j, sl] + att[r, j, sl - 1])) for j in range(n)]
                         if len(sl) else [])
    return reads


class PointerExtractor:
    """Estimator: ``fit(model, xs, truth)`` -> self with ``shortcut_``, ``read_agreement_``
    (fraction of steps whose attention-read slot holds the symbol the model emitted),
    ``n_steps_`` / ``n_skips_`` (training rows of the skip tree), ``build_`` (row-level failure
    prediction on the build inputs at the chosen threshold)."""

    def __init__(self, node: int, leaf: int, max_depth: int = 6, min_leaf: int = 5,
                 min_precision: float = 0.8, batch: int = 500) -> None:
        self.node, self.leaf, self.max_depth, self.min_leaf = node, leaf, max_depth, min_leaf
        self.min_precision, self.batch = min_precision, batch

    def fit(self, model: Seq2SeqTransformer, xs: list[list[int]], truth: list[list[int]]
            ) -> PointerExtractor:
        from sklearn.tree import DecisionTreeClassifier
        outs = own_outputs(model, xs, self.batch)
        reads = read_slots(model, xs, outs, self.node, self.batch)
        X, y, hit, tot = [], [], 0, 0
        for x, o, t, rd in zip(xs, outs, truth, reads):
            sl = slots(x, self.node)
            hit += sum(x[sl[k]] == o[j] for j, k in enumerate(rd) if j < len(o))
            tot += len(rd)
            for j in range(min(len(sl), len(o))):
                if o[:j] != t[:j]:
                    break
                X.append(slot_features(x, sl, j, self.leaf))
                y.append(int(o[j] != t[j] and rd[j] != j))          # the pointer slipped
                if o[j] != t[j]:
                    break
        self.read_agreement_ = hit / max(tot, 1)
        self.n_steps_, self.n_skips_ = len(y), int(sum(y))
        clf = DecisionTreeClassifier(max_depth=self.max_depth, min_samples_leaf=self.min_leaf,
                                     random_state=0).fit(np.array(X), np.array(y))
        tr = clf.tree_
        p = tr.value[:, 0, :] / tr.value[:, 0, :].sum(1, keepdims=True)
        skip_col = list(clf.classes_).index(1) if 1 in clf.classes_ else None
        tree = SkipTree(tr.feature.tolist(), tr.threshold.tolist(), tr.children_left.tolist(),
                        tr.children_right.tolist(),
                        (p[:, skip_col] if skip_col is not None else np.zeros(len(p))).tolist())
        wrong = [o != t for o, t in zip(outs, truth)]
        self.threshold_, self.build_ = self._choose_threshold(tree, xs, truth, wrong)
        self.shortcut_ = PointerShortcut(tree, self.threshold_, self.node, self.leaf,
                                         [(0, h) for h in range(model.cfg.n_heads)])
        return self

    def _choose_threshold(self, tree, xs, truth, wrong):
        """Lowest threshold (most recall) whose build precision is >= min_precision."""
        from .shortcuts import failure_prediction
        best = None
        for th in (0.5, 0.4, 0.35, 0.3, 0.25, 0.2, 0.15, 0.1):
            sc = PointerShortcut(tree, th, self.node, self.leaf)
            mine = [sc.run(x) for x in xs]
            fp = failure_prediction(wrong, [m != t for m, t in zip(mine, truth)],
                                    [True] * len(xs))
            if best is None or fp.precision >= self.min_precision:
                best = (th, fp)
        return best

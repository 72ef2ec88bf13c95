"""Reconstruct the shortcut a seq2seq transformer took, and predict its failures with it.

Algorithm (``ShortcutExtractor().fit(model, xs)``):
1. Run the model greedily on the build inputs (its own outputs; labels are never read).
2. Summarise attention per layer, head and output step (``AttentionSummary``); the input
   positions that some head attends with mean weight >= ``min_weight`` at step i are the
   candidate reads of step i.
3. Per step, choose reads greedily among the candidates: each time the position whose symbol
   (with the ones chosen and the model's previous output) best predicts the model's output at
   that step. The model's output at step i as a function of (i, symbols read, previous output)
   is tabulated; the majority output of each combination is a rule.
4. Candidates r = 0..max_reads (the first r reads of each step) are scored by agreement with the
   model on the build inputs; the selection rule takes the fewest reads whose agreement is
   within ``tolerance`` of the best.

The result ``Shortcut`` runs as a program ("output i reads positions π(i) and maps what it sees
by this table"), is rendered to standalone Python by ``codegen.readout``, and is checked on
held-out inputs: agreement with the model (including its mistakes), and failure prediction,
F = inputs the model gets wrong, P = inputs where the shortcut differs from the true function.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np

from ...models.seq2seq import Seq2SeqTransformer
from .attention import AttentionSummary, own_outputs

EOS = None


@dataclass
class Shortcut:
    """Per-step reads and a rule table (semantics in ``codegen.readout``)."""

    reads: dict[int, tuple[int, ...]]
    rules: dict[tuple, int | None]
    default: dict[int, int | None]
    max_steps: int
    heads: dict[int, list[tuple[int, int]]] = field(default_factory=dict)   # step -> (layer, head)

    def run(self, xs: list[int]) -> list[int]:
        ys: list[int] = []
        prev = None
        for i in range(self.max_steps):
            y = self.rules.get((i, self._seen(xs, i), prev), self.default.get(i))
            if y is None:
                break
            ys.append(y)
            prev = y
        return ys

    def _seen(self, xs: list[int], i: int) -> tuple:
        return tuple(xs[j] if j < len(xs) else None for j in self.reads.get(i, ()))

    @property
    def used_heads(self) -> set[tuple[int, int]]:
        return {h for hs in self.heads.values() for h in hs}


def tabulate(xs: list[list[int]], outs: list[list[int]], reads: dict[int, tuple[int, ...]],
             max_steps: int) -> Shortcut:
    """Majority-vote rules of (step, symbols read, previous output) -> output (None = EOS)."""
    votes: dict[tuple, Counter] = defaultdict(Counter)
    per_step: dict[int, Counter] = defaultdict(Counter)
    sc = Shortcut(reads, {}, {}, max_steps)
    for x, y in zip(xs, outs):
        prev = None
        for i, out in enumerate(list(y) + [EOS]):
            if i >= max_steps:
                break
            votes[(i, sc._seen(x, i), prev)][out] += 1
            per_step[i][out] += 1
            prev = out
    sc.rules = {k: _majority(c) for k, c in votes.items()}
    sc.default = {i: _majority(c) for i, c in per_step.items()}
    return sc


def _majority(c: Counter):
    # ties broken deterministically: most votes, then EOS last, then the smaller symbol
    return min(c.items(), key=lambda kv: (-kv[1], kv[0] is None, kv[0] or 0))[0]


def agreement(shortcut: Shortcut, xs: list[list[int]], outs: list[list[int]]) -> float:
    return float(np.mean([shortcut.run(x) == list(y) for x, y in zip(xs, outs)]))


class ShortcutExtractor:
    """Estimator: ``fit(model, xs)`` -> self with ``shortcut_``, ``candidates_`` (one per
    number of reads r, with rules and build agreement), ``summary_`` (the attention summary),
    ``order_`` (per step, the attended positions in the order they were chosen)."""

    def __init__(self, min_weight: float = 0.02, max_reads: int = 4, tolerance: float = 0.002,
                 head_weight: float = 0.2, batch: int = 500) -> None:
        self.min_weight, self.max_reads, self.head_weight = min_weight, max_reads, head_weight
        self.tolerance, self.batch = tolerance, batch

    def fit(self, model: Seq2SeqTransformer, xs: list[list[int]],
            features: np.ndarray | None = None) -> ShortcutExtractor:
        outs = own_outputs(model, xs, self.batch)
        self.summary_ = AttentionSummary(self.batch).fit(model, xs, features, outs)
        max_steps = model.cfg.max_output_len + 1
        steps = _step_table(xs, outs, model.cfg.max_input_len, max_steps)
        attended = self.summary_.mean_.max(axis=(0, 1))                 # [steps, W]
        self.order_ = {s: _greedy_reads(*steps[s], attended[s], self.min_weight, self.max_reads)
                       for s in steps}
        self.candidates_ = []
        for r in range(self.max_reads + 1):
            reads = {s: tuple(o[:r]) for s, o in self.order_.items()}
            sc = tabulate(xs, outs, reads, max_steps)
            sc.heads = self._heads(reads)
            self.candidates_.append({"reads": r, "rules": len(sc.rules),
                                     "agreement": agreement(sc, xs, outs), "shortcut": sc})
        best = max(c["agreement"] for c in self.candidates_)
        chosen = next(c for c in self.candidates_ if c["agreement"] >= best - self.tolerance)
        self.shortcut_, self.build_agreement_ = chosen["shortcut"], chosen["agreement"]
        self.n_reads_ = chosen["reads"]
        return self

    def _heads(self, reads: dict[int, tuple[int, ...]]) -> dict[int, list[tuple[int, int]]]:
        """The (layer, head) pairs that put at least ``head_weight`` (mean attention) on one of a
        step's read positions: the heads the shortcut says carry its reads."""
        m = self.summary_.mean_
        return {s: sorted({(l_, h) for l_ in range(m.shape[0]) for h in range(m.shape[1])
                           for j in pos if m[l_, h, s, j] >= self.head_weight})
                for s, pos in reads.items()}


def _step_table(xs, outs, W: int, max_steps: int) -> dict[int, tuple]:
    """Per step s: the input field symbols [rows, W] (-1 = past the end), the previous output
    and the model's output at s (-1 = EOS / none), over the rows that reach step s."""
    field_ = np.full((len(xs), W), -1, dtype=np.int64)
    for r, x in enumerate(xs):
        field_[r, :len(x)] = x
    out = np.full((len(xs), max_steps + 1), -1, dtype=np.int64)
    for r, y in enumerate(outs):
        out[r, 1:min(len(y), max_steps) + 1] = y[:max_steps]
    lengths = np.array([len(y) for y in outs])
    table = {}
    for s in range(max_steps):
        rows = lengths >= s
        if rows.any():
            table[s] = (field_[rows], out[rows, s], out[rows, s + 1])
    return table


def _greedy_reads(field_: np.ndarray, prev: np.ndarray, target: np.ndarray, attended: np.ndarray,
                  min_weight: float, max_reads: int) -> list[int]:
    """Forward selection among the attended positions (weight >= min_weight): each time add
    the position whose symbol (with those chosen and the previous output) best predicts the
    model's output at this step; stop when nothing improves or the step is explained."""
    cands = [int(j) for j in np.argsort(-attended) if attended[j] >= min_weight]
    chosen: list[int] = []
    best = _table_accuracy(field_[:, []], prev, target)
    while len(chosen) < max_reads and best < 1.0:
        scores = [(_table_accuracy(field_[:, chosen + [j]], prev, target), j) for j in cands
                  if j not in chosen]
        if not scores or max(scores)[0] <= best:
            break
        best, j = max(scores, key=lambda t: (t[0], -cands.index(t[1])))
        chosen.append(j)
    return chosen


def _table_accuracy(cols: np.ndarray, prev: np.ndarray, target: np.ndarray) -> float:
    """Fraction of rows whose target is the majority target of their (cols, prev) group."""
    keys = np.concatenate([cols, prev[:, None], target[:, None]], 1)
    uniq, counts = np.unique(keys, axis=0, return_counts=True)
    groups: dict[tuple, int] = {}
    for k, c in zip(map(tuple, uniq[:, :-1]), counts):
        groups[k] = max(groups.get(k, 0), int(c))
    return sum(groups.values()) / len(target)


# ------------------------------------------------------------------ failure prediction
@dataclass(frozen=True)
class FailurePrediction:
    """F = model wrong, P = shortcut wrong (differs from the true function), on one input set."""

    n: int
    n_failures: int          # |F|
    n_predicted: int         # |P|
    n_hit: int               # |P ∩ F|
    agreement: float         # shortcut output == model output

    @property
    def recall(self) -> float:
        return self.n_hit / self.n_failures if self.n_failures else float("nan")

    @property
    def precision(self) -> float:
        return self.n_hit / self.n_predicted if self.n_predicted else float("nan")

    def to_dict(self) -> dict:
        return {"n": self.n, "F": self.n_failures, "P": self.n_predicted, "P_and_F": self.n_hit,
                "recall": self.recall, "precision": self.precision, "agreement": self.agreement}


def failure_prediction(model_wrong, shortcut_wrong, agree) -> FailurePrediction:
    """Recall |P∩F|/|F| and precision |P∩F|/|P| from per-input booleans."""
    f, p, a = (np.asarray(v, dtype=bool) for v in (model_wrong, shortcut_wrong, agree))
    if not f.shape == p.shape == a.shape:
        raise ValueError(f"need one boolean per input in each array, got shapes {f.shape}, "
                         f"{p.shape}, {a.shape}")
    return FailurePrediction(int(f.size), int(f.sum()), int(p.sum()), int((f & p).sum()),
                             float(a.mean()) if a.size else float("nan"))


def predict_failures(shortcut: Shortcut, model: Seq2SeqTransformer, task, xs: list[list[int]],
                     outs: list[list[int]] | None = None) -> FailurePrediction:
    """Score the shortcut on held-out inputs ``xs`` (not used to build it)."""
    outs = own_outputs(model, xs) if outs is None else outs
    truth = task.targets(xs)
    mine = [shortcut.run(x) for x in xs]
    return failure_prediction([o != t for o, t in zip(outs, truth)],
                              [m != t for m, t in zip(mine, truth)],
                              [m == o for m, o in zip(mine, outs)])

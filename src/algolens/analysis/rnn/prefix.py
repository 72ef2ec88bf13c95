"""Prefix codes: when the hidden state determines the whole prefix, read the output off the list.

Some networks do not compress the input into a small machine: their state is an injective code
of everything read so far (Bit_Palindrome: whether x_0..x_t reads the same backwards depends on
all of it). No finite state machine or counter explains them, but a list program does:

    p = []                      # the prefix, which the state encodes
    for x in xs:
        p.append(x)
        y = int(p == p[::-1])   # the output, a formula of the prefix

``PrefixFormulas``:

1. checks the state is a prefix code: on the collected sequences, distinct prefixes of equal
   length have hidden states at least ``tol`` (relative to the state scale; 1e-4, far above
   float noise, since a code of a long prefix may use tiny differences) apart -- a weak test,
   so the pass also needs step 2 to hold on every check sequence;
2. tries output formulas over the prefix with list primitives (reversal, slicing, equality,
   indexing, counts, sums, modulo) and keeps the one that gives the *network's* outputs on the
   most check sequences (never the task's labels; shortest first on ties), if it agrees on at
   least ``min_agreement`` of them. A network that is right on 99.6% of sequences has no
   exactly faithful list formula; its best one is reported with its fidelity, and the
   distiller labels the program "correct, not faithful" when it is the task's.
"""

from __future__ import annotations

import itertools

import numpy as np

from ...tasks.spec import SequenceTask
from .adapter import Collection, HiddenStates, RNNAdapter, collection_for

_LISTS = ("p", "p[::-1]", "p[1:]", "p[:-1]", "p[1:][::-1]", "p[:-1][::-1]")


def list_formulas(symbols: list) -> list[str]:
    """Candidate output formulas over the prefix ``p`` (a list of ints), shortest first."""
    cands = [f"int({a} == {b})" for a, b in itertools.combinations(_LISTS, 2)]
    scalars = ["p[-1]", "p[0]", "len(p)", "sum(p)", "max(p)", "min(p)"]
    cands += scalars + [f"int({a} == {b})" for a, b in itertools.combinations(scalars, 2)]
    cands += [f"p.count({v})" for v in symbols]
    cands += [f"int(p.count({a}) > p.count({b}))" for a, b in itertools.permutations(symbols, 2)]
    cands += [f"{s} % {k}" for s in ("sum(p)", "len(p)") for k in range(2, 9)]
    return sorted(dict.fromkeys(cands), key=lambda c: (len(c), c))


def _run(formula: str, xs: np.ndarray) -> list[list[int]]:
    fn = eval(compile(f"lambda p: {formula}", "<prefix formula>", "eval"), {})   # our grammar
    out = []
    for row in xs:
        p, ys = [], []
        for v in row.tolist():
            p.append(v)
            ys.append(int(fn(p)))
        out.append(ys)
    return out


def _agreement(formula: str, hs: HiddenStates) -> float:
    """Fraction of sequences on which the formula gives the network's outputs."""
    try:
        got = _run(formula, hs.xs)
    except (IndexError, ValueError, ZeroDivisionError, TypeError):
        return 0.0
    return float(np.mean([g == w for g, w in zip(got, hs.y.tolist())]))


class PrefixFormulas:
    """Network -> an output formula of the prefix, when its state is a prefix code.

    Results: ``formula_`` (Python expression over ``p``, or None), ``injective_`` (the state
    determines the prefix), ``separation_`` (smallest distance between the states of two
    distinct prefixes, relative to the state scale), ``fidelity_`` (agreement with the network
    on the check sequences of length L), ``report_``.
    """

    def __init__(self, tol: float = 1e-4, n: int = 400, n_check: int = 600, seed: int = 4,
                 min_agreement: float = 0.99) -> None:
        self.tol, self.n, self.n_check, self.seed = tol, n, n_check, seed
        self.min_agreement = min_agreement

    def fit(self, net: RNNAdapter, task: SequenceTask, states: Collection | None = None
            ) -> "PrefixFormulas":
        self.formula_, self.fidelity_, self.injective_ = None, 0.0, False
        states = collection_for(net, task, states, self.seed)
        if task.n_channels != 1 or task.output_dim != 1:
            self.report_ = "prefix formulas need one input channel and one output"
            return self
        self.separation_ = self._separation(states.fit.head(self.n))
        self.injective_ = self.separation_ > self.tol
        if not self.injective_:
            self.report_ = (f"the state is not a prefix code (two distinct prefixes "
                            f"{self.separation_:.2g} apart, relative to the state scale)")
            return self
        check = states.check.head(self.n_check)
        cands = list_formulas(list(task.channels[0]))
        best = max(cands, key=lambda c: _agreement(c, check))     # first (shortest) on ties
        agree = _agreement(best, check)
        if agree >= self.min_agreement:
            self.formula_, self.fidelity_ = best, agree
        self.report_ = (f"the state is a prefix code (distinct prefixes >= "
                        f"{self.separation_:.2g} apart); the best of {len(cands)} list formulas, "
                        f"{best}, gives the network's outputs on {agree:.2%} of sequences" +
                        ("" if self.formula_ else f" (< {self.min_agreement:.0%})"))
        return self

    @staticmethod
    def _separation(hs: HiddenStates) -> float:
        """Smallest distance between the states of two distinct prefixes of equal length."""
        scale = float(np.sqrt((hs.h ** 2).sum(-1).mean())) + 1e-12
        worst = np.inf
        for t in range(hs.xs.shape[1]):
            pre = hs.xs[:, : t + 1]
            _, first = np.unique(pre, axis=0, return_index=True)
            H = hs.h[first, t]
            if len(H) < 2:
                continue
            d = np.sqrt(((H[:, None] - H[None]) ** 2).sum(-1))
            d[np.diag_indices_from(d)] = np.inf
            worst = min(worst, float(d.min()))
        return worst / scale

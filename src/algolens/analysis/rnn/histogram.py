"""Histogram (symbol-count) pass: networks whose output depends only on how often each symbol
was seen (Majority_*, Evens_Counter-like counters).

Such networks hold a counter per symbol; their hidden states do not close into a finite machine
and need not lie on a small lattice (Majority_0_3: h = 16), so the earlier passes fail. This
pass reads the network *behaviourally*:

1. order invariance: for random sequences x and permutations pi(x) of them (same counts,
   different order), the network's rounded output at the last step must be equal (its own
   outputs, never labels) at every length 2..L, and in most pairs at length 2L;
2. the output at step t is regressed as a formula of the counts c_v (c_v' = c_v + [x == v]),
   by ``IntegerSR`` over the counts with an ``argmax`` leaf (index of the first maximal count:
   ties go to the smaller symbol) and comparisons, on distinct count vectors seen at length L,
   each with the output the network gives there most often (rare network errors are outvoted;
   more than ``1 - min_fidelity`` disagreeing steps reject the pass);
3. candidates (the smallest formula found, and the plain argmax) are checked against the network
   on fresh rollouts of length L and 2L; the rule: best agreement at L, then at 2L, then size;
   accepted when it reproduces at least ``min_fidelity`` of the network's sequences at L (the
   program is then verified against the task like every other pass's).

The result is a ``CountModel``: state ``c_v`` (one per symbol, initial 0), the output formula
reading the *updated* counts. ``codegen.build.from_counts`` turns it into a program.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...tasks.spec import SequenceTask
from .adapter import Collection, RNNAdapter, collection_for, network_outputs
from .budget import Fuse
from .expr import Expr, Op, Var, evaluate, render, size, variables
from .integer_sr import IntegerSR


@dataclass(frozen=True)
class CountModel:
    """y_t = output(c) with c_v = #{i <= t : x_i == symbols[v]} (state names ``counts``)."""

    input: str                    # the input channel's name, "x"
    symbols: tuple[int, ...]      # symbols[v] is counted by counts[v]
    counts: tuple[str, ...]       # state variable names, e.g. ("c0", "c1", "c2")
    output: Expr                  # over the updated counts (and nothing else)

    @property
    def complexity(self) -> int:
        return size(self.output)


def count_states(xs: np.ndarray, symbols) -> np.ndarray:
    """Running counts ``[n, T, S]`` of each symbol in ``xs [n, T]`` (including step t)."""
    onehot = (xs[..., None] == np.asarray(symbols)[None, None, :]).astype(np.int64)
    return np.cumsum(onehot, axis=1)


def evaluate_counts(model: CountModel, xs: np.ndarray) -> np.ndarray:
    """The model's outputs ``[n, T]`` on inputs ``[n, T]`` (vectorised)."""
    C = count_states(xs, model.symbols)                        # [n, T, S]
    env = {v: C[..., i] for i, v in enumerate(model.counts)}
    return np.broadcast_to(evaluate(model.output, env), xs.shape).astype(np.int64)


class CountFormulas:
    """Network -> ``CountModel`` when its outputs are a function of the symbol counts.

    Results: ``model_`` (CountModel or None), ``invariance_`` / ``invariance_2x_`` (fraction of
    permutation pairs with equal final outputs at lengths 2..L / at 2L; at least
    ``min_invariance`` / ``min_invariance_2x``: a trained network can err on rare sequences, more
    so at 2L, and its errors may depend on order), ``candidates_``
    ([(formula, fidelity, fidelity_2x)]), ``fidelity_`` /
    ``fidelity_2x_`` (agreement of the chosen model with the network, length L / 2L),
    ``report_``.
    """

    def __init__(self, n: int = 400, max_symbols: int = 10, max_size: int = 7,
                 max_candidates: int = 1_000_000, min_invariance: float = 0.99,
                 min_invariance_2x: float = 0.9, min_fidelity: float = 0.99,
                 time_cap: float = 120.0, seed: int = 11) -> None:
        self.n, self.max_symbols, self.max_size = n, max_symbols, max_size
        self.min_invariance, self.min_invariance_2x = min_invariance, min_invariance_2x
        self.min_fidelity = min_fidelity
        self.max_candidates, self.time_cap, self.seed = max_candidates, time_cap, seed

    def fit(self, net: RNNAdapter, task: SequenceTask, states: Collection | None = None
            ) -> CountFormulas:
        """``states``: the distiller's collection (fit sequences: regression data; check
        sequences at L and 2L: agreement); the order-invariance test runs its own permuted
        probes."""
        self.model_, self.candidates_, self.budget_exhausted_ = None, [], False
        self.invariance_ = self.invariance_2x_ = self.fidelity_ = self.fidelity_2x_ = 0.0
        if task.n_channels != 1 or len(task.symbols) > self.max_symbols:
            self.report_ = (f"needs one input channel with <= {self.max_symbols} symbols "
                            f"(got {task.n_channels} channel(s), {len(task.symbols)} symbols)")
            return self
        rng = np.random.default_rng(self.seed)
        self.invariance_ = order_invariance(net, task, rng, self.n, range(2, task.length + 1))
        self.invariance_2x_ = order_invariance(net, task, rng, self.n, [2 * task.length])
        if self.invariance_ < self.min_invariance or self.invariance_2x_ < self.min_invariance_2x:
            self.report_ = (f"not a function of the symbol counts: permuted inputs change the "
                            f"final output in {1 - self.invariance_:.1%} of pairs at lengths "
                            f"2..{task.length} and {1 - self.invariance_2x_:.1%} at length "
                            f"{2 * task.length} (allowed: {1 - self.min_invariance:.0%} and "
                            f"{1 - self.min_invariance_2x:.0%})")
            return self
        symbols = tuple(int(s) for s in task.symbols)
        names = tuple(f"c{v}" for v in range(len(symbols)))
        states = collection_for(net, task, states, self.seed)
        found = self._regress(states.fit.xs[: self.n], states.fit.y[: self.n], symbols, names)
        if isinstance(found, str) or self.budget_exhausted_:
            self.report_ = found
            return self
        (xs1, y1), (xs2, y2) = ((s.xs, s.y) for s in (states.check.head(self.n),
                                                     states.check_2x.head(self.n // 2)))
        for e in found:
            m = _prune(CountModel("x", symbols, names, e))
            f1 = float((evaluate_counts(m, xs1) == y1).all(1).mean())
            f2 = float((evaluate_counts(m, xs2) == y2).all(1).mean())
            self.candidates_.append((m, f1, f2))
        best = max(self.candidates_, key=lambda c: (c[1], c[2], -c[0].complexity))
        self.fidelity_, self.fidelity_2x_ = best[1], best[2]
        self.model_ = best[0] if best[1] >= self.min_fidelity else None
        self.report_ = (f"order-invariant on permuted pairs ({self.invariance_:.1%} at <= L, "
                        f"{self.invariance_2x_:.1%} at 2L); y = {render(best[0].output)} agrees "
                        f"with the network on {best[1]:.1%} (2x length {best[2]:.1%}); "
                        f"{len(self.candidates_)} candidate(s)")
        return self

    def _regress(self, xs, y, symbols, names) -> list[Expr] | str:
        """Smallest formula over the counts on distinct count vectors at length L, + argmax."""
        C = count_states(xs, symbols)
        M, noise = majority_table(C.reshape(-1, len(symbols)), y.reshape(-1))
        if noise > 1 - self.min_fidelity:
            return (f"the same counts give different outputs at {noise:.1%} of steps (allowed "
                    f"{1 - self.min_fidelity:.1%}): not a function of the counts")
        env = {v: M[:, i] for i, v in enumerate(names)}
        am = Op("argmax", tuple(Var(v) for v in names))
        extra = ((am, evaluate(am, env)),) if len(names) > 1 else ()
        sr = IntegerSR(self.max_size, (0, 1, 2), max_candidates=self.max_candidates,
                       time_cap=self.time_cap).fit(env, {"y": M[:, -1]}, extra=extra)
        if sr.budget_exhausted_:
            self.budget_exhausted_ = True
            return f"formula over the counts: {Fuse(self.time_cap).note()}"
        cands = [sr.formulas_["y"]] if sr.formulas_["y"] is not None else []
        if extra and am not in cands:
            cands.append(am)
        return cands or f"no formula of size <= {self.max_size} over the counts"


def order_invariance(net: RNNAdapter, task: SequenceTask, rng: np.random.Generator, n: int,
                     lengths) -> float:
    """Fraction of (x, permuted x) pairs whose final rounded outputs agree (n pairs per length;
    each pair has equal counts, different order)."""
    agree, total = 0, 0
    for T in lengths:
        xs = task.sample(n, rng, T)
        ps = rng.permuted(xs, axis=1)
        y, yp = network_outputs(net, xs)[:, -1], network_outputs(net, ps)[:, -1]
        agree += int((y == yp).sum())
        total += len(y)
    return agree / total


def majority_table(C: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Distinct count vectors ``C [P, S]`` with the output the network gives most often there:
    rows ``[counts..., y]``, and the fraction of the P steps that disagree with that vote."""
    keys, inv = np.unique(C, axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    vals, yi = np.unique(y, return_inverse=True)
    votes = np.zeros((len(keys), len(vals)), dtype=np.int64)
    np.add.at(votes, (inv, yi.reshape(-1)), 1)
    best = votes.argmax(1)
    noise = 1.0 - votes[np.arange(len(keys)), best].sum() / len(y)
    return np.concatenate([keys, vals[best][:, None]], 1), float(noise)


def _prune(m: CountModel) -> CountModel:
    """Keep only the counts the output reads (argmax needs all of them)."""
    used = variables(m.output)
    keep = [i for i, v in enumerate(m.counts) if v in used]
    return CountModel(m.input, tuple(m.symbols[i] for i in keep),
                      tuple(m.counts[i] for i in keep), m.output)

"""Histogram (symbol-count) pass: networks whose output depends only on how often each symbol
was seen (Majority_*, Evens_Counter-like counters).

Such networks hold a counter per symbol; their hidden states do not close into a finite machine
and need not lie on a small lattice (Majority_0_3: h = 16), so the earlier passes fail. This
pass reads the network *behaviourally*:

1. order invariance: for random sequences x and permutations pi(x) of them (same counts,
   different order), at lengths 1..L and 2L, the network's rounded output at the last step must
   be equal (its own outputs, never labels);
2. the output at step t is regressed as a formula of the counts c_v (c_v' = c_v + [x == v]),
   by ``IntegerSR`` over the counts with an ``argmax`` leaf (index of the first maximal count:
   ties go to the smaller symbol) and comparisons, on distinct count vectors seen at length L;
3. candidates (the smallest formula found, and the plain argmax) are checked against the network
   on fresh rollouts of length L and 2L; the rule: best agreement at L, then at 2L, then size.

The result is a ``CountModel``: state ``c_v`` (one per symbol, initial 0), the output formula
reading the *updated* counts. ``codegen.build.from_counts`` turns it into a program.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...tasks.spec import SequenceTask
from .adapter import RNNAdapter, network_outputs
from .expr import Expr, Op, Var, evaluate, size, variables
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

    Results: ``model_`` (CountModel or None), ``invariance_`` (fraction of permutation pairs with
    equal final outputs), ``candidates_`` ([(formula, fidelity, fidelity_2x)]), ``fidelity_`` /
    ``fidelity_2x_`` (agreement of the chosen model with the network, length L / 2L),
    ``report_``.
    """

    def __init__(self, n: int = 400, max_symbols: int = 10, max_size: int = 7,
                 time_limit: float = 6.0, seed: int = 11) -> None:
        self.n, self.max_symbols, self.max_size = n, max_symbols, max_size
        self.time_limit, self.seed = time_limit, seed

    def fit(self, net: RNNAdapter, task: SequenceTask) -> "CountFormulas":
        self.model_, self.candidates_ = None, []
        self.invariance_, self.fidelity_, self.fidelity_2x_ = 0.0, 0.0, 0.0
        if task.n_channels != 1 or len(task.symbols) > self.max_symbols:
            self.report_ = (f"needs one input channel with <= {self.max_symbols} symbols "
                            f"(got {task.n_channels} channel(s), {len(task.symbols)} symbols)")
            return self
        rng = np.random.default_rng(self.seed)
        self.invariance_ = order_invariance(net, task, rng, self.n)
        if self.invariance_ < 1.0:
            self.report_ = (f"not a function of the symbol counts: permuted inputs change the "
                            f"output in {1 - self.invariance_:.1%} of pairs")
            return self
        symbols = tuple(int(s) for s in task.symbols)
        names = tuple(f"c{v}" for v in range(len(symbols)))
        found = self._regress(net, task, rng, symbols, names)
        if isinstance(found, str):
            self.report_ = found
            return self
        xs1 = task.sample(self.n, rng, task.length)
        xs2 = task.sample(self.n // 2, rng, 2 * task.length)
        y1, y2 = network_outputs(net, xs1), network_outputs(net, xs2)
        for e in found:
            m = _prune(CountModel("x", symbols, names, e))
            f1 = float((evaluate_counts(m, xs1) == y1).all(1).mean())
            f2 = float((evaluate_counts(m, xs2) == y2).all(1).mean())
            self.candidates_.append((m, f1, f2))
        best = max(self.candidates_, key=lambda c: (c[1], c[2], -c[0].complexity))
        self.fidelity_, self.fidelity_2x_ = best[1], best[2]
        self.model_ = best[0] if best[1] == 1.0 else None
        self.report_ = (f"order-invariant on all permuted pairs; y = {_show(best[0])} agrees "
                        f"with the network on {best[1]:.1%} (2x length {best[2]:.1%}); "
                        f"{len(self.candidates_)} candidate(s)")
        return self

    def _regress(self, net, task, rng, symbols, names) -> list[Expr] | str:
        """Smallest formula over the counts on distinct count vectors at length L, + argmax."""
        xs = task.sample(self.n, rng, task.length)
        C, y = count_states(xs, symbols), network_outputs(net, xs)
        M = np.unique(np.concatenate([C.reshape(-1, len(symbols)), y.reshape(-1, 1)], 1), axis=0)
        if len(np.unique(M[:, :-1], axis=0)) != len(M):
            return "the same counts give different outputs (not a function of the counts)"
        env = {v: M[:, i] for i, v in enumerate(names)}
        am = Op("argmax", tuple(Var(v) for v in names))
        extra = ((am, evaluate(am, env)),) if len(names) > 1 else ()
        sr = IntegerSR(self.max_size, (0, 1, 2), time_limit=self.time_limit).fit(
            env, {"y": M[:, -1]}, extra=extra)
        cands = [sr.formulas_["y"]] if sr.formulas_["y"] is not None else []
        if extra and am not in cands:
            cands.append(am)
        return cands or f"no formula of size <= {self.max_size} over the counts"


def order_invariance(net: RNNAdapter, task: SequenceTask, rng: np.random.Generator,
                     n: int) -> float:
    """Fraction of (x, permuted x) pairs whose final rounded outputs agree, over lengths
    2..L and 2L (n pairs per length; each pair has equal counts, different order)."""
    lengths = sorted({*range(2, task.length + 1), 2 * task.length})
    agree, total = 0, 0
    for T in lengths:
        xs = task.sample(n, rng, T)
        ps = rng.permuted(xs, axis=1)
        y, yp = network_outputs(net, xs)[:, -1], network_outputs(net, ps)[:, -1]
        agree += int((y == yp).sum())
        total += len(y)
    return agree / total


def _prune(m: CountModel) -> CountModel:
    """Keep only the counts the output reads (argmax needs all of them)."""
    used = variables(m.output)
    keep = [i for i, v in enumerate(m.counts) if v in used]
    return CountModel(m.input, tuple(m.symbols[i] for i in keep),
                      tuple(m.counts[i] for i in keep), m.output)


def _show(m: CountModel) -> str:
    from .expr import render
    return render(m.output)

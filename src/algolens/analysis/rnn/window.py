"""Definite memory: networks whose state is a function of the last k inputs (a shift register).

Many tasks only look back a fixed distance (Abs_Diff, Prev_k, Sum_Last_k, Parity_Last_k,
Alternating_Last_k, Bitwise_*, Evens/Perfect_Square detectors). Their hidden state is -- to within
float noise -- a function of the input window (x_{t-k+1}, ..., x_t), whatever the prefix was.
``WindowFormulas``:

1. **memory test** (no labels, no regression): for k = 0, 1, ..., max_k it runs the network on
   pairs of sequences that share their last k inputs but have independent random prefixes and
   measures the largest hidden-state distance relative to the state scale. The smallest k below
   ``tol`` is the window -- or, behaviourally, the smallest k for which all pairs give the same
   rounded output (nets that carry irrelevant directions in their state, e.g. Parity_Last3);
   the final verification at 2L says whether that was enough;
2. **output formula** y_t = F(x_t, x_{t-1}, ..., x_{t-k+1}) fitted to the network's own rounded
   outputs, with values before t = 0 equal to 0 (the rows t < k are part of the domain: if the
   network's first outputs disagree with zero padding, a padded window collides with a real one
   and the window is rejected, so the padding is exact or not used). Candidates, first exact one wins:
   a sum of lags modulo m (parities read as ``(x + x1) % 2``); ``IntegerSR`` on a subsample of
   rows with counter-example refinement; espresso minimisation over window bits (binary inputs),
   compacted to a shorter integer formula equal on every bit pattern; membership ``[x in {...}]`` as an OR
   of equalities (one-step windows with 0/1 output);
3. the state is the shift register x1 = x_{t-1}, ..., x_{k-1} (initialised to 0).
"""

from __future__ import annotations

import itertools

import numpy as np
import torch

from ...tasks.spec import SequenceTask
from .adapter import Collection, RNNAdapter, collection_for, rollout
from .budget import Fuse
from .boolean_sr import compact_boolean, espresso_formulas
from .expr import Const, Expr, Op, Var, evaluate, sum_of, variables
from .formulas import StateFormulas, input_names
from .integer_sr import IntegerSR


def lag_name(name: str, j: int) -> str:
    return name if j == 0 else f"{name}{j}"


def window_env(xs: np.ndarray, k: int, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Inputs ``[n, T(, C)]`` -> ``{x: x_t, x1: x_{t-1}, ...}`` flattened to ``[n*T]`` (zero padded)."""
    xs3 = xs[..., None] if xs.ndim == 2 else xs
    n, T, _ = xs3.shape
    env = {}
    for j in range(max(k, 1)):
        lag = np.concatenate([np.zeros((n, j, xs3.shape[2]), np.int64), xs3[:, : T - j]], 1)
        for c, nm in enumerate(names):
            env[lag_name(nm, j)] = lag[..., c].reshape(-1).astype(np.int64)
    return env


class WindowFormulas:
    """Network -> shift-register program if its state has definite memory (see module docstring).

    Results: ``k_`` (window length, None if none <= max_k), ``spread_`` (relative state distance
    per k tried), ``formulas_`` (StateFormulas, labelling "window", or None), ``method_``
    (which regressor found the output), ``fidelity_`` (agreement with the network's outputs on
    fresh sequences), ``report_``.
    """

    def __init__(self, max_k: int = 4, tol: float = 0.02, n: int = 600, max_size: int = 7,
                 max_candidates: int = 1_000_000, time_cap: float = 120.0, seed: int = 11
                 ) -> None:
        self.max_k, self.tol, self.n, self.max_size = max_k, tol, n, max_size
        self.max_candidates, self.time_cap, self.seed = max_candidates, time_cap, seed

    def fit(self, net: RNNAdapter, task: SequenceTask, states: Collection | None = None
            ) -> WindowFormulas:
        """``states``: the distiller's collection (its fit sequences give the output
        regression data); the memory test runs its own paired probes."""
        self.k_, self.formulas_, self.method_, self.fidelity_ = None, None, "", 0.0
        self._fuse = Fuse(self.time_cap)
        self.budget_exhausted_ = False
        rng = np.random.default_rng(self.seed)
        self.spread_ = {}
        for k in range(self.max_k + 1):
            self.spread_[k] = self._spread(net, task, k, rng)
            if self.spread_[k] < self.tol:
                self.k_ = k
                break
        if self.k_ is None:
            self.report_ = (f"no definite memory of length <= {self.max_k} (relative state "
                            f"spread {min(self.spread_.values()):.3f} >= {self.tol})")
            return self
        names = input_names(task)
        states = collection_for(net, task, states, self.seed)
        xs, y = states.fit.xs[: self.n], states.fit.y3[: self.n]                 # y [n, T, D]
        env = window_env(xs, self.k_, names)
        outs = []
        for d in range(y.shape[2]):
            e = self._output(env, y[..., d].reshape(-1), task, names)
            if self._fuse.blown:
                self.budget_exhausted_ = True
                self.report_ = f"output formula for y{d}: {self._fuse.note()}"
                return self
            if e is None:
                self.report_ = (f"state is a function of the last {self.k_} inputs, but no "
                                f"output formula found for y{d}")
                return self
            outs.append(e)
        self.formulas_ = self._program(names, tuple(outs))
        self.fidelity_ = 1.0
        self.report_ = (f"state is a function of the last {self.k_} input(s) (spread "
                        f"{self.spread_[self.k_]:.1e}); output by {self.method_}")
        return self

    # ------------------------------------------------------------------ memory test
    def _spread(self, net: RNNAdapter, task: SequenceTask, k: int, rng) -> float:
        """Largest state distance between sequences sharing their last k inputs / scale."""
        T, m = task.length, self.n // 2
        a = task.sample(m, rng, T)
        b = task.sample(m, rng, T)
        b[:, T - k:] = a[:, T - k:]                # k = 0: empty slices, nothing shared
        (Ha, Ya), (Hb, Yb) = (rollout(net, z) for z in (a, b))
        Ha, Hb = Ha.double().numpy(), Hb.double().numpy()
        scale = float(np.sqrt((Ha ** 2).sum(-1).mean())) + 1e-9
        worst = float(np.linalg.norm(Ha[:, -1] - Hb[:, -1], axis=-1).max()) if k < T else 0.0
        if worst / scale >= self.tol and torch.equal(torch.round(Ya[:, -1]), torch.round(Yb[:, -1])):
            return 0.0          # behavioural definite memory: the outputs agree, the state need not
        return worst / scale

    # ------------------------------------------------------------------ output formulas
    def _output(self, env: dict, y: np.ndarray, task: SequenceTask, names) -> Expr | None:
        keys = list(env)
        M = np.unique(np.stack([env[k_] for k_ in keys] + [y], 1), axis=0)
        if len(np.unique(M[:, :-1], axis=0)) != len(M):
            return None                        # the window does not determine the output
        dom = {k_: M[:, i] for i, k_ in enumerate(keys)}
        target = M[:, -1]
        for method, fn in (("sum of lags modulo m", self._sum_mod),      # parity: readable
                           ("integer symbolic regression", self._sr),
                           ("Boolean minimisation over window bits", self._bits),
                           ("membership test", self._member)):
            e = fn(dom, target, task)
            if e is not None:
                self.method_ = method
                return e
        return None

    def _sr(self, dom, target, task) -> Expr | None:
        """IntegerSR on a subsample; add mismatching rows and refit (at most 4 rounds)."""
        P = len(target)
        rng = np.random.default_rng(self.seed)
        idx = rng.choice(P, min(P, 256), replace=False)
        consts = tuple(sorted({0, 1, 2} | {len(ch) for ch in task.channels if len(ch) <= 32}))
        for _ in range(4):
            sr = IntegerSR(self.max_size, consts, max_candidates=self.max_candidates).fit(
                {k_: v[idx] for k_, v in dom.items()}, {"y": target[idx]}, fuse=self._fuse)
            e = sr.formulas_["y"]
            if e is None:
                return None
            try:
                bad = np.flatnonzero(np.broadcast_to(evaluate(e, dom), target.shape) != target)
            except ZeroDivisionError:
                return None
            if len(bad) == 0:
                return e
            idx = np.unique(np.concatenate([idx, bad[:64]]))
        return None

    @staticmethod
    def _sum_mod(dom, target, task) -> Expr | None:
        lags = sorted(dom)
        for r in range(2, len(lags) + 1):
            for sub in itertools.combinations(lags, r):
                s = sum(dom[v] for v in sub)
                for m in range(2, 11):
                    if np.array_equal(s % m, target):
                        return Op("%", (sum_of(sub), Const(m)))
        return None

    def _bits(self, dom, target, task) -> Expr | None:
        names = sorted(dom)
        X = np.stack([dom[v] for v in names], 1)
        if not (np.isin(X, (0, 1)).all() and np.isin(target, (0, 1)).all()) or len(names) > 12:
            return None
        return compact_boolean(espresso_formulas(X, target[:, None], names)[0], fuse=self._fuse)

    @staticmethod
    def _member(dom, target, task) -> Expr | None:
        if len(dom) != 1 or not np.isin(target, (0, 1)).all():
            return None
        (v, xs), = dom.items()
        pos, neg = sorted(set(xs[target == 1].tolist())), sorted(set(xs[target == 0].tolist()))
        if set(pos) & set(neg) or not pos or not neg:
            return None
        vals, negate = (pos, False) if len(pos) <= len(neg) else (neg, True)
        if len(vals) > 8:
            return None
        e: Expr = Op("==", (Var(v), Const(vals[0])))
        for c in vals[1:]:
            e = Op("|", (e, Op("==", (Var(v), Const(c)))))
        return Op("not", (e,)) if negate else e

    # ------------------------------------------------------------------ program
    def _program(self, names: tuple[str, ...], outs: tuple[Expr, ...]) -> StateFormulas:
        used = set().union(*(variables(e) for e in outs))
        depth = max([j for j in range(1, self.k_ + 1) for nm in names
                     if lag_name(nm, j) in used] or [0])
        state, ups = [], []
        for j in range(1, depth + 1):
            for nm in names:
                state.append(lag_name(nm, j))
                ups.append(Var(lag_name(nm, j - 1)))
        return StateFormulas("window", names, tuple(state), (0,) * len(state), tuple(ups), outs)

"""Exact integer linear recurrences read off a network's own outputs (linear networks).

A linear RNN h_t = h_{t-1} W + x_t U + b, y_t = h_t C + d started from h_{-1} = 0 is, by
Cayley-Hamilton, an integer-free ARX recurrence of order p <= H:

    y_t = sum_i A_i y_{t-i} + sum_j B_j x_{t-j} + c + sum_j e_j [t >= j]

with zero history before t = 0 (the indicators absorb the initial state and bias exactly). We fit
the coefficients by least squares on the network's *rounded outputs* over fresh sequences, snap them
to integers and accept the smallest (p, q) whose snapped recurrence reproduces the network at every
position. Multi-channel inputs and multi-dimensional outputs (Newton_Magnetic) are columns.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from ...tasks.spec import SequenceTask
from .adapter import Collection, RNNAdapter, collection_for


@dataclass(frozen=True)
class Recurrence:
    """Integer coefficients of y_t = A y_{t-1..t-p} + B x_{t..t-q} + c + E [t >= 1..p]."""

    p: int
    q: int
    A: np.ndarray      # [D, p, D]   A[d, i-1, d'] multiplies y_{t-i}[d']
    B: np.ndarray      # [D, q+1, C] B[d, j, c] multiplies x_{t-j}[c]
    c: np.ndarray      # [D]
    E: np.ndarray      # [D, p]      E[d, j-1] multiplies [t >= j]

    def run(self, xs: np.ndarray) -> np.ndarray:
        """Apply to ``[n, T, C]`` inputs -> ``[n, T, D]`` outputs (exact integers)."""
        n, T, _ = xs.shape
        D = self.c.shape[0]
        ys = np.zeros((n, T, D), dtype=np.int64)
        for t in range(T):
            y = np.tile(self.c, (n, 1)).astype(np.int64)
            for i in range(1, self.p + 1):
                if t - i >= 0:
                    y += ys[:, t - i] @ self.A[:, i - 1].T
                    y += self.E[:, i - 1]
            for j in range(self.q + 1):
                if t - j >= 0:
                    y += xs[:, t - j] @ self.B[:, j].T
            ys[:, t] = y
        return ys


def _design(xs: np.ndarray, ys: np.ndarray, p: int, q: int) -> np.ndarray:
    """Regressors for every (sequence, position): ``[n*T, p*D + (q+1)*C + 1 + p]``."""
    n, T, C = xs.shape
    D = ys.shape[2]
    cols = []
    for i in range(1, p + 1):
        cols.append(np.concatenate([np.zeros((n, i, D)), ys[:, : T - i]], 1))
    for j in range(q + 1):
        cols.append(np.concatenate([np.zeros((n, j, C)), xs[:, : T - j]], 1))
    cols.append(np.ones((n, T, 1)))
    for j in range(1, p + 1):
        cols.append(np.broadcast_to((np.arange(T) >= j)[None, :, None], (n, T, 1)))
    return np.concatenate(cols, 2).reshape(n * T, -1).astype(np.float64)


def fit_recurrence(xs: np.ndarray, ys: np.ndarray, p: int, q: int) -> Recurrence:
    """Least squares on (inputs, network outputs), coefficients snapped to integers."""
    n, T, C = xs.shape
    D = ys.shape[2]
    X = _design(xs, ys, p, q)
    coef, *_ = np.linalg.lstsq(X, ys.reshape(n * T, D).astype(np.float64), rcond=None)
    k = np.rint(coef).astype(np.int64).T                       # [D, n_features]
    a, b = p * D, p * D + (q + 1) * C
    return Recurrence(p, q, k[:, :a].reshape(D, p, D), k[:, a:b].reshape(D, q + 1, C),
                      k[:, b], k[:, b + 1:])


def _any_exact(xs: np.ndarray, ys: np.ndarray, orders: list[tuple[int, int]]) -> bool:
    """Models are nested: an exact (p, q) recurrence leaves zero residual in every larger one, so
    if every maximal order leaves a residual, no order can be exact (skips nonlinear nets fast)."""
    maximal = [o for o in orders if not any(o != b and o[0] <= b[0] and o[1] <= b[1]
                                            for b in orders)]
    n, T, D = ys.shape
    for p, q in maximal:
        X = _design(xs, ys, p, q)
        coef, *_ = np.linalg.lstsq(X, ys.reshape(n * T, D).astype(np.float64), rcond=None)
        if np.abs(X @ coef - ys.reshape(n * T, D)).max() < 0.25:
            return True
    return False


def _as3(a: np.ndarray) -> np.ndarray:
    return a[..., None] if a.ndim == 2 else a


class IntegerRecurrence:
    """Find the simplest exact integer ARX recurrence that reproduces the network.

    Results: ``recurrence_`` (or None), ``fidelity_`` (fraction of fresh sequences where the
    snapped recurrence equals the network's rounded outputs everywhere), ``fidelity_2x_``,
    ``report_``, ``candidates_`` (``(p, q, fidelity)`` for every order tried).
    """

    def __init__(self, max_p: int = 6, max_q: int = 8, max_order: int = 9, n: int = 300,
                 seed: int = 2) -> None:
        self.max_p, self.max_q, self.max_order, self.n, self.seed = max_p, max_q, max_order, n, seed

    def fit(self, net: RNNAdapter, task: SequenceTask, states: Collection | None = None
            ) -> "IntegerRecurrence":
        """``states``: the distiller's collection (its first ``n`` fit sequences are the
        regression data, ``check_2x`` the 2L check); collected here when None."""
        states = collection_for(net, task, states, self.seed)
        xs, ys = states.fit.xs[: self.n], states.fit.y3[: self.n]
        xs3 = _as3(xs)
        self.recurrence_, self.fidelity_, self.fidelity_2x_ = None, 0.0, 0.0
        self.candidates_ = []
        orders = [(p, q) for p, q in itertools.product(range(self.max_p + 1),
                                                         range(self.max_q + 1))
                  if p + q < task.length and p + q <= self.max_order]
        orders.sort(key=lambda pq: (pq[0] + pq[1], pq[0]))
        if not _any_exact(xs3, ys, orders):
            self.report_ = ("no integer recurrence: the least-squares fit leaves a residual "
                            f"> 0.25 at every maximal order (p <= {self.max_p}, q <= {self.max_q})")
            return self
        for p, q in orders:
            rec = fit_recurrence(xs3, ys, p, q)
            fid = float((rec.run(xs3) == ys).all(axis=(1, 2)).mean())
            self.candidates_.append((p, q, fid))
            if fid == 1.0:
                self.recurrence_, self.fidelity_ = rec, fid
                break
            self.fidelity_ = max(self.fidelity_, fid)
        if self.recurrence_ is None:
            self.report_ = (f"no integer recurrence with p <= {self.max_p}, q <= {self.max_q} "
                            f"reproduces the network (best fidelity {self.fidelity_:.3f})")
            return self
        x2 = states.check_2x.head(self.n // 2)
        self.fidelity_2x_ = float((self.recurrence_.run(_as3(x2.xs)) == x2.y3)
                                  .all(axis=(1, 2)).mean())
        self.report_ = (f"integer recurrence of order p={self.recurrence_.p}, "
                        f"q={self.recurrence_.q} reproduces the network on {self.n} sequences "
                        f"(fidelity at 2x length vs network: {self.fidelity_2x_:.3f})")
        return self

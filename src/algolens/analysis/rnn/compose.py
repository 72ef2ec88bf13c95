"""Goal-directed composition: reach formulas of size 11-15 from a bank of small ones.

The bottom-up search (``IntegerSR``) keeps one expression per distinct function on the finite
domain (observational equivalence), every expression up to a small size. A larger formula is
usually one top-level node over two or three bank entries, and its arguments can be *solved for*
from the target instead of enumerated:

  t = a + b          b = t - a: one hash lookup per bank entry (the value hash is linear)
  t = a - b          b = a - t: the same
  t = select(c, a, b) for a Boolean-typed entry c: a must equal t where c holds, b where it does
                     not (hashes restricted to the two parts of the domain)
  t = clip(e, lo, hi) lo, hi the target's own extremes (constants from the data): e equals t
                     strictly inside, and is <= lo / >= hi where t saturates (also max/min only)
  t = int(e < k), int(k < e), int(e == k)  for a Boolean target, k read off the data

Typed grammar: conditions of ``select`` and the Boolean targets are 0/1-valued; integers are
everything else. Each form costs at most one pass over the bank (a few conditions for select),
so the composition is bounded by the bank size and ``max_work`` (bank rows x domain points), not
by time. The smallest composed formula wins (ties: the form order above, then bank order, which
is fixed), and every hit is checked exactly (a hash collision cannot produce a wrong formula).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .expr import Const, Expr, Op


_BOOLEAN = ("==", "<", "<=", "&", "|", "not")


@dataclass
class Pool:
    """The bank as flat arrays sorted by size: values [N, P], exprs, sizes, hashes."""

    V: np.ndarray
    E: list
    S: np.ndarray
    H: np.ndarray
    r: np.ndarray                      # the random hash weights [P]

    @classmethod
    def build(cls, values: dict, exprs: dict, r: np.ndarray) -> "Pool":
        sizes = sorted(values)
        V = np.concatenate([values[s] for s in sizes]) if sizes else np.zeros((0, len(r)),
                                                                               dtype=np.int64)
        E = [e for s in sizes for e in exprs[s]]
        S = np.concatenate([np.full(len(values[s]), s) for s in sizes]) if sizes else \
            np.zeros(0, dtype=int)
        with np.errstate(over="ignore"):
            H = (V * r).sum(1)
        return cls(V, E, S, H, r)

    @property
    def boolean(self) -> np.ndarray:
        """Indices of the Boolean-typed entries (comparisons, not constant): the conditions."""
        typed = np.array([isinstance(e, Op) and e.op in _BOOLEAN for e in self.E], dtype=bool)
        b = typed & (self.V.min(1) != self.V.max(1)) if len(self.E) else typed
        return np.flatnonzero(b)


@dataclass
class Composer:
    """Solve one target against a pool; ``work_`` counts bank rows x points touched."""

    pool: Pool
    max_size: int = 15
    max_conditions: int = 200
    max_work: int = 30_000_000

    def solve(self, t: np.ndarray) -> Expr | None:
        self.work_ = 0
        t = np.asarray(t, dtype=np.int64)
        best: list = []                            # (size, form order, expr)
        for k, form in enumerate((self._sum, self._clip, self._mod, self._threshold,
                                  self._select)):
            got = form(t) if k < 4 else form(t, min([b[0] for b in best], default=None))
            if got is not None and got[0] <= self.max_size:
                best.append((got[0], k, got[1]))
        return min(best, key=lambda b: b[:2])[2] if best else None

    # ------------------------------------------------------------------ forms
    def _count(self, rows: int, points: int) -> bool:
        self.work_ += rows * points
        return self.work_ <= self.max_work

    def _sum(self, t: np.ndarray):
        p = self.pool
        if not len(p.V) or not self._count(len(p.V), 1):
            return None
        with np.errstate(over="ignore"):
            ht = (t * p.r).sum()
            order = np.argsort(p.H, kind="stable")
            sH = p.H[order]
            best = None
            for op, q in (("+", ht - p.H), ("-", p.H - ht)):
                pos = np.clip(np.searchsorted(sH, q), 0, len(sH) - 1)
                for a in np.flatnonzero(sH[pos] == q):
                    b = int(order[pos[a]])
                    sz = 1 + int(p.S[a]) + int(p.S[b])
                    if best is not None and sz >= best[0]:
                        continue
                    val = p.V[a] + p.V[b] if op == "+" else p.V[a] - p.V[b]
                    if np.array_equal(val, t):
                        best = (sz, Op(op, (p.E[a], p.E[b])))
        return best

    def _clip(self, t: np.ndarray):
        p = self.pool
        lo, hi = int(t.min()), int(t.max())
        if lo == hi or not self._count(len(p.V), len(t)):
            return None
        V = p.V
        eq_in = ((V == t) | (t == lo) | (t == hi)).all(1)     # e == t strictly inside
        le_lo = ((V <= lo) | (t != lo)).all(1)                # e <= lo where t saturates low
        ge_hi = ((V >= hi) | (t != hi)).all(1)
        eq_lo = ((V == t) | (t != lo)).all(1)
        eq_hi = ((V == t) | (t != hi)).all(1)
        best = None
        for extra, mask, make in (
                (2, eq_in & le_lo & eq_hi, lambda e: Op("max", (e, Const(lo)))),
                (2, eq_in & eq_lo & ge_hi, lambda e: Op("min", (e, Const(hi)))),
                (3, eq_in & le_lo & ge_hi,
                 lambda e: Op("clip", (e, Const(lo), Const(hi))))):
            hit = np.flatnonzero(mask)
            if len(hit) and (best is None or p.S[hit[0]] + extra < best[0]):
                best = (int(p.S[hit[0]]) + extra, make(p.E[hit[0]]))
        return best

    def _mod(self, t: np.ndarray):
        """t = e % k, k just above the target's largest value (moduli from the data; a state
        machine may not reach every residue)."""
        p = self.pool
        best = None
        for k in range(max(2, int(t.max()) + 1), int(t.max()) + 4):
            if t.min() < 0 or not self._count(len(p.V), len(t)):
                break
            hit = np.flatnonzero((p.V % k == t).all(1))
            if len(hit) and (best is None or p.S[hit[0]] + 2 < best[0]):
                best = (int(p.S[hit[0]]) + 2, Op("%", (p.E[hit[0]], Const(k))))
        return best

    def _threshold(self, t: np.ndarray):
        p = self.pool
        on = t == 1
        if not (((t == 0) | on).all() and on.any() and (~on).any()):
            return None
        if not self._count(len(p.V), len(t)):
            return None
        V = p.V
        mx1, mn1 = V[:, on].max(1), V[:, on].min(1)
        mx0, mn0 = V[:, ~on].max(1), V[:, ~on].min(1)
        cands = []
        for k, mask, make in (
                (0, mx1 < mn0, lambda i: Op("<", (p.E[i], Const(int(mn0[i]))))),
                (1, mx0 < mn1, lambda i: Op("<", (Const(int(mx0[i])), p.E[i]))),
                (2, (mx1 == mn1) & ~(V[:, ~on] == mx1[:, None]).any(1),
                 lambda i: Op("==", (p.E[i], Const(int(mx1[i])))))):
            hit = np.flatnonzero(mask)
            if len(hit):
                cands.append((int(p.S[hit[0]]) + 2, k, make(int(hit[0]))))
        return min(cands, key=lambda c: c[:2])[::2] if cands else None

    def _select(self, t: np.ndarray, bound: int | None = None):
        """``bound``: the size of a formula already found (a select must be smaller)."""
        p = self.pool
        best = None
        limit = min(self.max_size + 1, bound if bound is not None else self.max_size + 1)
        for c in p.boolean[: self.max_conditions]:
            if p.S[c] + 3 >= (best[0] if best is not None else limit):
                break                               # conditions come smallest first
            if not self._count(len(p.V), len(t)):
                break
            m = p.V[c] == 1
            a = self._first_on(t, m)
            b = self._first_on(t, ~m) if a is not None else None
            if a is None or b is None:
                continue
            sz = 1 + int(p.S[c]) + int(p.S[a]) + int(p.S[b])
            if best is None or sz < best[0]:
                best = (sz, Op("select", (p.E[c], p.E[a], p.E[b])))
        return best

    def _first_on(self, t: np.ndarray, m: np.ndarray) -> int | None:
        """The smallest bank entry equal to t on the points where ``m`` holds."""
        p = self.pool
        with np.errstate(over="ignore"):
            h = p.V[:, m] @ p.r[m]
            ht = t[m] @ p.r[m]
        for i in np.flatnonzero(h == ht)[:4]:
            if np.array_equal(p.V[i, m], t[m]):
                return int(i)
        return None

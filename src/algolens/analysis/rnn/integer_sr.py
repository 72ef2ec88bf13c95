"""Integer symbolic regression by bottom-up enumeration of expression trees.

Every expression is evaluated on the whole finite domain at once (all (state, input) points of a
state machine); expressions with identical value vectors are kept once (observational
equivalence), so the bank holds one representative -- the smallest -- per function. Primitives:
+ - * // % min max == < abs, and select(c, a, b) with a comparison as c. The smallest formula that
matches a target exactly on the domain wins (complexity = number of nodes).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .expr import Const, Expr, Op, Var, size

COMMUTATIVE = ("+", "*", "min", "max", "==")
BINARY_OPS = ("+", "-", "*", "//", "%", "min", "max", "==", "<")
_NP = {"+": np.add, "-": np.subtract, "*": np.multiply, "//": np.floor_divide, "%": np.mod,
       "min": np.minimum, "max": np.maximum, "==": np.equal, "<": np.less}
_LIMIT = 10 ** 7


@dataclass
class _Bank:
    values: dict[int, np.ndarray] = field(default_factory=dict)     # size -> [m, P]
    exprs: dict[int, list] = field(default_factory=dict)
    seen: set = field(default_factory=set)


class IntegerSR:
    """Find the smallest formula over ``env`` for each target on a finite domain.

    ``fit(env, targets)`` with ``env = {name: int array [P]}`` and ``targets = {name: [P]}``.
    Results: ``formulas_`` (name -> Expr or None), ``sizes_``, ``n_evaluated_``, ``report_``.
    """

    def __init__(self, max_size: int = 7, consts: tuple[int, ...] = (0, 1, 2),
                 max_bank: int = 40_000, time_limit: float = 20.0, seed: int = 0) -> None:
        self.max_size, self.consts, self.max_bank = max_size, consts, max_bank
        self.time_limit, self.seed = time_limit, seed

    def fit(self, env: dict[str, np.ndarray], targets: dict[str, np.ndarray],
            extra: tuple[tuple[Expr, np.ndarray], ...] = ()) -> "IntegerSR":
        """``extra``: ready-made leaves (expression, values [P]) entered at their own size,
        e.g. ``argmax(c0, c1, c2)`` for the histogram pass."""
        P = len(next(iter(targets.values())))
        self._r = np.random.default_rng(self.seed).integers(1, 2 ** 62, P, dtype=np.int64)
        self._deadline = time.monotonic() + self.time_limit
        self._targets = {k: np.asarray(v, dtype=np.int64) for k, v in targets.items()}
        self._thash = {k: self._hash(v[None])[0] for k, v in self._targets.items()}
        self.formulas_ = {k: None for k in targets}
        self.n_evaluated_ = 0
        bank = _Bank()
        leaves = [(Var(n), np.asarray(v, dtype=np.int64)) for n, v in env.items()]
        leaves += [(Const(c), np.full(P, c, dtype=np.int64)) for c in sorted(set(self.consts))]
        self._add(bank, 1, [e for e, _ in leaves], np.stack([v for _, v in leaves]))
        for e, v in extra:
            self._add(bank, size(e), [e], np.asarray(v, dtype=np.int64)[None])
        for s in range(2, self.max_size + 1):
            if self._done() or time.monotonic() > self._deadline:
                break
            self._grow(bank, s)
        self.sizes_ = {k: (size(e) if e is not None else None) for k, e in self.formulas_.items()}
        found = sum(e is not None for e in self.formulas_.values())
        self.report_ = (f"{found}/{len(targets)} targets matched after {self.n_evaluated_} "
                        f"candidate expressions (max size {self.max_size})")
        return self

    # ------------------------------------------------------------------ internals
    def _done(self) -> bool:
        return all(e is not None for e in self.formulas_.values())

    def _hash(self, V: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return (V * self._r).sum(1)

    def _add(self, bank: _Bank, s: int, exprs: list, V: np.ndarray) -> None:
        """Keep new functions of size ``s``; check them against the targets."""
        self.n_evaluated_ += len(exprs)
        ok = np.abs(V).max(1) < _LIMIT
        hs = self._hash(V)
        keep = []
        for i in np.flatnonzero(ok):
            h = int(hs[i])
            if h in bank.seen:
                continue
            bank.seen.add(h)
            keep.append(i)
            for k, th in self._thash.items():
                if self.formulas_[k] is None and h == th and np.array_equal(V[i], self._targets[k]):
                    self.formulas_[k] = exprs[i]
        room = self.max_bank - sum(len(v) for v in bank.exprs.values())
        keep = keep[: max(0, room)]
        if keep:
            old_e, old_v = bank.exprs.get(s, []), bank.values.get(s)
            new_v = V[keep]
            bank.exprs[s] = old_e + [exprs[i] for i in keep]
            bank.values[s] = new_v if old_v is None else np.concatenate([old_v, new_v])

    def _grow(self, bank: _Bank, s: int) -> None:
        if s - 1 in bank.values:                                     # unary: abs
            V = bank.values[s - 1]
            self._add(bank, s, [Op("abs", (e,)) for e in bank.exprs[s - 1]], np.abs(V))
        for a in range(1, s - 1):
            b = s - 1 - a
            if a not in bank.values or b not in bank.values:
                continue
            for op in BINARY_OPS:
                if op in COMMUTATIVE and a > b:
                    continue
                self._binary(bank, s, op, a, b)
                if self._done() or time.monotonic() > self._deadline:
                    return
        if s >= 5:
            self._select(bank, s)

    def _binary(self, bank: _Bank, s: int, op: str, a: int, b: int) -> None:
        VA, VB = bank.values[a], bank.values[b]
        EA, EB = bank.exprs[a], bank.exprs[b]
        valid_b = np.ones(len(VB), bool) if op not in ("//", "%") else ~(VB == 0).any(1)
        jb = np.flatnonzero(valid_b)
        if len(jb) == 0:
            return
        chunk = max(1, 200_000 // max(1, len(jb) * VA.shape[1]))
        for i0 in range(0, len(VA), chunk):
            with np.errstate(over="ignore"):
                X = _NP[op](VA[i0:i0 + chunk, None, :], VB[None, jb, :]).astype(np.int64)
            pairs = [(i, j) for i in range(i0, min(i0 + chunk, len(VA))) for j in jb]
            if op in COMMUTATIVE and a == b:
                sel = [k for k, (i, j) in enumerate(pairs) if i <= j]
            else:
                sel = list(range(len(pairs)))
            flat = X.reshape(-1, X.shape[-1])[sel]
            self._add(bank, s, [Op(op, (EA[pairs[k][0]], EB[pairs[k][1]])) for k in sel], flat)
            if self._done() or time.monotonic() > self._deadline:
                return

    def _select(self, bank: _Bank, s: int) -> None:
        """select(c, x, y) with c a size-3 comparison and x, y of sizes summing to s - 4."""
        conds = [(e, v) for e, v in zip(bank.exprs.get(3, []), bank.values.get(3, []))
                 if isinstance(e, Op) and e.op in ("==", "<")][:200]
        for c, cv in conds:
            for a in range(1, s - 4):
                b = s - 4 - a
                if a not in bank.values or b not in bank.values:
                    continue
                VA, VB = bank.values[a][:300], bank.values[b][:300]
                X = np.where(cv[None, None, :] != 0, VA[:, None, :], VB[None, :, :])
                ex = [Op("select", (c, ea, eb)) for ea in bank.exprs[a][:300]
                      for eb in bank.exprs[b][:300]]
                self._add(bank, s, ex, X.reshape(-1, X.shape[-1]))
                if self._done() or time.monotonic() > self._deadline:
                    return

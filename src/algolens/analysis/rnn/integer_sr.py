"""Integer symbolic regression by bottom-up enumeration of expression trees, bounded by work.

Every expression is evaluated on the whole finite domain at once (all (state, input) points of a
state machine); expressions with identical value vectors are kept once (observational
equivalence), so the bank holds one representative -- the smallest -- per function. Primitives:
+ - * // % min max == < abs, select(c, a, b) with a comparison as c, and -- a typed grammar --
``&``/``|`` only between Boolean-typed entries (comparisons; kept apart from equal integers).
Formulas beyond the complete sizes come from goal-directed composition over the bank
(``compose.Composer``: sums, select, clip, modulo, thresholds; up to ``max_compose`` nodes),
with constants from the data (the targets' extremes). The smallest formula that matches a
target exactly on the domain wins (complexity = number of nodes; ties go to the first in the
enumeration order, which is fixed).

The search is bounded by work only -- expression size ``max_size``, bank size ``max_bank``
(distinct functions kept as building blocks), ``max_candidates`` (expressions evaluated) and
``max_evals`` (expressions x domain points, the real cost on large domains) -- so its answer is a
function of its inputs. A wall-clock ``Fuse`` is only a safety cap: when it stops
the search, ``budget_exhausted_`` is True and the caller must say so.

Speed: candidates are evaluated in blocks of index pairs (vectorised numpy), and an ``Expr`` is
built only for the few candidates kept in the bank or matching a target.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .budget import Fuse
from .compose import Composer, Pool
from .expr import Const, Expr, Op, Var, size

COMMUTATIVE = ("+", "*", "min", "max", "==")
BINARY_OPS = ("+", "-", "*", "//", "%", "min", "max", "==", "<")
_NP = {"+": np.add, "-": np.subtract, "*": np.multiply, "//": np.floor_divide, "%": np.mod,
       "min": np.minimum, "max": np.maximum, "==": np.equal, "<": np.less}
_LIMIT = 10 ** 7              # values beyond this are overflow-prone: not kept
_BOOL_SALT = 0x5DEECE66D         # typed bank: a comparison is kept beside an equal integer
_BLOCK = 1 << 19              # int64 elements evaluated at once ([candidates, P], 4 MB)


class _Stop(Exception):
    """Ends the enumeration: every target found, the candidate bound reached, or the fuse."""


@dataclass
class _Bank:
    values: dict[int, np.ndarray] = field(default_factory=dict)     # size -> [m, P]
    exprs: dict[int, list] = field(default_factory=dict)
    seen: set = field(default_factory=set)                          # hashes of kept functions
    n: int = 0
    growing: dict[int, list] = field(default_factory=dict)          # size -> blocks [m_i, P]

    def seal(self, s: int) -> None:
        """Concatenate the blocks kept at size ``s`` (once, when the size is complete)."""
        if s in self.growing:
            self.values[s] = np.concatenate(self.growing.pop(s))


class IntegerSR:
    """Find the smallest formula over ``env`` for each target on a finite domain.

    ``fit(env, targets)`` with ``env = {name: int array [P]}`` and ``targets = {name: [P]}``.
    Results: ``formulas_`` (name -> Expr or None), ``sizes_``, ``n_evaluated_`` (candidates;
    ``n_evaluated_ * P`` evaluations),
    ``size_reached_`` (largest size enumerated completely), ``stopped_`` ("done", "size",
    "candidates" or "fuse"), ``budget_exhausted_`` (the safety cap stopped it), ``report_``.
    """

    def __init__(self, max_size: int = 7, consts: tuple[int, ...] = (0, 1, 2),
                 max_bank: int = 40_000, max_candidates: int = 3_000_000,
                 max_evals: int = 300_000_000, time_cap: float = 120.0, seed: int = 0,
                 max_compose: int = 15, compose_work: int = 30_000_000,
                 data_consts: bool = True) -> None:
        self.max_size, self.consts, self.max_bank = max_size, consts, max_bank
        self.max_candidates, self.max_evals = max_candidates, max_evals
        self.time_cap, self.seed = time_cap, seed
        self.max_compose, self.compose_work, self.data_consts = (max_compose, compose_work,
                                                                 data_consts)

    def fit(self, env: dict[str, np.ndarray], targets: dict[str, np.ndarray],
            extra: tuple[tuple[Expr, np.ndarray], ...] = (), fuse: Fuse | None = None
            ) -> "IntegerSR":
        """``extra``: ready-made leaves (expression, values [P]) entered at their own size,
        e.g. ``argmax(c0, c1, c2)`` for the histogram pass. ``fuse``: a shared safety cap."""
        P = len(next(iter(targets.values())))
        self._fuse = fuse if fuse is not None else Fuse(self.time_cap)
        self._r = np.random.default_rng(self.seed).integers(1, 2 ** 62, P, dtype=np.int64)
        self._targets = {k: np.asarray(v, dtype=np.int64) for k, v in targets.items()}
        self._thash = {k: int(self._hash(v[None])[0]) for k, v in self._targets.items()}
        self.formulas_ = {k: None for k in targets}
        self.n_evaluated_, self.size_reached_, self.stopped_ = 0, 0, "size"
        self._limit = min(self.max_candidates, max(1, self.max_evals // max(P, 1)))
        bank = _Bank()
        leaves = [(Var(n), np.asarray(v, dtype=np.int64)) for n, v in env.items()]
        leaves += [(Const(c), np.full(P, c, dtype=np.int64)) for c in self._constants()]
        try:
            self._add(bank, 1, np.stack([v for _, v in leaves]), lambda i: leaves[i][0])
            bank.seal(1)
            for e, v in extra:
                self._add(bank, size(e), np.asarray(v, dtype=np.int64)[None], lambda i, e=e: e)
            self.size_reached_ = 1
            for s in range(2, self.max_size + 1):
                self._grow(bank, s)
                bank.seal(s)
                self.size_reached_ = s
        except _Stop:
            pass
        self.n_composed_, self.composed_ = 0, set()
        if self.stopped_ != "fuse" and self.max_compose > self.size_reached_:
            self._compose(bank)
        self.budget_exhausted_ = self.stopped_ == "fuse"
        self.sizes_ = {k: (size(e) if e is not None else None) for k, e in self.formulas_.items()}
        found = sum(e is not None for e in self.formulas_.values())
        self.largest_ = max((v for v in self.sizes_.values() if v is not None), default=0)
        self.report_ = (f"{found}/{len(targets)} targets matched after {self.n_evaluated_} "
                        f"candidate expressions on {P} points (sizes <= {self.size_reached_} "
                        f"complete, max {self.max_size}; stopped: {self.stopped_}); "
                        f"{len(self.composed_)} composed up to size {self.max_compose} "
                        f"({self.n_composed_} evaluations); largest formula {self.largest_}")
        return self

    def _constants(self) -> list[int]:
        """The given constants, plus the targets' extremes (constants from the data)."""
        cs = set(self.consts)
        if self.data_consts:
            for v in self._targets.values():
                cs |= {int(c) for c in (v.min(), v.max()) if abs(c) <= 64}
        return sorted(cs)

    def _compose(self, bank: _Bank) -> None:
        """Goal-directed composition (``compose.Composer``) for the targets still unmatched."""
        for s in list(bank.growing):
            bank.seal(s)
        pool = Pool.build(bank.values, bank.exprs, self._r)
        solved: dict[int, Expr | None] = {}                  # identical targets solved once
        for k, e in self.formulas_.items():
            if e is not None or self._fuse.check():
                continue
            if self._thash[k] not in solved:
                comp = Composer(pool, self.max_compose, max_work=self.compose_work)
                solved[self._thash[k]] = comp.solve(self._targets[k])
                self.n_composed_ += comp.work_
            self.formulas_[k] = solved[self._thash[k]]
            if self.formulas_[k] is not None:
                self.composed_.add(k)
        if self._fuse.blown:
            self.stopped_ = "fuse"

    # ------------------------------------------------------------------ internals
    def _stop(self, why: str) -> None:
        self.stopped_ = why
        raise _Stop

    def _hash(self, V: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return (V * self._r).sum(1)

    def _add(self, bank: _Bank, s: int, V: np.ndarray, make, boolean: bool = False) -> None:
        """Evaluate candidates ``V [m, P]`` of size ``s`` (``make(i)`` builds the i-th Expr):
        check them against the targets and keep new functions in the bank."""
        if self._fuse.check():
            self._stop("fuse")
        room = self._limit - self.n_evaluated_
        cut = len(V) > room
        V = V[:room]
        self.n_evaluated_ += len(V)
        ok = np.abs(V).max(1) < _LIMIT
        hs = self._hash(V)
        self._match(V, hs, ok, make)
        if bank.n < self.max_bank:
            self._keep(bank, s, V, hs ^ _BOOL_SALT if boolean else hs, ok, make)
        if all(e is not None for e in self.formulas_.values()):
            self._stop("done")
        if cut:
            self._stop("candidates")

    def _match(self, V: np.ndarray, hs: np.ndarray, ok: np.ndarray, make) -> None:
        pend = [k for k, e in self.formulas_.items() if e is None]
        if not pend:
            return
        hit = np.flatnonzero(ok & np.isin(hs, [self._thash[k] for k in pend]))
        for i in hit:
            for k in pend:
                if (self.formulas_[k] is None and int(hs[i]) == self._thash[k]
                        and np.array_equal(V[i], self._targets[k])):
                    self.formulas_[k] = make(int(i))

    def _keep(self, bank: _Bank, s: int, V: np.ndarray, hs: np.ndarray, ok: np.ndarray,
              make) -> None:
        idx = np.flatnonzero(ok)
        _, first = np.unique(hs[idx], return_index=True)
        idx = idx[np.sort(first)]                                    # first of each function
        new = [i for i, h in zip(idx.tolist(), hs[idx].tolist()) if h not in bank.seen]
        new = new[: self.max_bank - bank.n]
        if not new:
            return
        bank.seen.update(hs[new].tolist())
        bank.n += len(new)
        bank.growing.setdefault(s, []).append(V[new])
        bank.exprs.setdefault(s, []).extend(make(i) for i in new)

    def _grow(self, bank: _Bank, s: int) -> None:
        if s - 1 in bank.values:                                     # unary: abs
            V, E = bank.values[s - 1], bank.exprs[s - 1]
            for k0, k1 in _blocks(len(V), V.shape[1]):
                self._add(bank, s, np.abs(V[k0:k1]), lambda i, k0=k0: Op("abs", (E[k0 + i],)))
        for a in range(1, s - 1):
            b = s - 1 - a
            if a not in bank.values or b not in bank.values:
                continue
            for op in BINARY_OPS:
                if op in COMMUTATIVE and a > b:
                    continue
                self._binary(bank, s, op, a, b)
            if a <= b:
                self._logic(bank, s, a, b)
        if s >= 5:
            self._select(bank, s)

    def _logic(self, bank: _Bank, s: int, a: int, b: int) -> None:
        """Typed grammar: ``&`` and ``|`` only between Boolean-typed entries (comparisons and
        their combinations), never on integers."""
        ta = [i for i, e in enumerate(bank.exprs[a]) if _is_bool(e)]
        tb = [i for i, e in enumerate(bank.exprs[b]) if _is_bool(e)]
        if not ta or not tb:
            return
        VA, VB = bank.values[a][ta], bank.values[b][tb]
        EA, EB = [bank.exprs[a][i] for i in ta], [bank.exprs[b][i] for i in tb]
        for op in ("&", "|"):
            for k0, k1 in _blocks(len(VA) * len(VB), VA.shape[1]):
                ia, ib = np.divmod(np.arange(k0, k1), len(VB))
                if a == b:
                    keep = ia < ib
                    ia, ib = ia[keep], ib[keep]
                    if len(ia) == 0:
                        continue
                X = (VA[ia] & VB[ib]) if op == "&" else (VA[ia] | VB[ib])
                self._add(bank, s, X, lambda i, ia=ia, ib=ib, op=op, EA=EA, EB=EB:
                          Op(op, (EA[ia[i]], EB[ib[i]])), boolean=True)

    def _binary(self, bank: _Bank, s: int, op: str, a: int, b: int) -> None:
        """All pairs (i, j) of bank[a] x bank[b] in row-major order (i <= j for a commutative
        op on equal sizes); division only by functions that are never 0 on the domain."""
        VA, VB = bank.values[a], bank.values[b]
        EA, EB = bank.exprs[a], bank.exprs[b]
        jb = np.arange(len(VB)) if op not in ("//", "%") else np.flatnonzero(~(VB == 0).any(1))
        nb = len(jb)
        for k0, k1 in _blocks(len(VA) * nb, VA.shape[1]):
            ia, ib = np.divmod(np.arange(k0, k1), nb)
            ib = jb[ib]
            if op in COMMUTATIVE and a == b:
                keep = ia <= ib
                ia, ib = ia[keep], ib[keep]
                if len(ia) == 0:
                    continue
            with np.errstate(over="ignore"):
                X = _NP[op](VA[ia], VB[ib]).astype(np.int64)
            self._add(bank, s, X, lambda i, ia=ia, ib=ib: Op(op, (EA[ia[i]], EB[ib[i]])),
                      boolean=op in ("==", "<"))

    def _select(self, bank: _Bank, s: int) -> None:
        """select(c, x, y) with c a size-3 comparison and x, y of sizes summing to s - 4
        (at most 200 conditions and the first 300 functions of each size)."""
        conds = [(e, v) for e, v in zip(bank.exprs.get(3, []), bank.values.get(3, []))
                 if isinstance(e, Op) and e.op in ("==", "<")][:200]
        for c, cv in conds:
            for a in range(1, s - 4):
                b = s - 4 - a
                if a not in bank.values or b not in bank.values:
                    continue
                VA, VB = bank.values[a][:300], bank.values[b][:300]
                EA, EB = bank.exprs[a], bank.exprs[b]
                for k0, k1 in _blocks(len(VA) * len(VB), VA.shape[1]):
                    ia, ib = np.divmod(np.arange(k0, k1), len(VB))
                    X = np.where(cv[None, :] != 0, VA[ia], VB[ib])
                    self._add(bank, s, X, lambda i, ia=ia, ib=ib, c=c, EA=EA, EB=EB:
                              Op("select", (c, EA[ia[i]], EB[ib[i]])))


def _is_bool(e: Expr) -> bool:
    return isinstance(e, Op) and e.op in ("==", "<", "&", "|")


def _blocks(n: int, P: int):
    """Ranges [k0, k1) covering 0..n with at most ``_BLOCK`` int64 elements per block."""
    step = max(1, _BLOCK // max(P, 1))
    for k0 in range(0, n, step):
        yield k0, min(n, k0 + step)

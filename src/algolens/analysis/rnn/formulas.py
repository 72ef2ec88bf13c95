"""Formula search on a state machine: label states with integers, then regress the updates.

A Mealy machine (states, next[s, x], out[s, x]) becomes a program ``y = G(s, x); s = F(s, x)``
once its states carry integer labels. Candidate labellings, tried in this order (simplest
first); the first labelling for which every formula is found wins (the selection rule). The search
is bounded by work: ``max_size`` nodes and ``max_candidates`` expressions per regression, at most
``max_work`` evaluations (expressions x domain points) over all labellings (a wall-clock
``time_cap`` is only a safety cap that fails the pass as "budget exhausted"):

  none          one state: y = G(x)
  output        the label is the output emitted on entering the state (running aggregates)
  last_input    the label is the input read on entering the state (windows, Prev-like)
  output+input  both
  access+output two variables for Div_k-like machines: the access label of the state's block in
                a closed partition, and the output the state emits next
  access        the smallest input word reaching the state, read as a base-|alphabet| number
  permutation   every ordering of 0..n-1 (n <= 4)
  bits          binary codes for Boolean regression with espresso (binary inputs, n <= 16)

Edges that were snapped by the quantiser (not observed) are left out of the regression domain,
so a counter's formula is fitted on what the network really did.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, replace

import numpy as np

from ...tasks.spec import SequenceTask
from .budget import Fuse
from .boolean_sr import compact_boolean, espresso_formulas
from .expr import Expr, size
from .fsm import MealyMachine
from .integer_sr import IntegerSR


@dataclass(frozen=True)
class StateFormulas:
    """Integer state variables with initial values and formulas (see codegen.ir semantics)."""

    labelling: str
    inputs: tuple[str, ...]
    state: tuple[str, ...]
    init: tuple[int, ...]
    updates: tuple[Expr, ...]
    outputs: tuple[Expr, ...]

    @property
    def complexity(self) -> int:
        return sum(size(e) for e in self.updates + self.outputs)

    @property
    def largest(self) -> int:
        """The largest single formula (the reach of the search), in nodes."""
        return max((size(e) for e in self.updates + self.outputs), default=0)


def input_names(task: SequenceTask) -> tuple[str, ...]:
    return ("x",) if task.n_channels == 1 else tuple("abcdefgh"[: task.n_channels])


def _in_edges(m: MealyMachine, what) -> dict[int, set]:
    lab: dict[int, set] = {}
    for s in range(m.n_states):
        for k in range(len(m.symbols)):
            if m.exact[s, k]:
                lab.setdefault(int(m.next[s, k]), set()).add(what(s, k))
    return lab


def _edge_labels(m: MealyMachine, what) -> np.ndarray | None:
    """Per-state label from its in-edges; None unless consistent and injective."""
    lab = _in_edges(m, what)
    rows = {}
    for s in range(m.n_states):
        vals = lab.get(s)
        if vals is None:
            if s == m.initial:
                continue
            return None
        if len(vals) != 1:
            return None
        rows[s] = next(iter(vals))
    if len(set(rows.values())) != len(rows):
        return None
    width = len(np.atleast_1d(next(iter(rows.values())))) if rows else 1
    L = np.full((m.n_states, width), np.iinfo(np.int64).min, dtype=np.int64)
    for s, v in rows.items():
        L[s] = np.atleast_1d(v)
    return L


def labellings(m: MealyMachine, n_in: int):
    """Yield (name, var names, labels [n, k], edge mask or None) candidates; unlabelled initial
    rows hold INT_MIN; a mask leaves the edges a labelling does not explain out of the
    regression."""
    n = m.n_states
    if n == 1:
        yield "none", (), np.zeros((1, 0), dtype=np.int64), None
        return
    scalar_out = not isinstance(m.out[0][0], tuple)
    sym = lambda s, k: m.symbols[k]                          # noqa: E731
    if scalar_out:
        L = _edge_labels(m, lambda s, k: m.out[s][k])
        if L is not None:
            yield "output", ("y_prev",), L, None
    L = _edge_labels(m, sym)
    if L is not None:
        yield "last_input", _prev_names(n_in), L, None
    if scalar_out:
        L = _edge_labels(m, lambda s, k: (m.out[s][k],) + tuple(np.atleast_1d(m.symbols[k])))
        if L is not None:
            yield "output+input", ("y_prev",) + _prev_names(n_in), L, None
    got = counter_labels(m)
    if got is not None:
        yield "counter", ("count", "absorbed"), got[0], got[1]
    if n <= 4:
        for perm in itertools.permutations(range(n)):
            yield "permutation", ("s",), np.array(perm, dtype=np.int64)[:, None], None
    L = factor_labels(m)                  # two readable variables before one packed one
    if L is not None:
        yield "access+output", ("r", "q"), L, None
    L = access_labels(m)
    if L is not None and n > 2:
        yield "access", ("s",), L[:, None], None


def _prev_names(n_in: int) -> tuple[str, ...]:
    """Names from the role: the last input read (``x_prev``; ``a_prev``, ``b_prev``, ...)."""
    return tuple(f"{n}_prev" for n in (("x",) if n_in == 1 else tuple("abcdefgh"[:n_in])))


def _sinks(m: MealyMachine) -> set[int]:
    """Absorbing states: every input stays, one output for all inputs."""
    return {s for s in range(m.n_states) if (m.next[s] == s).all()
            and len(set(map(repr, m.out[s]))) == 1}


def counter_labels(m: MealyMachine, steps=(1, -1, 0), max_off: float = 0.25,
                   max_symbols: int = 4) -> tuple[np.ndarray, np.ndarray] | None:
    """(d, sunk) labels and the edges they explain: a depth counter and an absorbing flag
    (Balanced_Parenthesis-like).

    d is a potential: every symbol k moves it by a fixed step delta_k (tried in ``steps``, not
    all 0), assigned along shortest paths from the start; an absorbing state (one output, every
    input stays) gets sunk = 1 and keeps the d of its first in-edge. A trained network's
    machine may keep states a clean counter merges, and a few of its edges (reached late, or
    only beyond the training length) break the potential: up to ``max_off`` of the edges may
    be left out of the regression (the returned mask), the potential that leaves out fewest
    wins, and the program is then checked against the network. None when no potential fits."""
    sinks = _sinks(m)
    if len(sinks) > 1 or m.initial in sinks or m.n_states < 3 or len(m.symbols) > max_symbols:
        return None                         # 3^S step vectors: small alphabets only
    best = None
    for delta in itertools.product(steps, repeat=len(m.symbols)):
        if not any(delta):
            continue
        got = _potential(m, delta, sinks)
        if got is not None and (best is None or (~got[1]).sum() < (~best[1]).sum()):
            best = got
    if best is None or (~best[1] & m.exact).sum() > max_off * m.exact.sum():
        return None
    d, ok = best
    sunk = np.array([int(s in sinks) for s in range(m.n_states)])
    return np.stack([d, sunk], 1).astype(np.int64), ok & m.exact


def _potential(m: MealyMachine, delta, sinks: set[int]) -> tuple | None:
    """Breadth-first labels d and the mask of edges with d[next] = d[s] + delta_k."""
    d, order = {m.initial: 0}, [m.initial]
    for s in order:                                     # grows while iterating: BFS
        if s in sinks:
            continue
        for k in range(len(m.symbols)):
            t = int(m.next[s, k])
            if m.exact[s, k] and t not in d:
                d[t] = d[s] + delta[k]
                order.append(t)
    if len(d) != m.n_states or len(set(d.values())) < 3:
        return None
    lab = np.array([d[s] for s in range(m.n_states)])
    ok = np.array([[s in sinks or lab[int(m.next[s, k])] == lab[s] + delta[k]
                    for k in range(len(m.symbols))] for s in range(m.n_states)])
    return lab, ok


def access_labels(m: MealyMachine, groups: np.ndarray | None = None, limit: int = 5000
                  ) -> np.ndarray | None:
    """Label each state (or group of states) by the smallest value of an input word reaching it,
    read as a base-|alphabet| number, most significant symbol first (the empty word is 0).

    This is the natural integer of a remainder machine: Div_k's remainder, Add_Mod_k's sum.
    """
    g = np.arange(m.n_states) if groups is None else groups
    S, n_g = len(m.symbols), int(g.max()) + 1
    lab = np.full(n_g, -1, dtype=np.int64)
    lab[g[m.initial]] = 0
    for v in range(1, limit):
        s, digits, w = m.initial, [], v
        while w:
            w, d = divmod(w, S)
            digits.append(d)
        for d in reversed(digits):
            s = int(m.next[s, d])
        if lab[g[s]] < 0:
            lab[g[s]] = v
        if (lab >= 0).all():
            return lab[g]
    return None


def _sp_merge(m: MealyMachine, parent: list[int], a: int, b: int) -> list[int]:
    """Union a and b, then close under transitions (substitution property)."""
    p = list(parent)
    find = lambda x: x if p[x] == x else find(p[x])          # noqa: E731
    todo = [(a, b)]
    while todo:
        x, y = (find(u) for u in todo.pop())
        if x == y:
            continue
        p[max(x, y)] = min(x, y)
        members = [s for s in range(m.n_states) if find(s) == min(x, y)]
        for k in range(len(m.symbols)):
            t = [int(m.next[s, k]) for s in members]
            todo += [(t[0], u) for u in t[1:]]
    return [find(s) for s in range(m.n_states)]


def factor_labels(m: MealyMachine) -> np.ndarray | None:
    """(r, q): q = the output the state emits next (input-independent), r = access label of
    the state's block in the coarsest closed partition that keeps (block, q) injective (Div_k:
    remainder and last quotient bit). None when outputs depend on the input."""
    if any(len(set(map(repr, row))) != 1 or isinstance(row[0], tuple) for row in m.out) \
            or m.n_states > 40:
        return None
    q = np.array([int(row[0]) for row in m.out])
    parent = list(range(m.n_states))
    for a, b in itertools.combinations(range(m.n_states), 2):
        if q[a] == q[b]:
            continue
        trial = _sp_merge(m, parent, a, b)
        if len(set(zip(trial, q))) == m.n_states:
            parent = trial
    if len(set(parent)) == m.n_states:
        return None
    _, groups = np.unique(parent, return_inverse=True)
    r = access_labels(m, groups)
    return None if r is None else np.stack([r, q], 1)


def _init_candidates(L: np.ndarray, init: int) -> list[np.ndarray]:
    if L.shape[1] == 0 or L[init, 0] != np.iinfo(np.int64).min:
        return [L]
    known = L[L[:, 0] != np.iinfo(np.int64).min]
    lo, hi = int(known.min()), int(known.max())
    out = []
    for v in [0, -1, hi + 1, lo - 1] + list(range(lo, hi + 1)):
        L2 = L.copy()
        L2[init] = v
        out.append(L2)
    return out[:8]


class FormulaSearch:
    """State machine -> the simplest verified formulas over some state labelling.

    Results: ``formulas_`` (StateFormulas or None), ``candidates_`` (labelling, complexity or
    None), ``fidelity_`` (1.0 when the formulas reproduce every observed edge), ``report_``.
    """

    def __init__(self, max_size: int = 7, max_candidates: int = 2_000_000,
                 max_work: int = 1_000_000_000, time_cap: float = 120.0) -> None:
        self.max_size, self.max_candidates, self.max_work = max_size, max_candidates, max_work
        self.time_cap = time_cap

    def fit(self, machine: MealyMachine, task: SequenceTask) -> "FormulaSearch":
        names = input_names(task)
        self.formulas_, self.candidates_, self.work_ = None, [], 0
        self._fuse = Fuse(self.time_cap)
        for label, vars_, L, mask in labellings(machine, task.n_channels):
            if self.work_ >= self.max_work or self._fuse.check():
                break
            m = machine if mask is None else replace(machine, exact=mask)
            for L2 in _init_candidates(L, machine.initial):
                f = self._regress(m, task, names, label, vars_, L2)
                self.candidates_.append((label, f.complexity if f else None))
                if f and (self.formulas_ is None or f.complexity < self.formulas_.complexity):
                    self.formulas_ = f
                if f:
                    break
            if self.formulas_ is not None:      # labellings are ordered simplest first
                break
        if self.formulas_ is None and self._binary(machine, task) and not self._fuse.blown:
            self.formulas_ = self._boolean(machine, task, names)
            self.candidates_.append(("bits", self.formulas_.complexity))
        self.budget_exhausted_ = self._fuse.blown
        if self.budget_exhausted_:
            self.formulas_ = None
        self.fidelity_ = 1.0 if self.formulas_ else 0.0
        self.report_ = (self._fuse.note() if self.budget_exhausted_ else
                        f"labelling {self.formulas_.labelling!r}: complexity "
                        f"{self.formulas_.complexity}, largest formula "
                        f"{self.formulas_.largest} nodes" if self.formulas_ else
                        f"no formula of size <= {self.max_size} (composed <= 15) on any labelling "
                        f"({len(self.candidates_)} tried)")
        self.report_ += f"; {self.work_} evaluations (expressions x points)"
        return self

    def _domain(self, m: MealyMachine, task: SequenceTask, names, vars_, L):
        pts = [(s, k) for s in range(m.n_states) for k in range(len(m.symbols)) if m.exact[s, k]]
        sym = np.array([np.atleast_1d(m.symbols[k]) for _, k in pts])
        env = {n: sym[:, c] for c, n in enumerate(names)}
        env.update({v: L[[s for s, _ in pts], i] for i, v in enumerate(vars_)})
        return pts, env

    def _regress(self, m, task, names, label, vars_, L) -> StateFormulas | None:
        pts, env = self._domain(m, task, names, vars_, L)
        outs = np.array([np.atleast_1d(m.out[s][k]) for s, k in pts])
        targets = {f"y{d}": outs[:, d] for d in range(outs.shape[1])}
        nxt = L[[int(m.next[s, k]) for s, k in pts]]
        targets.update({f"next_{v}": nxt[:, i] for i, v in enumerate(vars_)})
        # alphabet sizes are the natural moduli/bases (Base_k addition: k = len(channel))
        n_sym = len(m.symbols) if task.n_channels == 1 else 0    # a pair alphabet's size is noise
        consts = sorted({0, 1, 2, n_sym, max(np.abs(m.symbols).max(), 1)} |
                        {len(ch) for ch in task.channels} |
                        {len(set(L[:, i].tolist())) for i in range(L.shape[1])})
        sr = IntegerSR(self.max_size, tuple(int(c) for c in consts),
                       max_candidates=self.max_candidates).fit(env, targets, fuse=self._fuse)
        self.work_ += sr.n_evaluated_ * len(pts) + sr.n_composed_
        if any(e is None for e in sr.formulas_.values()):
            return None
        ups = tuple(sr.formulas_[f"next_{v}"] for v in vars_)
        ys = tuple(sr.formulas_[f"y{d}"] for d in range(outs.shape[1]))
        return StateFormulas(label, names, vars_, tuple(int(v) for v in L[m.initial]), ups, ys)

    @staticmethod
    def _binary(m: MealyMachine, task: SequenceTask) -> bool:
        return (all(set(ch) <= {0, 1} for ch in task.channels) and m.n_states <= 16
                and all(v in (0, 1) for row in m.out for v in row))

    def _boolean(self, m: MealyMachine, task: SequenceTask, names) -> StateFormulas:
        k = max(1, math.ceil(math.log2(m.n_states)))
        vars_ = tuple(f"s{i}" for i in range(k))
        code = (np.arange(m.n_states)[:, None] >> np.arange(k)) & 1          # [n, k]
        pts = [(s, j) for s in range(m.n_states) for j in range(len(m.symbols)) if m.exact[s, j]]
        bits_in = np.array([np.concatenate([code[s], np.atleast_1d(m.symbols[j])])
                            for s, j in pts])
        bits_out = np.array([np.concatenate([code[int(m.next[s, j])], [m.out[s][j]]])
                             for s, j in pts])
        exprs = [compact_boolean(e, fuse=self._fuse) for e in
                 espresso_formulas(bits_in, bits_out, list(vars_) + list(names))]
        return StateFormulas("bits", names, vars_, tuple(int(v) for v in code[m.initial]),
                             tuple(exprs[:k]), (exprs[k],))

"""Build program IR from what the distillation passes found (recurrences, formulas, machines)."""

from __future__ import annotations

import numpy as np

from ..analysis.rnn.expr import Const, Expr, Op, Var
from ..analysis.rnn.formulas import StateFormulas
from ..analysis.rnn.fsm import MealyMachine
from ..analysis.rnn.histogram import CountModel
from ..analysis.rnn.linear import Recurrence
from .ir import ProgramInfo, StateVar, SymbolicProgram, TableProgram


def linear_combination(terms: list[tuple[int, Expr]], const: int = 0) -> Expr:
    """sum(c * e) + const with integer c, written without 1* and +-."""
    out: Expr | None = None
    for c, e in terms:
        if c == 0:
            continue
        mag = e if abs(c) == 1 else Op("*", (Const(abs(c)), e))
        if out is None:
            out = mag if c > 0 else Op("neg", (mag,))
        else:
            out = Op("+" if c > 0 else "-", (out, mag))
    if out is None:
        return Const(const)
    if const:
        out = Op("+" if const > 0 else "-", (out, Const(abs(const))))
    return out


def from_recurrence(rec: Recurrence, inputs: tuple[str, ...], info: ProgramInfo
                    ) -> SymbolicProgram:
    """ARX recurrence -> state = the last p outputs and the last q inputs."""
    D = rec.c.shape[0]
    outs = ("y",) if D == 1 else tuple(f"y{d}" for d in range(D))
    ylag = lambda d, i: f"{outs[d]}_{i}"                        # noqa: E731
    xlag = lambda c, j: inputs[c] if j == 0 else f"{inputs[c]}_{j}"   # noqa: E731
    formulas = []
    for d in range(D):
        terms = [(int(rec.A[d, i - 1, e]), Var(ylag(e, i)))
                 for i in range(1, rec.p + 1) for e in range(D)]
        terms += [(int(rec.B[d, j, c]), Var(xlag(c, j)))
                  for j in range(rec.q + 1) for c in range(len(inputs))]
        terms += [(int(rec.E[d, j - 1]), Op("<=", (Const(j), Var("t"))))
                  for j in range(1, rec.p + 1)]
        formulas.append(linear_combination(terms, int(rec.c[d])))
    state, updates = [], []
    for e in range(D):
        for i in range(1, rec.p + 1):
            state.append(StateVar(ylag(e, i), 0))
            updates.append(Var(outs[e]) if i == 1 else Var(ylag(e, i - 1)))
    for c in range(len(inputs)):
        for j in range(1, rec.q + 1):
            state.append(StateVar(xlag(c, j), 0))
            updates.append(Var(inputs[c]) if j == 1 else Var(xlag(c, j - 1)))
    used = _used(formulas)
    keep = _needed(state, updates, used)
    return SymbolicProgram(inputs, tuple(s for s, k in zip(state, keep) if k),
                           tuple(u for u, k in zip(updates, keep) if k), tuple(formulas), outs,
                           uses_t="t" in used, info=info)


def _used(exprs) -> set[str]:
    from ..analysis.rnn.expr import variables
    return set().union(*(variables(e) for e in exprs)) if exprs else set()


def _needed(state, updates, used: set[str]) -> list[bool]:
    """Drop lag variables nothing reads (their chain ends before the longest lag used)."""
    need = set(used)
    changed = True
    while changed:
        changed = False
        for s, u in zip(state, updates):
            if s.name in need:
                new = _used([u]) - need
                if new:
                    need |= new
                    changed = True
    return [s.name in need for s in state]


def from_formulas(f: StateFormulas, info: ProgramInfo) -> SymbolicProgram:
    outs = ("y",) if len(f.outputs) == 1 else tuple(f"y{d}" for d in range(len(f.outputs)))
    # an update equal to an output formula reads the output instead of repeating it
    same = {e: Var(n) for n, e in zip(outs, f.outputs)}
    updates = tuple(same.get(u, u) for u in f.updates)
    return SymbolicProgram(f.inputs, tuple(StateVar(n, v) for n, v in zip(f.state, f.init)),
                           updates, f.outputs, outs, info=info)


def from_machine(m: MealyMachine, inputs: tuple[str, ...], info: ProgramInfo) -> TableProgram:
    key = lambda v: tuple(int(u) for u in v) if np.ndim(v) else int(v)   # noqa: E731
    nxt = {(s, key(x)): int(m.next[s, k]) for s in range(m.n_states)
           for k, x in enumerate(m.symbols)}
    emit = {(s, key(x)): m.out[s][k] for s in range(m.n_states) for k, x in enumerate(m.symbols)}
    return TableProgram(inputs, int(m.initial), nxt, emit, info=info)


def from_counts(m: CountModel, info: ProgramInfo) -> SymbolicProgram:
    """Symbol counters c_v' = c_v + [x == v] (initially 0); the output reads the new counts."""
    ups = tuple(Op("+", (Var(c), Op("==", (Var(m.input), Const(v)))))
                for c, v in zip(m.counts, m.symbols))
    return SymbolicProgram((m.input,), tuple(StateVar(c, 0) for c in m.counts), ups,
                           (m.output,), info=info, output_after_update=True)

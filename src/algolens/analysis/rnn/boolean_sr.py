"""Boolean regression: minimise truth tables with espresso (pyeda) into sums of products.

Used for state machines with binary inputs: states get k-bit codes, every next-state bit and the
output (when it is 0/1) is a Boolean function of (state bits, input bits); unused codes are
don't-cares. The result is an expression over 0/1 ints using & | and (1 - v).
"""

from __future__ import annotations

import numpy as np

from .budget import Fuse
from .expr import Const, Expr, Op, Var, evaluate, size, sum_of, variables


def _from_pyeda(f, names: list[str]) -> Expr:
    """Convert an espresso DNF (pyeda expression) into our Expr."""
    from pyeda.boolalg import expr as pe

    if isinstance(f, pe.Constant) or str(f) in ("0", "1"):
        return Const(int(str(f) == "1"))
    if isinstance(f, pe.Variable):
        return Var(names[f.indices[0]])
    if isinstance(f, pe.Complement):
        return Op("not", (Var(names[(~f).indices[0]]),))
    op = "&" if isinstance(f, pe.AndOp) else "|"
    kids = [_from_pyeda(x, names) for x in f.xs]
    out = kids[0]
    for k in kids[1:]:
        out = Op(op, (out, k))
    return out


def espresso_formulas(inputs: np.ndarray, outputs: np.ndarray, names: list[str]) -> list[Expr]:
    """Minimal SOP per output column.

    inputs ``[P, n_in]`` of 0/1 (each row a distinct assignment; missing rows are don't-cares),
    outputs ``[P, n_out]`` of 0/1.
    """
    from pyeda.inter import espresso_tts, exprvars, truthtable

    n_in = inputs.shape[1]
    X = exprvars("v", n_in)
    index = inputs @ (1 << np.arange(n_in))                     # v[0] is the least significant
    res = []
    for col in outputs.T:
        table = ["-"] * (1 << n_in)
        for i, v in zip(index, col):
            table[int(i)] = str(int(v))
        if "0" not in table:
            res.append(Const(1))
            continue
        if "1" not in table:
            res.append(Const(0))
            continue
        (fm,) = espresso_tts(truthtable(X, "".join(table)))
        res.append(_from_pyeda(fm, names))
    return res


def compact_boolean(e: Expr, max_vars: int = 6, max_size: int = 6,
                    max_candidates: int = 200_000, fuse: Fuse | None = None) -> Expr:
    """A shorter integer formula equal to the Boolean ``e`` on *every* 0/1 assignment of its
    variables (e.g. the 4-term SOP of a 3-bit parity -> ``(a + b + c) % 2``); ``e`` itself when
    none is smaller. Exact whenever the variables are 0/1, as they are in Boolean regression.
    The search is bounded by ``max_size`` and ``max_candidates``; ``fuse`` is the caller's
    wall-clock safety cap (the caller reports it when it blows)."""
    from .integer_sr import IntegerSR

    names = sorted(variables(e))
    if not names or len(names) > max_vars or size(e) <= 3:
        return e
    grid = (np.arange(1 << len(names))[:, None] >> np.arange(len(names))) & 1   # [2^k, k]
    env = {n: grid[:, i] for i, n in enumerate(names)}
    target = np.broadcast_to(evaluate(e, env), (len(grid),))
    parity = grid.sum(1) % 2
    if np.array_equal(target, parity) or np.array_equal(target, 1 - parity):
        total = sum_of(names)                     # the readable parity form, (a + b + c) % 2
        if not np.array_equal(target, parity):
            total = Op("+", (total, Const(1)))
        return Op("%", (total, Const(2)))
    sr = IntegerSR(min(max_size, size(e) - 1), (0, 1, 2), max_candidates=max_candidates).fit(
        env, {"y": target}, fuse=fuse)
    best = sr.formulas_["y"]
    return best if best is not None and size(best) < size(e) else e

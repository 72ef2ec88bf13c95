"""Boolean regression: minimise truth tables with espresso (pyeda) into sums of products.

Used for state machines with binary inputs: states get k-bit codes, every next-state bit and the
output (when it is 0/1) is a Boolean function of (state bits, input bits); unused codes are
don't-cares. The result is an expression over 0/1 ints using & | and (1 - v).
"""

from __future__ import annotations

import numpy as np

from .expr import Const, Expr, Op, Var


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

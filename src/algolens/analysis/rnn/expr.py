"""Integer expressions: the formula language of the symbolic regressors and the program IR.

``render`` gives Python source; ``evaluate`` runs an expression on numpy arrays (vectorised,
integer semantics identical to the rendered Python: floor division and modulo, ints for booleans).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

import numpy as np

BINARY = ("+", "-", "*", "//", "%", "min", "max", "==", "<", "<=", "&", "|", "^")
UNARY = ("abs", "neg", "not")
TERNARY = ("select", "clip")      # select(c, a, b) = a if c else b; clip(e, lo, hi)
VARIADIC = ("argmax",)             # argmax(a0, .., an) = index of the first maximal argument
_PREC = {"|": 1, "^": 2, "&": 3, "+": 5, "-": 5, "*": 6, "//": 6, "%": 6, "neg": 7}


@dataclass(frozen=True)
class Var:
    name: str


@dataclass(frozen=True)
class Const:
    value: int


@dataclass(frozen=True)
class Op:
    op: str
    args: tuple["Expr", ...]

    def __post_init__(self) -> None:
        arity = 2 if self.op in BINARY else 1 if self.op in UNARY else 3 if self.op in TERNARY \
            else len(self.args) if self.op in VARIADIC and self.args else None
        if arity is None or arity != len(self.args):
            raise ValueError(f"bad operator {self.op!r} with {len(self.args)} arguments")


Expr = Union[Var, Const, Op]


def size(e: Expr) -> int:
    """Number of nodes: the complexity measure used by the formula search."""
    return 1 if not isinstance(e, Op) else 1 + sum(size(a) for a in e.args)


def variables(e: Expr) -> set[str]:
    if isinstance(e, Var):
        return {e.name}
    if isinstance(e, Op):
        return set().union(*(variables(a) for a in e.args))
    return set()


def render(e: Expr, parent: int = 0) -> str:
    """Python source for an expression; integers in, integers out (comparisons wrapped in int)."""
    if isinstance(e, Var):
        return e.name
    if isinstance(e, Const):
        return f"({e.value})" if e.value < 0 and parent > 0 else str(e.value)
    op, a = e.op, e.args
    if op == "argmax":            # list.index finds the first maximum: ties go to the smaller
        items = ", ".join(render(x) for x in a)
        return f"[{items}].index(max({items}))"
    if op == "clip":              # saturation: min(max(e, lo), hi)
        return f"min(max({render(a[0])}, {render(a[1])}), {render(a[2])})"
    if op in ("abs", "min", "max"):
        return f"{op}({', '.join(render(x) for x in a)})"
    if op in ("==", "<", "<="):
        return f"int({_comparison(op, a)})"
    if op == "not":
        return f"(1 - {render(a[0], 6)})" if parent > 0 else f"1 - {render(a[0], 6)}"
    if op == "neg":
        s = f"-{render(a[0], 7)}"
        return f"({s})" if parent >= 7 else s
    if op == "select":            # a comparison as condition needs no int(...)
        c = a[0]
        cond = (_comparison(c.op, c.args) if isinstance(c, Op) and c.op in ("==", "<", "<=")
                else render(c, 1))
        s = f"{render(a[1], 1)} if {cond} else {render(a[2], 1)}"
        return f"({s})" if parent > 0 else s
    p = _PREC[op]
    # left-associative: the right operand needs parentheses at equal precedence
    s = f"{render(a[0], p)} {op} {render(a[1], p + 1)}"
    return f"({s})" if p < parent else s


def _comparison(op: str, a: tuple) -> str:
    """``k < e`` reads ``e > k``: the constant on the right, as a person writes it."""
    if op in ("<", "<=") and isinstance(a[0], Const) and not isinstance(a[1], Const):
        return f"{render(a[1], 4)} {'>' if op == '<' else '>='} {render(a[0], 4)}"
    return f"{render(a[0], 4)} {op} {render(a[1], 4)}"


def evaluate(e: Expr, env: dict[str, np.ndarray]) -> np.ndarray:
    """Evaluate on integer arrays; division by zero raises ZeroDivisionError as in Python."""
    if isinstance(e, Var):
        return np.asarray(env[e.name], dtype=np.int64)
    if isinstance(e, Const):
        return np.int64(e.value)
    a = [evaluate(x, env) for x in e.args]
    return _apply(e.op, a)


def _apply(op: str, a: list) -> np.ndarray:
    if op in ("//", "%") and np.any(np.asarray(a[1]) == 0):
        raise ZeroDivisionError("division by zero in a formula")
    if op == "argmax":            # np.argmax also returns the first maximum
        return np.argmax(np.stack(np.broadcast_arrays(*a)), axis=0).astype(np.int64)
    fn = _NUMPY[op]
    return np.asarray(fn(*a), dtype=np.int64)


_NUMPY = {
    "+": np.add, "-": np.subtract, "*": np.multiply, "//": np.floor_divide, "%": np.mod,
    "min": np.minimum, "max": np.maximum, "==": np.equal, "<": np.less, "<=": np.less_equal,
    "&": np.bitwise_and, "|": np.bitwise_or, "^": np.bitwise_xor, "abs": np.abs,
    "neg": np.negative, "not": lambda v: 1 - v, "select": lambda c, x, y: np.where(c != 0, x, y),
    "clip": lambda v, lo, hi: np.minimum(np.maximum(v, lo), hi),
}


def sum_of(names) -> Expr:
    """``a + b + c`` (left-associative) over the variables ``names`` (at least one)."""
    e: Expr = Var(names[0])
    for n in names[1:]:
        e = Op("+", (e, Var(n)))
    return e


# ------------------------------------------------------------------ constant folding
_FOLDABLE = ("+", "-", "*", "//", "%", "min", "max", "==", "<", "<=", "&", "|", "^", "abs",
             "neg", "not", "clip")


def fold(e: Expr) -> Expr:
    """Fold constants and drop identities that are exact for every integer input (x + 0,
    1 * x, x // 1, --x, select on a constant, ...). Never drops a subexpression that could be
    evaluated for its effect: ``x * 0`` is left alone (x might divide by zero)."""
    if not isinstance(e, Op):
        return e
    a = tuple(fold(x) for x in e.args)
    if e.op in _FOLDABLE and all(isinstance(x, Const) for x in a) and not (
            e.op in ("//", "%") and a[1].value == 0) and all(abs(x.value) < 2 ** 31 for x in a):
        return Const(int(_apply(e.op, [np.int64(x.value) for x in a])))
    return _identity(e.op, a)


def _identity(op: str, a: tuple) -> Expr:
    is_c = lambda x, v: isinstance(x, Const) and x.value == v        # noqa: E731
    neg_of = lambda x: x.args[0] if isinstance(x, Op) and x.op == "neg" else None  # noqa: E731
    if op == "+":
        if is_c(a[1], 0) or is_c(a[0], 0):
            return a[0] if is_c(a[1], 0) else a[1]
        if neg_of(a[1]) is not None:
            return Op("-", (a[0], neg_of(a[1])))
    if op == "-":
        if is_c(a[1], 0):
            return a[0]
        if neg_of(a[1]) is not None:
            return Op("+", (a[0], neg_of(a[1])))
    if op == "*" and (is_c(a[0], 1) or is_c(a[1], 1)):
        return a[1] if is_c(a[0], 1) else a[0]
    if op == "//" and is_c(a[1], 1):
        return a[0]
    if op in ("neg", "not") and isinstance(a[0], Op) and a[0].op == op:
        return a[0].args[0]
    if op == "select" and isinstance(a[0], Const):
        return a[1] if a[0].value != 0 else a[2]
    return Op(op, a)

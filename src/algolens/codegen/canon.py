"""Canonical forms for distilled formulas: programs a person would write.

The formula search returns the first expression of each function it met, e.g. ``x + (r + r)``
or ``int(1 < x + (r - 2))``. ``canonical`` rewrites every arithmetic subtree (+, -, *, negation,
integer constants) as an expanded polynomial with sympy -- monomials by degree then name, positive
terms first, ``2*r`` for ``r + r`` -- and every comparison as ``poly OP constant`` with the
constant on the right and a positive leading term: ``int(x + r > 3)``. Other operators (``//``,
``%``, min, max, select, clip, abs) are kept and their arguments canonicalised.

Exactness: polynomial identities over the integers are exact, and a rewritten expression is kept
only if it agrees with the original on a grid of integer points (every variable from -9 to 9,
random points when there are many variables) and is not larger; otherwise the original stays.
"""

from __future__ import annotations

import itertools

import numpy as np
import sympy

from ..analysis.rnn.expr import Const, Expr, Op, Var, evaluate, size, variables

_ARITH = ("+", "-", "*", "neg")


def canonical(e: Expr) -> Expr:
    """A canonical, equivalent (checked) and not larger form of ``e``."""
    try:
        c = _canon(e)
    except (TypeError, ValueError, ZeroDivisionError, sympy.SympifyError):
        return e
    if c == e or size(c) > size(e) or not _same(e, c):
        return e
    return c


def _canon(e: Expr) -> Expr:
    if isinstance(e, (Var, Const)):
        return e
    if e.op in _ARITH:
        return _polynomial(e)
    if e.op in ("<", "==", "<="):
        return _comparison(e)
    return Op(e.op, tuple(_canon(a) for a in e.args))


# ------------------------------------------------------------------ polynomials
def _to_sympy(e: Expr, atoms: dict) -> sympy.Expr:
    """Arithmetic part to sympy; any other subtree becomes an opaque symbol (canonicalised)."""
    if isinstance(e, Const):
        return sympy.Integer(e.value)
    if isinstance(e, Var):
        return sympy.Symbol(e.name, integer=True)
    if e.op in _ARITH:
        a = [_to_sympy(x, atoms) for x in e.args]
        return {"+": lambda: a[0] + a[1], "-": lambda: a[0] - a[1], "*": lambda: a[0] * a[1],
                "neg": lambda: -a[0]}[e.op]()
    inner = _canon(e)
    key = atoms.setdefault(inner, sympy.Symbol(f"_atom{len(atoms)}", integer=True))
    return key


def _preorder(e: Expr, out: list) -> list:
    if isinstance(e, Var) and e.name not in out:
        out.append(e.name)
    for a in getattr(e, "args", ()):
        _preorder(a, out)
    return out


def _terms(p: sympy.Expr, atoms: dict, first: list | None = None
           ) -> tuple[list[tuple[int, Expr]], int]:
    """(coefficient, monomial) pairs -- higher degree first, then variables in the order they
    first appear in the original (``first``), positive terms first -- and the constant term."""
    back = {v: k for k, v in atoms.items()}
    first = first or []
    rank = lambda s: ((1, str(back[s])) if s in back else             # noqa: E731
                      (0, first.index(s.name) if s.name in first else len(first), s.name))
    gens = sorted(p.free_symbols, key=rank)
    if not gens:
        return [], int(p)
    poly = sympy.Poly(sympy.expand(p), *gens)
    const, terms = 0, []
    for powers, coef in poly.terms():
        if not coef.is_Integer:
            raise ValueError("non-integer coefficient")
        if not any(powers):
            const = int(coef)
            continue
        factors = [back.get(g, Var(g.name)) for g, k in zip(poly.gens, powers) for _ in range(k)]
        mono = factors[0]
        for f in factors[1:]:
            mono = Op("*", (mono, f))
        terms.append((int(coef), mono, -sum(powers), tuple(-k for k in powers)))
    terms.sort(key=lambda t: (t[2], t[0] < 0, t[3]))      # degree, positives, variable order
    return [(c, m) for c, m, _, _ in terms], const


def _combine(terms: list[tuple[int, Expr]], const: int) -> Expr:
    out: Expr | None = None
    if terms and terms[0][0] < 0 and const > 0:                  # 3 - s, not -s + 3
        out, const = Const(const), 0
    for c, m in terms:
        mag = m if abs(c) == 1 else Op("*", (Const(abs(c)), m))
        out = (mag if c > 0 else Op("neg", (mag,))) if out is None else \
            Op("+" if c > 0 else "-", (out, mag))
    if out is None:
        return Const(const)
    if const:
        out = Op("+" if const > 0 else "-", (out, Const(abs(const))))
    return out


def _polynomial(e: Expr) -> Expr:
    atoms: dict = {}
    terms, const = _terms(_to_sympy(e, atoms), atoms, _preorder(e, []))
    return _combine(terms, const)


def _comparison(e: Expr) -> Expr:
    """``a < b`` -> ``poly > k`` or ``poly < k`` (as Op('<')), ``a == b`` -> ``poly == k``."""
    a, b = e.args
    atoms: dict = {}
    terms, const = _terms(_to_sympy(b, atoms) - _to_sympy(a, atoms), atoms,
                          _preorder(e, []))                          # b - a
    if not terms:
        return Op(e.op, (_canon(a), _canon(b)))
    flip = terms[0][0] < 0
    if flip:
        terms, const = [(-c, m) for c, m in terms], -const
    q = _combine(terms, 0)
    # b - a = q + const:  a < b  <=>  q > -const  (flipped: q < const')
    k = Const(-const)
    if e.op == "==":
        return Op("==", (q, k))
    if e.op == "<":
        return Op("<", (q, k)) if flip else Op("<", (k, q))
    return Op("<=", (q, k)) if flip else Op("<=", (k, q))


# ------------------------------------------------------------------ the check
def _same(a: Expr, b: Expr) -> bool:
    names = sorted(variables(a) | variables(b))
    if len(names) <= 3:
        grid = np.array(list(itertools.product(range(-9, 10), repeat=len(names)))).T \
            if names else np.zeros((0, 1), dtype=np.int64)
    else:
        grid = np.random.default_rng(0).integers(-9, 10, (len(names), 20_000))
    env = {n: grid[i] for i, n in enumerate(names)}
    try:
        with np.errstate(all="ignore"):
            va, vb = evaluate(a, env), evaluate(b, env)
    except ZeroDivisionError:
        return False
    return bool(np.array_equal(np.broadcast_to(va, vb.shape) if np.ndim(va) < np.ndim(vb)
                               else va, np.broadcast_to(vb, np.shape(va))))

"""Symbolic regression of the leading PCs as formulas in (Z, N) with a parity primitive.

Uses pyoperon (``pip install algolens[symbolic]``; CPU wheels, offline). Operon has no modulo
operator, so the parity primitive enters as two variables, parity(Z) = Z mod 2 and
parity(N) = N mod 2, beside Z and N. Each fitted formula is turned into a sympy expression and
scored again by evaluating that expression (R² on all nuclides), so the reported R² belongs to the
formula we print, not to the search's internal model. Budgets are counted in evaluations
(reproducible), never in seconds; the search runs single-threaded with a fixed seed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import sympy

VARIABLES = ("Z", "N", "pZ", "pN")  # pZ = parity(Z) = Z mod 2, pN = parity(N)


def _design(Z, N) -> np.ndarray:
    Z, N = np.asarray(Z, float), np.asarray(N, float)
    return np.c_[Z, N, Z % 2, N % 2]


def r2_score(y: np.ndarray, pred: np.ndarray) -> float:
    return float(1 - ((y - pred) ** 2).sum() / max(((y - y.mean()) ** 2).sum(), 1e-300))


def to_sympy(model_string: str) -> sympy.Expr:
    """Operon's infix string (variables X1..X4) -> sympy expression in Z, N, pZ, pN."""
    text = re.sub(r"\bX(\d+)\b", lambda m: VARIABLES[int(m.group(1)) - 1], model_string)
    text = text.replace("^", "**")
    syms = {v: sympy.Symbol(v) for v in VARIABLES}
    return sympy.sympify(text, locals=syms)


def evaluate(expr: sympy.Expr, Z, N) -> np.ndarray:
    f = sympy.lambdify([sympy.Symbol(v) for v in VARIABLES], expr, "numpy")
    X = _design(Z, N)
    with np.errstate(all="ignore"):
        y = np.asarray(f(*X.T))
    if np.iscomplexobj(y):
        y = np.where(np.abs(y.imag) < 1e-9, y.real, np.nan)
    return np.broadcast_to(np.asarray(y, float), (len(X),)).copy()


@dataclass
class SymbolicSummary:
    """One formula (as text) per leading PC and the R² of that formula."""

    formulas: list[str]
    r2: list[float]


@dataclass
class SymbolicPCs:
    """One formula per leading PC with its R² (fit -> self); ``formulas_[k]`` is a sympy expression."""

    n_pcs: int = 3
    max_evaluations: int = 200_000
    max_length: int = 25
    symbols: str = "add,sub,mul,div,constant,variable,sin,cos"  # no sqrt/cbrt: NaN/complex off-domain
    seed: int = 0
    formulas_: list = field(default_factory=list)
    r2_: list = field(default_factory=list)

    def _regressor(self):
        try:
            from pyoperon.sklearn import SymbolicRegressor
        except ImportError:
            raise NotImplementedError(
                "symbolic regression needs pyoperon: pip install 'algolens[symbolic]' "
                "(or pip install pyoperon)"
            ) from None
        return SymbolicRegressor(
            allowed_symbols=self.symbols,
            max_length=self.max_length,
            max_evaluations=self.max_evaluations,
            generations=1000,
            population_size=500,
            n_threads=1,
            random_state=self.seed,
            optimizer_iterations=5,
        )

    def fit(self, Z: np.ndarray, N: np.ndarray, scores: np.ndarray) -> SymbolicPCs:
        """``scores`` [G, k] PC scores of the nuclides (Z, N)."""
        S = np.asarray(scores, float)
        if len(S) != len(Z):
            raise ValueError(f"scores has {len(S)} rows for {len(Z)} nuclides")
        X = _design(Z, N)
        self.formulas_, self.r2_ = [], []
        for k in range(min(self.n_pcs, S.shape[1])):
            reg = self._regressor().fit(X, S[:, k])
            expr = to_sympy(reg.get_model_string(reg.model_, 4))
            self.formulas_.append(expr)
            self.r2_.append(r2_score(S[:, k], evaluate(expr, Z, N)))
        return self

    def summary(self) -> SymbolicSummary:
        return SymbolicSummary([str(f) for f in self.formulas_], [float(r) for r in self.r2_])

"""Textbook nuclear physics as features: SEMF terms, pairing, magic numbers, valence counts.

The semi-empirical mass formula (Bethe–Weizsäcker) in MeV:

    B(Z, N) = a_V·A − a_S·A^(2/3) − a_C·Z(Z−1)/A^(1/3) − a_A·(N−Z)²/A + a_P·δ/√A,

δ = +1 for even-even, −1 for odd-odd, 0 for odd A. ``SEMF`` fits the coefficients by least
squares (fit -> self) and predicts any task that is a difference of binding energies. Shell
features count valence particles/holes to the nearest magic numbers (2, 8, 20, 28, 50, 82, 126).
Pure numpy (tasks layer).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .nuclear_data import MAGIC
from .nuclear_tasks import TASK_COMBINATION, task_constant

SEMF_TERMS = ("volume", "surface", "coulomb", "asymmetry", "pairing")
SHELL_TERMS = ("valence_Z", "valence_N", "valence_product", "magic_Z", "magic_N")
_MAGIC_EDGES = np.array((0,) + MAGIC + (184,))


def pairing_sign(Z, N) -> np.ndarray:
    """δ: +1 even-even, −1 odd-odd, 0 odd A."""
    Z, N = np.asarray(Z), np.asarray(N)
    return ((Z + 1) % 2 + (N + 1) % 2 - 1).astype(float)


def semf_terms(Z, N) -> np.ndarray:
    """[n, 5] columns ``SEMF_TERMS`` (signs included, so B ≈ terms @ positive coefficients)."""
    Z, N = np.asarray(Z, float), np.asarray(N, float)
    A = np.maximum(Z + N, 1.0)
    return np.stack([A, -A ** (2 / 3), -Z * (Z - 1) / A ** (1 / 3), -(N - Z) ** 2 / A,
                     pairing_sign(Z, N) / np.sqrt(A)], axis=1)


def valence(x) -> tuple[np.ndarray, np.ndarray]:
    """(valence count, shell size): particles or holes to the nearest magic number, and the width
    of the shell the nucleon number sits in."""
    x = np.asarray(x)
    k = np.clip(np.searchsorted(_MAGIC_EDGES, x, side="right") - 1, 0, len(_MAGIC_EDGES) - 2)
    lo, hi = _MAGIC_EDGES[k], _MAGIC_EDGES[k + 1]
    return np.minimum(x - lo, hi - x).astype(float), (hi - lo).astype(float)


def shell_terms(Z, N) -> np.ndarray:
    """[n, 5] columns ``SHELL_TERMS``: valence counts v_Z, v_N, v_Z·v_N and magic indicators."""
    vz, _ = valence(Z)
    vn, _ = valence(N)
    return np.stack([vz, vn, vz * vn, (vz == 0).astype(float), (vn == 0).astype(float)], axis=1)


def physics_inputs(Z, N) -> np.ndarray:
    """[n, 9] network inputs: parities, valence counts scaled by shell size, magic flags, A^(1/3),
    (N−Z)/A. All O(1)."""
    Z, N = np.asarray(Z), np.asarray(N)
    vz, sz = valence(Z)
    vn, sn = valence(N)
    A = np.maximum(Z + N, 1)
    return np.stack([Z % 2, N % 2, 2 * vz / sz, 2 * vn / sn, (vz == 0), (vn == 0),
                     4 * vz * vn / (sz * sn), A ** (1 / 3) / 6, (N - Z) / A], axis=1).astype(float)


@dataclass
class SEMF:
    """Least-squares SEMF (optionally + shell terms) on binding energies in keV; fit -> self."""

    shell: bool = False
    coef_: np.ndarray = field(default=None, repr=False)

    def _design(self, Z, N) -> np.ndarray:
        X = semf_terms(Z, N)
        return np.hstack([X, shell_terms(Z, N)]) if self.shell else X

    def fit(self, Z, N, binding_keV) -> SEMF:
        X = self._design(Z, N)
        self.coef_ = np.linalg.lstsq(X, np.asarray(binding_keV, float), rcond=None)[0]
        return self

    def binding(self, Z, N) -> np.ndarray:
        if self.coef_ is None:
            raise ValueError("SEMF is not fitted; call fit(Z, N, binding) first")
        return self._design(Z, N) @ self.coef_

    def predict(self, task: str, Z, N) -> np.ndarray:
        """Any task of ``TASK_COMBINATION`` from the fitted binding energies."""
        Z, N = np.asarray(Z), np.asarray(N)
        out = np.full(Z.shape, task_constant(task), float)
        for dz, dn, c in TASK_COMBINATION[task]:
            out += c * self.binding(Z + dz, N + dn)
        return out

    @property
    def coefficients_MeV(self) -> dict[str, float]:
        names = SEMF_TERMS + (SHELL_TERMS if self.shell else ())
        return {n: float(c) / 1000 for n, c in zip(names, self.coef_)}

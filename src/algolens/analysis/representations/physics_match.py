"""Do the network's features match the terms of the mass formula? Scored against a null.

For each physics term t(Z, N) — the five SEMF terms (volume A, surface A^(2/3), Coulomb
Z(Z−1)/A^(1/3), asymmetry (N−Z)²/A, pairing δ/√A) and shell terms (valence counts, their
product) — over the nuclides of the chart we report

- ``best_pc`` / ``best_abs_r``: the single PC most correlated with the term, and |r|;
- ``probe_r2``: cross-validated R² (k-fold) of a linear probe from the top ``n_probe`` PCs.

The same two numbers for ``n_null`` random smooth functions of (Z, N) (random Fourier features
with length scales of 5–30 nucleons) give the null: a term is matched when its probe R² is well
above the null's 95th percentile. Smooth functions of (Z, N) are easy to fit from many PCs, so the
null is what gives a high R² its meaning.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...tasks.nuclear_physics import pairing_sign, valence

TERMS = ("volume", "surface", "coulomb", "asymmetry", "pairing", "valence_Z", "valence_N", "valence_product")


def physics_terms(Z, N, per_nucleon: bool = False) -> dict[str, np.ndarray]:
    """The physics terms (no fitted coefficients, no signs) at each (Z, N); with ``per_nucleon``
    the SEMF terms divided by A (what a network predicting B/A must carry; volume/A is a constant
    and is left out)."""
    Z, N = np.asarray(Z, float), np.asarray(N, float)
    A = np.maximum(Z + N, 1.0)
    vz, _ = valence(Z.astype(int))
    vn, _ = valence(N.astype(int))
    d = A if per_nucleon else 1.0
    semf = {
        "volume": A,
        "surface": A ** (2 / 3) / d,
        "coulomb": Z * (Z - 1) / A ** (1 / 3) / d,
        "asymmetry": (N - Z) ** 2 / A / d,
        "pairing": pairing_sign(Z, N) / np.sqrt(A) / d,
    }
    if per_nucleon:
        semf = {f"{k}/A": v for k, v in semf.items() if k != "volume"}
    return {
        **semf,
        "valence_Z": vz,
        "valence_N": vn,
        "valence_product": vz * vn,
    }


def random_smooth_functions(Z, N, n: int, seed: int, length=(5.0, 30.0)) -> np.ndarray:
    """[n, G] random smooth functions of (Z, N): sums of 8 random plane waves whose length scale
    is drawn from ``length`` (nucleons) — the scale of shell structure, not of the bulk."""
    rng = np.random.default_rng(seed)
    P = np.c_[Z, N].astype(float)
    out = np.empty((n, len(P)))
    for i in range(n):
        L = rng.uniform(*length)
        W = rng.normal(size=(8, 2)) / L
        out[i] = np.cos(P @ W.T + rng.uniform(0, 2 * np.pi, 8)) @ rng.normal(size=8)
    return out


def cv_r2(X: np.ndarray, y: np.ndarray, folds: int, seed: int) -> float:
    """k-fold cross-validated R² of least squares y ~ [1, X]."""
    rng = np.random.default_rng(seed)
    fold = rng.permutation(len(y)) % folds
    D = np.c_[np.ones(len(y)), X]
    pred = np.empty(len(y))
    for f in range(folds):
        tr = fold != f
        coef = np.linalg.lstsq(D[tr], y[tr], rcond=None)[0]
        pred[~tr] = D[~tr] @ coef
    return float(1 - ((y - pred) ** 2).sum() / ((y - y.mean()) ** 2).sum())


def _scores(S: np.ndarray, y: np.ndarray, n_probe: int, folds: int, seed: int) -> tuple[int, float, float]:
    Sc = (S - S.mean(0)) / np.maximum(S.std(0), 1e-12)
    yc = (y - y.mean()) / max(y.std(), 1e-12)
    r = Sc.T @ yc / len(y)
    best = int(np.argmax(np.abs(r)))
    return best, float(abs(r[best])), cv_r2(S[:, :n_probe], y, folds, seed)


@dataclass
class TermMatch:
    """One physics term against the PCs: the best single PC, the probe's cross-validated R² and
    the null's 95th percentiles."""

    term: str
    best_pc: int
    best_abs_r: float
    probe_r2: float
    null_r2_q95: float
    null_abs_r_q95: float
    above_null: bool


@dataclass
class PhysicsMatchSummary:
    """Every term's match, and the null of random smooth functions of (Z, N)."""

    terms: list[TermMatch]
    null_r2_mean: float
    null_r2_q95: float
    null_abs_r_mean: float


@dataclass
class PhysicsMatch:
    """Physics terms vs PCs, with a random-smooth-function null (fit -> self)."""

    n_probe: int = 8
    n_null: int = 40
    folds: int = 5
    seed: int = 0
    null_length: tuple[float, float] = (5.0, 30.0)
    per_nucleon: bool = False  # match the SEMF terms divided by A (models that predict B/A)
    table_: list = field(default_factory=list)
    null_r2_: np.ndarray = field(default=None, repr=False)
    null_abs_r_: np.ndarray = field(default=None, repr=False)

    def fit(self, scores: np.ndarray, Z: np.ndarray, N: np.ndarray) -> PhysicsMatch:
        """``scores`` [G, k] PC scores of G nuclides (e.g. ``PenultimatePCA.pca_.scores_``)."""
        S = np.asarray(scores, float)
        if len(S) != len(Z) or S.shape[1] < 1:
            raise ValueError(f"scores {S.shape} must have one row per nuclide ({len(Z)})")
        k = min(self.n_probe, S.shape[1])
        self.table_ = []
        for name, y in physics_terms(Z, N, self.per_nucleon).items():
            best, r, r2 = _scores(S, y, k, self.folds, self.seed)
            self.table_.append({"term": name, "best_pc": best, "best_abs_r": r, "probe_r2": r2})
        nulls = [
            _scores(S, y, k, self.folds, self.seed)
            for y in random_smooth_functions(Z, N, self.n_null, self.seed, self.null_length)
        ]
        self.null_abs_r_ = np.array([x[1] for x in nulls])
        self.null_r2_ = np.array([x[2] for x in nulls])
        q = float(np.quantile(self.null_r2_, 0.95))
        qr = float(np.quantile(self.null_abs_r_, 0.95))
        for row in self.table_:
            row["null_r2_q95"] = q
            row["null_abs_r_q95"] = qr
            row["above_null"] = bool(row["probe_r2"] > q)
        return self

    def summary(self) -> PhysicsMatchSummary:
        terms = [TermMatch(r["term"], int(r["best_pc"]), float(r["best_abs_r"]), float(r["probe_r2"]),
                           float(r["null_r2_q95"]), float(r["null_abs_r_q95"]), bool(r["above_null"]))
                 for r in self.table_]
        return PhysicsMatchSummary(
            terms=terms,
            null_r2_mean=float(self.null_r2_.mean()),
            null_r2_q95=float(np.quantile(self.null_r2_, 0.95)),
            null_abs_r_mean=float(self.null_abs_r_.mean()),
        )

    def figure(self):
        """Probe R² and best single-PC |r| of each term beside the null's 95th percentile."""
        from ._plot import subplots

        fig, ax = subplots(1, 1, (9, 4.5))
        a = ax[0, 0]
        names = [r["term"] for r in self.table_]
        a.bar(np.arange(len(names)) - 0.2, [r["probe_r2"] for r in self.table_], 0.4, label="probe R² (CV)")
        a.bar(
            np.arange(len(names)) + 0.2,
            [r["best_abs_r"] for r in self.table_],
            0.4,
            label="best single-PC |r|",
        )
        a.axhline(float(np.quantile(self.null_r2_, 0.95)), color="red", ls="--", label="null R² (95th pct)")
        a.set_xticks(range(len(names)), names, rotation=30)
        a.set(title=f"physics terms vs top-{self.n_probe} PCs", ylim=(min(0, a.get_ylim()[0]), 1.05))
        a.legend(fontsize=8)
        fig.tight_layout()
        return fig

    def plot(self, path) -> None:
        """``figure()`` as a PNG file at ``path``."""
        from ...io import atomic_write_bytes
        from ._plot import figure_bytes

        atomic_write_bytes(path, figure_bytes(self.figure()))

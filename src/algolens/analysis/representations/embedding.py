"""The helix, the parity direction and the magic numbers in a proton or neutron embedding table.

Kitouni et al. (2024) find the Z and N embeddings of a nuclear model lie on a helix: a slowly
varying direction (the nucleon number) plus a rotating pair (a periodic component), with one
direction separating even from odd. We measure each piece on the embedding rows ``x[n]``:

- PCA: explained variance of each component.
- Parity: for each leading PC, the accuracy of the best threshold at separating even from odd n.
- Helix: remove a quadratic trend in n (the slow part) and the (−1)^n part (parity); fit a
  cos/sin pair of period T to what is left, for T on a grid; the best T is ``helix_period_`` and
  the share of the total variance that pair explains is ``helix_fraction_``.
- Magic numbers: with the parity and periodic parts removed, the same-parity curvature
  |x[n+2] − 2x[n] + x[n−2]|; ``magic_kinks_`` is each magic number's percentile among all n
  (100 = the sharpest bend in the table).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...tasks.nuclear_data import MAGIC
from .pca import PCA


def best_threshold_accuracy(score: np.ndarray, label: np.ndarray) -> float:
    """Accuracy of the best single threshold (either direction) on ``score`` for binary ``label``."""
    order = np.argsort(score, kind="stable")
    y = label[order].astype(bool)
    n = len(y)
    below_pos = np.concatenate([[0], np.cumsum(y)])  # positives at or below each cut
    below = np.arange(n + 1)
    acc = (below - below_pos + (y.sum() - below_pos)) / n  # negatives below + positives above
    return float(max(acc.max(), (1 - acc).max()))


def _residualise(X: np.ndarray, D: np.ndarray) -> tuple[np.ndarray, float]:
    """X minus its least-squares fit on design D; and the share of X's variance D explains."""
    coef = np.linalg.lstsq(D, X, rcond=None)[0]
    R = X - D @ coef
    return R, 1.0 - (R**2).sum() / max((X**2).sum(), 1e-300)


@dataclass
class EmbeddingSummary:
    """What ``EmbeddingPCA`` read out of one table (``magic_kink_percentiles`` keyed by the magic
    number as text, as JSON keeps it)."""

    name: str
    explained_variance_ratio: list[float]
    parity_pc: int
    parity_accuracy: float
    slow_fraction: float
    parity_fraction: float
    helix_period: float
    helix_fraction: float
    magic_kink_percentiles: dict[str, float]


@dataclass
class EmbeddingPCA:
    """Helix / parity / magic-number read-out of one embedding table (fit -> self)."""

    n_pcs: int = 6
    periods: tuple[float, float, int] = (3.0, 80.0, 773)  # grid of candidate helix periods
    name: str = "N"
    pca_: PCA = field(default=None, repr=False)
    values_: np.ndarray = field(default=None, repr=False)
    parity_accuracies_: np.ndarray = field(default=None, repr=False)
    parity_pc_: int = -1
    parity_accuracy_: float = float("nan")
    slow_fraction_: float = float("nan")
    parity_fraction_: float = float("nan")
    helix_period_: float = float("nan")
    helix_fraction_: float = float("nan")
    helix_curve_: np.ndarray = field(default=None, repr=False)
    curvature_: np.ndarray = field(default=None, repr=False)
    magic_kinks_: dict = field(default_factory=dict)

    def fit(self, W_E: np.ndarray, values: np.ndarray) -> EmbeddingPCA:
        """``W_E`` [vocab, d] embedding table; ``values`` the nucleon numbers to analyse (rows)."""
        values = np.asarray(values, int)
        if len(values) < 10 or len(np.unique(values)) != len(values):
            raise ValueError(f"need >= 10 distinct {self.name} values, got {len(values)}")
        X = np.asarray(W_E, float)[values]
        self.values_ = values
        self.pca_ = PCA().fit(X)
        self._parity()
        self._kinks(self._helix(X - X.mean(0)))  # kinks of the slow part (parity, helix removed)
        return self

    def _parity(self) -> None:
        odd = self.values_ % 2 == 1
        k = min(self.n_pcs, self.pca_.scores_.shape[1])
        self.parity_accuracies_ = np.array(
            [best_threshold_accuracy(self.pca_.scores_[:, i], odd) for i in range(k)]
        )
        self.parity_pc_ = int(np.argmax(self.parity_accuracies_))
        self.parity_accuracy_ = float(self.parity_accuracies_[self.parity_pc_])

    def _helix(self, Xc: np.ndarray) -> np.ndarray:
        """Measure slow / parity / periodic parts; return Xc without the parity and periodic parts."""
        n = self.values_.astype(float)
        t = (n - n.mean()) / max(n.std(), 1.0)
        R, self.slow_fraction_ = _residualise(Xc, np.c_[np.ones_like(t), t, t**2])
        sign = np.where(self.values_ % 2 == 0, 1.0, -1.0)
        R2, par = _residualise(R, sign[:, None])
        total = (Xc**2).sum()
        self.parity_fraction_ = float(par * (1 - self.slow_fraction_))
        lo, hi, num = self.periods
        grid = np.linspace(lo, hi, num)
        pair = lambda T: np.c_[np.cos(2 * np.pi * n / T), np.sin(2 * np.pi * n / T)]
        share = np.array([(R2**2).sum() - (_residualise(R2, pair(T))[0] ** 2).sum() for T in grid])
        share = share / max(total, 1e-300)
        self.helix_curve_ = np.c_[grid, share]
        best = int(np.argmax(share))
        self.helix_period_, self.helix_fraction_ = float(grid[best]), float(share[best])
        periodic = R - _residualise(R, np.c_[sign, pair(self.helix_period_)])[0]
        return Xc - periodic

    def _kinks(self, X: np.ndarray) -> None:
        pos = {int(v): i for i, v in enumerate(self.values_)}
        curv = {}
        for v in self.values_:
            if all(int(v) + d in pos for d in (-2, 2)):
                curv[int(v)] = float(np.linalg.norm(X[pos[v + 2]] - 2 * X[pos[v]] + X[pos[v - 2]]))
        self.curvature_ = np.array(sorted(curv.items()), float).reshape(-1, 2)
        all_c = np.array(list(curv.values()))
        self.magic_kinks_ = {m: float(100 * (all_c < curv[m]).mean()) for m in MAGIC if m in curv}

    def summary(self) -> EmbeddingSummary:
        return EmbeddingSummary(
            name=self.name,
            explained_variance_ratio=self.pca_.explained_variance_ratio_[: self.n_pcs].tolist(),
            parity_pc=int(self.parity_pc_),
            parity_accuracy=float(self.parity_accuracy_),
            slow_fraction=float(self.slow_fraction_),
            parity_fraction=float(self.parity_fraction_),
            helix_period=float(self.helix_period_),
            helix_fraction=float(self.helix_fraction_),
            magic_kink_percentiles={str(m): float(v) for m, v in self.magic_kinks_.items()},
        )

    def figure(self):
        """Four panels: explained variance, PC0-PC1 path, parity PC, curvature with magic numbers."""
        from ._plot import subplots

        fig, ax = subplots(2, 2, (10, 8))
        ev = self.pca_.explained_variance_ratio_[:10]
        ax[0, 0].bar(range(len(ev)), ev)
        ax[0, 0].set(title=f"{self.name} embedding: explained variance", xlabel="PC")
        s = self.pca_.scores_
        sc = ax[0, 1].scatter(s[:, 0], s[:, 1], c=self.values_, cmap="viridis", s=12)
        ax[0, 1].plot(s[:, 0], s[:, 1], lw=0.3, c="grey")
        for m in MAGIC:
            if m in self.values_:
                i = int(np.flatnonzero(self.values_ == m)[0])
                ax[0, 1].annotate(str(m), s[i, :2], fontsize=8, color="red")
        fig.colorbar(sc, ax=ax[0, 1], label=self.name)
        ax[0, 1].set(title="PC0 vs PC1 (magic numbers in red)", xlabel="PC0", ylabel="PC1")
        p = self.parity_pc_
        ax[1, 0].scatter(self.values_, s[:, p], c=self.values_ % 2, cmap="coolwarm", s=10)
        ax[1, 0].set(
            title=f"PC{p}: even/odd threshold accuracy {self.parity_accuracy_:.1%}",
            xlabel=self.name,
            ylabel=f"PC{p}",
        )
        if len(self.curvature_):
            ax[1, 1].plot(self.curvature_[:, 0], self.curvature_[:, 1], lw=0.8)
        for m in self.magic_kinks_:
            ax[1, 1].axvline(m, color="red", lw=0.6, ls="--")
        ax[1, 1].set(
            title=f"curvature; helix period {self.helix_period_:.1f}, {self.helix_fraction_:.1%} of variance",
            xlabel=self.name,
        )
        fig.tight_layout()
        return fig

    def plot(self, path) -> None:
        """``figure()`` as a PNG file at ``path``."""
        from ...io import atomic_write_bytes
        from ._plot import figure_bytes

        atomic_write_bytes(path, figure_bytes(self.figure()))

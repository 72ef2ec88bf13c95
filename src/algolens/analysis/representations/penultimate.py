"""PCA of the penultimate layer over the chart of nuclides, and how much of the output each PC carries.

With h the last hidden layer (``hook_resid_final``) and w the binding readout column of W_U, the
output is linear in h, so it splits exactly over the PCs of h:

    out = b + mean·w + Σ_k score_k · (component_k · w).

``readout_share_`` is each PC's share of the output variance (Σ over PCs = 1 when the PCs are
uncorrelated, which they are). ``truncation_rms_[k]`` is the binding RMS (keV) on the evaluation
nuclides when only the first k terms are kept — the faithfulness curve: how few directions the
network's answer really uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .pca import PCA


@dataclass
class PenultimateSummary:
    """Variance, readout share and truncation curve of the leading penultimate PCs."""

    explained_variance_ratio: list[float]
    readout_share: list[float]
    truncation_rms_keV: list[float]      # [k]: held-out binding RMS keeping the first k PCs
    full_rms_keV: float


@dataclass
class PenultimatePCA:
    """Penultimate-layer PCs, readout shares and the PC-truncation curve (fit -> self)."""

    max_k: int = 16
    pca_: PCA = field(default=None, repr=False)
    readout_share_: np.ndarray = field(default=None, repr=False)
    truncation_rms_: np.ndarray = field(default=None, repr=False)
    full_rms_: float = float("nan")
    Z_: np.ndarray = field(default=None, repr=False)
    N_: np.ndarray = field(default=None, repr=False)

    def fit(
        self,
        H: np.ndarray,
        w: np.ndarray,
        b: float,
        Z: np.ndarray,
        N: np.ndarray,
        target: np.ndarray,
        eval_mask: np.ndarray,
        row_scale: np.ndarray | None = None,
    ) -> PenultimatePCA:
        """``H`` [G, d] hidden states of G nuclides; ``w`` [d] readout; ``target`` [G] the value the
        output should match (NaN where unknown); ``eval_mask`` [G] nuclides for the RMS curve;
        ``row_scale`` [G] multiplies output and target before the RMS (A, when the readout is a
        per-nucleon value and the RMS is wanted on the total)."""
        H, w = np.asarray(H, float), np.asarray(w, float)
        if H.shape[1] != w.shape[0] or len(H) != len(Z):
            raise ValueError(f"shapes disagree: H {H.shape}, w {w.shape}, Z {len(Z)}")
        ok = np.asarray(eval_mask, bool) & np.isfinite(target)
        if not ok.any():
            raise ValueError("eval_mask selects no nuclide with a known target")
        self.Z_, self.N_ = np.asarray(Z), np.asarray(N)
        self.pca_ = PCA().fit(H)
        per_pc = self.pca_.scores_ * (self.pca_.components_ @ w)  # [G, k] exact split
        var = per_pc.var(0)
        self.readout_share_ = var / max(var.sum(), 1e-300)
        base = float(b + self.pca_.mean_ @ w)
        partial = base + np.concatenate([np.zeros((len(H), 1)), np.cumsum(per_pc, 1)], 1)
        k = min(self.max_k, per_pc.shape[1])
        r = np.ones(len(H)) if row_scale is None else np.asarray(row_scale, float)
        err = (partial[ok][:, : k + 1] - target[ok, None]) * r[ok, None]
        self.truncation_rms_ = np.sqrt((err**2).mean(0)) * 1000
        self.full_rms_ = float(np.sqrt((((partial[ok, -1] - target[ok]) * r[ok]) ** 2).mean()) * 1000)
        return self

    def summary(self) -> PenultimateSummary:
        return PenultimateSummary(
            explained_variance_ratio=self.pca_.explained_variance_ratio_[:8].tolist(),
            readout_share=self.readout_share_[:8].tolist(),
            truncation_rms_keV=self.truncation_rms_.tolist(),
            full_rms_keV=float(self.full_rms_),
        )

    def figure(self, n_maps: int = 4):
        """Heat maps of the first PCs over (Z, N), readout shares and the truncation curve."""
        from ._plot import heatmap, subplots

        fig, ax = subplots(2, 3, (15, 8))
        for i in range(min(n_maps, 4)):
            heatmap(
                ax.flat[i],
                self.Z_,
                self.N_,
                self.pca_.scores_[:, i],
                f"PC{i} ({self.pca_.explained_variance_ratio_[i]:.1%} var, "
                f"{self.readout_share_[i]:.1%} of output)",
            )
        k = len(self.truncation_rms_)
        ax.flat[4].bar(range(min(10, len(self.readout_share_))), self.readout_share_[:10])
        ax.flat[4].set(title="share of output variance per PC", xlabel="PC")
        ax.flat[5].semilogy(range(k), self.truncation_rms_, marker="o")
        ax.flat[5].axhline(self.full_rms_, color="grey", ls="--", label="all PCs")
        ax.flat[5].set(title="held-out binding RMS keeping first k PCs", xlabel="k", ylabel="keV")
        ax.flat[5].legend()
        fig.tight_layout()
        return fig

    def plot(self, path, n_maps: int = 4) -> None:
        """``figure()`` as a PNG file at ``path``."""
        from ...io import atomic_write_bytes
        from ._plot import figure_bytes

        atomic_write_bytes(path, figure_bytes(self.figure(n_maps)))

"""Latent-space topography: what the network predicts across the plane of two embedding PCs.

Take the N (or Z) embedding table, its PCA, and a regular grid in the plane of PC ``a`` and PC
``b``. Each grid point becomes an embedding (mean + a·c_a + b·c_b); with the other nucleon's
embedding held at a fixed value it is pushed through the rest of the network
(``EmbedMLP.forward_from_input``), and the binding output (MeV, residual over the SEMF) colours
the plane. The real embeddings are overlaid: how the network's landscape lays the isotopes out.
Physics-aware inputs, when the model has them, are taken from the real nuclide nearest to each
grid point in the plane (they are not defined between nuclides).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from .pca import PCA


@dataclass
class TopographySummary:
    """The plane walked and the range of the binding head's output over it (MeV)."""

    which: str
    pcs: list[int]
    fixed: int
    prediction_range_MeV: list[float]


@dataclass
class LatentTopography:
    """Prediction over a grid in an embedding-PC plane (fit -> self)."""

    which: str = "N"  # the embedding table to walk in: "N" or "Z"
    pcs: tuple[int, int] = (0, 1)
    resolution: int = 60
    pca_: PCA = field(default=None, repr=False)
    grid_: np.ndarray = field(default=None, repr=False)  # [R, R, 2] PC coordinates
    prediction_: np.ndarray = field(default=None, repr=False)  # [R, R] MeV
    points_: np.ndarray = field(default=None, repr=False)  # [n, 2] real embeddings in the plane
    values_: np.ndarray = field(default=None, repr=False)
    fixed_: int = -1

    def fit(self, model, values: np.ndarray, fixed: int, phys_fn=None) -> LatentTopography:
        """``model``: one-member ``EmbedMLP``; ``values``: the N (or Z) values to lay out; ``fixed``:
        the other nucleon number; ``phys_fn(Z, N) -> [n, k]`` physics inputs if the model takes them."""
        if self.which not in ("N", "Z"):
            raise ValueError(f"which must be 'N' or 'Z', got {self.which!r}")
        if model.cfg.n_members != 1:
            raise ValueError("pass one member: model.member(i)")
        if model.cfg.n_physics and phys_fn is None:
            raise ValueError("this model takes physics inputs; pass phys_fn=physics_inputs")
        values = np.asarray(values, int)
        walk = (model.W_E_N if self.which == "N" else model.W_E_Z)[0].detach().double().numpy()
        other = (model.W_E_Z if self.which == "N" else model.W_E_N)[0, fixed].detach().double().numpy()
        self.pca_ = PCA().fit(walk[values])
        a, b = self.pcs
        self.points_ = self.pca_.scores_[:, [a, b]]
        self.values_, self.fixed_ = values, int(fixed)
        lo, hi = self.points_.min(0), self.points_.max(0)
        pad = 0.1 * (hi - lo)
        ga, gb = (np.linspace(lo[i] - pad[i], hi[i] + pad[i], self.resolution) for i in range(2))
        self.grid_ = np.stack(np.meshgrid(ga, gb, indexing="xy"), -1)
        flat = self.grid_.reshape(-1, 2)
        emb = (
            self.pca_.mean_ + flat[:, :1] * self.pca_.components_[a] + flat[:, 1:] * self.pca_.components_[b]
        )
        near = values[np.argmin(((flat[:, None] - self.points_[None]) ** 2).sum(-1), 1)]
        parts = (
            [np.broadcast_to(other, emb.shape), emb]
            if self.which == "N"
            else [emb, np.broadcast_to(other, emb.shape)]
        )
        if model.cfg.n_physics:
            Z, N = (
                (np.full_like(near, fixed), near) if self.which == "N" else (near, np.full_like(near, fixed))
            )
            parts.append(phys_fn(Z, N))
        h = torch.as_tensor(np.concatenate(parts, 1), dtype=model.W_in.dtype)[None]
        with torch.no_grad():
            out = model.forward_from_input(h)[0, :, 0].double().numpy()
        self.prediction_ = out.reshape(self.resolution, self.resolution)
        return self

    def summary(self) -> TopographySummary:
        return TopographySummary(
            which=self.which,
            pcs=[int(p) for p in self.pcs],
            fixed=int(self.fixed_),
            prediction_range_MeV=[float(self.prediction_.min()), float(self.prediction_.max())],
        )

    def figure(self):
        """The binding head's output over the plane of two embedding PCs."""
        from ._plot import subplots

        fig, ax = subplots(1, 1, (8, 6.5))
        a = ax[0, 0]
        cs = a.contourf(self.grid_[..., 0], self.grid_[..., 1], self.prediction_, levels=30, cmap="viridis")
        fig.colorbar(cs, ax=a, label="binding head output")
        a.plot(self.points_[:, 0], self.points_[:, 1], "w-", lw=0.4)
        a.scatter(self.points_[:, 0], self.points_[:, 1], c="white", s=8, edgecolors="k", linewidths=0.3)
        for v, (x, y) in zip(self.values_, self.points_):
            if v % 10 == 0:
                a.annotate(str(v), (x, y), fontsize=7, color="white")
        other = "Z" if self.which == "N" else "N"
        a.set(
            title=f"{self.which}-embedding plane (PC{self.pcs[0]}, PC{self.pcs[1]}), {other} = {self.fixed_}",
            xlabel=f"PC{self.pcs[0]}",
            ylabel=f"PC{self.pcs[1]}",
        )
        fig.tight_layout()
        return fig

    def plot(self, path) -> None:
        """``figure()`` as a PNG file at ``path``."""
        from ...io import atomic_write_bytes
        from ._plot import figure_bytes

        atomic_write_bytes(path, figure_bytes(self.figure()))

"""Plain PCA by SVD (numpy): the shared first step of every representation analysis."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class PCA:
    """Centre X [n, d], then SVD; ``scores_`` [n, k] and ``components_`` [k, d] with k = min(n, d).

    Each component's sign is fixed so that its score correlates positively with row order
    (deterministic across runs and platforms).
    """

    mean_: np.ndarray = field(default=None, repr=False)
    components_: np.ndarray = field(default=None, repr=False)
    scores_: np.ndarray = field(default=None, repr=False)
    explained_variance_ratio_: np.ndarray = field(default=None, repr=False)

    def fit(self, X: np.ndarray) -> PCA:
        X = np.asarray(X, float)
        if X.ndim != 2 or min(X.shape) < 2:
            raise ValueError(f"PCA needs a 2-D array with at least 2 rows and columns, got shape {X.shape}")
        self.mean_ = X.mean(0)
        U, S, Vt = np.linalg.svd(X - self.mean_, full_matrices=False)
        order = np.arange(len(X)) - (len(X) - 1) / 2
        sign = np.sign(order @ U)
        sign[sign == 0] = 1.0
        self.components_ = Vt * sign[:, None]
        self.scores_ = U * S * sign
        var = S**2
        self.explained_variance_ratio_ = var / max(var.sum(), 1e-300)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        return (np.asarray(X, float) - self.mean_) @ self.components_.T

    def inverse(self, scores: np.ndarray) -> np.ndarray:
        k = scores.shape[-1]
        return scores @ self.components_[:k] + self.mean_

"""Representation analyses (re-exported from ``algolens.analysis.representations``)."""

from ..analysis.representations import (
    PCA,
    EmbeddingPCA,
    LatentTopography,
    PenultimatePCA,
    PhysicsMatch,
    SymbolicPCs,
)

__all__ = ["PCA", "EmbeddingPCA", "LatentTopography", "PenultimatePCA", "PhysicsMatch", "SymbolicPCs"]

"""Continuous representations of networks trained on physical data (nuclear masses).

Estimators (fit -> self, results in trailing-underscore attributes, ``figure()`` for a matplotlib
figure and ``plot(path)`` for a PNG file):

- ``EmbeddingPCA``     helix, parity direction and magic-number kinks in a Z or N embedding table
- ``PenultimatePCA``   PCs of the last hidden layer: heat maps, readout share, truncation curve
- ``PhysicsMatch``     SEMF and shell terms against the PCs, beside random smooth functions
- ``SymbolicPCs``      symbolic regression of the leading PCs as functions of (Z, N) (pyoperon)
- ``LatentTopography`` a grid in the plane of two embedding PCs pushed back through the network

Each ``summary()`` is a typed dataclass (``EmbeddingSummary``, ``PenultimateSummary``,
``PhysicsMatchSummary`` of ``TermMatch`` rows, ``SymbolicSummary``, ``TopographySummary``).
"""

from .embedding import EmbeddingPCA, EmbeddingSummary
from .pca import PCA
from .penultimate import PenultimatePCA, PenultimateSummary
from .physics_match import PhysicsMatch, PhysicsMatchSummary, TermMatch
from .symbolic import SymbolicPCs, SymbolicSummary
from .topography import LatentTopography, TopographySummary

__all__ = ["PCA", "EmbeddingPCA", "EmbeddingSummary", "LatentTopography", "PenultimatePCA",
           "PenultimateSummary", "PhysicsMatch", "PhysicsMatchSummary", "SymbolicPCs",
           "SymbolicSummary", "TermMatch", "TopographySummary"]

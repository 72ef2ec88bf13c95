"""Continuous representations of networks trained on physical data (nuclear masses).

Estimators (fit -> self, results in trailing-underscore attributes, ``plot(path)``):

- ``EmbeddingPCA``     helix, parity direction and magic-number kinks in a Z or N embedding table
- ``PenultimatePCA``   PCs of the last hidden layer: heat maps, readout share, truncation curve
- ``PhysicsMatch``     SEMF and shell terms against the PCs, beside random smooth functions
- ``SymbolicPCs``      symbolic regression of the leading PCs as functions of (Z, N) (pyoperon)
- ``LatentTopography`` a grid in the plane of two embedding PCs pushed back through the network
"""

from .embedding import EmbeddingPCA
from .pca import PCA
from .penultimate import PenultimatePCA
from .physics_match import PhysicsMatch
from .symbolic import SymbolicPCs
from .topography import LatentTopography

__all__ = ["PCA", "EmbeddingPCA", "LatentTopography", "PenultimatePCA", "PhysicsMatch", "SymbolicPCs"]

"""The nuclear model and its trainer (re-exported from ``algolens.models`` / ``algolens.train``)."""

from ..models.embed_mlp import EmbedMLP, EmbedMLPConfig
from ..tasks.nuclear_physics import SEMF, physics_inputs, semf_terms, shell_terms
from ..tasks.nuclear_tasks import dataset, discovery_split, split
from ..train.nuclear import NuclearTrainConfig, NuclearTrainer, prepare, train

__all__ = ["SEMF", "EmbedMLP", "EmbedMLPConfig", "NuclearTrainConfig", "NuclearTrainer", "dataset",
           "discovery_split", "physics_inputs", "prepare", "semf_terms", "shell_terms", "split", "train"]

"""Training loops, architecture search, batched ensembles, checkpoints and the run index."""

from .checkpoint import load_checkpoint, save_checkpoint
from .rnn import TaskData, TrainingDiverged, TrainResult, default_config, train_ensemble
from .runs import find_run, list_runs, load_run
from .search import SearchResult, search

__all__ = [
           "SearchResult",
           "TaskData",
           "TrainResult",
           "TrainingDiverged",
           "default_config",
           "find_run",
           "list_runs",
           "load_checkpoint",
           "load_run",
           "save_checkpoint",
           "search",
           "train_ensemble",
]

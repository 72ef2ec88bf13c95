"""Training loops, architecture search, batched ensembles, checkpoints and the run index."""

from .checkpoint import load_checkpoint, save_checkpoint
from .loop import Loop, LoopResult, TrainingDiverged
from .rnn import TaskData, TrainResult, default_config, train_ensemble
from .runs import find_run
from .search import SearchResult, search

__all__ = [
           "Loop",
           "LoopResult",
           "SearchResult",
           "TaskData",
           "TrainResult",
           "TrainingDiverged",
           "default_config",
           "find_run",
           "load_checkpoint",
           "save_checkpoint",
           "search",
           "train_ensemble",
]

"""RNN interpretability passes: states -> integer recurrences / state machines -> formulas."""

from .adapter import (Collection, HiddenStates, PassRecord, RNNAdapter, StateCollector,
                      check_adapter, hidden_states, network_outputs, recollect, rollout)
from .budget import EXHAUSTED, Fuse
from .counters import LatticeFormulas, simulate, substitute
from .formulas import FormulaSearch, StateFormulas, input_names
from .fsm import FSMExtractor, MealyMachine, minimise
from .fsm_cluster import ClusterFSM
from .histogram import CountFormulas, CountModel
from .integer_sr import IntegerSR
from .lattice import IntegerLattice
from .linear import IntegerRecurrence, Recurrence
from .simplify import SnappedRecurrence, SnapRecurrence
from .window import WindowFormulas

__all__ = [
    "EXHAUSTED",
    "ClusterFSM",
    "Collection",
    "CountFormulas",
    "CountModel",
    "FSMExtractor",
    "FormulaSearch",
    "Fuse",
    "HiddenStates",
    "IntegerLattice",
    "IntegerRecurrence",
    "IntegerSR",
    "LatticeFormulas",
    "MealyMachine",
    "PassRecord",
    "RNNAdapter",
    "Recurrence",
    "SnapRecurrence",
    "SnappedRecurrence",
    "StateCollector",
    "StateFormulas",
    "WindowFormulas",
    "check_adapter",
    "hidden_states",
    "input_names",
    "minimise",
    "network_outputs",
    "recollect",
    "rollout",
    "simulate",
    "substitute",
]

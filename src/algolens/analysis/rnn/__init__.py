"""RNN interpretability passes: states -> integer recurrences / state machines -> formulas."""

from .adapter import (HiddenStates, PassRecord, RNNAdapter, StateCollector, check_adapter,
                      network_outputs, rollout)
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
    "ClusterFSM",
    "CountFormulas",
    "CountModel",
    "FSMExtractor",
    "FormulaSearch",
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
    "input_names",
    "minimise",
    "network_outputs",
    "rollout",
    "simulate",
    "substitute",
]

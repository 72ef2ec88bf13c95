"""RNN interpretability passes: states -> integer recurrences / state machines -> formulas."""

from .adapter import (HiddenStates, PassRecord, RNNAdapter, StateCollector, check_adapter,
                      network_outputs, rollout)
from .formulas import FormulaSearch, StateFormulas, input_names
from .fsm import FSMExtractor, MealyMachine, minimise
from .counters import LatticeFormulas, simulate, substitute
from .integer_sr import IntegerSR
from .lattice import IntegerLattice
from .simplify import SnapRecurrence, SnappedRecurrence
from .linear import IntegerRecurrence, Recurrence

__all__ = ["RNNAdapter", "check_adapter", "rollout", "network_outputs", "StateCollector",
           "HiddenStates", "PassRecord", "IntegerRecurrence", "Recurrence", "FSMExtractor",
           "MealyMachine", "minimise", "FormulaSearch", "StateFormulas", "IntegerSR",
           "input_names", "IntegerLattice", "LatticeFormulas", "SnapRecurrence",
           "SnappedRecurrence", "simulate", "substitute"]

"""nn.Modules with named hooks: the MIPS RNN family (and, later, transformers)."""

from .hooks import HookedModule, HookPoint
from .rnn import MIPSRNN, RNNConfig, RNNEnsemble

__all__ = ["HookPoint", "HookedModule", "RNNConfig", "RNNEnsemble", "MIPSRNN"]

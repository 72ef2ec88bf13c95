"""nn.Modules with TransformerLens-style named hooks: the MIPS RNN family and the
modular-addition transformer (Clock/Pizza, grokking)."""

from .hooks import HookedModule, HookPoint
from .rnn import MIPSRNN, RNNConfig, RNNEnsemble
from .transformer import Transformer, TransformerConfig, TransformerEnsemble, make_inputs

__all__ = ["HookPoint", "HookedModule", "RNNConfig", "RNNEnsemble", "MIPSRNN", "Transformer",
           "TransformerConfig", "TransformerEnsemble", "make_inputs"]

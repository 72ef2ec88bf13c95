"""nn.Modules with TransformerLens-style named hooks: the MIPS RNN family and one transformer
family (the modular-addition preset for Clock/Pizza and grokking; decoder-only seq2seq models for
the recursion tasks)."""

from .hooks import HookedModule, HookPoint
from .rnn import MIPSRNN, RNNConfig, RNNEnsemble
from .ensemble import TransformerEnsemble
from .seq2seq import Seq2SeqConfig, Seq2SeqTransformer
from .transformer import ModelConfig, Transformer, TransformerConfig, make_inputs

__all__ = ["HookPoint", "HookedModule", "RNNConfig", "RNNEnsemble", "MIPSRNN", "ModelConfig",
           "Seq2SeqConfig", "Seq2SeqTransformer", "Transformer", "TransformerConfig",
           "TransformerEnsemble", "make_inputs"]

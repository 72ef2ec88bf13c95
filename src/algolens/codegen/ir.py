"""A small IR for distilled programs: integer expressions, state machines with formulas, tables.

Semantics of one step (shared by ``SymbolicProgram`` and the generated Python):

    outputs y_k = outputs[k](state, inputs, t)              # read the *previous* state
    state'  v_i = updates[i](state, inputs, outputs, t)      # all updated simultaneously

With ``output_after_update`` (counters whose output reads the new counts) the order flips:
the state is updated first from (state, inputs, t), then the outputs read the new state.

``t`` is the 0-based position. A ``TableProgram`` is a Mealy machine: ``(state, symbol) ->
(next state, output)`` as literal dicts, the fallback when no formula is found.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

from ..analysis.rnn.expr import (BINARY, TERNARY, UNARY, Const, Expr, Op, Var,  # noqa: F401
                                  evaluate, render, size, variables)


# ------------------------------------------------------------------ programs
@dataclass(frozen=True)
class StateVar:
    name: str
    init: int


@dataclass(frozen=True)
class ProgramInfo:
    """What the docstring says: where the program came from and how it was checked."""

    task: str
    network: str = ""
    method: str = ""
    verification: str = "not verified yet"
    examples: tuple = ()          # ((inputs, outputs), ...) produced by the network, for _self_check


@dataclass(frozen=True)
class SymbolicProgram:
    """State variables with initial values, one update formula each, one formula per output."""

    inputs: tuple[str, ...]              # names of the input channels, e.g. ("x",) or ("a", "b")
    state: tuple[StateVar, ...]
    updates: tuple[Expr, ...]
    outputs: tuple[Expr, ...]
    output_names: tuple[str, ...] = ("y",)
    uses_t: bool = False
    info: ProgramInfo = field(default_factory=lambda: ProgramInfo(task="?"))
    form: str = "symbolic"
    output_after_update: bool = False

    def __post_init__(self) -> None:
        if self.output_after_update and set(self.output_names) & set().union(
                *(variables(u) for u in self.updates)):
            raise ValueError("with output_after_update the updates cannot read the outputs")
        if len(self.updates) != len(self.state):
            raise ValueError("one update formula per state variable is needed")
        if len(self.outputs) != len(self.output_names):
            raise ValueError("one formula per output is needed")

    @property
    def complexity(self) -> int:
        return sum(size(e) for e in self.updates + self.outputs)


@dataclass(frozen=True)
class TableProgram:
    """A Mealy machine: ``transitions[(s, symbol)] = s'``, ``emit[(s, symbol)] = y``."""

    inputs: tuple[str, ...]
    initial: int
    transitions: dict[tuple[int, Any], int]
    emit: dict[tuple[int, Any], Any]
    info: ProgramInfo = field(default_factory=lambda: ProgramInfo(task="?"))
    form: str = "table"

    @property
    def complexity(self) -> int:
        return len(self.transitions)


@dataclass(frozen=True)
class ListProgram:
    """The state is the prefix itself: ``p.append(x)``, then ``y = output`` (a Python expression
    over the list ``p``, from ``analysis.rnn.prefix.list_formulas``)."""

    inputs: tuple[str, ...]
    output: str
    info: ProgramInfo = field(default_factory=lambda: ProgramInfo(task="?"))
    form: str = "symbolic"

    @property
    def complexity(self) -> int:
        return len(self.output)


Program = Union[SymbolicProgram, TableProgram, ListProgram]

"""Program IR (state machines + formulas) -> standalone Python source, and its verifier."""

from .ir import (Const, Op, ProgramInfo, SymbolicProgram, StateVar, TableProgram, Var, render,
                 size)
from .python import to_python
from .verify import Verification, load_program, verify_source

__all__ = ["Const", "Op", "Var", "StateVar", "ProgramInfo", "SymbolicProgram", "TableProgram",
           "render", "size", "to_python", "Verification", "verify_source", "load_program"]

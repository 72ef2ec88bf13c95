"""Generated programs are standalone artefacts, and verification catches a wrong program."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from algolens import tasks
from algolens.analysis.rnn.expr import Const, Op, Var
from algolens.codegen import (ProgramInfo, StateVar, SymbolicProgram, TableProgram, render,
                              to_python, verify_source)
from algolens.studies.mips_paper import PAPER

ADD_MOD_3 = SymbolicProgram(
    inputs=("x",), state=(StateVar("s", 0),),
    updates=(Var("y"),), outputs=(Op("%", (Op("+", (Var("s"), Var("x"))), Const(3))),),
    info=ProgramInfo("Add_Mod_3", "hand-written", examples=(([1, 2, 2], [1, 0, 2]),)))
PARITY_TABLE = TableProgram(("x",), 0, {(0, 0): 0, (0, 1): 1, (1, 0): 1, (1, 1): 0},
                            {(0, 0): 0, (0, 1): 1, (1, 0): 1, (1, 1): 0},
                            info=ProgramInfo("Parity_All", examples=(([1, 1, 0], [1, 0, 0]),)))
PROGRAMS = {"symbolic": (ADD_MOD_3, "Add_Mod_3"), "table": (PARITY_TABLE, "Parity_All")}


@pytest.mark.parametrize("kind", list(PROGRAMS))
def test_program_verifies_and_runs_standalone(kind, tmp_path):
    prog, name = PROGRAMS[kind]
    src = to_python(prog)
    assert verify_source(src, tasks.get(name), n=500, n_2x=100).accuracy_2x == 1.0
    imports = [n for n in ast.walk(ast.parse(src)) if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert imports == []                            # nothing beyond builtins
    path = tmp_path / "program.py"
    path.write_text(src)
    run = subprocess.run([sys.executable, "-I", str(path)], capture_output=True, text=True)
    assert run.returncode == 0 and "self-check passed" in run.stdout
    quiet = subprocess.run([sys.executable, "-I", "-c", f"import runpy; runpy.run_path("
                            f"{str(path)!r}, run_name='m')"], capture_output=True, text=True)
    assert quiet.returncode == 0 and quiet.stdout == ""      # no prints on import


def test_mutated_constant_is_caught():
    src = to_python(ADD_MOD_3)
    bad = src.replace("% 3", "% 4")
    assert bad != src
    ver = verify_source(bad, tasks.get("Add_Mod_3"), n=500, n_2x=100)
    assert not ver.passed and ver.first_mismatch is not None


def test_broken_program_is_a_failed_verification():
    ver = verify_source("def g(xs):\n    return xs\n", tasks.get("Add_Mod_3"), n=10, n_2x=10)
    assert not ver.passed and "no function f" in ver.error


def test_render_precedence():
    e = Op("-", (Var("a"), Op("-", (Var("b"), Var("c")))))
    assert render(e) == "a - (b - c)"
    assert eval(render(Op("*", (Op("+", (Const(1), Const(2))), Const(3))))) == 9


def test_paper_columns_match_the_spec_totals():
    assert list(PAPER) == tasks.benchmark_names()
    assert sum(g for g, _ in PAPER.values()) == 30 and sum(m for _, m in PAPER.values()) == 32
    assert sum(1 for g, m in PAPER.values() if g or m) == 43


def test_cli_unknown_task_is_a_clear_error():
    from click.testing import CliRunner

    from algolens.cli import main
    out = CliRunner().invoke(main, ["mips", "Parity_Al"])
    assert out.exit_code == 2 and "did you mean" in out.output

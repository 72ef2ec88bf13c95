"""The tutorials in docs/tutorials/: one plain-text notebook per study (jupytext percent format).

The fast tests check their shape (the seven names, percent cells, a closing "At full size"
section, runs written to a temporary store, never the repo's runs/) and the runner's refusal of
an unknown name; the slow one executes every notebook through docs/execute_tutorials.py as CI
does (`python -m pytest -m slow tests/integration/test_tutorials.py`, about 5 minutes on 2 cores;
needs the docs extra: jupytext, nbclient, ipykernel).
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TUTORIALS = ROOT / "docs" / "tutorials"
RUNNER = ROOT / "docs" / "execute_tutorials.py"
NAMES = ("mips", "clock_pizza", "grokking", "nuclear", "recursion", "sparse_parity", "byo_model")


def cells(path: Path) -> list[tuple[str, str]]:
    """(kind, body) of each ``# %%`` cell of a percent-format file (header dropped)."""
    parts = re.split(r"^# %%(.*)$", path.read_text(), flags=re.M)
    return [("markdown" if "[markdown]" in head else "code", body)
            for head, body in zip(parts[1::2], parts[2::2])]


def test_one_tutorial_per_study_and_nothing_else():
    assert sorted(p.stem for p in TUTORIALS.glob("*.py")) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_tutorial_is_a_percent_notebook_that_writes_to_a_temporary_store(name):
    path = TUTORIALS / f"{name}.py"
    ast.parse(path.read_text())                           # runs as a plain script too
    got = cells(path)
    kinds = [k for k, _ in got]
    assert kinds[0] == "markdown" and kinds[-1] == "markdown" and "code" in kinds
    assert "At full size" in got[-1][1]
    code = "\n".join(b for k, b in got if k == "code")
    assert "tempfile.mkdtemp(" in code and "RunStore(tempfile.mkdtemp(" in code
    assert 'RunStore("runs")' not in code and "out=\"runs\"" not in code


@pytest.mark.parametrize("name", [n for n in NAMES if n != "byo_model"])
def test_study_tutorial_goes_through_the_contract(name):
    code = (TUTORIALS / f"{name}.py").read_text()
    assert f'registry.get("{name}")' in code
    assert "registry.run_point(" in code or "registry.run_points(" in code


def test_runner_refuses_an_unknown_name():
    pytest.importorskip("jupytext")
    out = subprocess.run([sys.executable, str(RUNNER), "--only", "no_such_study"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    assert "no_such_study" in out.stderr + out.stdout and "grokking" in out.stderr + out.stdout


@pytest.mark.slow
def test_every_tutorial_executes():
    for mod in ("jupytext", "nbclient", "ipykernel"):
        pytest.importorskip(mod)
    out = subprocess.run([sys.executable, str(RUNNER)], capture_output=True, text=True,
                         timeout=1800, cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    for name in NAMES:
        assert f"ok     {name}.py" in out.stdout
        assert (TUTORIALS / f"{name}.ipynb").is_file()

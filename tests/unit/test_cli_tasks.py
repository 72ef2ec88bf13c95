"""``algolens tasks``: the list, --json, one task in detail, user task files, errors."""

from __future__ import annotations

import json
import textwrap

import pytest
from click.testing import CliRunner

from algolens import tasks
from algolens.cli import main

TASK_FILE = """
from algolens.tasks import SequenceTask, register

register(SequenceTask(name="Cli_Double", alphabet=[0, 1, 2], length=4,
                      reference=lambda xs: [2 * x for x in xs], description="twice x_t"))
"""


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def task_file(tmp_path):
    path = tmp_path / "cli_tasks.py"
    path.write_text(textwrap.dedent(TASK_FILE))
    yield str(path)
    tasks.unregister("Cli_Double")


def test_list_has_every_benchmark_task_aligned(runner) -> None:
    res = runner.invoke(main, ["tasks"])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0].split()[:4] == ["NAME", "KIND", "IN", "L"]
    names = [ln.split()[0] for ln in lines[1:]]
    assert names[:62] == tasks.benchmark_names() and names == tasks.names(None)
    # aligned columns: the description column starts at the same offset on every line
    col = lines[0].index("DESCRIPTION")
    assert all(ln[col - 2: col] == "  " and ln[col] != " " for ln in lines[1:])
    div3 = next(ln for ln in lines if ln.startswith("Div_3 "))
    assert "quotient" in div3 and "->" in div3


def test_list_example_rows_are_right(runner) -> None:
    """The shown example is a real row: outputs are the reference of the shown inputs."""
    res = runner.invoke(main, ["tasks"])
    line = next(ln for ln in res.output.splitlines() if ln.startswith("Bitwise_Not "))
    shown_in, shown_out = line.split("  ")[-1].split(" -> ")
    xs = [int(v) for v in shown_in.replace("…", "").split()]
    ys = [int(v) for v in shown_out.replace("…", "").split()]
    assert ys == [1 - x for x in xs] and len(xs) >= 4


def test_json_list(runner) -> None:
    res = runner.invoke(main, ["tasks", "--json"])
    assert res.exit_code == 0, res.output
    records = [r for r in json.loads(res.output) if r["kind"] == "sequence"]
    assert [r["name"] for r in records] == tasks.benchmark_names()
    keys = {"name", "kind", "origin", "n_channels", "alphabet", "length", "output_dim",
            "description", "example_inputs", "example_outputs"}
    assert all(set(r) == keys for r in records)
    by_name = {r["name"]: r for r in records}
    mag = by_name["Newton_Magnetic"]
    assert mag["n_channels"] == 2 and mag["output_dim"] == 2
    assert mag["alphabet"] == [list(range(-10, 11))] * 2
    assert all(len(v) == 2 for v in mag["example_inputs"] + mag["example_outputs"])
    p5 = by_name["Prev5"]
    assert p5["length"] == 20 and len(p5["example_inputs"]) == 20
    xs = p5["example_inputs"]
    assert p5["example_outputs"] == [0] * 5 + xs[:-5]


def test_one_task_in_detail(runner) -> None:
    res = runner.invoke(main, ["tasks", "Div_3"])
    assert res.exit_code == 0, res.output
    out = res.output
    assert out.startswith("Div_3")
    assert "alphabet {0,1}" in out and "length      : 10" in out
    assert "definition" in out and "q_prev" in out
    assert out.count("    x = ") == 3 and out.count("    y = ") == 3


def test_one_task_json(runner) -> None:
    res = runner.invoke(main, ["tasks", "Sum_Last5", "--json"])
    assert res.exit_code == 0, res.output
    rec = json.loads(res.output)
    assert rec["name"] == "Sum_Last5" and rec["length"] == 20
    assert rec["alphabet"] == [list(range(100))]


def test_unknown_task_is_a_clear_error(runner) -> None:
    res = runner.invoke(main, ["tasks", "Parity_Lst3"])
    assert res.exit_code == 2
    assert "error: unknown task 'Parity_Lst3'; did you mean 'Parity_Last3'" in res.stderr
    assert res.stdout == ""


def test_task_file_adds_user_tasks(runner, task_file) -> None:
    res = runner.invoke(main, ["tasks", "--task-file", task_file])
    assert res.exit_code == 0, res.output
    last = res.output.splitlines()[-1]
    assert last.startswith("Cli_Double ") and "twice x_t" in last
    res = runner.invoke(main, ["tasks", "Cli_Double", "--task-file", task_file])
    assert res.exit_code == 0, res.output
    assert "user task" in res.output and "alphabet {0,1,2}" in res.output
    res = runner.invoke(main, ["tasks", "--json", "--task-file", task_file])
    rec = json.loads(res.output)[-1]
    assert rec["name"] == "Cli_Double"
    assert rec["example_outputs"] == [2 * x for x in rec["example_inputs"]]


def test_missing_task_file(runner, tmp_path) -> None:
    res = runner.invoke(main, ["tasks", "--task-file", str(tmp_path / "nope.py")])
    assert res.exit_code == 2
    assert "error: task file" in res.stderr and "does not exist" in res.stderr


def test_broken_task_file(runner, tmp_path) -> None:
    path = tmp_path / "broken.py"
    path.write_text("def f(:\n")
    res = runner.invoke(main, ["tasks", "--task-file", str(path)])
    assert res.exit_code == 2 and "syntax error at line 1" in res.stderr


def test_help_has_an_example(runner) -> None:
    res = runner.invoke(main, ["tasks", "--help"])
    assert res.exit_code == 0
    assert "Examples:" in res.output and "algolens tasks Div_3" in res.output
    assert "--task-file" in res.output and "--json" in res.output

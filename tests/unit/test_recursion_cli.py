"""``algolens recursion``: train (tiny), analyze, predict, errors; the study's row parser."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from algolens.cli import main
from algolens.studies.recursion import parse_rows


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    res = CliRunner().invoke(main, ["recursion", "train", "Successor", "--steps", "3", "--n-eval", "50",
                                    "--out", str(out), "--quiet", "--json"])
    assert res.exit_code == 0, res.output
    rec = json.loads(res.output)
    assert rec["steps"] == 3 and set(rec) >= {"test", "rare", "ood", "history"}
    assert "by_feature" in rec["rare"]
    return rec["run"]


def test_analyze_writes_program_and_reports(run_dir) -> None:
    res = CliRunner().invoke(main, ["recursion", "analyze", run_dir, "--n-build", "60",
                                    "--n-held", "40", "--json"])
    assert res.exit_code == 0, res.output
    rec = json.loads(res.output)
    assert set(rec["failures"]) == {"rare", "test", "ood"}
    fp = rec["failures"]["rare"]
    assert fp["n"] == 40 and 0 <= fp["P_and_F"] <= min(fp["F"], fp["P"])
    src = open(rec["program"]).read()
    ns: dict = {}
    exec(compile(src, "program.py", "exec"), ns)
    assert ns["_self_check"]() and isinstance(ns["f"]([1, 0, 1]), list)


def test_predict_reads_stdin_and_file(run_dir, tmp_path) -> None:
    runner = CliRunner()
    res = runner.invoke(main, ["recursion", "predict", run_dir, "--json"], input="1 1 0\n111\n")
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    assert [r["input"] for r in rows] == [[1, 1, 0], [1, 1, 1]]
    assert rows[1]["reference"] == [0, 0, 0, 1]
    f = tmp_path / "in.txt"
    f.write_text("# comment\n0 1\n")
    res = runner.invoke(main, ["recursion", "predict", run_dir, str(f)])
    assert res.exit_code == 0 and len(res.output.splitlines()) == 1
    bad = runner.invoke(main, ["recursion", "predict", run_dir], input="1 2\n")
    assert bad.exit_code == 2 and "not in the input alphabet" in bad.output


def test_bad_task_and_parse_rows() -> None:
    res = CliRunner().invoke(main, ["recursion", "train", "Succesor"])
    assert res.exit_code == 2 and "did you mean 'Successor'" in res.output
    res = CliRunner().invoke(main, ["recursion", "train", "Parity_Last2"])
    assert res.exit_code == 2 and "sequence task" in res.output
    assert parse_rows("110\n1, 0\n\n10 3 11 11\n", digit_runs=False) == [[110], [1, 0],
                                                                         [10, 3, 11, 11]]
    assert parse_rows("110\n", digit_runs=True) == [[1, 1, 0]]
    with pytest.raises(ValueError, match="line 1"):
        parse_rows("a b\n")


def test_demo_marks_an_untrained_model(tmp_path) -> None:
    from algolens.studies.recursion import demo
    lines = []
    res = demo(tmp_path, log=lines.append, steps=5)
    assert len(res) == 1 and not res[0].trained
    assert res[0].status.startswith("not trained (accuracy ")
    assert res[0].recall is None and res[0].program is None
    assert res[0].to_dict()["run_dir"] == str(res[0].run_dir) and lines


def test_preorder_analyze_writes_the_attention_vote_program(tmp_path) -> None:
    runner = CliRunner()
    res = runner.invoke(main, ["recursion", "train", "Preorder", "--steps", "3", "--n-eval", "30",
                               "--out", str(tmp_path), "--quiet", "--json"])
    assert res.exit_code == 0, res.output
    run = json.loads(res.output)["run"]
    res = runner.invoke(main, ["recursion", "analyze", run, "--n-build", "20", "--n-held", "15",
                               "--json"])
    assert res.exit_code == 0, res.output
    rec = json.loads(res.output)
    assert rec["method"] == "attention-vote" and rec["split"] == "rare"
    assert {p["name"] for p in rec["patching"]} >= {"L0H0", "L0H3"}
    assert all(0 <= p["changed"] <= 1 for p in rec["patching"])
    ns: dict = {}
    exec(compile(open(rec["program"]).read(), "program.py", "exec"), ns)
    assert ns["_self_check"]() and len(ns["f"]([10, 3, 11, 10, 5, 11, 11])) == 2

"""``algolens recursion``: train (tiny), analyze, predict, remedy, bad input; the row parser."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from algolens.cli import main
from algolens.studies.recursion import parse_rows

TINY = ["--d-model", "16", "--n-heads", "2", "--d-mlp", "32", "--n-layers", "1"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(store root, run id) of a 3-step Successor run (not trained)."""
    out = str(tmp_path_factory.mktemp("runs"))
    res = CliRunner().invoke(main, ["recursion", "train", "Successor", "--steps", "3",
                                    "--n-eval", "50", *TINY, "--out", out, "--quiet", "--json"])
    assert res.exit_code == 0, res.output
    rec = json.loads(res.output)
    assert rec["steps"] == 3 and set(rec) >= {"test", "rare", "ood", "history", "config"}
    assert "by_feature" in rec["rare"] and rec["config"]["task"] == "Successor"
    assert rec["dir"].endswith(rec["run"]) and rec["study"] == "recursion"
    return out, rec["run"]


def test_analyze_withholds_an_untrained_run_unless_forced(trained) -> None:
    out, run = trained
    args = ["recursion", "analyze", run, "--out", out, "--n-build", "60", "--n-held", "40"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert "not trained" in res.output and "recall" not in res.output
    assert "--force" in res.output
    rec = json.loads(CliRunner().invoke(main, [*args, "--json"]).output)
    assert rec["trained"] is False and rec["shortcut"] is None and rec["program"] is None
    res = CliRunner().invoke(main, [*args, "--force"])
    assert res.exit_code == 0, res.output
    assert res.output.startswith("Successor: NOT TRAINED") and "recall" in res.output
    rec = json.loads(CliRunner().invoke(main, [*args, "--force", "--json"]).output)
    assert rec["forced"] is True and set(rec["shortcut"]["failures"]) == {"rare", "test", "ood"}
    fp = rec["shortcut"]["failures"]["rare"]
    assert fp["n"] == 40 and 0 <= fp["P_and_F"] <= min(fp["F"], fp["P"])
    ns: dict = {}
    exec(compile(open(rec["program"]).read(), "program.py", "exec"), ns)
    assert ns["_self_check"]() and isinstance(ns["f"]([1, 0, 1]), list)


def test_analyze_opens_runs_through_the_store(trained, tmp_path) -> None:
    out, run = trained
    res = CliRunner().invoke(main, ["recursion", "analyze", run, "--out", str(tmp_path)])
    assert res.exit_code == 2 and "no run store" in res.output
    res = CliRunner().invoke(main, ["recursion", "analyze", "Successor-nope", "--out", out])
    assert res.exit_code == 2 and "no run 'Successor-nope'" in res.output


def test_predict_gives_one_line_per_input_line(trained, tmp_path) -> None:
    out, run = trained
    runner = CliRunner()
    res = runner.invoke(main, ["recursion", "predict", run, "--out", out, "--json"],
                        input="1 1 0\n111\n")
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    assert [r["input"] for r in rows] == [[1, 1, 0], [1, 1, 1]]
    assert rows[1]["reference"] == [0, 0, 0, 1]
    res = runner.invoke(main, ["recursion", "predict", run, "--out", out],
                        input="1 1 0\n\n1 0\n")
    assert res.exit_code == 0 and len(res.output.splitlines()) == 3
    assert res.output.splitlines()[1] == ""
    f = tmp_path / "in.txt"
    f.write_text("# comment\n0 1\n")
    res = runner.invoke(main, ["recursion", "predict", run, str(f), "--out", out])
    assert res.exit_code == 0 and len(res.output.splitlines()) == 2
    bad = runner.invoke(main, ["recursion", "predict", run, "--out", out], input="1 2\n")
    assert bad.exit_code == 2 and "not in the input alphabet" in bad.output


@pytest.mark.parametrize("args, says", [
    (["train", "Succesor"], "did you mean 'Successor'"),
    (["train", "Parity_Last2"], "sequence task"),
    (["train", "Successor", "--threads", "0"], "'--threads'"),
    (["train", "Successor", "--n-eval", "0"], "n_eval must be >= 1"),
    (["train", "Successor", "--steps", "0"], "steps must be >= 1"),
    (["analyze", "X", "--threads", "0"], "'--threads'"),
    (["analyze", "X", "--n-build", "0"], "'--n-build'"),
    (["analyze", "X", "--n-held", "0"], "'--n-held'"),
    (["remedy", "X", "--threads", "0"], "'--threads'"),
    (["remedy", "X", "--oversample", "1.5"], "'--oversample'"),
], ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_bad_input_is_one_error_before_work(args, says, tmp_path) -> None:
    res = CliRunner().invoke(main, ["recursion", *args, "--out", str(tmp_path / "runs")])
    assert res.exit_code == 2 and says in res.output and "Traceback" not in res.output
    assert not (tmp_path / "runs" / "recursion").exists()


def test_remedy_needs_an_analysis(trained) -> None:
    out, run = trained
    CliRunner().invoke(main, ["recursion", "analyze", run, "--out", out, "--n-build", "20",
                              "--n-held", "10"])
    res = CliRunner().invoke(main, ["recursion", "remedy", run, "--out", out])
    assert res.exit_code == 2 and "recursion analyze" in res.output


def test_parse_rows_keeps_one_entry_per_line() -> None:
    assert parse_rows("110\n1, 0\n\n10 3 11 11\n", digit_runs=False) == [[110], [1, 0], None,
                                                                         [10, 3, 11, 11]]
    assert parse_rows("110\n# c\n", digit_runs=True) == [[1, 1, 0], None]
    with pytest.raises(ValueError, match="line 1"):
        parse_rows("a b\n")


def test_preorder_analyze_writes_the_attention_vote_program(tmp_path) -> None:
    runner = CliRunner()
    res = runner.invoke(main, ["recursion", "train", "Preorder", "--steps", "3", "--n-eval", "30",
                               "--out", str(tmp_path), "--quiet", "--json"])
    assert res.exit_code == 0, res.output
    rec = json.loads(res.output)
    assert rec["config"]["n_layers"] == 1                 # the Preorder preset
    res = runner.invoke(main, ["recursion", "analyze", rec["run"], "--n-build", "20",
                               "--n-held", "15", "--force", "--no-plots", "--out",
                               str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    sc = json.loads(res.output)["shortcut"]
    assert sc["method"] == "attention-vote" and sc["split"] == "rare"
    assert {p["name"] for p in sc["patching"]} >= {"L0H0", "L0H3"}
    assert all(0 <= p["changed"] <= 1 for p in sc["patching"])
    ns: dict = {}
    exec(compile(open(json.loads(res.output)["program"]).read(), "program.py", "exec"), ns)
    assert ns["_self_check"]() and len(ns["f"]([10, 3, 11, 10, 5, 11, 11])) == 2

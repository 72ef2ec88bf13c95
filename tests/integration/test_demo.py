"""The demo end to end on tiny settings: every registered study's part, one store, one report."""

import json
import re

from click.testing import CliRunner

from algolens.cli import main
from algolens.store import RunStore
from algolens.studies import demo, registry

TINY = ("--set", "mips.task=Sum_Last2", "--set", "clock_pizza.steps=40",
        "--set", "grokking.steps=40", "--set", "nuclear.steps=3",
        "--set", "recursion.steps=5", "--set", "sparse_parity.steps=100")


def test_every_study_with_a_demo_is_in_it() -> None:
    names = [s.name for s in demo.demo_studies()]
    assert names[:1] == ["mips"] and {"clock_pizza", "grokking", "nuclear", "recursion",
                                      "sparse_parity"} <= set(names)
    assert all(registry.get(n).contract for n in names)


def test_demo_writes_one_store_and_a_self_contained_report(tmp_path):
    out = tmp_path / "runs"
    r = CliRunner().invoke(main, ["demo", "--out", str(out), "--json", *TINY])
    assert r.exit_code == 0, r.output
    rec = json.loads(r.output)
    assert rec["report"] == str(out / "demo.html")
    parts = rec["studies"]
    assert parts["mips"]["lines"] == ["MIPS: 1/1 tasks solved with verified programs"]
    assert len(parts["clock_pizza"]["runs"]) == 2
    assert parts["nuclear"]["runs"][0]["result"]["trained"] is False        # 3 steps
    assert parts["recursion"]["lines"][0].startswith("recursion Successor: not trained")
    assert "not trained" in parts["sparse_parity"]["lines"][0]              # 100 steps
    # one store: every run indexed in out/index.db, nothing else made an index
    studies = {r.study for r in RunStore(out).list()}
    assert {"mips", "clock_pizza", "grokking", "nuclear", "recursion", "sparse_parity"} <= studies
    assert [p.relative_to(tmp_path) for p in tmp_path.rglob("index.db")] == [
        out.relative_to(tmp_path) / "index.db"]
    html = (out / "demo.html").read_text()
    text = re.sub(r"<[^>]+>", "", html)
    assert "def f(xs)" in text                                  # the MIPS program is shown
    assert "not trained" in text and "Sparse parity" in text
    assert "src=\"http" not in html and "href=\"http" not in html
    runs = CliRunner().invoke(main, ["runs", "verify", "--out", str(out)])
    assert runs.exit_code == 0, runs.output


def test_demo_bad_input_fails_before_training(tmp_path):
    (tmp_path / "f.txt").write_text("")
    for args, says in ((["--out", str(tmp_path / "f.txt")], "is a file"),
                       (["--out", str(tmp_path / "f.txt" / "sub")], "cannot"),
                       (["--out", ""], "--out is empty"),
                       (["--set", "clock_pizza.stpes=3"], "no setting 'stpes'"),
                       (["--set", "clock_pizza.steps=many"], "integer"),
                       (["--only", "nucular"], "did you mean 'nuclear'")):
        out = CliRunner().invoke(main, ["demo", *args])
        assert out.exit_code == 2 and says in out.output and "Traceback" not in out.output, args
    assert not (tmp_path / "runs").exists()

"""The demo end to end on a tiny setting: a verified program and a self-contained report."""

import json
import re

from click.testing import CliRunner

from algolens.cli import main
from algolens.store import RunStore
from algolens.studies import demo


def test_demo_writes_a_self_contained_report(tmp_path):
    res = demo.run(out=tmp_path, cp_steps=40, tasks=("Sum_Last2",), grokking=False,
                   nuclear=False, recursion=False, log=lambda *_: None)
    html = res.report_path.read_text()
    text = re.sub(r"<[^>]+>", "", html)                 # the page without its markup
    assert res.report_path == tmp_path / "report.html"
    assert res.mips[0].solved and res.mips[0].verification.accuracy == 1.0
    assert "def f(xs)" in text                           # the generated program is shown
    assert html.count("data:image/png;base64") >= 2     # evidence plots of the two models
    assert "src=\"http" not in html and "href=\"http" not in html
    assert {r.summary.attn_rate for r in res.clock_pizza} == {0.0, 1.0}
    # typed results: the val-acc column is filled from the training summary
    assert all(0.0 <= r.summary.val_acc <= 1.0 for r in res.clock_pizza)
    assert "not trained (accuracy" in text              # 40 steps: no verdict is given
    studies = {r.study for r in RunStore(tmp_path / "runs").list()}
    assert studies == {"train", "mips", "clock_pizza"}


def test_demo_cli_json(tmp_path, monkeypatch):
    import functools

    from algolens.studies import nuclear, recursion
    monkeypatch.setattr(demo, "DEMO_TASKS", ("Current_Number",))
    monkeypatch.setattr(demo, "_grokking_part", lambda runs, log: [])      # CLI plumbing only
    monkeypatch.setattr(recursion, "demo", functools.partial(recursion.demo, steps=5))
    monkeypatch.setattr(nuclear, "demo", functools.partial(nuclear.demo, steps=3))
    out = CliRunner().invoke(main, ["demo", "--out", str(tmp_path), "--cp-steps", "20",
                                    "--json"])
    assert out.exit_code == 0, out.output
    rec = json.loads(out.output)
    assert rec["report"].endswith("report.html")
    assert len(rec["mips"]) == 1 and len(rec["clock_pizza"]) == 2
    assert {r["summary"]["attn_rate"] for r in rec["clock_pizza"]} == {0.0, 1.0}
    [nuc] = rec["nuclear"]                          # 3 steps: no better than the SEMF
    assert nuc["trained"] is False
    [succ] = rec["recursion"]                       # 5 steps: labelled, not interpreted
    assert succ["status"].startswith("not trained") and succ["recall"] is None


def test_demo_bad_out_fails_before_training(tmp_path):
    (tmp_path / "f.txt").write_text("")
    for bad, says in ((tmp_path / "f.txt", "is a file"), (tmp_path / "f.txt" / "sub", "cannot")):
        out = CliRunner().invoke(main, ["demo", "--out", str(bad)])
        assert out.exit_code == 2 and says in out.output and "Traceback" not in out.output
        assert not (tmp_path / "runs").exists()


def test_demo_prints_phases_as_step_spans() -> None:
    from algolens.cli.demo import _phases
    got = _phases({"memorisation": (0, 100), "circuit_formation": (100, 1600),
                   "cleanup": (1600, 1900), "rule": "a long sentence"})
    assert got == "memorisation 0-100, circuit formation 100-1600, cleanup 1600-1900"
    assert _phases({"rule": "no phases"}) == "none found"

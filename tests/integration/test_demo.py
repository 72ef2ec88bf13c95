"""The demo end to end on a tiny setting: a verified program and a self-contained report."""

import json

from click.testing import CliRunner

from algolens.cli import main
from algolens.studies import demo


def test_demo_writes_a_self_contained_report(tmp_path):
    res = demo.run(out=tmp_path, budget_seconds=30, cp_steps=40, tasks=("Sum_Last2",),
                   log=lambda *_: None)
    html = res.report_path.read_text()
    assert res.report_path == tmp_path / "report.html"
    assert res.mips[0]["solved"] and res.mips[0]["accuracy"] == 1.0
    assert "def f(xs)" in html                          # the generated program is shown
    assert html.count("data:image/png;base64") >= 2     # one embedding plot per model
    assert "src=\"http" not in html and "href=\"http" not in html
    assert {r["summary"]["attn_rate"] for r in res.clock_pizza} == {0.0, 1.0}


def test_demo_cli_json(tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "DEMO_TASKS", ("Current_Number",))
    out = CliRunner().invoke(main, ["demo", "--out", str(tmp_path), "--budget-seconds", "20",
                                    "--cp-steps", "20", "--json"])
    assert out.exit_code == 0, out.output
    rec = json.loads(out.output)
    assert rec["report"].endswith("report.html")
    assert len(rec["mips"]) == 1 and len(rec["clock_pizza"]) == 2

"""`algolens report` without training: bad paths, the generic fallback, plug-in sections, the
state-machine drawing and the Python highlighter (tiny hand-made run folders, seconds)."""

from __future__ import annotations

import io
import json
import re

import pytest
from click.testing import CliRunner
from matplotlib.figure import Figure

from algolens.cli import main
from algolens.report.build import build_report, path_kind
from algolens.report.fsm_plot import bfs_order, fmt_symbol, plot_machine
from algolens.report.highlight import highlight_python
from algolens.report.sections import Context, read_run, registered, render_run, section
from algolens.report.html import Report


def _png() -> bytes:
    fig = Figure(figsize=(2, 2))
    fig.subplots().plot([0, 1], [1, 0])
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


@pytest.fixture()
def odd_run(tmp_path):
    """A run of a study the report has never heard of."""
    d = tmp_path / "runs" / "nuclear_x" / "binding-0001"
    d.mkdir(parents=True)
    (d / "config.json").write_text(json.dumps({"study": "nuclear_x", "key": "binding", "seed": 3,
                                               "model": {"width": 16}}))
    (d / "metrics.json").write_text(json.dumps({"rms_kev": 312.5, "fits": [{"n": 1, "err": 0.5},
                                                                           {"n": 2, "err": 0.25}],
                                                "history": {"step": [0, 1, 2],
                                                            "train_loss": [3, 2, 1]}}))
    (d / "residuals.png").write_bytes(_png())
    return d


def test_generic_fallback_shows_everything(odd_run) -> None:
    html = build_report(odd_run).report.to_html()
    assert "rms_kev" in html and ">312.5<" in html               # key metric card
    assert "model.width" in html                                 # config, flattened
    assert html.count("<img ") == 2                              # the PNG + the history plot
    assert "<caption>metrics.json: fits</caption>" in html
    assert 'class="sortable"' in html and "<script>" in html


def test_runs_folder_indexes_runs_without_an_index_db(odd_run) -> None:
    built = build_report(odd_run.parent.parent)
    html = built.report.to_html()
    assert built.kind == "runs" and built.runs == 1
    assert 'href="#r-binding-0001"' in html and 'id="r-binding-0001"' in html


def test_a_study_plugs_in_its_own_section(odd_run) -> None:
    @section("nuclear_x")
    def render(rep, run, ctx):
        rep.add_text(f"binding energies of {run.key}")
    try:
        assert "nuclear_x" in registered()
        html = build_report(odd_run).report.to_html()
        assert "binding energies of binding" in html and "model.width" not in html
    finally:
        from algolens.report import sections
        sections._SECTIONS.pop("nuclear_x")


def test_a_failing_section_falls_back_with_a_note(odd_run) -> None:
    @section("nuclear_x")
    def render(rep, run, ctx):
        raise KeyError("energy")
    try:
        rep = Report("t")
        render_run(rep, read_run(odd_run), Context())
        html = rep.to_html()
        assert "could not be drawn (KeyError" in html and "model.width" in html
    finally:
        from algolens.report import sections
        sections._SECTIONS.pop("nuclear_x")


def test_builtin_sections_are_registered() -> None:
    from algolens.report.sections import renderer_for
    from algolens.report.sections.generic import render
    assert {"mips", "train"} <= set(registered())
    for study in ("clock_pizza", "grokking"):        # on the contract: Study.report_section
        assert study not in registered() and renderer_for(study) is not render


def test_clock_pizza_not_trained_withholds_the_verdict(tmp_path) -> None:
    from algolens.store import RunStore
    from algolens.studies import registry
    cp = registry.get("clock_pizza")
    cfg = cp.make_config(p=7, width=8, heads=2, steps=5)
    [(run, res)] = registry.run_points(cp, [(cfg, 0)], RunStore(tmp_path / "runs"),
                                       progress=False)
    assert res.verdict == "not trained" and res.s_g is None
    html = build_report(run.dir, recompute=False).report.to_html()
    assert "withheld (not trained)" in html and "Not trained" in html
    assert ">Pizza<" not in html and ">Clock<" not in html


@pytest.mark.parametrize("make,msg", [
    (lambda p: p / "missing", "does not exist"),
    (lambda p: (p / "f.txt").write_text("x") and p / "f.txt", "is a file"),
    (lambda p: p, "holds no run, benchmark or runs"),
], ids=["missing", "file", "empty-folder"])
def test_bad_path_is_a_clear_error(tmp_path, make, msg) -> None:
    path = make(tmp_path)
    with pytest.raises(ValueError, match=msg):
        path_kind(path)
    res = CliRunner().invoke(main, ["report", str(path)])
    assert res.exit_code == 2 and msg in res.output and "Traceback" not in res.output
    assert "runs/<study>/<run-id>" in res.output                 # says what to pass instead


def test_unwritable_out_fails_before_work(odd_run, tmp_path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file")
    for out, msg in ((blocker / "r.html", "is a file, not a folder"), (tmp_path, "is a folder")):
        res = CliRunner().invoke(main, ["report", str(odd_run), "--out", str(out)])
        assert res.exit_code == 2 and msg in res.output, res.output
    assert not (odd_run / "report.html").exists()


def test_cli_writes_one_self_contained_file(odd_run, tmp_path) -> None:
    out = tmp_path / "sub" / "r.html"
    res = CliRunner().invoke(main, ["report", str(odd_run), "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    info = json.loads(res.output)
    assert info["kind"] == "run" and info["images"] == 2
    html = out.read_text()
    assert not re.search(r'(src|href)="(?!data:|#)', html)       # nothing fetched


def test_machine_drawing() -> None:
    m = {"symbols": [0, [1, 2]], "initial": 1, "next": [[0, 1], [0, 2], [2, 2]],
         "out": [[0, 1], [1, 0], [[1, 0], 1]], "exact": [[True, True], [True, False], [True, True]]}
    assert bfs_order(m["next"], 1) == [1, 0, 2]
    assert fmt_symbol([1, 2]) == "12" and fmt_symbol([10, 2]) == "(10,2)"
    fig = plot_machine(m)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "0/0" in texts and "12/1" in texts and "12/0*" in texts   # snapped edge marked
    with pytest.raises(ValueError, match="too many"):
        plot_machine({"symbols": [0], "initial": 0, "next": [[i] for i in range(41)],
                      "out": [[0]] * 41})


def test_highlighter_keeps_the_text() -> None:
    src = 'def f(x):\n    """doc"""\n    return [x < 3, "&", 1.5]  # note\n'
    out = highlight_python(src)
    assert '<span class="tok-kw">def</span> <span class="tok-def">f</span>' in out
    assert '<span class="tok-com"># note</span>' in out
    plain = re.sub(r"</?span[^>]*>", "", out)
    assert plain == src.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&#34;")
    assert highlight_python('x = """open') == "x = &#34;&#34;&#34;open"   # not Python: escaped

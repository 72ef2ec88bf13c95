"""The two modular-addition studies on the contract: the one trained rule, withheld read-outs of
untrained runs, the demo's lines (exactly as `algolens demo` printed them before the contract)
and its report section."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from algolens.analysis.transformer.progress import Phases
from algolens.report.html import Report
from algolens.store import RunStore
from algolens.studies import registry
from algolens.studies.clock_pizza import ClockPizzaResult
from algolens.studies.grokking import GrokkingResult

CP, GK = registry.get("clock_pizza"), registry.get("grokking")
# the demo's two Clock/Pizza runs and its grokking run, as the demo measured them before the
# study contract (reduced-p31-d32 α = 0 and 1, quick-p31-d32; seed 0)
PIZZA = ClockPizzaResult(0.0, 31, 32, 4000, 1.0, 1.0, "Pizza", "Pizza", s_g=0.9923990905284882,
                         q=0.3941234023007948, circularity=0.9987361389640224)
CLOCK = replace(PIZZA, attn_rate=1.0, verdict="Clock", raw_verdict="Clock",
                s_g=0.21236071621999145, q=0.8291279320887484, circularity=0.9968813347847554)
GROK = GrokkingResult(31, 32, 3000, 1.0, 1.0, (5, 14),
                      Phases((0, 100), (100, 1600), (1600, 1900), "rule"))


@pytest.mark.parametrize("val_acc, trained", [(0.99, True), (1.0, True), (0.9899, False),
                                              (float("nan"), False)])
def test_one_trained_rule(val_acc, trained) -> None:
    assert CP.trained(replace(PIZZA, val_acc=val_acc)) is trained
    assert GK.trained(replace(GROK, val_acc=val_acc)) is trained


def test_demo_lines_are_the_ones_the_demo_printed() -> None:
    assert CP.demo_lines([(None, PIZZA), (None, CLOCK)]) == [
        "Clock/Pizza α=0: Pizza (s_g=0.992, q=0.394, c=0.9987)",
        "Clock/Pizza α=1: Clock (s_g=0.212, q=0.829, c=0.9969)"]
    assert GK.demo_lines([(None, GROK)]) == [
        "grokking p=31: val acc 1.000, key frequencies [5, 14], phases memorisation 0-100, "
        "circuit formation 100-1600, cleanup 1600-1900"]
    untrained = replace(PIZZA, val_acc=0.25, verdict="not trained", s_g=None, q=None,
                        circularity=None)
    assert CP.demo_lines([(None, untrained)]) == ["Clock/Pizza α=0: not trained (accuracy 0.25)"]
    assert GK.demo_lines([(None, replace(GROK, val_acc=0.5))]) == \
        ["grokking p=31: not trained (accuracy 0.50)"]


def test_demo_section_tables() -> None:
    rep = Report("t")
    CP.demo_section(rep, [(None, PIZZA), (None, CLOCK)])
    GK.demo_section(rep, [(None, GROK)])
    html = rep.to_html()
    for text in ("Clock vs Pizza", "Pizza-like", "Clock-like", "0.9924", "Grokking", "5, 14",
                 "(100, 1600)", "A model below 99% validation accuracy gets no verdict."):
        assert text in html, text


def test_untrained_runs_are_not_interpreted_unless_forced(tmp_path) -> None:
    store = RunStore(tmp_path)
    cfg = CP.make_config(p=7, width=8, heads=2, steps=5)
    [(run, res)] = registry.run_points(CP, [(cfg, 0)], store, progress=False)
    assert not CP.trained(res) and res.verdict == "not trained" and res.reason
    assert res.s_g is None and res.raw_verdict is None and res.plots == []
    assert store.open(run.id).result == res                      # saved, typed, read back
    forced = CP.analyze(run, force=True)
    assert forced.verdict == "not trained" and forced.raw_verdict is not None
    assert not math.isnan(forced.s_g) and len(forced.plots) == 3
    gcfg = GK.make_config(p=7, width=8, heads=2, steps=4)
    [(grun, gres)] = registry.run_points(GK, [(gcfg, 0)], store, progress=False)
    assert gres.key_freqs == () and gres.phases is None and gres.table == [] and gres.reason
    assert [r.step for r in GK.analyze(grun, force=True).table] == [0, 1, 2, 3, 4]
    row = CP.summary_row(run, res)
    assert row["verdict"] == f"not trained (accuracy {res.val_acc:.2f})" and row["s_g"] is None


def test_a_diverged_run_is_failed_and_says_why(tmp_path) -> None:
    cfg = CP.make_config(p=7, width=8, heads=2, steps=20, lr=1e6)
    [(run, res)] = registry.run_points(CP, [(cfg, 0)], RunStore(tmp_path), progress=False)
    assert run.status == "failed" and res.verdict == "diverged" and res.s_g is None
    assert CP.verdict_text(res).startswith("diverged: loss became") and "lower --lr" in res.reason

"""The distiller is a function of (network, config): searches are bounded by work, and the
wall-clock safety cap, when it bites, says "budget exhausted" instead of answering differently."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_mips_counters import add_mod_3, majority_0_1

from algolens.analysis.rnn import (EXHAUSTED, ClusterFSM, FormulaSearch, IntegerSR,
                                   StateCollector)
from algolens.studies import mips

torch.set_num_threads(1)
NETS = {"Add_Mod_3": add_mod_3, "Majority_0_1": majority_0_1}


@pytest.mark.parametrize("case", list(NETS))
def test_two_distillations_give_the_same_program(case):
    task, net = NETS[case]()
    with torch.no_grad():
        a = mips.distill(net, task, "hand-built")
        b = mips.distill(net, task, "hand-built")
    assert a[0] == "symbolic" and a[1] is not None, [(p.name, p.reason) for p in a[3]]
    assert a[1] == b[1]                                     # identical program source
    assert [(p.name, p.ok) for p in a[3]] == [(p.name, p.ok) for p in b[3]]


def _hard_problem():
    s, x = (v.ravel() for v in np.meshgrid(np.arange(-4, 5), np.arange(3), indexing="ij"))
    return {"s": s, "x": x}, {"y": (s * s + 3 * x) % 4 - (s > x)}   # not found at size 6


def test_integer_sr_stops_on_its_candidate_bound_identically():
    env, target = _hard_problem()
    runs = [IntegerSR(6, max_candidates=5_000).fit(env, target) for _ in range(2)]
    assert [r.stopped_ for r in runs] == ["candidates", "candidates"]
    assert [r.n_evaluated_ for r in runs] == [5_000, 5_000]
    assert runs[0].size_reached_ == runs[1].size_reached_ < 6
    assert not runs[0].budget_exhausted_


def test_integer_sr_finds_a_formula_beyond_size_7():
    """clip(s + x - 1, 0, 2) has no formula of size <= 7 here; the size/candidate bound, not a
    clock, decides how far the search goes."""
    env, _ = _hard_problem()
    want = np.clip(env["s"] + env["x"] - 1, 0, 2)
    sr = IntegerSR(9, consts=(0, 1, 2), max_candidates=3_000_000).fit(env, {"y": want})
    assert sr.formulas_["y"] is not None and sr.stopped_ == "done", sr.report_
    assert 7 < sr.sizes_["y"] <= 9 and sr.size_reached_ >= 7


def test_safety_cap_marks_the_search_budget_exhausted():
    env, target = _hard_problem()
    sr = IntegerSR(6, time_cap=-1.0).fit(env, target)
    assert sr.budget_exhausted_ and sr.stopped_ == "fuse"


def test_formula_search_cap_fails_with_budget_exhausted():
    task, net = add_mod_3()
    fsm = ClusterFSM().fit(net, task, StateCollector().fit(net, task).collection_)
    assert fsm.machine_ is not None
    fs = FormulaSearch(time_cap=-1.0).fit(fsm.machine_, task)
    assert fs.budget_exhausted_ and fs.formulas_ is None and EXHAUSTED in fs.report_


def test_distill_reports_budget_exhausted_in_the_pass_record():
    """With the cap forced, the formula search fails as "budget exhausted" (visible in the pass
    record, hence in mips.json) and the result is not its symbolic program: the hand-built
    Add_Mod_3 net falls back to its transition table."""
    task, net = add_mod_3()
    with torch.no_grad():
        form, src, ver, passes = mips.distill(net, task, "hand-built", time_cap=-1.0)
    rec = next(p for p in passes if p.name == "formula_search")
    assert not rec.ok and rec.reason.startswith(EXHAUSTED), rec.reason
    res = mips.MIPSResult(task.name, src is not None, form, src, ver, passes=passes)
    js = res.to_dict()["passes"]
    assert any(p["name"] == "formula_search" and EXHAUSTED in p["reason"] for p in js)
    assert form == "table"                    # the fallback that needs no search

"""Histogram (symbol-count) pass, argmax expressions, and the exact tidying of generated code."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from algolens.analysis.rnn import CountFormulas, StateCollector
from algolens.analysis.rnn.boolean_sr import compact_boolean
from algolens.analysis.rnn.expr import Const, Op, Var, evaluate, fold, render
from algolens.codegen import ProgramInfo, StateVar, SymbolicProgram, to_python, verify_source
from algolens.codegen.build import from_counts
from algolens.codegen.verify import load_program
from algolens.studies import mips
from algolens.tasks import get


class CounterNet:
    """Hand-built counter: h = one-hot counts, readout = argmax (first maximum)."""

    def __init__(self, n_symbols: int) -> None:
        self.S = n_symbols

    def initial_state(self, batch: int) -> torch.Tensor:
        return torch.zeros(batch, self.S)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.one_hot(x.long(), self.S).float()      # [..., S]

    def step(self, h: torch.Tensor, feat: torch.Tensor) -> torch.Tensor:
        return h + feat

    def readout(self, h: torch.Tensor) -> torch.Tensor:
        return torch.argmax(h, -1, keepdim=True).float()                 # ties: first index


class LastNet(CounterNet):
    """Not order-invariant: remembers only the last input and outputs it."""

    def step(self, h: torch.Tensor, feat: torch.Tensor) -> torch.Tensor:
        return feat


@pytest.mark.parametrize("task", ["Majority_0_1", "Majority_0_2", "Majority_0_3"])
def test_counter_network_gives_argmax_of_counts(task):
    t = get(task)
    est = CountFormulas(n=200).fit(CounterNet(len(t.symbols)), t)
    assert est.model_ is not None, est.report_
    assert est.model_.output.op == "argmax"
    assert est.invariance_ == 1.0 and est.fidelity_ == 1.0 and est.fidelity_2x_ == 1.0
    ver = verify_source(to_python(from_counts(est.model_, ProgramInfo(task))), t, n=500,
                        n_2x=200)
    assert ver.accuracy == 1.0 and ver.accuracy_2x == 1.0, ver.summary()


def test_order_dependent_network_is_rejected():
    t = get("Majority_0_2")
    est = CountFormulas(n=200).fit(LastNet(3), t)
    assert est.model_ is None
    assert est.invariance_ < 0.9
    assert "not a function of the symbol counts" in est.report_


def test_histogram_pass_in_the_study_verifies():
    t = get("Majority_0_2")
    passes, net = [], CounterNet(3)
    states = StateCollector().fit(net, t).collection_
    got = mips._histogram(net, t, ProgramInfo(t.name), passes, states, time_cap=120.0)
    assert got is not None and passes[-1].name == "histogram" and passes[-1].ok
    src, ver, _ = got
    assert ver.accuracy_2x == 1.0 and ver.verdict == "faithful and correct"
    assert "[c0, c1, c2].index(max(c0, c1, c2))" in src
    assert load_program(src)([2, 1, 1, 2, 0]) == [2, 1, 1, 1, 1]


def test_argmax_ties_go_to_the_smaller_index_in_numpy_and_python():
    e = Op("argmax", (Var("a"), Var("b"), Var("c")))
    env = {"a": np.array([1, 0, 2, 3]), "b": np.array([1, 2, 2, 0]), "c": np.array([0, 2, 1, 3])}
    want = [0, 1, 0, 0]
    assert evaluate(e, env).tolist() == want
    fn = eval(f"lambda a, b, c: {render(e)}")
    assert [fn(*(int(env[k][i]) for k in "abc")) for i in range(4)] == want


def test_output_after_update_renders_updates_first_and_refuses_reading_outputs():
    p = from_counts(_model(), ProgramInfo("t"))
    src = to_python(p)
    assert src.index("c0, c1 = c0 + int(x == 0)") < src.index("y = [c0, c1]")
    with pytest.raises(ValueError, match="cannot read the outputs"):
        SymbolicProgram(("x",), (StateVar("s", 0),), (Var("y"),), (Var("s"),),
                        output_after_update=True)


def _model():
    from algolens.analysis.rnn.histogram import CountModel
    return CountModel("x", (0, 1), ("c0", "c1"), Op("argmax", (Var("c0"), Var("c1"))))


# ------------------------------------------------------------------ tidying generated code
X, Y = Var("x"), Var("y")
FOLDS = [
    ("x + 0", Op("+", (X, Const(0))), "x"),
    ("0 + x", Op("+", (Const(0), X)), "x"),
    ("1 * x", Op("*", (Const(1), X)), "x"),
    ("x * 1", Op("*", (X, Const(1))), "x"),
    ("x // 1", Op("//", (X, Const(1))), "x"),
    ("x + -y", Op("+", (X, Op("neg", (Y,)))), "x - y"),
    ("2 * 3 + x", Op("+", (Op("*", (Const(2), Const(3))), X)), "6 + x"),
    ("select(1, x, y)", Op("select", (Const(1), X, Y)), "x"),
    ("x % 2 kept", Op("%", (X, Const(2))), "x % 2"),
    ("x * 0 kept", Op("*", (X, Const(0))), "x * 0"),
    ("1 // 0 kept", Op("//", (Const(1), Const(0))), "1 // 0"),
]


@pytest.mark.parametrize("name,expr,want", FOLDS, ids=[f[0] for f in FOLDS])
def test_fold_is_exact(name, expr, want):
    got = fold(expr)
    assert render(got) == want
    vals = np.arange(-5, 6)
    try:
        before = evaluate(expr, {"x": vals, "y": vals[::-1]})
    except ZeroDivisionError:
        return
    assert np.array_equal(np.broadcast_to(evaluate(got, {"x": vals, "y": vals[::-1]}),
                                          vals.shape), np.broadcast_to(before, vals.shape))


def test_select_condition_renders_without_int():
    e = Op("select", (Op("<", (X, Y)), X, Y))
    assert render(e) == "x if x < y else y"


def test_compact_boolean_gives_parity_and_keeps_the_function():
    a, b, c = Var("a"), Var("b"), Var("c")
    n = lambda v: Op("not", (v,))                                        # noqa: E731
    A = lambda u, v: Op("&", (u, v))                                      # noqa: E731
    O = lambda u, v: Op("|", (u, v))                                      # noqa: E731
    sop = O(O(O(A(A(a, n(b)), n(c)), A(A(n(a), b), n(c))), A(A(n(a), n(b)), c)), A(A(a, b), c))
    got = compact_boolean(sop)
    assert render(got) == "(a + b + c) % 2"
    grid = {k: (np.arange(8) >> i) & 1 for i, k in enumerate("abc")}
    assert np.array_equal(evaluate(got, grid), evaluate(sop, grid))
    and_ = A(a, b)                                   # already minimal: left alone
    assert compact_boolean(and_) is and_

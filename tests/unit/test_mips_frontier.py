"""The MIPS frontier (issue 12): formulas beyond size 7, on user tasks, from hand-built networks.

A second-order RNN with one-hot states, h' = sum_k [x = k] h W_k, y = h v, runs any finite state
machine exactly; it stands for a trained network whose update is bilinear in state and input.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from algolens.analysis.rnn import IntegerSR
from algolens.analysis.rnn.expr import evaluate, size
from algolens.codegen import load_program
from algolens.studies import mips
from algolens.tasks import SequenceTask
from algolens.tasks.library import _cumulative as _scan   # s_t = step(s_{t-1}, x_t)

torch.set_num_threads(1)


class SecondOrderRNN(torch.nn.Module):
    """One-hot state machine as a bilinear RNN (the adapter interface of the distiller)."""

    def __init__(self, symbols, n_states: int, start: int, nxt, out) -> None:
        super().__init__()
        self.symbols, self.n, self.start = list(symbols), n_states, start
        W = torch.zeros(len(self.symbols), n_states, n_states)
        for k, x in enumerate(self.symbols):
            for s in range(n_states):
                W[k, s, nxt(s, x)] = 1.0
        self.W = W
        self.v = torch.tensor([float(out(s)) for s in range(n_states)])

    def initial_state(self, batch: int) -> torch.Tensor:
        h = torch.zeros(batch, self.n)
        h[:, self.start] = 1.0
        return h

    def encode(self, x) -> torch.Tensor:
        x = torch.as_tensor(x, dtype=torch.float32)
        return torch.stack([(x == v).float() for v in self.symbols], -1)

    def step(self, h: torch.Tensor, feat: torch.Tensor) -> torch.Tensor:
        return torch.einsum("bk,bs,kst->bt", feat, h, self.W)

    def readout(self, h: torch.Tensor) -> torch.Tensor:
        return (h @ self.v)[:, None]


def clipped_counter():
    """Saturating doubling counter: s' = clip(2 s - x, -1, 3), output s' (5 states; no formula
    of size <= 7 on the output labelling)."""
    step = lambda s, x: min(max(2 * s - x, -1), 3)                 # noqa: E731
    task = SequenceTask("User_Clipped_Counter", [0, 1, 2], 8, _scan(step, 1))
    return task, SecondOrderRNN(task.symbols, 5, 2, lambda i, x: step(i - 1, x) + 1,
                                lambda i: i - 1)


def bilinear():
    """Bilinear update in state x input: s' = (s (x + 1) + x) mod 5, output s'."""
    step = lambda s, x: (s * (x + 1) + x) % 5                       # noqa: E731
    task = SequenceTask("User_Bilinear", [0, 1, 2], 8, _scan(step, 1))
    return task, SecondOrderRNN(task.symbols, 5, 1, step, lambda s: s)


@pytest.mark.parametrize("make", [clipped_counter, bilinear])
def test_user_tasks_beyond_size_7_are_solved_symbolically(make):
    task, net = make()
    task.validate()
    with torch.no_grad():
        form, src, ver, passes = mips.distill(net, task, "second-order RNN (hand-built)")
    assert form == "symbolic" and ver.passed and ver.accuracy_2x == 1.0, [
        (p.name, p.ok, p.reason) for p in passes]
    rec = next(p for p in passes if p.name == "formula_search")
    assert rec.ok and "largest formula" in rec.reason
    assert rec.extra["largest_formula"] > 7, src                  # beyond the old bound
    f = load_program(src)
    xs = task.sample(50, np.random.default_rng(0), 10 * task.length)
    assert all(f(task._row_to_list(r)) == task.reference(task._row_to_list(r)) for r in xs)


def test_composition_reaches_size_11_to_15_bounded_by_size():
    s, x = (v.ravel() for v in np.meshgrid(np.arange(-1, 4), np.arange(-1, 2), indexing="ij"))
    env = {"s": s, "x": x}
    want = np.where(x > 0, s * s - x, 3 - s)                      # a select of size ~14
    sr = IntegerSR(7, consts=(0, 1, 2)).fit(env, {"y": want})
    e = sr.formulas_["y"]
    assert e is not None and 11 <= size(e) <= 15, sr.report_
    assert np.array_equal(evaluate(e, env), want)
    assert sr.largest_ == size(e) and "y" in sr.composed_
    off = IntegerSR(7, consts=(0, 1, 2), max_compose=0).fit(env, {"y": want})
    assert off.formulas_["y"] is None                              # the size bound decides
    again = IntegerSR(7, consts=(0, 1, 2)).fit(env, {"y": want})   # a function of its inputs
    assert again.formulas_ == sr.formulas_ and again.n_composed_ == sr.n_composed_


def flawed_counter():
    """clip(s + x - 1, 0, 5), but the network steps down from 5 on input 2 (wrong on ~1% of
    sequences of length 8): a network at 99%."""
    good = lambda s, x: min(max(s + x - 1, 0), 5)                  # noqa: E731
    bad = lambda s, x: 4 if (s, x) == (5, 2) else good(s, x)       # noqa: E731
    task = SequenceTask("User_Counter_0_5", [0, 1, 2], 8, _scan(good, 0))
    return task, SecondOrderRNN(task.symbols, 6, 0, bad, lambda s: s)


def test_imperfect_network_yields_its_faithful_program_and_the_departures():
    task, net = flawed_counter()
    xs = task.sample(4000, np.random.default_rng(1))
    net_acc = float(np.mean((mips_outputs(net, xs) == task.targets(xs)).all(1)))
    assert 0.97 < net_acc < 0.999                                   # a network at ~99%
    with torch.no_grad():
        form, src, ver, passes = mips.distill(net, task, "flawed")
    assert src is not None and ver.faithful and not ver.passed
    assert ver.verdict == "faithful, not correct"
    assert ver.fidelity_at(1) == 1.0 and ver.fidelity_at(2) == 1.0
    assert dict(ver.network_accuracy)[1] < 1.0
    f = load_program(src)
    assert np.array_equal(np.array([f(task._row_to_list(r)) for r in xs]), mips_outputs(net, xs))
    assert ver.departures                                           # named inputs
    for inp, want, got in ver.departures:
        assert want == task.reference(inp) and got == f(inp) and got != want
        assert got == mips_outputs(net, np.array([inp]))[0].tolist()
    assert "faithful, not correct" in src                           # said in the docstring


def mips_outputs(net, xs):
    from algolens.analysis.rnn import network_outputs
    return network_outputs(net, xs)


def test_canonical_forms_read_as_a_person_writes_them():
    from algolens.analysis.rnn.expr import Const, Op, Var
    from algolens.codegen.python import render
    x, r, s = Var("x"), Var("r"), Var("s")
    assert render(Op("+", (x, Op("+", (r, r))))) == "x + 2 * r"
    assert render(Op("<", (Const(1), Op("+", (x, Op("-", (r, Const(2)))))))) == "int(x + r > 3)"
    assert render(Op("+", (Const(1), Op("-", (Const(2), s))))) == "3 - s"
    # floor division is not polynomial: only its argument is rewritten
    e = Op("//", (Op("+", (x, x)), Const(2)))
    assert render(e) == "2 * x // 2"


def test_program_without_position_has_no_loop_index():
    task, net = clipped_counter()
    with torch.no_grad():
        _, src, _, _ = mips.distill(net, task, "hand-built")
    assert "for x in xs:" in src and "enumerate" not in src


class DepthAndFlag(torch.nn.Module):
    """Balanced_Parenthesis by hand: depth d (frozen at -1 once negative) and a flag."""

    def initial_state(self, batch: int) -> torch.Tensor:
        return torch.zeros(batch, 2)

    def encode(self, x) -> torch.Tensor:
        return torch.as_tensor(x, dtype=torch.float32).unsqueeze(-1)

    def step(self, h: torch.Tensor, feat: torch.Tensor) -> torch.Tensor:
        d = h[:, :1] + 1 - 2 * feat
        sunk = torch.maximum(h[:, 1:], (d < 0).float())
        return torch.cat([torch.where(sunk > 0, torch.full_like(d, -1.0), d), sunk], 1)

    def readout(self, h: torch.Tensor) -> torch.Tensor:
        return ((h[:, :1] == 0) & (h[:, 1:] == 0)).float()


def test_balanced_parenthesis_is_a_counter_and_a_flag_exact_at_10x():
    from algolens import tasks
    task = tasks.get("Balanced_Parenthesis")
    with torch.no_grad():
        form, src, ver, passes = mips.distill(DepthAndFlag(), task, "hand-built")
    assert form == "symbolic" and ver.accuracy_10x == 1.0, [(p.name, p.reason) for p in passes]
    assert "labelling 'counter'" in next(p.reason for p in passes if p.name == "formula_search")
    assert "count = 0" in src and "absorbed = 0" in src        # names from the roles


class PrefixCode(torch.nn.Module):
    """Bit_Palindrome by hand: the state is an injective code of the prefix (sum x_i 2^i, t)."""

    def initial_state(self, batch: int) -> torch.Tensor:
        return torch.zeros(batch, 2, dtype=torch.float64)

    def encode(self, x) -> torch.Tensor:
        return torch.as_tensor(x, dtype=torch.float64).unsqueeze(-1)

    def step(self, h: torch.Tensor, feat: torch.Tensor) -> torch.Tensor:
        t = h[:, 1:]
        return torch.cat([h[:, :1] + feat.double() * 2.0 ** t, t + 1], 1)

    def readout(self, h: torch.Tensor) -> torch.Tensor:
        code, n = h[:, 0].long(), h[:, 1].long()
        i = torch.arange(64)
        bits = (code[:, None] >> i) & 1
        j = (n[:, None] - 1 - i).clamp(0, 63)
        mirror = torch.gather(bits, 1, j)
        ok = ((bits == mirror) | (i >= n[:, None])).all(1)
        return ok.double()[:, None]


def test_bit_palindrome_prefix_code_gives_a_list_program():
    from algolens import tasks
    from algolens.analysis.rnn.prefix import PrefixFormulas
    from algolens.codegen import ProgramInfo, verify_source
    from algolens.codegen.ir import ListProgram
    from algolens.codegen.python import to_python
    task = tasks.get("Bit_Palindrome")
    with torch.no_grad():
        est = PrefixFormulas().fit(PrefixCode(), task)
    assert est.injective_ and est.formula_ == "int(p == p[::-1])", est.report_
    src = to_python(ListProgram(("x",), est.formula_, ProgramInfo(task.name)))
    ver = verify_source(src, task, n=2000, n_10x=100)
    assert ver.passed and ver.accuracy_2x == 1.0 and ver.accuracy_10x == 1.0
    assert "p.append(x)" in src


def test_a_compressing_network_is_not_a_prefix_code():
    from algolens.analysis.rnn.prefix import PrefixFormulas
    task, net = bilinear()
    with torch.no_grad():
        est = PrefixFormulas().fit(net, task)
    assert not est.injective_ and est.formula_ is None

"""Hand-built networks with exact weights: network, state machine and program must agree."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from algolens import tasks
from algolens.analysis.rnn import (FormulaSearch, FSMExtractor, IntegerRecurrence, IntegerSR,
                                   network_outputs)
from algolens.analysis.rnn.boolean_sr import espresso_formulas
from algolens.analysis.rnn.expr import evaluate, render
from algolens.analysis.rnn.fsm import MealyMachine, minimise
from algolens.codegen import load_program
from algolens.models.rnn import MIPSRNN, RNNConfig
from algolens.studies import mips

torch.set_num_threads(1)


def linear_net(W, U, C, b=None, d=None) -> MIPSRNN:
    """MIPSRNN with h_t = h W + x U + b, y = h C + d (input/output scales 1)."""
    W, U, C = (torch.tensor(np.asarray(a, dtype=np.float32)) for a in (W, U, C))
    H = W.shape[0]
    net = MIPSRNN(RNNConfig(n_inputs=U.shape[0], n_outputs=C.shape[1], hidden=H))
    with torch.no_grad():
        net.core.f0_W[0] = torch.cat([W, U], 0)
        net.core.f0_b[0] = torch.zeros(H) if b is None else torch.tensor(b, dtype=torch.float32)
        net.core.g0_W[0] = C
        net.core.g0_b[0] = torch.zeros(C.shape[1]) if d is None else torch.tensor(d)
    return net


class ParityCell(torch.nn.Module):
    """Bring-your-own network: nn.RNNCell (ReLU) computing h' = |h - x| as relu(h-x)+relu(x-h)."""

    def __init__(self) -> None:
        super().__init__()
        self.cell = torch.nn.RNNCell(1, 2, nonlinearity="relu")
        with torch.no_grad():
            self.cell.weight_ih.copy_(torch.tensor([[-1.0], [1.0]]))
            self.cell.weight_hh.copy_(torch.tensor([[1.0, 1.0], [-1.0, -1.0]]))
            self.cell.bias_ih.zero_()
            self.cell.bias_hh.zero_()

    def initial_state(self, batch: int) -> torch.Tensor:
        return torch.zeros(batch, 2)

    def encode(self, x) -> torch.Tensor:
        return torch.as_tensor(x, dtype=torch.float32).unsqueeze(-1)

    def step(self, h: torch.Tensor, feat: torch.Tensor) -> torch.Tensor:
        return self.cell(feat, h)

    def readout(self, h: torch.Tensor) -> torch.Tensor:
        return h.sum(-1, keepdim=True)


CASES = {
    "Sum_All": lambda: linear_net([[1]], [[1]], [[1]]),
    "Sum_Last2": lambda: linear_net([[0, 1], [0, 0]], [[1, 0]], [[1], [1]]),
    "Prev1": lambda: linear_net([[0, 1], [0, 0]], [[1, 0]], [[0], [1]]),
    "Parity_All": ParityCell,
}


def _rows(task, n=200, length=None):
    return task.sample(n, np.random.default_rng(5), length or task.length)


@pytest.mark.parametrize("name", list(CASES))
def test_network_and_program_agree(name):
    task, net = tasks.get(name), CASES[name]()
    res = mips.run(task, network=net, write=False)
    assert res.solved and res.form == "symbolic", res.passes
    f = load_program(res.program_source)
    xs = _rows(task, length=2 * task.length)
    want = network_outputs(net, xs).tolist()
    assert [f(task._row_to_list(r)) for r in xs] == want


def test_state_machine_agrees_with_network_and_program():
    task, net = tasks.get("Parity_All"), ParityCell()
    fsm = FSMExtractor().fit(net, task)
    assert fsm.machine_.n_states == 2 and fsm.fidelity_ == 1.0 and fsm.closed_
    xs = _rows(task)
    assert fsm.machine_.run(xs) == network_outputs(net, xs).tolist()
    form = FormulaSearch().fit(fsm.machine_, task)
    assert form.formulas_ is not None and form.formulas_.complexity <= 8


def test_integer_recurrence_reads_sum_last2():
    rec = IntegerRecurrence().fit(CASES["Sum_Last2"](), tasks.get("Sum_Last2"))
    r = rec.recurrence_
    assert (r.p, r.q) == (0, 1) and r.B.ravel().tolist() == [1, 1] and rec.fidelity_ == 1.0


def test_wrong_network_is_not_solved():
    """A net that computes Sum_Last2 cannot yield a verified Prev1 program: it yields its own
    program (Sum_Last2's), faithful to the network and labelled "faithful, not correct"."""
    res = mips.run("Prev1", network=CASES["Sum_Last2"](), write=False)
    assert not res.solved
    ver = res.verification
    assert ver.verdict == "faithful, not correct" and ver.departures
    f, sum_last2 = load_program(res.program_source), tasks.get("Sum_Last2")
    assert all(f(inp) == sum_last2.reference(inp) for inp, _, _ in ver.departures)


def test_integer_sr_finds_modular_update():
    s, x = (a.ravel() for a in np.meshgrid(np.arange(3), np.arange(3), indexing="ij"))
    sr = IntegerSR(consts=(0, 1, 2, 3)).fit({"s": s, "x": x}, {"next": (s + x) % 3})
    e = sr.formulas_["next"]
    assert e is not None and (evaluate(e, {"s": s, "x": x}) == (s + x) % 3).all()
    assert render(e) in ("(s + x) % 3", "(x + s) % 3")


def test_espresso_xor():
    pts = np.array([[0, 0], [1, 0], [0, 1], [1, 1]])
    (e,) = espresso_formulas(pts, (pts[:, :1] ^ pts[:, 1:]), ["a", "b"])
    assert (evaluate(e, {"a": pts[:, 0], "b": pts[:, 1]}) == pts[:, 0] ^ pts[:, 1]).all()


def test_minimise_merges_equivalent_states():
    # states 1 and 2 behave identically
    m = MealyMachine([0, 1], 0, np.array([[1, 2], [1, 2], [2, 1]]), [[0, 1], [0, 1], [0, 1]],
                     np.ones((3, 2), bool), np.zeros((3, 1)))
    assert minimise(m).n_states == 1


def test_adapter_errors_name_the_missing_methods():
    with pytest.raises(ValueError, match="initial_state"):
        mips.run("Parity_All", network=torch.nn.Linear(1, 1), write=False)

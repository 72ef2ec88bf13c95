"""Window pass (definite memory) and behaviour-clustered state machines on hand-built networks.

Network vs extracted formulas / machine vs generated program must agree; every test can fail.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from algolens import tasks
from algolens.analysis.rnn import FormulaSearch, network_outputs, simulate
from algolens.analysis.rnn.expr import render
from algolens.analysis.rnn.formulas import access_labels, factor_labels
from algolens.analysis.rnn.fsm import MealyMachine
from algolens.analysis.rnn.fsm_cluster import ClusterFSM
from algolens.analysis.rnn.window import WindowFormulas
from algolens.codegen import load_program
from algolens.studies import mips

torch.set_num_threads(1)


class AbsDiffNet(torch.nn.Module):
    """ReLU net: h = (x_t, |x_t - x_{t-1}|) with |u| = relu(u) + relu(-u); y = h[1]."""

    def initial_state(self, batch: int) -> torch.Tensor:
        return torch.zeros(batch, 2)

    def encode(self, x) -> torch.Tensor:
        return torch.as_tensor(x, dtype=torch.float32).unsqueeze(-1)

    def step(self, h: torch.Tensor, feat: torch.Tensor) -> torch.Tensor:
        d = feat[:, 0] - h[:, 0]
        return torch.stack([feat[:, 0], torch.relu(d) + torch.relu(-d)], 1)

    def readout(self, h: torch.Tensor) -> torch.Tensor:
        return h[:, 1:2]


class DivNet(torch.nn.Module):
    """Div_k: one-hot (remainder r_t, quotient bit q_t), the emitted bit p = q_{t-1}, and an
    irrelevant history-dependent direction z' = z + 0.3 x (unbounded drift: the BFS quantiser
    never closes -- 204 raw states, edges snapped -- while the behaviour has 2k states)."""

    def __init__(self, k: int = 3) -> None:
        super().__init__()
        self.k = k
        n = 2 * k
        T = torch.zeros(2, n, n)
        for r in range(k):
            for q in range(2):
                for x in range(2):
                    v = 2 * r + x
                    T[x, 2 * r + q, 2 * (v % k) + v // k] = 1.0
        self.T = T
        self.q = torch.tensor([float(s % 2) for s in range(n)])

    def initial_state(self, batch: int) -> torch.Tensor:
        h = torch.zeros(batch, 2 * self.k + 2)
        h[:, 0] = 1.0
        return h

    def encode(self, x) -> torch.Tensor:
        return torch.as_tensor(x, dtype=torch.float32).unsqueeze(-1)

    def step(self, h: torch.Tensor, feat: torch.Tensor) -> torch.Tensor:
        s, z, x = h[:, :-2], h[:, -1:], feat
        s2 = x * (s @ self.T[1]) + (1 - x) * (s @ self.T[0])
        return torch.cat([s2, (s @ self.q)[:, None], z + 0.3 * x], 1)

    def readout(self, h: torch.Tensor) -> torch.Tensor:
        return h[:, -2:-1]


def _rows(task, n=200, factor=1):
    return task.sample(n, np.random.default_rng(5), factor * task.length)


def test_window_reads_abs_diff_formula():
    task, net = tasks.get("Abs_Diff"), AbsDiffNet()
    w = WindowFormulas().fit(net, task)
    assert w.k_ == 2 and w.formulas_ is not None
    assert render(w.formulas_.outputs[0]) in ("abs(x - x1)", "abs(x1 - x)")
    xs = _rows(task)
    assert np.array_equal(simulate(w.formulas_, xs)[..., 0], network_outputs(net, xs))


def test_window_rejects_unbounded_memory():
    """Div_3 depends on the whole prefix: no window of length <= 4."""
    w = WindowFormulas().fit(DivNet(3), tasks.get("Div_3"))
    assert w.k_ is None and w.formulas_ is None


def test_abs_diff_network_solved_symbolically_and_generalises():
    task, net = tasks.get("Abs_Diff"), AbsDiffNet()
    res = mips.run(task, network=net, write=False)
    assert res.solved and res.form == "symbolic", [(p.name, p.reason) for p in res.passes]
    assert any(p.name == "window" and p.ok for p in res.passes)
    assert res.verification.accuracy_2x == 1.0


@pytest.mark.parametrize("k", [3, 5])
def test_cluster_fsm_finds_small_div_machine(k):
    task, net = tasks.get(f"Div_{k}"), DivNet(k)
    xs = _rows(task)
    assert np.array_equal(network_outputs(net, xs), task.targets(xs))     # the net is right
    fsm = ClusterFSM().fit(net, task)
    assert fsm.machine_ is not None and fsm.closed_ and fsm.raw_states_ <= 2 * k, fsm.report_
    assert fsm.machine_.n_states <= 2 * k and fsm.fidelity_2x_ == 1.0
    assert fsm.machine_.run(xs) == network_outputs(net, xs).tolist()


def test_div3_network_solved_symbolically():
    task, net = tasks.get("Div_3"), DivNet(3)
    res = mips.run(task, network=net, write=False)
    assert res.solved and res.form == "symbolic", [(p.name, p.reason) for p in res.passes]
    f = load_program(res.program_source)
    xs = _rows(task, factor=2)
    assert [f(task._row_to_list(r)) for r in xs] == task.targets(xs).tolist()


def _div_machine(k: int) -> MealyMachine:
    """States 2r + q; reading x emits q and goes to (2r + x) % k, (2r + x) // k."""
    n = 2 * k
    nxt = np.array([[2 * ((2 * (s // 2) + x) % k) + (2 * (s // 2) + x) // k for x in (0, 1)]
                    for s in range(n)])
    return MealyMachine([0, 1], 0, nxt, [[s % 2, s % 2] for s in range(n)],
                        np.ones((n, 2), bool), np.zeros((n, 1)))


def test_access_and_factor_labels_recover_remainder():
    m = _div_machine(5)
    r_true = np.arange(10) // 2
    lab = factor_labels(m)
    assert lab is not None and np.array_equal(lab[:, 0], r_true) and np.array_equal(
        lab[:, 1], np.arange(10) % 2)
    assert access_labels(m)[0] == 0


def test_formula_search_on_div_machine_is_symbolic():
    task = tasks.get("Div_5")
    fs = FormulaSearch().fit(_div_machine(5), task)
    assert fs.formulas_ is not None
    xs = _rows(task)
    assert np.array_equal(simulate(fs.formulas_, xs)[..., 0], task.targets(xs))


def test_initial_clusters_absorb_network_slips():
    """Signatures that differ in <= 3% of probe outputs join their leader; others found new ones."""
    rng = np.random.default_rng(0)
    base = rng.integers(0, 2, (3, 100)).astype(np.int64)
    rows = [base[0]] + [base[i % 3] for i in range(30)]
    slip = base[1].copy()
    slip[5] ^= 1                                             # one wrong output in 100
    far = base[2].copy()
    far[:40] ^= 1                                            # a genuinely different state
    sig = [r.tobytes() for r in rows + [slip, far]]
    ids, _, keys = ClusterFSM()._initial_clusters(sig)
    assert len(keys) == 4 and ids[sig[0]] == 0
    assert ids[slip.tobytes()] == ids[base[1].tobytes()]
    assert ids[far.tobytes()] not in {ids[b.tobytes()] for b in base}

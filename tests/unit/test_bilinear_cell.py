"""The bilinear cell (f on [h, x, h (x) x]) and the search rows that use it (issue 12, point 2).

Two representations agree: a hand-set bilinear network runs a state machine exactly, and a
network the search trains on a bilinear-update user task distils into a program that matches the
task's reference.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch

from algolens.codegen import load_program
from algolens.models.rnn import MIPSRNN, RNNConfig
from algolens.studies import mips
from algolens.tasks import SequenceTask
from algolens.tasks.library import _cumulative as _scan   # s_t = step(s_{t-1}, x_t)
from algolens.store import RunStore
from algolens.train import search
from algolens.train.search import Candidate

search_mod = importlib.import_module("algolens.train.search")  # the name `search` is the function

torch.set_num_threads(1)


def bilinear_task() -> SequenceTask:
    """s' = (s (x + 1) + x) mod 5 from s = 1: the sign and size of the state's coefficient
    depend on the input."""
    return SequenceTask("User_Bilinear_Cell", [0, 1, 2], 8,
                        _scan(lambda s, x: (s * (x + 1) + x) % 5, 1))


def _machine_as_bilinear_net(task: SequenceTask, n: int, start: int, nxt, out) -> MIPSRNN:
    """A one-hot state machine in the bilinear cell, h_{-1} = 0 standing for ``start``: unit i
    is state i (start has no unit); per symbol k, h' = h W_k + u_k with
    u_k = e(nxt(start, k)) and row i of W_k = e(nxt(i, k)) - u_k."""
    symbols = task.symbols
    units = [s for s in range(n) if s != start]
    e = lambda s: torch.eye(len(units))[units.index(s)] if s != start else torch.zeros(len(units))  # noqa: E731,E501
    H, F = len(units), len(symbols)
    cfg = RNNConfig(hidden=H, encoding="onehot", alphabet=task.channels, cell="bilinear")
    net = MIPSRNN(cfg)
    W = torch.zeros(H + F + H * F, H)                        # rows [h | x | h (x) x]
    for k, x in enumerate(symbols):
        u = e(nxt(start, x))
        W[H + k] = u
        for i, s in enumerate(units):
            W[H + F + i * F + k] = e(nxt(s, x)) - u
    v = torch.tensor([[float(out(s) - out(start))] for s in units])
    with torch.no_grad():
        net.core.f0_W.copy_(W[None])
        net.core.f0_b.zero_()
        net.core.g0_W.copy_(v[None])
        net.core.g0_b.fill_(float(out(start)))
    return net


def test_bilinear_cell_runs_a_state_machine_exactly():
    task = bilinear_task()
    net = _machine_as_bilinear_net(task, 5, 1, lambda s, x: (s * (x + 1) + x) % 5, lambda s: s)
    assert net.cfg.describe() == "h=4; f=1; g=1; bilinear"
    assert net.cfg.n_params() == (4 + 3 + 12) * 4 + 4 + 4 + 1
    xs = task.sample(200, np.random.default_rng(0), 3 * task.length)
    with torch.no_grad():
        y = net(torch.as_tensor(xs, dtype=torch.float32))[..., 0]
    torch.testing.assert_close(y, torch.as_tensor(task.targets(xs), dtype=torch.float32),
                               atol=1e-4, rtol=0)
    assert RNNConfig.from_dict(net.cfg.to_dict()) == net.cfg                 # checkpoints
    assert RNNConfig.from_dict({k: v for k, v in net.cfg.to_dict().items()
                                if k != "cell"}).cell == "additive"           # older runs


def test_search_with_a_bilinear_row_solves_and_distils(tmp_path, monkeypatch):
    """A bilinear-only plan on the bilinear-update task: 100% from training (not hand-set
    weights), a row that names its cell, and a symbolic program equal to the reference."""
    cand = Candidate(4, 1, 0, "onehot", 1500, n_models=8, batch=128, sizes=(3, 4),
                     cell="bilinear")
    monkeypatch.setattr(search_mod, "plan", lambda task, data: [cand])
    for name, n in [("N_TRAIN", 4096), ("N_VAL", 1024), ("N_CONFIRM", 4096), ("N_TEST", 4096)]:
        monkeypatch.setattr(search_mod, name, n)
    task = bilinear_task()
    res = search(task, out=tmp_path, progress=False)
    assert res.solved and res.config.cell == "bilinear", res.tried
    assert res.tried[0]["key"] == "h=3/4;f=1;g=1;onehot;bilinear"
    saved = RunStore(tmp_path).open(res.run_id).load_model()        # the checkpoint round trip
    assert saved.cfg == res.config
    xs = torch.as_tensor(task.sample(64, np.random.default_rng(2)), dtype=torch.float32)
    with torch.no_grad():
        torch.testing.assert_close(saved(xs), res.network(xs), rtol=0, atol=1e-5)
    with torch.no_grad():
        form, src, ver, passes = mips.distill(res.network, task, res.config.describe())
    assert form == "symbolic" and ver.passed and ver.accuracy_2x == 1.0, [
        (p.name, p.ok, p.reason) for p in passes]
    f = load_program(src)
    for row in task.sample(30, np.random.default_rng(1), 10 * task.length):
        xs = task._row_to_list(row)
        assert f(xs) == task.reference(xs)


@pytest.mark.parametrize("make", ["bilinear", "clipped"])
def test_full_search_solves_user_tasks_symbolically(make, tmp_path):
    """The issue's test end to end: the real plan, from scratch, on the two user tasks (each
    solved by the first row, a few seconds since the search trains on batches of 64)."""
    task = bilinear_task() if make == "bilinear" else SequenceTask(
        "User_Clipped_Counter_Search", [0, 1, 2], 8,
        _scan(lambda s, x: min(max(2 * s - x, -1), 3), 1))
    res = mips.run(task, out=tmp_path)
    assert res.solved and res.form == "symbolic", (res.failed_pass, res.reason)
    assert res.verification.accuracy_10x == 1.0

"""Bring your own network: torch.nn.GRU / LSTM / RNNCell trained here, distilled in one call."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from algolens import tasks
from algolens.analysis.rnn import network_outputs
from algolens.analysis.rnn.torch_adapters import TorchRNN
from algolens.codegen import load_program
from algolens.studies import mips

torch.set_num_threads(1)


def _train(rnn: torch.nn.Module, head: torch.nn.Module, task, steps: int = 400, seed: int = 0):
    """A plain user training loop: one-hot inputs, MSE on the integer targets."""
    net = TorchRNN(rnn, head, symbols=task.symbols)
    rng = np.random.default_rng(seed)
    opt = torch.optim.Adam(list(rnn.parameters()) + list(head.parameters()), lr=0.02)
    for _ in range(steps):
        xs = task.sample(64, rng)
        feat = net.encode(torch.as_tensor(xs))
        out, _ = rnn(feat)
        loss = torch.nn.functional.mse_loss(head(out)[..., 0],
                                            torch.as_tensor(task.targets(xs), dtype=torch.float32))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net


@pytest.mark.parametrize("kind", ["GRU", "LSTM"])
def test_trained_gru_and_lstm_are_distilled(kind):
    task = tasks.get("Parity_Last2")
    with torch.random.fork_rng():
        torch.manual_seed(0)
        rnn = getattr(torch.nn, kind)(2, 8, batch_first=True)
        head = torch.nn.Linear(8, 1)
    with torch.random.fork_rng():
        torch.manual_seed(1)
        _train(rnn, head, task)
    xs = task.sample(500, np.random.default_rng(9))
    net = TorchRNN(rnn, head, symbols=task.symbols)
    assert (network_outputs(net, xs) == task.targets(xs)).all()     # the network is at 100%
    with torch.no_grad():
        res = mips.distil_module(task, rnn, head, symbols=task.symbols, write=False)
    assert res.solved and res.verification.verdict == "faithful and correct", [
        (p.name, p.ok, p.reason) for p in res.passes]
    f = load_program(res.program_source)
    assert [f(task._row_to_list(r)) for r in xs] == network_outputs(net, xs).tolist()


def test_cell_adapter_matches_the_module_and_bad_modules_are_refused():
    with torch.random.fork_rng():
        torch.manual_seed(0)
        lstm = torch.nn.LSTM(2, 4, num_layers=2, batch_first=True)
    head = torch.nn.Linear(4, 1)
    net = TorchRNN(lstm, head, symbols=[0, 1])
    xs = np.random.default_rng(0).integers(0, 2, (3, 6))
    h = net.initial_state(3)
    steps = []
    for t in range(6):
        h = net.step(h, net.encode(torch.as_tensor(xs[:, t])))
        steps.append(net.readout(h))
    out, _ = lstm(net.encode(torch.as_tensor(xs)))
    assert torch.allclose(torch.stack(steps, 1), head(out), atol=1e-5)   # same function
    with pytest.raises(ValueError, match="bidirectional"):
        TorchRNN(torch.nn.GRU(2, 4, bidirectional=True), head, symbols=[0, 1])
    with pytest.raises(ValueError, match="input_size"):
        TorchRNN(torch.nn.GRUCell(3, 4), head, symbols=[0, 1])
    with pytest.raises(ValueError, match="RNN/GRU/LSTM"):
        TorchRNN(torch.nn.Linear(2, 4), head)

"""Library calls leave process-wide settings as they found them (issue 8, point 6).

Thread count, flush-denormal mode, torch's global RNG and the matplotlib backend belong to the
user's session; training, distilling and plotting may change them only inside a scope.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from algolens import tasks
from algolens.models.rnn import MIPSRNN, RNNConfig, RNNEnsemble
from algolens.models.transformer import TransformerConfig
from algolens.perf import denormals_flushed, fast_cpu
from algolens.train.modular import TrainConfig
from algolens.train.modular import train_ensemble as train_modular
from algolens.train.rnn import TaskData, default_config
from algolens.train.rnn import train_ensemble as train_rnn


def _tiny_modular() -> None:
    cfg = TransformerConfig(p=7, d_model=16, n_heads=2, d_mlp=32)
    train_modular(cfg, [0], None, TrainConfig(steps=5, eval_every=2), progress=False)


def _tiny_rnn() -> None:
    task = tasks.get("Sum_Last2")
    data = TaskData.generate(task, 64, 0)
    train_rnn(task, default_config(task, 2, data=data), 2, train=data, val=data, max_steps=5,
              batch=16, seed=5)
    RNNEnsemble(RNNConfig(hidden=3), 2, seed=9)


def _tiny_sweep() -> None:
    import tempfile

    from algolens.store import RunStore
    from algolens.studies import registry
    cp = registry.get("clock_pizza")
    points = [(cp.make_config(p=7, width=16, heads=2, steps=3, eval_every=2, attn_rate=a), 0)
              for a in (0.0, 1.0)]
    with tempfile.TemporaryDirectory() as d:
        registry.run_points(cp, points, RunStore(d), threads=1, progress=False)


def _mips_with_a_given_network() -> None:
    from algolens.studies import mips
    net = MIPSRNN(RNNConfig(hidden=1), seed=0)                # h' = h + x, y = h: Sum_All
    with torch.no_grad():
        net.core.f0_W[0] = torch.tensor([[1.0], [1.0]])
        net.core.f0_b[0] = torch.zeros(1)
        net.core.g0_W[0] = torch.tensor([[1.0]])
        net.core.g0_b[0] = torch.zeros(1)
    mips.run("Sum_All", network=net, write=False)


CALLS = {"modular": _tiny_modular, "rnn": _tiny_rnn, "sweep": _tiny_sweep,
         "mips": _mips_with_a_given_network}


@pytest.mark.parametrize("flush", [False, True], ids=["flush-off", "flush-on"])
@pytest.mark.parametrize("call", list(CALLS), ids=list(CALLS))
def test_library_calls_leave_global_state_alone(call: str, flush: bool) -> None:
    before_threads = torch.get_num_threads()
    torch.set_num_threads(3)                 # not what any library call would pick (1)
    torch.set_flush_denormal(flush)
    try:
        torch.manual_seed(1234)
        rng = torch.get_rng_state()
        CALLS[call]()
        assert torch.get_num_threads() == 3
        assert denormals_flushed() == flush
        assert torch.initial_seed() == 1234
        assert torch.get_rng_state().tolist() == rng.tolist()    # a byte state, not floats
    finally:
        torch.set_flush_denormal(False)
        torch.set_num_threads(before_threads)


def test_fast_cpu_restores_on_error() -> None:
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError), fast_cpu(threads=before + 1, flush_denormal=True):
        assert torch.get_num_threads() == before + 1 and denormals_flushed()
        raise RuntimeError("boom")
    assert torch.get_num_threads() == before and not denormals_flushed()
    with pytest.raises(ValueError, match="threads must be >= 1"), fast_cpu(threads=0):
        pass


def test_report_plot_keeps_the_matplotlib_backend() -> None:
    """Importing the report writer and embedding a figure must not switch the backend."""
    code = (
        "import matplotlib; matplotlib.use('svg')\n"
        "from matplotlib.figure import Figure\n"
        "from algolens.report.html import Report\n"
        "fig = Figure(); fig.add_subplot().plot([0, 1], [1, 0])\n"
        "html = Report('t').add_figure(fig, caption='c').to_html()\n"
        "assert 'data:image/png;base64,' in html\n"
        "print(matplotlib.get_backend())\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "svg"

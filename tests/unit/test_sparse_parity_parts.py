"""Sparse parity pieces: the task, a network with its support known by construction, the
read-outs (support, Fourier coefficients, verification, emitted program) and a short real run.

Two representations must agree: a hand-built ReLU network, the task's labels and the emitted
program compute the same function on all 2^12 inputs.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from algolens.analysis.parity import (ProgressPoint, SupportExtractor, character,
                                      fourier_coefficient, pm_output, progress_measures, verify)
from algolens.analysis.parity_plots import plot_sparse_parity_progress
from algolens.codegen.parity import parity_program
from algolens.models.mlp import ParityMLP, ParityMLPConfig
from algolens.tasks.sparse_parity import SparseParityTask, all_inputs
from _parity_nets import parity_network
from algolens.train.sparse_parity import SparseParityTrainConfig, train_sparse_parity

N, SUPPORT = 12, (2, 5, 7)


# ---------------------------------------------------------------- the task
def test_task_is_a_function_of_the_seed_and_labels_are_the_parity() -> None:
    a, b = SparseParityTask.from_seed(20, 3, 7), SparseParityTask.from_seed(20, 3, 7)
    assert a == b and len(a.support) == 3 and list(a.support) == sorted(set(a.support))
    assert SparseParityTask.from_seed(20, 3, 8) != a
    x1, y1 = a.sample(100, np.random.default_rng(0))
    x2, y2 = a.sample(100, np.random.default_rng(0))
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
    assert x1.shape == (100, 20) and x1.dtype == np.uint8 and set(np.unique(x1)) <= {0, 1}
    assert np.array_equal(y1, x1[:, list(a.support)].sum(1) % 2)


def test_task_docstring_example() -> None:
    t = SparseParityTask(6, 3, (1, 3, 4))
    assert t.label(np.array([0, 1, 0, 1, 1, 0])) == 1
    assert t.label(np.array([1, 1, 1, 1, 0, 0])) == 0


@pytest.mark.parametrize("n, k, support, match", [
    (12, 0, (), "k = 0"),
    (12, 13, tuple(range(13)), "k = 13"),
    (65, 3, (0, 1, 2), "n = 65"),
    (12, 3, (5, 2, 7), "sorted"),
    (12, 3, (2, 5, 12), "outside"),
    (12, 3, (2, 5), "has 2 indices"),
], ids=["k<1", "k>n", "n>64", "unsorted", "out-of-range", "wrong-length"])
def test_task_rejects_bad_values_and_says_how_to_fix(n, k, support, match) -> None:
    with pytest.raises(ValueError, match=match):
        SparseParityTask(n, k, support)


# ---------------------------------------------------------------- a network known by construction
@pytest.mark.parametrize("weighting", ["output", "none"])
@pytest.mark.parametrize("k", [None, 3], ids=["k-by-gap", "k-given"])
def test_support_extractor_finds_the_constructed_support(k, weighting) -> None:
    est = SupportExtractor(k=k, weighting=weighting).fit(parity_network(N, SUPPORT), N)
    assert est.support_ == SUPPORT and est.k_ == 3
    assert est.scores_.shape == (N,) and est.gap_ > 10


def test_constructed_network_verifies_exhaustively_and_the_program_agrees() -> None:
    net, task = parity_network(N, SUPPORT), SparseParityTask(N, 3, SUPPORT)
    v = verify(net, SUPPORT, N, m=0, rng=np.random.default_rng(0))
    assert v.exhaustive and v.n_inputs == 2 ** N and v.agreement == 1.0
    src = parity_program(SUPPORT, N, info=f"hand-built network; exhaustive agreement {v.agreement}")
    ns: dict = {}
    exec(compile(src, "<parity_program>", "exec"), ns)                # no side effects on import
    assert ns["_self_check"]() and ns["SUPPORT"] == SUPPORT
    x = all_inputs(N)
    assert [ns["f"](row) for row in x.tolist()] == task.label(x).tolist()
    assert "Support: bits 2, 5, 7" in src
    assert not any(ln.startswith(("import ", "from ")) for ln in src.splitlines())   # stdlib only


def test_program_is_deterministic_and_rejects_a_bad_support() -> None:
    assert parity_program((1, 4), 6, "x") == parity_program([1, 4], 6, "x")
    with pytest.raises(ValueError, match="outside"):
        parity_program((1, 6), 6, "x")


def test_untrained_network_is_far_from_the_parity() -> None:
    net = ParityMLP(ParityMLPConfig(n_in=N, width=64), seed=0)
    v = verify(net, SUPPORT, N, m=0, rng=np.random.default_rng(0))
    assert v.exhaustive and abs(v.agreement - 0.5) < 0.1
    v_sampled = verify(net, SUPPORT, N, m=5000, rng=np.random.default_rng(0), exhaustive_up_to=8)
    assert not v_sampled.exhaustive and v_sampled.n_inputs == 5000
    assert abs(v_sampled.agreement - 0.5) < 0.1


# ---------------------------------------------------------------- Fourier coefficients
def test_fourier_coefficient_of_the_exact_parity() -> None:
    pm_parity = lambda x: character(x, SUPPORT)                       # ±1, +1 for label 0
    rng = np.random.default_rng(0)
    assert fourier_coefficient(pm_parity, SUPPORT, N, 4096, rng) == 1.0
    for other in [(2, 5, 8), (0, 1, 3), (2, 5), (2, 5, 7, 9)]:
        assert abs(fourier_coefficient(pm_parity, other, N, 4096, rng)) < 0.08
    net_pm = pm_output(parity_network(N, SUPPORT))                    # the network's ±1 output
    assert fourier_coefficient(net_pm, SUPPORT, N, 4096, rng) == 1.0


def test_progress_measures_of_the_constructed_network() -> None:
    pm = progress_measures(parity_network(N, SUPPORT), SUPPORT, N, np.random.default_rng(0))
    assert pm.fourier_on_support > 0.7 and pm.max_fourier_off_support < 0.1
    assert pm.support_weight_share > 0.9


# ---------------------------------------------------------------- a short real training run
@pytest.fixture(scope="module")
def trained_n20():
    from algolens.perf import fast_cpu
    task = SparseParityTask.from_seed(20, 3, 0)
    before = (torch.get_num_threads(), torch.random.get_rng_state().numpy().tobytes())
    with fast_cpu(threads=1):                 # as registry.run_point trains it
        out = train_sparse_parity(task, ParityMLPConfig(n_in=20, width=256),
                                  SparseParityTrainConfig(steps=5000, eval_every=50), seed=0)
    after = (torch.get_num_threads(), torch.random.get_rng_state().numpy().tobytes())
    return task, out, before == after


def test_short_run_learns_the_parity_and_stops(trained_n20) -> None:
    task, out, untouched = trained_n20
    assert untouched                          # thread count and global RNG as the caller had them
    assert out.stopped == "solved" and out.test_acc == 1.0 and out.steps < 5000
    assert out.history[-1].step == out.steps
    assert SupportExtractor(k=3).fit(out.model, 20).support_ == task.support
    assert SupportExtractor().fit(out.model, 20).support_ == task.support
    assert verify(out.model, task.support, 20, 20_000, np.random.default_rng(1)).agreement == 1.0


def test_progress_rises_during_the_plateau(trained_n20) -> None:
    _, out, _ = trained_n20
    h = out.history
    plateau = [p for p in h[:next(i for i, p in enumerate(h) if p.test_acc >= 0.6)]]
    assert len(plateau) >= 5 and all(p.test_acc < 0.6 for p in plateau)
    last = plateau[-1]                        # accuracy still near chance, the measures not
    assert last.support_weight_share > 1.05 * h[0].support_weight_share
    assert last.fourier_on_support > 2 * last.max_fourier_off_support
    assert h[-1].fourier_on_support > 0.9 and h[-1].support_weight_share > h[0].support_weight_share


def test_training_is_a_function_of_the_seed() -> None:
    task = SparseParityTask.from_seed(12, 3, 0)
    cfg = SparseParityTrainConfig(steps=60, eval_every=20, n_test=256, n_progress=256)
    a, b = (train_sparse_parity(task, ParityMLPConfig(n_in=12, width=32), cfg, seed=3)
            for _ in range(2))
    assert a.history == b.history          # the same computation twice in one process
    torch.testing.assert_close(a.model.W_in, b.model.W_in, rtol=0, atol=1e-6)
    assert a.stopped == "steps" and a.steps == 60 and [p.step for p in a.history] == [0, 20, 40, 60]
    c = train_sparse_parity(task, ParityMLPConfig(n_in=12, width=32), cfg, seed=4)
    assert not torch.allclose(a.model.W_in, c.model.W_in, atol=1e-3)


@pytest.mark.parametrize("bad, match", [
    (dict(loss="mse"), "unknown loss"), (dict(lr=0.0), "lr must be > 0"),
    (dict(batch=0), "batch"),
], ids=["loss", "lr", "batch"])
def test_train_config_rejects_bad_values(bad, match) -> None:
    with pytest.raises(ValueError, match=match):
        SparseParityTrainConfig(**bad)


def test_model_and_task_must_agree_on_n() -> None:
    with pytest.raises(ValueError, match="n_in = 10"):
        train_sparse_parity(SparseParityTask.from_seed(12, 3, 0), ParityMLPConfig(n_in=10),
                            SparseParityTrainConfig(steps=1), seed=0)


def test_progress_plot(trained_n20) -> None:
    _, out, _ = trained_n20
    fig = plot_sparse_parity_progress(out.history, k=3, n=20)
    assert isinstance(fig, Figure) and len(fig.axes) == 4          # 3 panels + the loss twin
    with pytest.raises(ValueError, match="empty"):
        plot_sparse_parity_progress([], k=3, n=20)
    assert isinstance(out.history[0], ProgressPoint)

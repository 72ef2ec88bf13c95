"""Shortcut reconstruction on a hand-built transformer whose algorithm is known, its generated
program, failure-prediction metrics on constructed cases, and the seq2seq model's interface."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from algolens.analysis.transformer.attention import AttentionSummary, own_outputs
from algolens.analysis.transformer.shortcuts import (Shortcut, ShortcutExtractor,
                                                     failure_prediction, tabulate)
from algolens.codegen import ProgramInfo
from algolens.codegen.readout import from_shortcut, to_python
from algolens.codegen.verify import load_program
from algolens.models.seq2seq import Seq2SeqConfig, Seq2SeqTransformer

torch.set_num_threads(1)
W = 4


def flip_model() -> Seq2SeqTransformer:
    """One layer, one head: output step i attends to input position i and emits 1 - x_i; when
    position i is padding the head falls back to the SEP token, which emits EOS.

    Residual layout: [token one-hot (7) | position one-hot (9) | attended token one-hot (7)].
    """
    cfg = Seq2SeqConfig((0, 1), (0, 1), W, W, d_model=23, n_heads=1, d_mlp=1, n_layers=1,
                        normalization=None)
    net = Seq2SeqTransformer(cfg, seed=0)
    V, T = 7, cfg.n_ctx
    c = 40.0 * math.sqrt(23)
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
        net.W_E[:, :V] = torch.eye(V)
        net.W_pos[:, V:V + T] = torch.eye(T)
        attn = net.blocks[0].attn
        for s in range(cfg.max_output_len + 1):        # query at position W + s looks for s
            attn.W_Q[0, V + W + s, s] = c
        for j in range(W):
            attn.W_K[0, V + j, j] = 1.0
        attn.W_K[0, V + W, :] = 0.5                      # SEP: half the score of a match
        attn.W_V[0, :V, :V] = torch.eye(V)
        attn.W_O[0, :V, V + T:] = torch.eye(V)
        U = net.W_U                                       # classes: out 0, out 1, EOS
        U[V + T + 0, 1] = U[V + T + 1, 0] = U[V + T + cfg.SEP, 2] = 10.0
    return net.eval()


ROWS = [[0], [1, 0], [1, 1, 0], [0, 1, 1, 0], [1, 1, 1, 1], [0, 0], [1]]


def test_hand_built_model_computes_bitwise_not() -> None:
    net = flip_model()
    assert net.generate(ROWS) == [[1 - b for b in x] for x in ROWS]


def test_reconstruction_finds_the_known_shortcut_and_program_agrees() -> None:
    net = flip_model()
    rng = np.random.default_rng(0)
    xs = [[int(b) for b in rng.integers(0, 2, rng.integers(1, W + 1))] for _ in range(200)]
    ex = ShortcutExtractor().fit(net, xs)
    sc = ex.shortcut_
    assert ex.build_agreement_ == 1.0 and ex.n_reads_ == 1
    assert all(sc.reads[i] == (i,) for i in range(W)) and sc.reads[W] == ()   # i reads x_i
    assert sc.used_heads == {(0, 0)}
    assert ex.candidates_[0]["agreement"] < 0.2                  # reading nothing cannot work
    # the mean pattern of step i peaks at input position i (the rest goes to SEP when x_i is
    # padding, i.e. the input is shorter)
    m = ex.summary_.mean_[0, 0]
    assert all(m[i].argmax() == i and m[i, i] > 0.5 for i in range(W))
    src = to_python(from_shortcut(sc, ProgramInfo("BitwiseNot", examples=((ROWS[2],
                                                                            [0, 0, 1]),))))
    f = load_program(src)
    held = [[int(b) for b in rng.integers(0, 2, rng.integers(1, W + 1))] for _ in range(100)]
    assert [f(x) for x in held] == [sc.run(x) for x in held] == [[1 - b for b in x] for x in held]
    ns: dict = {}
    exec(compile(src, "<p>", "exec"), ns)
    assert ns["_self_check"]()


def test_tabulate_majority_and_eos() -> None:
    reads = {0: (0,), 1: (1,), 2: (2,)}
    sc = tabulate([[0, 1], [0, 1], [0, 0]], [[1, 0], [1, 1], [1, 1]], reads, 3)
    assert sc.rules[(0, (0,), None)] == 1
    assert sc.rules[(2, (None,), 1)] is None              # EOS after the input ends
    assert sc.run([0, 0]) == [1, 1]
    assert Shortcut({}, {}, {0: None}, 3).run([1]) == []


def test_failure_prediction_metrics_on_constructed_cases() -> None:
    F = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    P = [1, 1, 1, 0, 1, 0, 0, 0, 0, 0]
    fp = failure_prediction(F, P, [1] * 10)
    assert (fp.n_failures, fp.n_predicted, fp.n_hit) == (4, 4, 3)
    assert fp.recall == pytest.approx(0.75) and fp.precision == pytest.approx(0.75)
    none = failure_prediction([0, 0], [0, 0], [1, 1])
    assert math.isnan(none.recall) and math.isnan(none.precision)
    with pytest.raises(ValueError, match="one boolean per input"):
        failure_prediction([1], [1, 0], [1])


def test_seq2seq_model_padding_and_decoding() -> None:
    cfg = Seq2SeqConfig((0, 1), (0, 1), 6, 7, d_model=16, n_heads=2, d_mlp=32)
    net = Seq2SeqTransformer(cfg, seed=1).eval()
    xs, ys = [[1, 1, 0], [0]], [[0, 0, 1], [1]]
    tokens, mask, targets = net.encode(xs, ys)
    assert tokens.shape == (2, 6 + 1 + 3) and tokens[0, 6] == cfg.SEP
    assert not mask[1, 1] and mask[1, 0]                       # padding masked
    assert targets[0, 6:10].tolist() == [0, 0, 1, 2]           # y then EOS (class 2)
    # padding never changes a real position's logits (masked out of every pattern)
    other = tokens.clone()
    other[1, 1:6] = cfg.PAD
    a = net(tokens, attention_mask=mask)
    torch.testing.assert_close(a[1, :1], net(other, attention_mask=mask)[1, :1])
    out = net.generate(xs)
    assert len(out) == 2 and all(len(o) <= 7 for o in out)
    assert own_outputs(net, xs, batch=1) == out
    summ = AttentionSummary().fit(net, xs, np.array([0, 1]))
    assert summ.mean_.shape == (2, 2, 8, 6) and set(summ.by_feature_) == {0, 1}
    with pytest.raises(ValueError, match="not in the model's input alphabet"):
        net.generate([[2]])
    with pytest.raises(ValueError, match="longer than the model's input field"):
        net.generate([[0] * 7])


def test_seq2seq_training_runs_every_step_unless_stop_at_is_below_one() -> None:
    """stop_at = 1.0 means "all steps": a perfect eval batch early on (the Successor preset hit
    one at step 800 of 1200) must not end training; stop_at < 1 does end it."""
    from algolens import tasks
    from algolens.train.seq2seq import Seq2SeqTrainConfig, model_config_for, train
    task = tasks.get("Successor", kind="seq2seq")
    cfg = model_config_for(task, d_model=16, n_heads=2, d_mlp=32, n_layers=1)
    full = train(task, cfg, Seq2SeqTrainConfig(steps=30, eval_every=10, eval_n=50), progress=False)
    assert full.steps == 30
    early = train(task, cfg, Seq2SeqTrainConfig(steps=30, eval_every=10, eval_n=50, stop_at=0.0),
                  progress=False)
    assert early.steps == 10


def test_seq2seq_schedule_is_checked_and_cosine_anneals() -> None:
    from algolens.train.seq2seq import Seq2SeqTrainConfig, _schedule
    with pytest.raises(ValueError, match="schedule must be"):
        Seq2SeqTrainConfig(schedule="linear")
    f = _schedule(Seq2SeqTrainConfig(steps=1000, warmup=50, schedule="cosine"))
    assert f(0) == pytest.approx(1 / 50) and f(50) == pytest.approx(1.0)
    assert f(999) == pytest.approx(0.01, abs=1e-3) and f(525) == pytest.approx(0.505, abs=1e-2)
    g = _schedule(Seq2SeqTrainConfig(steps=1000, warmup=50))
    assert g(999) == 1.0

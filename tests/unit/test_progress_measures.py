"""Grokking progress measures: exact identities of the logit projections, phases, the estimator."""

import copy
import math

import numpy as np
import pytest
import torch
from _tiny_transformer import make_model

from algolens.analysis.transformer.progress import (
    ProgressMeasures,
    cross_entropy,
    excluded_logits,
    fourier_ginis,
    frequency_profile,
    key_component,
    locate_phases,
    logit_energy,
    restricted_logits,
    select_key,
    sufficient_key,
    weight_norm_sq,
)

torch.set_num_threads(1)
P = 11
ALL_FREQS = range(1, (P - 1) // 2 + 1)


def grid(p=P):
    return np.meshgrid(np.arange(p), np.arange(p), np.arange(p), indexing="ij")


def fourier_logits(freqs, p=P, scale=3.0):
    """Σ_k scale·cos(w_k(a+b−c)) — the Fourier multiplication algorithm's logits."""
    a, b, c = grid(p)
    return sum(scale * np.cos(2 * math.pi * k / p * (a + b - c)) for k in freqs)


def test_restricted_loss_with_all_frequencies_equals_the_full_loss_for_a_plus_b_logits():
    rng = np.random.default_rng(0)
    f = rng.normal(size=(P, P)) * 3                       # any function of ((a+b) mod p, c)
    a, b, c = grid()
    logits = f[(a + b) % P, c]
    np.testing.assert_allclose(restricted_logits(logits, ALL_FREQS), logits, atol=1e-10)
    assert cross_entropy(restricted_logits(logits, ALL_FREQS)) == pytest.approx(
        cross_entropy(logits), abs=1e-10)
    # excluding every frequency leaves only the per-class mean: chance-level-shaped logits
    ex = excluded_logits(logits, ALL_FREQS)
    np.testing.assert_allclose(ex, np.broadcast_to(logits.mean((0, 1), keepdims=True), ex.shape),
                               atol=1e-10)


def test_restricted_and_excluded_split_the_fourier_algorithm_by_frequency():
    logits = fourier_logits([2, 4])
    np.testing.assert_allclose(restricted_logits(logits, [2, 4]), logits, atol=1e-10)
    np.testing.assert_allclose(excluded_logits(logits, [2]), fourier_logits([4]), atol=1e-10)
    assert cross_entropy(excluded_logits(logits, [2, 4])) == pytest.approx(math.log(P))


def test_key_component_is_an_orthogonal_projection():
    logits = np.random.default_rng(1).normal(size=(P, P, P))
    proj = key_component(logits, [1, 3])
    np.testing.assert_allclose(key_component(proj, [1, 3]), proj, atol=1e-10)
    assert abs((proj * (logits - proj)).sum()) < 1e-8
    with pytest.raises(ValueError, match="out of range"):
        key_component(logits, [6])


def test_cross_entropy_matches_torch():
    logits = np.random.default_rng(2).normal(size=(P, P, P))
    idx = np.arange(0, P * P, 3)
    a, b = np.divmod(idx, P)
    ref = torch.nn.functional.cross_entropy(torch.tensor(logits.reshape(P * P, P)[idx]),
                                            torch.tensor((a + b) % P))
    assert cross_entropy(logits, idx) == pytest.approx(ref.item(), rel=1e-12)


def test_logit_energy_and_key_selection():
    energy = logit_energy(fourier_logits([2, 5]))
    assert energy.shape == ((P - 1) // 2,)
    np.testing.assert_allclose(energy[[1, 4]], [0.5, 0.5], atol=1e-10)
    assert select_key(energy) == (2, 5)
    assert select_key(np.array([0.5, 0.02, 0.3])) == (1, 3)
    assert select_key(np.zeros(3)) == ()


def test_sufficient_key_keeps_a_weak_frequency_the_threshold_rule_drops():
    """Logits Σ α_k cos(w_k(a+b−c)) with α = 6, 4, 1: the third frequency carries 2% of the
    energy (below a 10% threshold) but the logits are not explained without it."""
    logits = 6 * fourier_logits([2]) + 4 * fourier_logits([5]) + 1 * fourier_logits([3])
    energy = logit_energy(logits)
    assert select_key(energy) == (2, 5)
    assert sufficient_key(logits, energy) == (2, 3, 5)
    model_free_noise = logits + 1e-3 * np.random.default_rng(0).normal(size=logits.shape)
    assert sufficient_key(model_free_noise, logit_energy(model_free_noise)) == (2, 3, 5)
    assert sufficient_key(logits, np.zeros_like(energy)) == ()


def test_fourier_ginis_separate_a_one_frequency_embedding_from_a_random_one():
    model = make_model(p=13, d_model=16).double()
    g_random, _ = fourier_ginis(model)
    j = np.arange(13)
    with torch.no_grad():
        model.W_E.zero_()
        model.W_E[:, 0] = torch.as_tensor(np.cos(2 * math.pi * 4 * j / 13))
        model.W_E[:, 1] = torch.as_tensor(np.sin(2 * math.pi * 4 * j / 13))
    g_circle, _ = fourier_ginis(model)
    assert g_circle == pytest.approx(1 - 2 / 13, abs=1e-9)   # 2 of 13 components non-zero
    assert g_random < 0.5


def test_weight_norm_sq_counts_every_parameter():
    model = make_model(p=7, d_model=8)
    assert weight_norm_sq(model) == pytest.approx(
        sum(float((w.detach().double() ** 2).sum()) for w in model.parameters()))


def _table(steps, train_acc, test_loss):
    return [{"step": s, "train_acc": a, "test_loss": t}
            for s, a, t in zip(steps, train_acc, test_loss)]


def test_locate_phases_on_synthetic_grokking_curves():
    steps = [0, 100, 200, 400, 800, 1600, 3200, 6400]
    train_acc = [0.1, 0.6, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    test_loss = [2.4, 3.0, 8.0, 9.0, 8.5, 0.5, 2e-4, 1e-4]   # peak at 400, collapse after
    ph = locate_phases(_table(steps, train_acc, test_loss))
    assert ph.memorisation == (0, 200)
    assert ph.circuit_formation == (200, 1600)
    assert ph.cleanup == (1600, 3200)
    assert "train accuracy" in ph.rule


def test_locate_phases_without_grokking_or_memorisation():
    steps = [0, 10, 20]
    assert locate_phases(_table(steps, [0.1, 0.2, 0.3], [3, 3, 3])).memorisation is None
    ph = locate_phases(_table(steps, [0.5, 1.0, 1.0], [3, 5, 4.5]))
    assert ph.memorisation == (0, 10) and ph.cleanup is None


def _checkpoints(p=7, steps=(0, 5, 10)):
    model = make_model(p=p, d_model=16, seed=0)
    tokens = torch.stack(torch.meshgrid(torch.arange(p), torch.arange(p), indexing="ij"), -1)
    tokens = tokens.reshape(-1, 2)
    labels = tokens.sum(1) % p
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=1.0)
    out = []
    for step in range(max(steps) + 1):
        if step in steps:
            out.append((step, copy.deepcopy(model)))
        loss = torch.nn.functional.cross_entropy(model(tokens, last_only=True), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return out


def test_progress_measures_table_and_agreement_with_direct_losses():
    ckpts = _checkpoints()
    train, test = np.arange(0, 49, 2), np.arange(1, 49, 2)
    pm = ProgressMeasures(key_freqs=[1, 2]).fit(ckpts, train, test)
    assert [r["step"] for r in pm.table_] == [0, 5, 10] and pm.key_freqs_ == (1, 2)
    row, model = pm.table_[-1], ckpts[-1][1]
    tokens = torch.stack(torch.meshgrid(torch.arange(7), torch.arange(7), indexing="ij"), -1)
    tokens = tokens.reshape(-1, 2)[train]
    with torch.no_grad():
        direct = torch.nn.functional.cross_entropy(model(tokens, last_only=True).double(),
                                                   tokens.sum(1) % 7).item()
    assert row["train_loss"] == pytest.approx(direct, rel=1e-5)
    assert row["train_loss"] < pm.table_[0]["train_loss"]
    assert set(row) >= {"restricted_loss", "excluded_loss", "gini_embed", "gini_neuron_logit",
                        "weight_norm_sq", "test_acc"}
    assert pm.phases_.rule


def test_progress_measures_default_key_freqs_come_from_the_final_model():
    ckpts = _checkpoints(steps=(0, 3))
    pm = ProgressMeasures().fit(ckpts, np.arange(30), np.arange(30, 49))
    assert pm.key_freqs_ == tuple(sorted(frequency_profile(ckpts[-1][1]).key))
    assert len(pm.key_freqs_) >= 1


def test_progress_measures_reject_bad_input():
    ckpts = _checkpoints(steps=(0,))
    with pytest.raises(ValueError, match="checkpoints"):
        ProgressMeasures().fit([], [0], [1])
    with pytest.raises(ValueError, match="indices"):
        ProgressMeasures().fit(ckpts, [0, 49], [1])

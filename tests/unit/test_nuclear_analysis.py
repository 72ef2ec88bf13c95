"""Each representation analysis on a synthetic model whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from algolens.analysis.representations import (
    EmbeddingPCA,
    EmbeddingSummary,
    LatentTopography,
    PenultimatePCA,
    PhysicsMatch,
    PhysicsMatchSummary,
    SymbolicPCs,
)
from algolens.analysis.representations.embedding import best_threshold_accuracy
from algolens.analysis.representations.physics_match import physics_terms
from algolens.models.embed_mlp import EmbedMLP, EmbedMLPConfig
from algolens.typed import from_json, to_json


def helix_table(period=12.0, n=150, seed=0):
    """Rows n: a rotating pair of the given period, a slow direction with kinks at 50 and 82, and
    a parity direction; plus small noise in 3 more dimensions."""
    rng = np.random.default_rng(seed)
    v = np.arange(n)
    slow = v / 10 + 3 * np.maximum(v - 50, 0) / 10 - 4 * np.maximum(v - 82, 0) / 10
    X = np.c_[3 * np.cos(2 * np.pi * v / period), 3 * np.sin(2 * np.pi * v / period), slow,
              0.7 * (-1.0) ** v, 0.05 * rng.normal(size=(n, 3))]
    return X @ np.linalg.qr(rng.normal(size=(7, 7)))[0]      # hide the axes by a rotation


def test_threshold_accuracy():
    assert best_threshold_accuracy(np.array([0.1, 0.2, 0.9, 1.0]), np.array([0, 0, 1, 1])) == 1.0
    assert best_threshold_accuracy(np.array([0.1, 0.2, 0.9, 1.0]), np.array([1, 1, 0, 0])) == 1.0
    assert best_threshold_accuracy(np.array([1.0, 2.0, 3.0, 4.0]), np.array([0, 1, 0, 1])) == 0.75


@pytest.mark.parametrize("period", [9.0, 12.0, 20.0])
def test_embedding_helix_parity_and_kinks(period):
    X = helix_table(period)
    e = EmbeddingPCA().fit(X, np.arange(8, 150))
    assert abs(e.helix_period_ - period) < 0.3
    Xc = X[8:150] - X[8:150].mean(0)
    v = np.arange(8, 150)
    true_share = 9.0 * len(v) / (Xc**2).sum()                  # cos/sin of amplitude 3: variance 9
    assert abs(e.helix_fraction_ - true_share) < 0.03, (e.helix_fraction_, true_share)
    assert e.parity_accuracy_ >= 0.95
    assert e.magic_kinks_[50] > 90 and e.magic_kinks_[82] > 90
    s = e.summary()
    assert isinstance(s, EmbeddingSummary) and s.magic_kink_percentiles["50"] > 90
    assert from_json(EmbeddingSummary, to_json(s)) == s


def test_embedding_without_structure_finds_none():
    X = np.random.default_rng(1).normal(size=(150, 7))
    e = EmbeddingPCA().fit(X, np.arange(150))
    assert e.parity_accuracy_ < 0.75 and e.helix_fraction_ < 0.1


def _semf_hidden():
    Z, N = np.meshgrid(np.arange(8, 60), np.arange(8, 80), indexing="ij")
    Z, N = Z.ravel(), N.ravel()
    keep = np.abs(N - 1.2 * Z) < 12                           # a band like the chart of nuclides
    Z, N = Z[keep], N[keep]
    T = np.stack(list(physics_terms(Z, N).values())[:5], 1)
    T = (T - T.mean(0)) / T.std(0)
    H = T @ np.random.default_rng(0).normal(size=(5, 12))    # hidden layer = mixed SEMF terms
    return Z, N, T, H


def test_penultimate_truncation_curve():
    Z, N, T, H = _semf_hidden()
    w = np.random.default_rng(2).normal(size=12)
    target = H @ w + 0.5
    pen = PenultimatePCA().fit(H, w, 0.5, Z, N, target, np.ones(len(Z), bool))
    assert pen.full_rms_ < 1e-6                               # exact split over the PCs
    assert pen.truncation_rms_[5] < 1e-6 and pen.truncation_rms_[0] > 100
    assert abs(pen.readout_share_.sum() - 1) < 1e-9 and np.all(pen.readout_share_[5:] < 1e-12)


def test_physics_match_finds_semf_terms_above_null():
    Z, N, T, H = _semf_hidden()
    pen = PenultimatePCA().fit(H, np.ones(12), 0.0, Z, N, H.sum(1), np.ones(len(Z), bool))
    m = PhysicsMatch(n_probe=5, n_null=20).fit(pen.pca_.scores_, Z, N)
    rows = {r["term"]: r for r in m.table_}
    for term in ("volume", "surface", "coulomb", "asymmetry", "pairing"):
        assert rows[term]["probe_r2"] > 0.99 and rows[term]["above_null"], term
    assert np.quantile(m.null_r2_, 0.95) < 0.99
    s = m.summary()                                          # typed, through the one converter
    assert isinstance(s, PhysicsMatchSummary) and s.terms[0].term == "volume"
    assert from_json(PhysicsMatchSummary, to_json(s)) == s


def test_symbolic_pc_recovers_a_parity_formula():
    pytest.importorskip("pyoperon")
    Z, N, _, _ = _semf_hidden()
    pc = 0.02 * (Z + N) + 0.5 * (N % 2)
    s = SymbolicPCs(n_pcs=1, max_evaluations=10_000).fit(Z, N, pc[:, None])
    assert s.r2_[0] > 0.99
    assert s.formulas_[0].free_symbols                        # a sympy expression in Z, N, pN ...


def test_topography_plane_and_bad_input():
    torch.manual_seed(0)
    m = EmbedMLP(EmbedMLPConfig(n_tasks=1, d_embed=2, d_model=8, n_blocks=1))
    for p in m.parameters():
        torch.nn.init.normal_(p, std=0.3)
    vals = np.arange(5, 60)
    topo = LatentTopography(resolution=12).fit(m, vals, fixed=20)
    assert topo.prediction_.shape == (12, 12) and np.isfinite(topo.prediction_).all()
    W = m.W_E_N[0].detach().double().numpy()[vals]
    assert np.allclose(topo.pca_.inverse(topo.points_), W, atol=1e-6)  # 2-D table: the plane is exact
    with pytest.raises(ValueError, match="which"):
        LatentTopography(which="A").fit(m, vals, fixed=20)

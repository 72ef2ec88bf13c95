"""Fourier basis, Gini and the model read-outs of analysis.transformer.fourier."""

import math

import numpy as np
import pytest
import torch
from _tiny_transformer import make_model

from algolens.analysis.transformer.fourier import (
    all_logits,
    all_pair_tokens,
    embedding_pca,
    fourier_basis,
    frequency_norms,
    gini,
    mod_inverse,
    model_shape,
)
from algolens.models.transformer import make_inputs

torch.set_num_threads(1)


@pytest.mark.parametrize("p", [7, 10, 13])
def test_fourier_basis_is_orthonormal(p):
    F, names = fourier_basis(p)
    assert F.shape == (p, p) and len(names) == p
    np.testing.assert_allclose(F @ F.T, np.eye(p), atol=1e-12)


def test_fourier_basis_rows_are_the_named_waves():
    p = 11
    F, names = fourier_basis(p)
    x = np.arange(p)
    row = names.index("sin 3")
    np.testing.assert_allclose(F[row], np.sin(2 * math.pi * 3 * x / p) * math.sqrt(2 / p))


def test_frequency_norms_put_a_pure_wave_at_its_frequency():
    p = 13
    F, _ = fourier_basis(p)
    v = np.cos(2 * math.pi * 4 * np.arange(p) / p + 0.3)[:, None]   # any phase
    norms = frequency_norms(F, v)
    assert norms.shape == ((p - 1) // 2 + 1,)
    assert np.argmax(norms) == 4
    np.testing.assert_allclose(norms[4], np.linalg.norm(v), rtol=1e-12)  # Parseval
    assert np.delete(norms, 4).max() < 1e-12


@pytest.mark.parametrize("x, expected", [
    (np.ones(10), 0.0),
    (np.eye(10)[3], 0.9),                 # one-hot: (n - 1) / n
    (np.eye(1000)[0], 0.999),
    (np.array([0.0, 0.0, 1.0, 1.0]), 0.5),
], ids=["constant", "one-hot-10", "one-hot-1000", "half"])
def test_gini_known_values(x, expected):
    assert gini(x) == pytest.approx(expected, abs=1e-12)


def test_mod_inverse():
    assert mod_inverse(3, 7) == 5
    with pytest.raises(ValueError, match="no inverse"):
        mod_inverse(2, 10)


@pytest.mark.parametrize("eq_token", [False, True], ids=["ab", "ab="])
def test_all_logits_agree_with_the_full_forward_pass(eq_token):
    model = make_model(p=7, d_model=8, eq_token=eq_token, seed=1).double()
    shape = model_shape(model)
    assert shape.n_ctx == (3 if eq_token else 2)
    tokens = all_pair_tokens(shape)
    assert tokens[7 * 3 + 5, :2].tolist() == [3, 5]
    assert tokens.tolist() == make_inputs(model.cfg)[0].tolist()       # the model's own ordering
    with torch.no_grad():
        full = model(tokens)[:, -1].numpy().reshape(7, 7, 7)
    np.testing.assert_allclose(all_logits(model), full, atol=1e-12)


def test_embedding_swap_through_the_hook_equals_editing_the_weights():
    model = make_model(p=7, d_model=8, seed=2).double()
    new = np.random.default_rng(0).normal(size=(7, 8))
    swapped = all_logits(model, new)
    with torch.no_grad():
        model.W_E.copy_(torch.as_tensor(new))
    np.testing.assert_allclose(swapped, all_logits(model), atol=1e-12)


def test_embedding_pca_reconstructs_the_embedding():
    W = np.random.default_rng(1).normal(size=(11, 5))
    mean, scores, Vt, S = embedding_pca(W)
    np.testing.assert_allclose(mean + scores @ Vt, W, atol=1e-12)
    assert np.all(np.diff(S) <= 0)


def test_model_shape_rejects_a_model_without_transformer_names():
    with pytest.raises(ValueError, match="W_E"):
        model_shape(torch.nn.Linear(2, 2))

"""Clock/Pizza metrics against exact constructions (closed-form answers), plus the spec's details."""

import copy
import itertools
import math
import random

import numpy as np
import pytest
import torch
from _tiny_transformer import FormulaModel, make_model

from algolens.analysis.transformer.clock_pizza import (
    REFERENCE,
    CircleIsolation,
    Circularity,
    ClockPizzaClassifier,
    DistanceIrrelevance,
    GradientSymmetricity,
    circle_step,
    classify,
    distance_irrelevance,
    formula_logits,
    fve,
    logit_table,
    symmetricity_triples,
)

torch.set_num_threads(1)


def circle_embedding(p, ks=(3, 5), radii=(2.0, 1.0), d=10, noise=0.0, seed=0):
    """Rows j = (r1 cos(2πk1 j/p), r1 sin(...), r2 cos(2πk2 j/p), ...) padded with zeros."""
    j = np.arange(p)
    W = np.zeros((p, d))
    for i, (k, r) in enumerate(zip(ks, radii)):
        W[:, 2 * i] = r * np.cos(2 * math.pi * k * j / p)
        W[:, 2 * i + 1] = r * np.sin(2 * math.pi * k * j / p)
    return W + noise * np.random.default_rng(seed).normal(size=W.shape)


# --------------------------------------------------------------------------- triples S


def test_triples_are_the_first_100_of_the_shuffled_lexicographic_list():
    p = 7
    idx = list(range(p ** 3))                 # lexicographic (a, b, c) ↔ a·p² + b·p + c
    random.Random(42).shuffle(idx)            # shuffle depends only on the length
    expected = [(i // p ** 2, i // p % p, i % p) for i in idx[:100]]
    assert symmetricity_triples(p) == expected
    assert symmetricity_triples(p)[0] == (3, 2, 1)


def test_triples_for_the_papers_modulus_start_where_python_says():
    triples = symmetricity_triples(59)
    assert len(triples) == 100 and triples[0] == (29, 1, 57) and triples[1] == (49, 36, 24)


# --------------------------------------------------------------------------- s_g


def test_gradient_symmetricity_is_one_for_a_function_of_ea_plus_eb():
    sg = GradientSymmetricity().fit(FormulaModel(p=11, k=3, kind="pizza"))
    assert sg.symmetricity_ == pytest.approx(1.0, abs=1e-12)
    assert sg.per_triple_.shape == (100,) and sg.triples_.shape == (100, 3)
    assert [tuple(t) for t in sg.triples_] == symmetricity_triples(11)


def test_gradient_symmetricity_is_below_one_for_the_bilinear_clock():
    sg = GradientSymmetricity().fit(FormulaModel(p=11, k=3, kind="clock"))
    assert sg.symmetricity_ < 0.5
    assert np.all(np.abs(sg.per_triple_) <= 1 + 1e-12)


def test_gradient_is_taken_before_positions_and_matches_finite_differences():
    """The autograd gradient w.r.t. hook_embed[pos 0] equals a finite difference of W_E[a]."""
    model = make_model(p=7, d_model=8, seed=3).double()
    g = GradientSymmetricity(n_triples=1).fit(model)
    a, b, c = (int(x) for x in g.triples_[0])
    from algolens.analysis.transformer.clock_pizza import _embed_grads
    grad = _embed_grads(model, torch.tensor([[a, b]]), torch.tensor([c]))[0, 0]
    u = torch.randn(8, dtype=torch.float64)
    eps = 1e-6

    def q(shift):
        def add(act, hook):
            act = act.clone()
            act[:, 0] += shift * u
            return act
        with torch.no_grad(), model.hooks([("hook_embed", add)]):
            return model(torch.tensor([[a, b]]))[0, -1, c].item()
    fd = (q(eps) - q(-eps)) / (2 * eps)
    assert fd == pytest.approx(float(grad @ u), rel=1e-6, abs=1e-9)


def test_gradient_symmetricity_with_an_equals_token_uses_positions_0_and_1():
    sg = GradientSymmetricity(n_triples=20).fit(make_model(p=7, d_model=8, eq_token=True))
    assert sg.per_triple_.shape == (20,) and -1 <= sg.symmetricity_ <= 1


# --------------------------------------------------------------------------- q


def test_logit_table_maps_sum_and_difference_to_the_right_pair():
    p = 7
    logits = np.random.default_rng(0).normal(size=(p, p, p))
    table = logit_table(logits)
    for a, b in itertools.product(range(p), repeat=2):
        assert table[(a + b) % p, (a - b) % p] == logits[a, b, (a + b) % p]
    worst = logit_table(logits, "max_incorrect")
    a, b = 2, 6
    others = [logits[a, b, c] for c in range(p) if c != (a + b) % p]
    assert worst[(a + b) % p, (a - b) % p] == max(others)


def test_q_is_zero_when_the_correct_logit_depends_only_on_a_minus_b():
    p, w = 11, 2 * math.pi * 3 / 11
    a, b, c = np.meshgrid(np.arange(p), np.arange(p), np.arange(p), indexing="ij")
    pizza = np.abs(np.cos(w * (a - b) / 2)) * np.cos(w * (a + b - c))
    assert distance_irrelevance(logit_table(pizza)) == pytest.approx(0.0, abs=1e-12)


def test_q_is_one_when_the_correct_logit_depends_only_on_a_plus_b():
    p, w = 11, 2 * math.pi * 3 / 11
    a, b, c = np.meshgrid(np.arange(p), np.arange(p), np.arange(p), indexing="ij")
    clock = np.cos(w * (a + b - c)) + 0.3 * np.cos(2 * w * (a + b))
    assert distance_irrelevance(logit_table(clock)) == pytest.approx(1.0, abs=1e-12)


def test_q_of_constant_table_is_nan_and_even_p_is_rejected():
    assert math.isnan(distance_irrelevance(np.ones((5, 5))))
    with pytest.raises(ValueError, match="odd"):
        logit_table(np.zeros((6, 6, 6)))
    with pytest.raises(ValueError, match="kind"):
        logit_table(np.zeros((5, 5, 5)), kind="median")


@pytest.mark.parametrize("kind, lo, hi", [("pizza", 0.0, 0.05), ("clock", 0.95, 1.0)])
def test_distance_irrelevance_on_formula_models(kind, lo, hi):
    di = DistanceIrrelevance().fit(FormulaModel(p=11, k=3, kind=kind))
    assert lo - 1e-9 <= di.q_ <= hi + 1e-9
    assert di.table_.shape == (11, 11)


# --------------------------------------------------------------------------- circularity


def test_perfect_circles_have_circularity_one_and_their_frequencies():
    circ = Circularity().fit_embedding(circle_embedding(13, ks=(3, 5)))
    assert circ.circularity_ == pytest.approx(1.0, abs=1e-12)
    assert circ.frequencies_.tolist() == [3, 3, 5, 5]
    assert circ.is_circular_


def test_a_random_embedding_is_not_circular():
    W = np.random.default_rng(0).normal(size=(13, 32))
    circ = Circularity().fit_embedding(W)
    assert circ.circularity_ < 0.7 and not circ.is_circular_


def test_circularity_ignores_the_equals_token_row():
    model = make_model(p=11, d_model=12, eq_token=True).double()
    with torch.no_grad():
        model.W_E[:11] = torch.as_tensor(circle_embedding(11, ks=(2, 4), d=12))
        model.W_E[11] = 100.0                      # a wild "=" row would ruin the PCA
    assert Circularity().fit(model).circularity_ == pytest.approx(1.0, abs=1e-9)


def test_circularity_needs_enough_pcs():
    with pytest.raises(ValueError, match="n_pcs"):
        Circularity().fit_embedding(np.random.default_rng(0).normal(size=(7, 3)))


# --------------------------------------------------------------------------- circle isolation


def test_circle_step_inverts_the_frequency():
    p, k = 13, 5
    j = np.arange(p)
    pts = np.stack([np.cos(2 * math.pi * k * j / p), np.sin(2 * math.pi * k * j / p)], 1)
    delta, agree = circle_step(pts)
    assert agree == 1.0 and (delta * k) % p in (1, p - 1)


def test_fve_is_one_for_itself_and_two_corr_minus_one_in_general():
    x = np.random.default_rng(0).normal(size=500)
    y = x + np.random.default_rng(1).normal(size=500)
    assert fve(x, 3 * x + 2) == pytest.approx(1.0)
    assert fve(x, y) == pytest.approx(2 * np.corrcoef(x, y)[0, 1] - 1)


@pytest.mark.parametrize("kind, best", [("clock", "fve_clock"), ("pizza", "fve_pizza"),
                                        ("accompanying", "fve_accompanying")])
def test_circle_isolation_finds_the_frequency_and_the_formula(kind, best):
    p, k = 11, 3
    iso = CircleIsolation(n_circles=2, pc_sets=((1, 4), (3, 4))).fit(
        FormulaModel(p=p, k=k, kind=kind, extra_k=5))
    first = iso.circles_[0]
    assert first.label == "PC1-2" and first.frequency == k and first.delta_agreement == 1.0
    scores = {n: getattr(first, n) for n in ("fve_clock", "fve_pizza", "fve_accompanying")}
    assert max(scores, key=scores.get) == best
    if kind != "clock":                            # the clock model has an extra a+b term
        assert scores[best] == pytest.approx(1.0, abs=1e-9)
    assert iso.circles_[1].frequency == 5
    # PCs 3-4 are an unread circle: keeping only them leaves every logit equal
    if kind != "accompanying":
        assert iso.accuracy_by_pcs_["1-4"] == iso.full_accuracy_ == 1.0
        assert iso.accuracy_by_pcs_["3-4"] < 0.5


def test_fourier_isolation_separates_two_equal_circles_that_pca_mixes():
    """Two circles of equal radius: PCs 1-2 may mix them; the Fourier basis never does."""
    p = 13
    model = make_model(p=p, d_model=12, seed=0).double()
    with torch.no_grad():
        model.W_E[:] = torch.as_tensor(circle_embedding(p, ks=(2, 5), radii=(1.0, 1.0), d=12))
    iso = CircleIsolation(n_circles=2, basis="fourier", pc_sets=()).fit(model)
    assert sorted(c.frequency for c in iso.circles_) == [2, 5]
    assert all(c.delta_agreement == 1.0 for c in iso.circles_)
    assert {c.label for c in iso.circles_} == {"freq 2", "freq 5"}
    with pytest.raises(ValueError, match="basis"):
        CircleIsolation(basis="ica").fit(model)


def test_formula_logits_match_the_spec_formulas():
    p, k = 7, 2
    forms = formula_logits(p, k)
    a, b, c = 3, 5, 1
    w = 2 * math.pi * k / p
    assert forms["clock"][a, b, c] == pytest.approx(math.cos(w * (a + b - c)))
    assert forms["pizza"][a, b, c] == pytest.approx(
        abs(math.cos(w * (a - b) / 2)) * math.cos(w * (a + b - c)))
    wo = 2 * math.pi * (k * 4 % p) / p                       # 2⁻¹ = 4 mod 7: 2·wo ≡ w
    ac = -0.5 * (math.cos(2 * wo * a - wo * c) + math.cos(2 * wo * b - wo * c))
    assert forms["accompanying"][a, b, c] == pytest.approx(ac)


# --------------------------------------------------------------------------- verdict


@pytest.mark.parametrize("s_g, q, c, verdict", [
    (0.99, 0.17, 0.998, "Pizza"),
    (0.33, 0.85, 0.999, "Clock"),
    (0.99, 0.85, 0.999, "hybrid"),
    (0.50, 0.30, 0.999, "Pizza"),           # the spec's rule: q < 0.6 decides Pizza
    (0.33, 0.85, 0.90, "non-circular"),
    (0.33, 0.85, float("nan"), "non-circular"),
], ids=["modelA", "modelB", "hybrid", "pizza-asym", "noncirc", "nan"])
def test_classify_rule(s_g, q, c, verdict):
    assert classify(s_g, q, c) == verdict


@pytest.mark.parametrize("kind, verdict", [("pizza", "Pizza"), ("clock", "Clock")])
def test_classifier_on_formula_models(kind, verdict):
    clf = ClockPizzaClassifier().fit(FormulaModel(p=11, k=3, kind=kind, extra_k=5))
    assert clf.verdict_ == verdict
    assert clf.metrics_["circularity"] == pytest.approx(1.0, abs=1e-9)
    text = clf.summary()
    for name, ref in REFERENCE.items():
        assert name in text and f"{ref['s_g']:.4f}" in text
    assert f"verdict: {verdict}" in text


def test_classifier_notes_disagreeing_signals():
    clf = ClockPizzaClassifier(circ_threshold=0.0).fit(make_model(p=7, d_model=8))
    assert clf.verdict_ in {"Pizza", "Clock", "hybrid"}
    assert any("accuracy" in n for n in clf.notes_)        # an untrained model is not 100%


# --------------------------------------------------------------------------- real training (slow)


def _train(p, d, alpha, seed, steps=2000, lr=3e-3, save=()):
    """The spec's recipe shrunk (AdamW wd 2, betas (0.9, 0.98), 10-step warm-up, full batch)."""
    from algolens.models.transformer import Transformer, TransformerConfig, make_inputs
    cfg = TransformerConfig(p=p, d_model=d, n_heads=4, d_mlp=4 * d, attn_rate=alpha)
    model = Transformer(cfg, seed=seed)
    tokens, labels = make_inputs(cfg)
    perm = torch.randperm(p * p, generator=torch.Generator().manual_seed(seed))
    train, test = perm[: int(0.8 * p * p)], perm[int(0.8 * p * p):]
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=2.0, betas=(0.9, 0.98))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 10))
    ckpts = []
    for step in range(steps + 1):
        if step in save:
            ckpts.append((step, copy.deepcopy(model)))
        logp = model(tokens[train], last_only=True).double().log_softmax(-1)
        loss = -logp[torch.arange(len(train)), labels[train]].mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return model, train.numpy(), test.numpy(), ckpts


@pytest.mark.slow
def test_constant_attention_leans_pizza_and_full_attention_leans_clock():
    """p = 17, d = 32, 2,000 steps (~85 s on one core): α = 0 vs α = 1, two seeds each."""
    from algolens.analysis.transformer import ProgressMeasures
    metrics = {}
    for alpha in (0.0, 1.0):
        runs = []
        for seed in (0, 1):
            save = (0, 50, 100, 200, 400, 1000, 2000) if (alpha, seed) == (1.0, 0) else ()
            model, train, test, ckpts = _train(17, 32, alpha, seed, save=save)
            runs.append(ClockPizzaClassifier().fit(model).metrics_)
            if ckpts:
                pm = ProgressMeasures().fit(ckpts, train, test)
        metrics[alpha] = {k: np.mean([r[k] for r in runs]) for k in ("s_g", "q")}
    assert metrics[0.0]["s_g"] > 0.95 > metrics[1.0]["s_g"]
    assert metrics[0.0]["q"] < metrics[1.0]["q"]
    first, last = pm.table_[0], pm.table_[-1]
    assert last["restricted_loss"] < 0.1 < last["excluded_loss"]       # the key freqs carry it
    assert last["gini_neuron_logit"] > first["gini_neuron_logit"] + 0.2
    assert pm.phases_.memorisation is not None

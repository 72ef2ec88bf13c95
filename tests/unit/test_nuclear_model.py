"""EmbedMLP shapes, hooks, ensemble members, bad input; tasks/splits; one tiny training run."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from algolens.models.embed_mlp import EmbedMLP, EmbedMLPConfig
from algolens.tasks.nuclear_data import load
from algolens.tasks.nuclear_physics import SEMF, pairing_sign, valence
from algolens.tasks.nuclear_tasks import dataset, involved, split
from algolens.train.nuclear import NuclearTrainConfig, prepare, train


def _model(E=3, phys=0):
    torch.manual_seed(0)
    m = EmbedMLP(EmbedMLPConfig(n_tasks=4, d_embed=4, d_model=8, n_blocks=2, n_members=E, n_physics=phys))
    for p in m.parameters():            # W_out/W_U start at zero; make every path non-trivial
        torch.nn.init.normal_(p, std=0.3)
    return m


def test_shapes_and_hook_names():
    m = _model()
    Z, N = torch.tensor([1, 26, 82]), torch.tensor([0, 30, 126])
    out, cache = m.run_with_cache(Z, N)
    assert out.shape == (3, 3, 4)
    for name in ("hook_embed_Z", "hook_embed_N", "hook_in", "hook_resid_pre", "blocks.0.hook_pre",
                 "blocks.1.hook_post", "blocks.1.hook_resid_post", "hook_resid_final", "hook_out"):
        assert name in cache
    assert cache["hook_resid_final"].shape == (3, 3, 8)
    assert torch.allclose(cache["hook_out"], out)


def test_member_matches_ensemble_slice():
    m = _model()
    Z, N = torch.arange(10), torch.arange(10) + 3
    full = m(Z, N)
    for i in range(3):
        assert torch.allclose(m.member(i)(Z, N)[0], full[i], atol=1e-6)


def test_bad_input_is_a_clear_error():
    m = _model(phys=2)
    with pytest.raises(ValueError, match=r"N in \[0, 180\)"):
        m(torch.tensor([1]), torch.tensor([500]), torch.zeros(1, 2))
    with pytest.raises(ValueError, match="physics inputs"):
        m(torch.tensor([1]), torch.tensor([1]))
    with pytest.raises(ValueError, match="d_model"):
        EmbedMLPConfig(d_model=0)


def test_physics_features():
    assert list(pairing_sign([2, 3, 3], [2, 2, 4 + 1])) == [1.0, 0.0, -1.0]
    v, size = valence(np.array([8, 10, 28, 50, 82, 100]))
    assert list(v) == [0, 2, 0, 0, 0, 18] and list(size) == [12, 12, 22, 32, 44, 44]


def test_semf_coefficients_are_textbook_like():
    t = load(2020)
    ok = t.measured & (t.A >= 8)
    c = SEMF().fit(t.Z[ok], t.N[ok], t["binding"].value[ok]).coefficients_MeV
    assert 14.5 < c["volume"] < 16.5 and 15 < c["surface"] < 19 and 0.6 < c["coulomb"] < 0.8
    assert 20 < c["asymmetry"] < 25 and 8 < c["pairing"] < 14


def test_split_holds_out_whole_nuclides():
    ds = dataset(load(2020))
    sp = split(ds, seed=1)
    held = {tuple(x) for x in sp.heldout_nuclides}
    assert 240 < len(held) < 270
    for i in np.flatnonzero(sp.train):
        assert not any(nu in held for nu in involved(ds.tasks[ds.task[i]], int(ds.Z[i]), int(ds.N[i])))
    # Sn of the neighbour (Z, N+1) involves (Z, N): it must be out of training too
    z, n = next((z, n) for z, n in held if (z, n + 1) not in held)
    sn = ds.rows_of("Sn")
    r = sn[(ds.Z[sn] == z) & (ds.N[sn] == n + 1)]
    assert all(not sp.train[i] for i in r)
    assert set(map(tuple, np.c_[ds.Z[sp.test], ds.N[sp.test]])) == held
    assert np.array_equal(split(ds, seed=1).train, sp.train)


def test_tiny_training_beats_semf():
    ds = dataset(load(2020), ("binding", "Sn"))
    cfg = NuclearTrainConfig(tasks=("binding", "Sn"), d_embed=4, d_model=16, n_blocks=1, steps=60,
                             lr=5e-3, n_members=2)
    trainer, hist = train(prepare(ds, split(ds, seed=0), cfg), cfg, progress=False, eval_every=60)
    ev = hist[-1]
    assert ev["test_rms_keV"] < 0.8 * ev["test_semf_rms_keV"]
    assert np.isfinite(ev["loss"])


def test_per_nucleon_scaling_and_preset():
    """paper-embeddings: binding head reads standardised B/A; to_MeV maps it back to B (× A)."""
    from algolens.train.nuclear import preset, to_MeV

    cfg = preset("paper-embeddings", steps=30, d_embed=8, d_model=16)
    assert cfg.baseline == "none" and cfg.per_nucleon and not cfg.physics_inputs
    ds = dataset(load(2020), cfg.tasks)
    p = prepare(ds, split(ds, 0), cfg)
    b = ds.rows_of("binding")
    ba = ds.target[b] / (ds.Z[b] + ds.N[b]) / 1000
    assert abs(float(p.task_offset[0]) - ba.mean()) < 0.2  # mean B/A in MeV (~8)
    raw = torch.zeros(1, len(p.Z), len(cfg.tasks))
    out = to_MeV(raw, p.task_scale, p.task_offset, p.A)
    assert torch.allclose(out[0, :, 0], p.task_offset[0] * p.A)  # zero output = mean B/A × A
    assert torch.allclose(out[0, :, 1], p.task_offset[1].expand(len(p.Z)))
    with pytest.raises(ValueError, match="unknown preset"):
        preset("nope")
    trainer, _ = train(p, cfg, progress=False)
    ev = trainer.evaluate()
    assert ev["train_rms_keV"] < ev["train_semf_rms_keV"]  # beats "predict nothing" (B itself)


def test_derived_pairing_tasks_are_second_differences_of_B():
    """D2n = Sn(Z,N) - Sn(Z,N-1): ~ +2Δ for even N, -2Δ for odd N; measured only where all are."""
    from algolens.tasks.nuclear_tasks import task_column

    t = load(2020)
    d2n, d2p, sn, sp = task_column(t, "D2n"), task_column(t, "D2p"), t["Sn"], t["Sp"]
    i, j, k = t.index(50, 70), t.index(50, 69), t.index(49, 70)  # 120Sn, 119Sn, 119In
    assert d2n.value[i] == pytest.approx(sn.value[i] - sn.value[j], abs=0.05)
    assert d2p.value[i] == pytest.approx(sp.value[i] - sp.value[k], abs=0.05)
    assert not d2n.calculable[t.index(1, 0)] and np.isnan(d2n.value[t.index(1, 0)])  # no N-1, N-2
    ds = dataset(t, ("binding", "D2n"))
    r = ds.rows_of("D2n")
    even = ds.N[r] % 2 == 0
    assert ds.target[r][even].mean() > 1000 > -1000 > ds.target[r][~even].mean()
    assert involved("D2n", 50, 70) == [(50, 70), (50, 69), (50, 68)]
    semf = SEMF().fit(t.Z[t.measured], t.N[t.measured], t["binding"].value[t.measured])
    assert semf.predict("D2n", np.array([50]), np.array([70]))[0] > 0  # pairing term of the SEMF


def test_embed_weight_decay_is_its_own_param_group():
    from algolens.train.nuclear import NuclearTrainer

    ds = dataset(load(2020), ("binding",))
    cfg = NuclearTrainConfig(d_embed=4, d_model=8, n_blocks=1, steps=1, n_members=1,
                             weight_decay=0.1, embed_weight_decay=2.0)
    tr = NuclearTrainer(prepare(ds, split(ds, seed=0), cfg), cfg)
    wds = sorted(g["weight_decay"] for g in tr.opt.param_groups)
    assert wds == [0.1, 2.0]
    assert sum(p.numel() for g in tr.opt.param_groups for p in g["params"]) == sum(
        p.numel() for p in tr.model.parameters())


def test_paper_pairing_preset_adds_the_staggering_heads():
    from algolens.train.nuclear import preset

    cfg, paper = preset("paper-pairing"), preset("paper-embeddings")
    assert cfg.tasks == ("binding", "Sn", "Sp", "D2n", "D2p") and cfg.aux_weight == 4.0
    assert (cfg.d_embed, cfg.weight_decay, cfg.steps, cfg.baseline) == (
        paper.d_embed, paper.weight_decay, paper.steps, paper.baseline)

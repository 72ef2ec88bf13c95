"""The batched modular-addition trainer: learning, determinism, split, NaN handling, and the
weights and checkpoints it keeps in a run of the store (checksummed, refused when damaged)."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest
import torch

from algolens.models.ensemble import TransformerEnsemble
from algolens.models.transformer import TransformerConfig, make_inputs
from algolens.store import RunStore, StoreError
from algolens.train.modular import (
    TrainConfig,
    list_checkpoints,
    load_model,
    split_mask,
    train_ensemble,
)

torch.set_num_threads(1)

CFG = TransformerConfig(p=7, d_model=16, n_heads=2, d_mlp=32)
FAST = TrainConfig(steps=150, lr=1e-2, weight_decay=0.1, eval_every=10, train_frac=0.8)


def test_training_fits_the_training_set() -> None:
    [r] = train_ensemble(CFG, [0], None, FAST, progress=False)
    h = r.history
    assert r.status == "ok" and r.steps_done == 150
    assert h.train_loss[-1] < 0.1 * h.train_loss[0]
    assert h.train_acc[-1] == 1.0
    assert h.step[0] == 0 and h.step[-1] == 149
    assert len(h.step) == len(h.val_acc) == 16


def test_batched_equals_alone() -> None:
    """A run is a function of (config, seed): batching with other runs does not change it."""
    alone = train_ensemble(replace(CFG, attn_rate=0.5), [3], None,
                           replace(FAST, steps=30), progress=False)[0]
    batch = train_ensemble(CFG, [1, 3], [0.0, 0.5], replace(FAST, steps=30), progress=False)
    assert batch[1].seed == alone.seed == 3 and batch[1].n_members == 2
    for k, v in alone.state.items():
        torch.testing.assert_close(batch[1].state[k], v, rtol=1e-4, atol=1e-5)
    assert batch[0].config.attn_rate == 0.0 and batch[1].config.attn_rate == 0.5


def test_reported_losses_match_a_direct_computation() -> None:
    tcfg = replace(FAST, steps=5, eval_every=1)
    [r] = train_ensemble(CFG, [2], None, tcfg, progress=False)
    # recompute step-0 metrics from the initial model
    from algolens.models.transformer import Transformer
    net = Transformer(CFG, seed=2)
    tokens, labels = make_inputs(CFG)
    mask = split_mask(CFG.p, tcfg.train_frac, 2)
    logp = net(tokens, last_only=True).double().log_softmax(-1)
    nll = -logp[torch.arange(len(labels)), labels]
    assert math.isclose(r.history.train_loss[0], nll[mask].mean().item(), rel_tol=1e-5)
    assert math.isclose(r.history.val_loss[0], nll[~mask].mean().item(), rel_tol=1e-5)


def test_split_is_seeded_and_sized() -> None:
    a, b = split_mask(11, 0.3, 0), split_mask(11, 0.3, 0)
    assert a.tolist() == b.tolist() and a.sum() == round(0.3 * 121)     # boolean masks
    assert a.tolist() != split_mask(11, 0.3, 1).tolist()


def test_stop_at_100() -> None:
    """α = 0 at p = 11 with 95% train generalises in ~700 steps (a few seconds)."""
    cfg = TransformerConfig(p=11, d_model=32, n_heads=4, d_mlp=128, attn_rate=0.0)
    tcfg = TrainConfig(steps=1500, lr=3e-3, weight_decay=1.0, train_frac=0.95, eval_every=10,
                       stop_at_100=True)
    [r] = train_ensemble(cfg, [0], None, tcfg, progress=False)
    assert r.history.train_acc[-1] == 1.0 and r.history.val_acc[-1] == 1.0
    assert r.steps_done < 1500 and r.steps_done == r.history.step[-1]


def test_nan_loss_stops_with_reason() -> None:
    tcfg = replace(FAST, steps=50, lr=1e6, warmup=0, weight_decay=0.0)
    rs = train_ensemble(CFG, [0, 1], None, tcfg, progress=False)
    assert all(r.status == "diverged" for r in rs)
    assert "lower --lr" in rs[0].reason and "step" in rs[0].reason
    assert rs[0].steps_done < 50


def _run(tmp_path, name: str = "run"):
    return RunStore(tmp_path / "runs").create("clock_pizza", "p7", {"p": 7}, seed=0,
                                               run_id=name)


def test_checkpoints_go_into_the_run_manifest(tmp_path) -> None:
    """Every checkpoint is written through the run: in its manifest, loadable, identical."""
    tcfg = replace(FAST, steps=20, checkpoint_every=10)
    run = _run(tmp_path)
    [r] = train_ensemble(CFG, [0], None, tcfg, checkpoint_runs=[run], progress=False)
    run.save_weights(r.state)
    assert [s for s, _ in list_checkpoints(run)] == [0, 10, 20]   # 0: the initialisation
    manifest = json.loads((run.dir / "manifest.json").read_text())
    assert {n for _, n in list_checkpoints(run)} <= set(manifest)
    tokens, _ = make_inputs(CFG)
    torch.testing.assert_close(load_model(CFG, run)(tokens), r.model()(tokens))
    last = list_checkpoints(run)[-1][1]
    assert last == "checkpoints/step_000020.safetensors"
    torch.testing.assert_close(load_model(CFG, run, last)(tokens), r.model()(tokens))
    assert not list(run.dir.rglob("*.tmp"))


def test_a_damaged_checkpoint_is_refused_naming_run_and_file(tmp_path) -> None:
    """Issue 18 §3: overwriting half a checkpoint is caught, by the loader and by verify."""
    run = _run(tmp_path)
    train_ensemble(CFG, [0], None, replace(FAST, steps=10, checkpoint_every=5),
                   checkpoint_runs=[run], progress=False)
    name = list_checkpoints(run)[1][1]
    path = run.dir / name
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] + bytes(len(data) - len(data) // 2))
    with pytest.raises(StoreError, match=f"run {run.id}: {name} changed or was damaged"):
        load_model(CFG, run, name)
    assert any(p.kind == "checksum" and name in p.detail for p in run.store.verify())


def test_corrupt_or_mismatched_weights_are_a_clear_error(tmp_path) -> None:
    [r] = train_ensemble(CFG, [0], None, replace(FAST, steps=5), progress=False)
    run = _run(tmp_path)
    run.save_weights(r.state)
    w = run.dir / "weights.safetensors"
    good = w.read_bytes()
    w.write_bytes(good[:200])
    with pytest.raises(StoreError, match="changed or was damaged"):     # the recorded SHA-256
        load_model(CFG, run)
    other = _run(tmp_path, "other")
    other.write_bytes("weights.safetensors", good[:200])               # recorded, but truncated
    with pytest.raises(ValueError, match="truncated or corrupt"):
        load_model(CFG, other)
    other.save_weights(r.state)
    with pytest.raises(ValueError, match="different networks"):
        load_model(replace(CFG, p=11), other)
    with pytest.raises(StoreError, match="has no file 'checkpoints/step_000100"):
        load_model(CFG, other, "checkpoints/step_000100.safetensors")


@pytest.mark.parametrize("bad", [dict(steps=0), dict(train_frac=1.0), dict(lr=0)], ids=str)
def test_bad_train_config(bad) -> None:
    with pytest.raises(ValueError):
        TrainConfig(**bad)


def test_two_layer_and_eq_token_train() -> None:
    cfg = replace(CFG, n_layers=2, eq_token=True, causal=True)
    [r] = train_ensemble(cfg, [0], None, replace(FAST, steps=40), progress=False)
    assert r.status == "ok" and r.history.train_loss[-1] < r.history.train_loss[0]


@pytest.mark.parametrize("layers", [1, 2])
def test_train_only_step_equals_full_step(layers) -> None:
    """Between eval steps only the train pairs are computed; loss and gradients are the same."""
    from algolens.train.modular import _Stepper
    cfg = replace(CFG, n_layers=layers)
    ens = TransformerEnsemble(cfg, [0, 1], [0.0, 1.0]).double()
    tokens, labels = make_inputs(cfg)
    masks = torch.stack([split_mask(cfg.p, 0.3, s) for s in (0, 1)])
    step = _Stepper(ens, masks, labels, tokens)
    out = []
    for full in (True, False):
        ens.zero_grad()
        train, val, logits = step(full=full)
        assert (val is None) == (not full) and (logits is None) == (not full)
        train.sum().backward()
        out.append((train.detach(), {k: v.grad.clone() for k, v in ens.named_parameters()}))
    torch.testing.assert_close(out[0][0], out[1][0], rtol=1e-12, atol=0)
    for k in out[0][1]:
        torch.testing.assert_close(out[0][1][k], out[1][1][k], rtol=1e-9, atol=1e-12)


def test_eval_every_does_not_change_the_trajectory() -> None:
    """Evaluating every step (full grid) or every 25 (train rows only between) trains alike."""
    tc = replace(FAST, steps=60, train_frac=0.3)
    [a] = train_ensemble(CFG, [3], None, replace(tc, eval_every=1), progress=False)
    [b] = train_ensemble(CFG, [3], None, replace(tc, eval_every=25), progress=False)
    for k in a.state:
        torch.testing.assert_close(a.state[k], b.state[k], rtol=1e-4, atol=1e-5)
    assert b.history.step == [0, 25, 50, 59]
    assert b.history.val_loss[-1] == pytest.approx(a.history.val_loss[-1], rel=1e-4)

"""Checkpoints in a run of the store: bit-exact round trip, atomic writes, every file in the
manifest, clear errors for corrupt/mismatched files (older runs, with the model config in
config.json, still load)."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save as st_save

from algolens.io import atomic_write_bytes
from algolens.models.rnn import MIPSRNN, RNNConfig
from algolens.store import RunStore
from algolens.train.checkpoint import load_checkpoint, save_checkpoint

torch.set_num_threads(1)

CONFIGS = {
    "linear": RNNConfig(hidden=3, input_scale=(0.01,), output_scale=4.0),
    "mlp": RNNConfig(hidden=2, f_depth=2, f_width=5, g_depth=2, g_width=3),
    "onehot": RNNConfig(n_inputs=2, hidden=2, f_depth=2, f_width=4, encoding="onehot",
                        alphabet=((0, 1), (0, 1, 2))),
}


def _run(tmp_path):
    return RunStore(tmp_path / "runs").create("train", "demo", {"task": "demo"}, seed=0)


def _rewrite(run, name: str, data: bytes) -> None:
    """Change a file as a consistent writer would (its manifest entry follows)."""
    run.write_bytes(name, data)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_round_trip_is_bit_exact(tmp_path, name):
    cfg = CONFIGS[name]
    net = MIPSRNN(cfg, seed=3).eval()
    x = torch.randint(0, 2, (16, 7, cfg.n_inputs))
    run = _run(tmp_path)
    save_checkpoint(net, run)
    back = load_checkpoint(run)
    assert back.cfg == cfg
    torch.testing.assert_close(back(x), net(x), rtol=1e-6, atol=1e-6)
    for (n, p), q in zip(net.named_parameters(), back.parameters()):
        torch.testing.assert_close(q, p, rtol=0, atol=0, msg=n)     # weights: copied bits
    assert not any(p.name.endswith(".tmp") for p in run.dir.iterdir())
    manifest = json.loads((run.dir / "manifest.json").read_text())
    assert {"weights.safetensors", "model.json", "config.json"} <= set(manifest)
    assert json.loads((run.dir / "config.json").read_text())["task"] == "demo"   # untouched


def test_a_flipped_byte_is_refused(tmp_path):
    run = _run(tmp_path)
    save_checkpoint(MIPSRNN(CONFIGS["mlp"], seed=0), run)
    for name in ("weights.safetensors", "model.json"):
        p = run.dir / name
        good = p.read_bytes()
        p.write_bytes(good[:-2] + bytes([good[-2] ^ 1]) + good[-1:])
        with pytest.raises(ValueError, match=f"{name} changed or was damaged"):
            load_checkpoint(run)
        p.write_bytes(good)


def test_an_older_run_with_the_model_in_config_json_still_loads(tmp_path):
    run = _run(tmp_path)
    net = MIPSRNN(CONFIGS["onehot"], seed=1)
    save_checkpoint(net, run)
    model = json.loads((run.dir / "model.json").read_text())
    (run.dir / "model.json").unlink()
    old = {**json.loads((run.dir / "config.json").read_text()), **model, "task": "demo"}
    _rewrite(run, "config.json", json.dumps(old).encode())
    assert load_checkpoint(run).cfg == net.cfg


def test_atomic_write_leaves_no_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "weights.safetensors"
    atomic_write_bytes(target, b"old")

    def boom(*_a, **_k):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", boom)
    with pytest.raises(OSError):
        atomic_write_bytes(target, b"new content")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["weights.safetensors"]


def test_refuses_to_save_nan_weights(tmp_path):
    net = MIPSRNN(CONFIGS["linear"], seed=0)
    with torch.no_grad():
        net.core.f0_W[0, 0, 0] = float("nan")
    run = _run(tmp_path)
    with pytest.raises(ValueError, match="NaN/inf"):
        save_checkpoint(net, run)
    assert not (run.dir / "weights.safetensors").exists()


@pytest.fixture
def saved(tmp_path):
    run = _run(tmp_path)
    save_checkpoint(MIPSRNN(CONFIGS["mlp"], seed=0), run)
    return run


def test_truncated_weights(saved):
    w = saved.dir / "weights.safetensors"
    _rewrite(saved, w.name, w.read_bytes()[:-20])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        load_checkpoint(saved)


def test_missing_tensor(saved):
    tensors = {k: v for k, v in MIPSRNN(CONFIGS["mlp"]).named_parameters() if k != "core.g1_b"}
    _rewrite(saved, "weights.safetensors", st_save({k: v.detach() for k, v in tensors.items()}))
    with pytest.raises(ValueError, match=r"missing tensors \['core.g1_b'\]"):
        load_checkpoint(saved)


def test_config_mismatch_wrong_shapes(saved):
    meta = json.loads((saved.dir / "model.json").read_text())
    meta["model"]["f_width"] = 7
    _rewrite(saved, "model.json", json.dumps(meta).encode())
    with pytest.raises(ValueError, match="has shape"):
        load_checkpoint(saved)


def test_not_a_checkpoint(saved):
    _rewrite(saved, "model.json", json.dumps({"format": "something-else"}).encode())
    with pytest.raises(ValueError, match="not an algolens RNN checkpoint"):
        load_checkpoint(saved)


def test_missing_weights_file(saved):
    (saved.dir / "weights.safetensors").unlink()
    with pytest.raises(ValueError, match="weights.safetensors is missing"):
        load_checkpoint(saved)


def test_atomic_write_gives_the_usual_permissions(tmp_path):
    """Files are readable like any other new file (mkstemp alone would make them 0600)."""
    import os
    mask = os.umask(0o022)
    os.umask(mask)
    target = atomic_write_bytes(tmp_path / "f.bin", b"x")
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask

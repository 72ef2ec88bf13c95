"""Checkpoints of one RNN: ``weights.safetensors`` + ``config.json``, written atomically, no pickle.

Loading checks everything a silent mismatch could hide: the format tag, the config, every tensor's
presence, shape, dtype and finiteness. Any problem raises ``ValueError`` naming the file and the
fix.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from ..io import atomic_write_bytes, atomic_write_json, read_json
from ..models.rnn import MIPSRNN, RNNConfig
from ..store import record_checksum, sha256_file

FORMAT = "algolens-rnn/1"
WEIGHTS = "weights.safetensors"
CONFIG = "config.json"


def save_checkpoint(net: MIPSRNN, run_dir: str | Path, meta: dict[str, Any] | None = None) -> Path:
    """Write ``net`` to ``run_dir``; refuses (ValueError) to save non-finite weights."""
    run_dir = Path(run_dir)
    tensors = {k: v.detach().to(torch.float32).contiguous().clone()
               for k, v in net.named_parameters()}
    bad = [k for k, v in tensors.items() if not torch.isfinite(v).all()]
    if bad:
        raise ValueError(f"refusing to save a checkpoint with NaN/inf weights in {bad}; the "
                         "training run diverged (lower the learning rate)")
    # weights first, config last: a config.json always points at complete weights
    data = st_save(tensors, metadata={"format": FORMAT})
    atomic_write_bytes(run_dir / WEIGHTS, data)
    record_checksum(run_dir, WEIGHTS, hashlib.sha256(data).hexdigest())
    # keep the run store's identity fields (study, key, seed, run id) written at its start
    old = read_json(run_dir / CONFIG) if (run_dir / CONFIG).is_file() else {}
    keep = {k: old[k] for k in ("study", "key", "seed", "run_id", "fingerprint") if k in old}
    body = {**keep, "format": FORMAT, "model": net.cfg.to_dict(),
            "shapes": {k: list(v.shape) for k, v in tensors.items()}, **(meta or {})}
    atomic_write_json(run_dir / CONFIG, body)
    record_checksum(run_dir, CONFIG, sha256_file(run_dir / CONFIG))
    return run_dir


def load_checkpoint(run_dir: str | Path) -> tuple[MIPSRNN, dict[str, Any]]:
    """Load ``(network in eval mode, config.json contents)``; ValueError on any mismatch."""
    run_dir = Path(run_dir)
    cfg_path, w_path = run_dir / CONFIG, run_dir / WEIGHTS
    for p in (cfg_path, w_path):
        if not p.is_file():
            raise ValueError(f"checkpoint {run_dir} is incomplete: {p.name} is missing; the run "
                             "was interrupted or the folder is not a run directory")
    meta = read_json(cfg_path)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{cfg_path} is not an algolens RNN checkpoint (format "
                         f"{meta.get('format') if isinstance(meta, dict) else None!r}, "
                         f"expected {FORMAT!r})")
    try:
        cfg = RNNConfig.from_dict(meta["model"])
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{cfg_path}: the model config is invalid ({e}); the file is corrupt "
                         "or from another version") from e
    net = MIPSRNN(cfg)
    load_weights_into(net, w_path, net.cfg.describe())
    return net.eval(), meta


def load_weights_into(net: torch.nn.Module, path: Path, describe: str) -> torch.nn.Module:
    """Fill ``net``'s parameters from the safetensors file ``path``, checking that the file
    reads, that names and shapes match ``net`` (built from the config, ``describe``d in
    messages) and that every tensor is finite. Any problem is a ``ValueError`` with the fix."""
    _fill(net, _read_tensors(path), path, describe)
    return net


def _read_tensors(path: Path) -> dict[str, torch.Tensor]:
    try:
        return st_load(path.read_bytes())
    except Exception as e:  # safetensors raises its own error types for truncated/garbled files
        raise ValueError(f"{path} cannot be read as safetensors ({e}); the file is truncated "
                         "or corrupt: delete the run directory and train again") from e


def _fill(net: torch.nn.Module, tensors: dict[str, torch.Tensor], path: Path,
          describe: str) -> None:
    """Copy ``tensors`` into ``net``, checking names, shapes, dtypes and finiteness."""
    params = dict(net.named_parameters())
    missing = sorted(set(params) - set(tensors))
    extra = sorted(set(tensors) - set(params))
    if missing or extra:
        raise ValueError(f"{path} does not match its config.json: missing tensors {missing}, "
                         f"unexpected tensors {extra}")
    for name, p in params.items():
        t = tensors[name]
        if tuple(t.shape) != tuple(p.shape):
            raise ValueError(f"{path}: tensor {name} has shape {tuple(t.shape)} but the config "
                             f"({describe}) needs {tuple(p.shape)}; config.json and "
                             "weights come from different networks")
        if not t.is_floating_point() or not torch.isfinite(t).all():
            raise ValueError(f"{path}: tensor {name} is not finite floating point data")
        with torch.no_grad():
            p.copy_(t.to(p.dtype))

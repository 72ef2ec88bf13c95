"""Checkpoints of one RNN, kept in a run of the store: ``weights.safetensors`` + ``model.json``.

Both files go through the run (``Run.save_weights`` / ``Run.write_json``), so their SHA-256 is in
the run's manifest, and are read back through it (``Run.load_weights`` / ``Run.artefact``: a
changed byte is refused before anything is loaded). No pickle. Loading checks everything a
silent mismatch could hide: the format tag, the model config, every tensor's presence, shape,
dtype and finiteness. Any problem raises ``ValueError`` naming the file and the fix.

Runs written before ``model.json`` existed kept the model config in ``config.json``; they still
load.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as st_load

from ..io import read_json
from ..models.rnn import MIPSRNN, RNNConfig
from ..store import Run, StoreError

FORMAT = "algolens-rnn/1"
WEIGHTS = "weights.safetensors"
MODEL = "model.json"
LEGACY_CONFIG = "config.json"     # held the model config before model.json (older runs)


def save_checkpoint(net: MIPSRNN, run: Run) -> None:
    """Write ``net`` into ``run``; refuses (ValueError) to save non-finite weights."""
    tensors = {k: v.detach().to(torch.float32).contiguous().clone()
               for k, v in net.named_parameters()}
    bad = [k for k, v in tensors.items() if not torch.isfinite(v).all()]
    if bad:
        raise ValueError(f"refusing to save a checkpoint with NaN/inf weights in {bad}; the "
                         "training run diverged (lower the learning rate)")
    # weights first, model.json last: a model.json always describes complete weights
    run.save_weights(tensors, WEIGHTS, metadata={"format": FORMAT})
    run.write_json(MODEL, {"format": FORMAT, "model": net.cfg.to_dict(),
                           "shapes": {k: list(v.shape) for k, v in tensors.items()}})


def load_checkpoint(run: Run) -> MIPSRNN:
    """The run's network in eval mode (checksums checked first); ValueError on any mismatch."""
    meta, where = _model_meta(run)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{where} is not an algolens RNN checkpoint (format "
                         f"{meta.get('format') if isinstance(meta, dict) else None!r}, "
                         f"expected {FORMAT!r})")
    try:
        cfg = RNNConfig.from_dict(meta["model"])
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{where}: the model config is invalid ({e}); the file is corrupt "
                         "or from another version") from e
    net = MIPSRNN(cfg)
    _fill(net, _run_tensors(run), run.dir / WEIGHTS, net.cfg.describe())
    return net.eval()


def _model_meta(run: Run) -> tuple[Any, Path]:
    """model.json (or, in a run older than it, config.json) and where it came from."""
    name = MODEL if (run.dir / MODEL).is_file() else LEGACY_CONFIG
    if not (run.dir / name).is_file() or not (run.dir / WEIGHTS).is_file():
        missing = WEIGHTS if (run.dir / name).is_file() else MODEL
        raise ValueError(f"checkpoint {run.dir} is incomplete: {missing} is missing; the run "
                         "was interrupted or did not train a network")
    return read_json(run.artefact(name)), run.dir / name


def _run_tensors(run: Run) -> dict[str, torch.Tensor]:
    try:
        return run.load_weights(WEIGHTS)
    except StoreError:
        raise                     # a changed file: the store's message names the fix
    except Exception as e:  # safetensors raises its own error types for truncated/garbled files
        raise ValueError(f"{run.dir / WEIGHTS} cannot be read as safetensors ({e}); the file is "
                         "truncated or corrupt: delete the run directory and train again") from e


def load_weights_into(net: torch.nn.Module, path: Path, describe: str) -> torch.nn.Module:
    """Fill ``net``'s parameters from the safetensors file ``path``, checking that the file
    reads, that names and shapes match ``net`` (built from the config, ``describe``d in
    messages) and that every tensor is finite. Any problem is a ``ValueError`` with the fix.
    (For studies that keep weights outside a ``Run``; RNN runs use ``load_checkpoint``.)"""
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
        raise ValueError(f"{path} does not match its model config: missing tensors {missing}, "
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

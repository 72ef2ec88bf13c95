"""RNN architecture-search runs in the shared run store (``algolens.store``).

A search lives in ``<root>/train/<task>-<short id>/`` with ``config.json``,
``weights.safetensors`` (SHA-256 in ``manifest.json``), ``metrics.json`` and ``progress.json``
(architectures already tried, for ``--resume``); ``<root>/index.db`` holds its row (study
``train``, key = task name). These functions keep the search's vocabulary (task, accuracy,
hidden size) over the generic store.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..io import atomic_write_json, read_json
from ..models.rnn import MIPSRNN
from ..store import Run, RunStore, check_weights
from .checkpoint import load_checkpoint

STUDY = "train"


def start_run(root: str | Path, task: str, study: str = STUDY, fingerprint: str = "",
              seed: int | None = None) -> Path:
    """Create a fresh run directory and index it as "running" (locked while this process
    writes it, so two searches never write one run)."""
    run = RunStore(root).create(study, task, {"task": task}, fingerprint=fingerprint, seed=seed)
    _LOCKS[run.dir.resolve()] = run.lock()
    return run.dir


def reopen_run(root: str | Path, run_dir: Path) -> Path:
    """Continue an unfinished run (``--resume``): running again, locked by this process."""
    store = RunStore(root)
    rec = store.get(Path(run_dir).name)
    lock = _LOCKS.pop(rec.dir, None) or Run(store, rec.study, rec.id, rec.dir).lock()
    # (.lock() refuses a run that another process holds)
    run = store.reopen(rec.id)
    _LOCKS[run.dir.resolve()] = lock
    return run.dir


_LOCKS: dict[Path, Any] = {}   # run folder -> its held lock (released when the run ends)


def finish_run(root: str | Path, run_dir: Path, status: str, reason: str = "",
               accuracy: float | None = None, hidden: int | None = None,
               parameters: int | None = None, seconds: float | None = None) -> None:
    """Mark a run "done" or "failed" (with a reason) in the index."""
    if status not in ("done", "failed", "interrupted"):
        raise ValueError(f"status must be 'done', 'failed' or 'interrupted', got {status!r}")
    lock = _LOCKS.pop(Path(run_dir).resolve(), None)
    if lock is not None:
        lock.unlock()
    store = RunStore(root)
    rec = store.get(Path(run_dir).name)
    Run(store, rec.study, rec.id, rec.dir).finish(
        status=status, reason=reason,
        key_metrics={"accuracy": accuracy, "hidden": hidden, "parameters": parameters,
                     "seconds": seconds})


def list_runs(root: str | Path = "runs", task: str | None = None) -> list[dict[str, Any]]:
    """Search runs (newest first), optionally for one task: id, task, status, reason, path and
    the key metrics (accuracy, hidden, parameters, seconds)."""
    rows = []
    for r in RunStore(root).list(study=STUDY, key=task):
        rows.append({"id": r.id, "study": r.study, "task": r.key, "status": r.status,
                     "reason": r.reason, "created": r.created, "path": str(r.dir),
                     "fingerprint": r.fingerprint, **r.metrics})
    return rows


def find_run(task_name: str, root: str | Path = "runs", fingerprint: str | None = None
             ) -> Path | None:
    """The latest successful (done, 100% accurate) run for a task, or None."""
    for row in list_runs(root, task_name):
        if fingerprint is not None and row["fingerprint"] not in ("", fingerprint):
            continue
        if row["status"] == "done" and (row.get("accuracy") or 0) >= 1.0 and \
                Path(row["path"]).is_dir():
            return Path(row["path"])
    return None


def find_unfinished(task_name: str, root: str | Path = "runs", fingerprint: str | None = None
                    ) -> Path | None:
    """The latest run of a task that did not finish (interrupted or still marked running) and
    was started for the same task definition."""
    for row in list_runs(root, task_name):
        if fingerprint is not None and row["fingerprint"] not in ("", fingerprint):
            continue
        if row["status"] in ("running", "interrupted") and Path(row["path"]).is_dir():
            return Path(row["path"])
    return None


def load_run(run_dir: str | Path) -> tuple[MIPSRNN, dict[str, Any]]:
    """Network (eval mode) + metadata: config.json merged with metrics.json when present.

    The weights must match the SHA-256 recorded when they were written."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ValueError(f"run directory {run_dir} does not exist; see `algolens train --help`")
    check_weights(run_dir)
    net, meta = load_checkpoint(run_dir)
    metrics = run_dir / "metrics.json"
    if metrics.is_file():
        meta = {**meta, **read_json(metrics)}
    return net, meta


def read_progress(run_dir: Path) -> list[dict[str, Any]]:
    """Architectures already tried in this run (empty for a new run)."""
    p = Path(run_dir) / "progress.json"
    return list(read_json(p)["tried"]) if p.is_file() else []


def write_progress(run_dir: Path, tried: list[dict[str, Any]]) -> None:
    atomic_write_json(Path(run_dir) / "progress.json", {"tried": tried})

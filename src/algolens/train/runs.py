"""Run directories and the SQLite run index.

A training run lives in ``<root>/train/<task>-<short id>/`` with ``config.json``,
``weights.safetensors``, ``metrics.json`` and ``progress.json`` (architectures already tried, for
``--resume``). ``<root>/index.db`` holds one row per run; a run is "running" from its start and
"done" or "failed" (with a reason) at its end, so an interrupted run is visible as "running".
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from contextlib import closing
from pathlib import Path
from typing import Any

from ..io import atomic_write_json, read_json
from ..models.rnn import MIPSRNN
from .checkpoint import load_checkpoint

STUDY = "train"
_SCHEMA = """CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, study TEXT, task TEXT, status TEXT, created REAL, path TEXT,
    accuracy REAL, hidden INTEGER, parameters INTEGER, seconds REAL, reason TEXT)"""


def _connect(root: str | Path) -> sqlite3.Connection:
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(root / "index.db", timeout=30)
    con.execute(_SCHEMA)
    return con


def start_run(root: str | Path, task: str, study: str = STUDY) -> Path:
    """Create a fresh run directory and index it as "running"."""
    run_id = f"{task}-{uuid.uuid4().hex[:8]}"
    path = Path(root) / study / run_id
    path.mkdir(parents=True, exist_ok=False)
    with closing(_connect(root)) as con, con:
        con.execute("INSERT INTO runs (id, study, task, status, created, path) "
                    "VALUES (?, ?, ?, 'running', ?, ?)",
                    (run_id, study, task, time.time(), str(path.resolve())))
    return path


def finish_run(root: str | Path, run_dir: Path, status: str, reason: str = "",
               accuracy: float | None = None, hidden: int | None = None,
               parameters: int | None = None, seconds: float | None = None) -> None:
    """Mark a run "done" or "failed" (with a reason) in the index."""
    if status not in ("done", "failed"):
        raise ValueError(f"status must be 'done' or 'failed', got {status!r}")
    with closing(_connect(root)) as con, con:
        con.execute("UPDATE runs SET status=?, reason=?, accuracy=?, hidden=?, parameters=?, "
                    "seconds=? WHERE id=?",
                    (status, reason, accuracy, hidden, parameters, seconds, Path(run_dir).name))


def list_runs(root: str | Path = "runs", task: str | None = None) -> list[dict[str, Any]]:
    """Rows of the index (newest first), optionally for one task."""
    if not (Path(root) / "index.db").is_file():
        return []
    with closing(_connect(root)) as con:
        con.row_factory = sqlite3.Row
        q, args = "SELECT * FROM runs", ()
        if task is not None:
            q, args = q + " WHERE task=?", (task,)
        return [dict(r) for r in con.execute(q + " ORDER BY created DESC", args)]


def find_run(task_name: str, root: str | Path = "runs") -> Path | None:
    """The latest successful (done, 100% accurate) run for a task, or None."""
    for row in list_runs(root, task_name):
        if row["status"] == "done" and (row["accuracy"] or 0) >= 1.0 and Path(row["path"]).is_dir():
            return Path(row["path"])
    return None


def find_unfinished(task_name: str, root: str | Path = "runs") -> Path | None:
    """The latest run of a task still marked "running" (an interrupted search), or None."""
    for row in list_runs(root, task_name):
        if row["status"] == "running" and Path(row["path"]).is_dir():
            return Path(row["path"])
    return None


def load_run(run_dir: str | Path) -> tuple[MIPSRNN, dict[str, Any]]:
    """Network (eval mode) + metadata: config.json merged with metrics.json when present."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ValueError(f"run directory {run_dir} does not exist; see `algolens train --help`")
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

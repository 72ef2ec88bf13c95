"""RNN architecture-search runs (study ``train``) in the run store (``algolens.store``).

A search is one run ``<store>/train/<run-id>/``: ``config.json`` (what was asked: task, safety
cap), ``progress.json`` (architectures already tried, for ``--resume``; rewritten after each
one), then ``weights.safetensors`` + ``model.json`` (the network, ``checkpoint.py``) and
``result.json`` (the typed ``SearchSummary``). Every file is written through the ``Run``, so
each is in the manifest. The index row has study ``train``, key = task name, the task's
fingerprint and the key metrics (accuracy, hidden, parameters, seconds). These functions keep
the search's vocabulary (task, accuracy) over the generic store; nothing here reads a path.
"""

from __future__ import annotations

from typing import Any

from ..store import Run, RunRecord, RunStore

STUDY = "train"
PROGRESS = "progress.json"


def start_run(store: RunStore, task: str, *, seed: int | None = None,
              budget_seconds: float | None = None, fingerprint: str = "",
              run_id: str | None = None) -> Run:
    """Create a search run (``run_id``: a deterministic id, trained again if it exists) and
    index it as "running", locked while this process writes it."""
    config = {"task": task, "budget_seconds": budget_seconds}
    run = store.create(STUDY, task, config, seed=seed, fingerprint=fingerprint, run_id=run_id,
                       exist_ok=run_id is not None)
    return run.lock()


def reopen_run(store: RunStore, rec: RunRecord) -> Run:
    """Continue an unfinished search (``--resume``): locked by this process (a run another
    process holds is refused), then running again."""
    run = Run(store, rec.study, rec.id, rec.dir).lock()
    store.reopen(rec.id)
    return run


def finish_run(run: Run, status: str, reason: str = "", *, accuracy: float | None = None,
               hidden: int | None = None, parameters: int | None = None,
               seconds: float | None = None) -> None:
    """Mark a search "done", "failed" or "interrupted" (with a reason) and release its lock."""
    if status not in ("done", "failed", "interrupted"):
        raise ValueError(f"status must be 'done', 'failed' or 'interrupted', got {status!r}")
    run.unlock()
    run.finish(status=status, reason=reason,
               key_metrics={"accuracy": accuracy, "hidden": hidden, "parameters": parameters,
                            "seconds": seconds})


def _matching(store: RunStore, task: str, fingerprint: str | None) -> list[RunRecord]:
    """The task's search runs (newest first) made for this task definition (runs older than
    fingerprints match any) whose folders still exist."""
    return [r for r in store.list(study=STUDY, key=task)
            if (fingerprint is None or r.fingerprint in ("", fingerprint)) and r.dir.is_dir()]


def find_run(store: RunStore, task: str, fingerprint: str | None = None) -> RunRecord | None:
    """The latest successful (done, 100% accurate) search of ``task``, or None."""
    return next((r for r in _matching(store, task, fingerprint)
                 if r.status == "done" and (r.metrics.get("accuracy") or 0) >= 1.0), None)


def find_unfinished(store: RunStore, task: str, fingerprint: str | None = None
                    ) -> RunRecord | None:
    """The latest search of ``task`` that did not finish (interrupted, or still marked running)
    and was started for the same task definition."""
    return next((r for r in _matching(store, task, fingerprint)
                 if r.status in ("running", "interrupted")), None)


def read_progress(run: Run) -> list[dict[str, Any]]:
    """Architectures already tried in this run (empty for a new run; checksum checked)."""
    from ..io import read_json
    if not (run.dir / PROGRESS).is_file():
        return []
    return list(read_json(run.artefact(PROGRESS))["tried"])


def write_progress(run: Run, tried: list[dict[str, Any]]) -> None:
    """The search's resume state, in the run (and its manifest)."""
    run.write_json(PROGRESS, {"tried": tried})

"""What a section renderer reads: one run folder as a typed view, and the rendering context."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...store import RunRecord, RunStore, StoreError


@dataclass
class Context:
    """How much work a renderer may do.

    ``recompute``: load weights and re-run analyses to draw evidence a run did not save (the
    Clock/Pizza plots, the MIPS state machine); off for big index pages, where only saved files
    are shown. ``level``: the heading level of a run's section. ``runs``: ids of the runs on the
    page (a renderer links to another run only when it is there)."""

    recompute: bool = True
    level: int = 2
    runs: frozenset[str] = frozenset()


@dataclass
class RunView:
    """One run folder: its index row (when there is one) and its files, read once."""

    dir: Path
    id: str
    study: str
    key: str
    seed: int | None
    status: str
    reason: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    metrics: Any = None                       # metrics.json (any JSON) or None
    key_metrics: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)   # unreadable files, said on the page
    damaged: list[str] = field(default_factory=list)    # files whose SHA-256 is not the recorded

    def json(self, name: str) -> Any:
        """A JSON artefact of the run, or None when absent or unreadable (noted in problems)."""
        return _read(self.dir / name, self.problems)

    def pngs(self) -> list[Path]:
        """Every PNG in the run folder, by name."""
        return sorted(p for p in self.dir.glob("*.png") if p.is_file())

    def store_root(self) -> Path:
        """The runs folder holding this run (``<root>/<study>/<run-id>``)."""
        return self.dir.parent.parent


def read_run(run_dir: str | Path, record: RunRecord | None = None) -> RunView:
    """A ``RunView`` of ``run_dir``; the index row is looked up when not given."""
    d = Path(run_dir).resolve()
    problems: list[str] = []
    cfg = _read(d / "config.json", problems)
    cfg = cfg if isinstance(cfg, dict) else {}
    metrics = _read(d / "metrics.json", problems)
    rec = record or _lookup(d)
    study = (rec.study if rec else None) or cfg.get("study") or d.parent.name
    status = rec.status if rec else ("done" if metrics is not None else "unknown")
    return RunView(d, d.name, str(study), str((rec.key if rec else None) or cfg.get("key")
                                             or cfg.get("task") or ""),
                   rec.seed if rec else cfg.get("seed"), status, rec.reason if rec else "",
                   cfg, metrics, dict(rec.metrics) if rec else {}, problems, _damaged(d))


def _damaged(d: Path) -> list[str]:
    """Files of the run whose SHA-256 differs from its manifest (or that are missing)."""
    from ...store import _manifest, sha256_file
    out = []
    for name, want in _manifest(d).items():
        p = d / name
        if not p.is_file():
            out.append(f"{name} is missing")
        elif sha256_file(p) != want:
            out.append(f"{name} changed")
    return out


def _lookup(d: Path) -> RunRecord | None:
    root = d.parent.parent
    if not (root / "index.db").is_file():
        return None
    try:
        return RunStore(root).get(d.name)
    except StoreError:          # not indexed, or an unreadable index: the files still tell
        return None


def _read(path: Path, problems: list[str]) -> Any:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        problems.append(f"{path.name} could not be read ({e})")
        return None

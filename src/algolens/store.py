"""The run store: one home for every run of every study.

Layout (``root`` is ``runs/`` by default)::

    runs/index.db                      one row per run (the SQLite index below)
    runs/<study>/<run-id>/config.json  what was asked: {"study", "key", "seed", ...study config}
    runs/<study>/<run-id>/weights.safetensors    the trained weights (no pickle)
    runs/<study>/<run-id>/manifest.json          {file name: SHA-256} of the weights files
    runs/<study>/<run-id>/metrics.json           what came out; plus artefacts (plots, programs)

The index row holds study, key (the task or setting), seed, status, reason, created/finished
times, the path *relative to the root* (so a copied or moved runs folder still works), the
SHA-256 of the weights and the key metrics as JSON. Status is one of ``running``, ``done``,
``failed``, ``interrupted``. A run is opened as a context manager::

    store = RunStore("runs")
    with store.create("nuclear", key="binding", config=cfg, seed=0) as run:
        ...train...
        run.save_weights(model.state_dict())
        run.finish({"rms_kev": 312.0})

A run is read back through the same store: ``store.open(run_id)`` (or the run's folder) gives a
:class:`Run` whose ``.config`` is its study's config dataclass, ``.result`` its typed result,
``.load_model()`` the network and ``.artefact(name)`` any file it keeps, checksum verified.
Every file a run writes (config, weights, result, programs, plots, checkpoints) is recorded with
its SHA-256 in ``manifest.json``; ``finish`` records whatever else the folder holds, so ``runs
verify`` sees every byte. Runs link to each other by id (``run.link("network", other.id)``,
``run.links``), never by path.

An exception inside marks it ``failed`` (with the reason), Ctrl-C or SIGTERM ``interrupted``;
a process killed outright leaves ``running`` with its pid, which :meth:`RunStore.list` and
:meth:`RunStore.verify` recognise as interrupted once that process is gone. Every file is
written atomically. This module imports no torch at module level (weights go through
safetensors when saved or checked).
"""

from __future__ import annotations

import errno
import hashlib
import json
import numbers
import os
import socket
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Any

from .io import (
    atomic_write_bytes,
    atomic_write_json,
    make_writable_dir,
    read_json,
)

STATUSES = ("running", "done", "failed", "interrupted")
WEIGHTS = "weights.safetensors"
MANIFEST = "manifest.json"
CONFIG = "config.json"
METRICS = "metrics.json"
RESULT = "result.json"
LINKS = "links.json"
ROW = "run.json"              # the run's own copy of its index row: `reindex` rebuilds from it
_ROW_FIELDS = ("study", "key", "seed", "status", "reason", "created", "finished", "fingerprint",
               "sha256", "metrics")
_UNRECORDED = frozenset({MANIFEST, ".lock", ".manifest.lock"})   # never in the manifest

_SCHEMA = """CREATE TABLE IF NOT EXISTS run_index (
    id TEXT PRIMARY KEY, study TEXT NOT NULL, key TEXT NOT NULL, seed INTEGER,
    status TEXT NOT NULL, reason TEXT DEFAULT '', created REAL, finished REAL,
    path TEXT NOT NULL, fingerprint TEXT DEFAULT '', sha256 TEXT DEFAULT '',
    metrics TEXT DEFAULT '{}', host TEXT DEFAULT '', pid INTEGER)"""


class StoreError(ValueError):
    """A run store that cannot be used (bad folder, corrupt index, busy or missing run)."""


@dataclass
class RunRecord:
    """One row of the index. ``dir`` is absolute, resolved against the store's root."""

    id: str
    study: str
    key: str
    seed: int | None
    status: str
    reason: str
    created: float
    finished: float | None
    dir: Path
    fingerprint: str = ""
    sha256: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    host: str = ""
    pid: int | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["dir"] = str(self.dir)
        return d


@dataclass
class Problem:
    """What ``verify`` found wrong with one run."""

    run_id: str
    study: str
    kind: str          # "checksum" | "missing" | "interrupted" | "unindexed"
    detail: str


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def jsonable(obj: Any) -> Any:
    """Dataclasses (typed results) and plain values -> JSON-ready values."""
    if is_dataclass(obj) and not isinstance(obj, type):
        obj = asdict(obj)
    return json.loads(json.dumps(obj, default=_default))


def _default(o: Any) -> Any:
    if hasattr(o, "tolist"):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"cannot serialise {type(o).__name__}")


class RunStore:
    """The folder ``root`` holding every study's runs and their SQLite index."""

    def __init__(self, root: str | Path = "runs") -> None:
        self.root = Path(root)

    # ---------------------------------------------------------------- the folder
    def check_writable(self) -> RunStore:
        """Raise ``StoreError`` (with the fix) unless runs can be written under ``root``.

        Call it before long work so that a bad ``--out`` fails at once, not after training.
        """
        root = self.root
        if root.exists() and not root.is_dir():
            raise StoreError(f"output folder {root} exists and is a file, not a folder; pass "
                             "another --out")
        try:
            make_writable_dir(root)
        except OSError as e:
            raise StoreError(f"cannot write to output folder {root} ({e.strerror or e}); pass "
                             "a writable --out") from e
        with self._db():
            pass
        return self

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """A connection to the index (committed on success); clear errors for a bad file."""
        path = self.root / "index.db"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            con = sqlite3.connect(path, timeout=60)
        except (OSError, sqlite3.Error) as e:
            raise StoreError(f"cannot open the run index {path} ({e}); check the folder's "
                             "permissions or pass another --out") from e
        try:
            with closing(con), con:
                con.execute(_SCHEMA)
                _migrate_v1(con)
                yield con
        except sqlite3.DatabaseError as e:
            if "locked" in str(e):
                raise StoreError(f"the run index {path} is locked by another process ({e}); "
                                 "wait for it to finish and retry") from e
            raise StoreError(f"the run index {path} is corrupt or not a database ({e}); move "
                             f"it away and rebuild it from the run folders with "
                             f"`algolens runs reindex --out {self.root}`") from e

    # ---------------------------------------------------------------- writing
    def create(self, study: str, key: str, config: dict[str, Any] | Any, *,
               seed: int | None = None, run_id: str | None = None,
               fingerprint: str = "", exist_ok: bool = False) -> Run:
        """Make ``root/<study>/<run_id>/``, write config.json and index the run as running.

        ``run_id`` defaults to ``<key>-<8 hex>``; pass a deterministic id (a hash of config and
        seed) for sweeps, so that results merge by id. An existing id raises ``StoreError``
        unless ``exist_ok`` (a deterministic run trained again: its row starts over).
        """
        _check_name(study, "study")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)
                                 or seed < 0):
            raise StoreError(f"seed must be an integer >= 0, got {seed!r}; pass --seed 0 or above")
        rid = run_id or f"{_safe(key)}-{uuid.uuid4().hex[:8]}"
        _check_name(rid, "run id")
        run_dir = self.root / study / rid
        try:
            run_dir.mkdir(parents=True, exist_ok=exist_ok)
        except FileExistsError as e:
            raise StoreError(f"run {rid} already exists in {self.root / study}; resume it or "
                             "pick another seed") from e
        except OSError as e:
            raise StoreError(f"cannot create {run_dir} ({e.strerror or e}); pass a writable "
                             "--out") from e
        body = {"study": study, "key": key, "seed": seed, "run_id": rid,
                **({"fingerprint": fingerprint} if fingerprint else {}), **jsonable(config)}
        atomic_write_json(run_dir / CONFIG, body)
        record_checksum(run_dir, CONFIG, sha256_file(run_dir / CONFIG))
        with self._db() as con:
            con.execute("INSERT OR REPLACE INTO run_index (id, study, key, seed, status, created,"
                        " path, fingerprint, host, pid) VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?, ?)",
                        (rid, study, key, seed, time.time(), f"{study}/{rid}", fingerprint,
                         socket.gethostname(), os.getpid()))
        return Run(self, study, rid, run_dir)

    def reopen(self, run: str | Path) -> Run:
        """Open an existing run to continue it (``--resume``): status back to running."""
        rec = self.get(run)
        self._set(rec.id, status="running", reason="", finished=None, host=socket.gethostname(),
                  pid=os.getpid())
        return Run(self, rec.study, rec.id, rec.dir)

    def open(self, run: str | Path) -> Run:
        """The run with this id (or folder, which must lie in this store), to read back.

        ``.config``, ``.result``, ``.load_model()`` and ``.artefact(name)`` read its files; a run
        id that is not in the index, or a folder outside this store, is a ``StoreError`` naming
        the fix."""
        rec = self.get(run)
        p = Path(run)
        if (p.is_dir() or os.sep in str(run)) and p.resolve() != rec.dir:
            raise StoreError(f"{p} is not the folder of run {rec.id} in the store {self.root} "
                             f"(that is {rec.dir}); pass --out with the store that holds it")
        if not rec.dir.is_dir():
            raise StoreError(f"run {rec.id} is in {self.root / 'index.db'} but its folder "
                             f"{rec.dir} is gone; `algolens runs reindex --prune --out "
                             f"{self.root}` drops the row")
        r = Run(self, rec.study, rec.id, rec.dir)
        r.status, r.record = rec.status, rec
        return r

    def _set(self, run_id: str, **fields: Any) -> None:
        cols = ", ".join(f"{k}=?" for k in fields)
        with self._db() as con:
            con.execute(f"UPDATE run_index SET {cols} WHERE id=?", (*fields.values(), run_id))

    # ---------------------------------------------------------------- reading
    def list(self, study: str | None = None, status: str | None = None,
             key: str | None = None) -> list[RunRecord]:
        """Index rows, newest first; runs whose process died are reported as interrupted."""
        if status is not None and status not in STATUSES:
            raise StoreError(f"unknown status {status!r}; use one of {', '.join(STATUSES)}")
        if not (self.root / "index.db").is_file():
            return []
        where, args = [], []
        for col, val in (("study", study), ("key", key)):
            if val is not None:
                where.append(f"{col}=?")
                args.append(val)
        q = "SELECT * FROM run_index" + (" WHERE " + " AND ".join(where) if where else "")
        with self._db() as con:
            con.row_factory = sqlite3.Row
            rows = [self._record(r) for r in con.execute(q + " ORDER BY created DESC", args)]
        rows = [self._settle(r) for r in rows]
        return [r for r in rows if status is None or r.status == status]

    def get(self, run: str | Path) -> RunRecord:
        """The record of a run given by id or by its directory."""
        p = Path(run)
        rid = p.name if (p.is_dir() or os.sep in str(run)) else str(run)
        if not rid:
            raise StoreError(f"no run given; see `algolens runs list --out {self.root}`")
        for r in self.list():
            if r.id == rid:
                return r
        raise StoreError(f"no run {rid!r} in {self.root / 'index.db'}; see `algolens runs list "
                         f"--out {self.root}`")

    def find(self, study: str, key: str, *, fingerprint: str | None = None,
             status: str = "done") -> RunRecord | None:
        """The newest run of ``study``/``key`` with ``status`` whose folder still exists."""
        for r in self.list(study=study, key=key, status=status):
            if (fingerprint is None or r.fingerprint == fingerprint) and r.dir.is_dir():
                return r
        return None

    def _record(self, row: sqlite3.Row) -> RunRecord:
        d = dict(row)
        return RunRecord(d["id"], d["study"], d["key"], d["seed"], d["status"], d["reason"] or "",
                         d["created"], d["finished"], (self.root / d["path"]).resolve(),
                         d["fingerprint"] or "", d["sha256"] or "",
                         json.loads(d["metrics"] or "{}"), d["host"] or "", d["pid"])

    def _settle(self, r: RunRecord) -> RunRecord:
        """A run still "running" whose process has gone (on this host) was interrupted."""
        if r.status == "running" and r.host == socket.gethostname() and r.pid and \
                not _alive(r.pid):
            r.status = "interrupted"
            r.reason = f"its process ({r.pid}) ended without finishing it (killed or crashed)"
            self._set(r.id, status=r.status, reason=r.reason)
        return r

    # ---------------------------------------------------------------- checking
    def verify(self) -> list[Problem]:
        """Check every run: weights against their recorded SHA-256, files present, no run
        interrupted, no run folder missing from the index."""
        problems: list[Problem] = []
        indexed = set()
        for r in self.list():
            indexed.add(r.dir)
            if not r.dir.is_dir():
                problems.append(Problem(r.id, r.study, "missing",
                                        f"folder {r.dir} is gone (`algolens runs reindex --prune --out "
                                        f"{self.root}`"
                                        " drops its index row)"))
                continue
            if r.status in ("interrupted", "running"):
                problems.append(Problem(r.id, r.study, r.status, r.reason or "still running"))
            manifest = _manifest(r.dir)
            if r.status == "done":
                extra = sorted(set(_files(r.dir)) - set(manifest))
                if extra:
                    problems.append(Problem(r.id, r.study, "unrecorded",
                                            f"{len(extra)} file(s) without a checksum: "
                                            f"{', '.join(extra[:4])}{' …' if len(extra) > 4 else ''}"
                                            " (written outside the run store; not checkable)"))
            for name, want in manifest.items():
                got = sha256_file(r.dir / name) if (r.dir / name).is_file() else None
                if got is None:
                    problems.append(Problem(r.id, r.study, "missing", f"{name} is missing"))
                elif got != want:
                    problems.append(Problem(r.id, r.study, "checksum",
                                            f"{name}: SHA-256 {got[:12]}… != recorded {want[:12]}…"
                                            " (the file changed after the run wrote it)"))
        for cfg in sorted(self.root.glob(f"*/*/{CONFIG}")):
            if cfg.parent.resolve() not in indexed:
                problems.append(Problem(cfg.parent.name, cfg.parent.parent.name, "unindexed",
                                        f"{cfg.parent} has no index row; `algolens runs reindex`"))
        return problems

    def reindex(self) -> int:
        """Rebuild index rows from the run folders (after a copy, a move or a corrupt index).

        Existing rows are kept; folders without a row get one (status from their files)."""
        if not self.root.is_dir():
            raise StoreError(f"{self.root} does not exist; pass --out with the folder that holds "
                             "the run folders (<store>/<study>/<run-id>)")
        known = {r.id for r in self.list()} if (self.root / "index.db").is_file() else set()
        added = 0
        for cfg_path in sorted(self.root.glob(f"*/*/{CONFIG}")):
            d = cfg_path.parent
            if d.name in known:
                continue
            try:
                cfg = read_json(cfg_path)
            except ValueError:
                cfg = {}
            if self._restore_row(d):
                added += 1
                continue
            done = (d / METRICS).is_file()
            with self._db() as con:
                con.execute("INSERT OR REPLACE INTO run_index (id, study, key, seed, status, "
                            "reason, created, path, sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            (d.name, d.parent.name, str(cfg.get("key") or cfg.get("task") or ""),
                             cfg.get("seed"), "done" if done else "interrupted",
                             "" if done else "no metrics.json: the run did not finish",
                             cfg_path.stat().st_mtime, f"{d.parent.name}/{d.name}",
                             _manifest(d).get(WEIGHTS, "")))
            added += 1
        return added

    def _restore_row(self, d: Path) -> bool:
        """Put back the index row a run folder keeps in run.json (False when it has none)."""
        try:
            row = read_json(d / ROW) if (d / ROW).is_file() else None
        except ValueError:
            row = None
        if not isinstance(row, dict) or row.get("study") != d.parent.name:
            return False
        vals = [row.get(k) for k in _ROW_FIELDS]
        vals[-1] = json.dumps(row.get("metrics") or {})
        with self._db() as con:
            con.execute(f"INSERT OR REPLACE INTO run_index (id, path, {', '.join(_ROW_FIELDS)}) "
                        f"VALUES (?, ?, {', '.join('?' * len(_ROW_FIELDS))})",
                        (d.name, f"{d.parent.name}/{d.name}", *vals))
        return True

    def prune(self) -> list[str]:
        """Drop the index rows whose run folder no longer exists; return their run ids.

        Folders are never touched: this only makes the index agree with the disk."""
        gone = [r.id for r in self.list() if not r.dir.is_dir()]
        if gone:
            with self._db() as con:
                con.executemany("DELETE FROM run_index WHERE id = ?", [(g,) for g in gone])
        return gone


class Run:
    """One run of the store: written through it (use as a context manager, or call
    :meth:`finish`), and read back through it (``RunStore.open``)."""

    def __init__(self, store: RunStore, study: str, run_id: str, run_dir: Path) -> None:
        self.store, self.study, self.id, self.dir = store, study, run_id, Path(run_dir)
        self.status = "running"
        self.record: RunRecord | None = None
        self._lock_fd: int | None = None

    def __repr__(self) -> str:
        return f"Run({self.study}/{self.id}, {self.status})"

    # ---------------------------------------------------------------- reading
    @property
    def study_def(self) -> Any:
        """The registered study (``algolens.studies.registry.Study``) this run belongs to."""
        from .studies.registry import get     # the registry is found lazily: no import cycle
        return get(self.study)

    @property
    def raw_config(self) -> dict[str, Any]:
        """config.json as written (the run header keys ``study``, ``key``, ``seed`` included)."""
        return dict(read_json(self.artefact(CONFIG)))

    @property
    def config(self) -> Any:
        """The study's config dataclass (a dict for studies without one)."""
        return self.study_def.read_config(self.raw_config)

    @property
    def seed(self) -> int | None:
        return self.raw_config.get("seed")

    @property
    def key(self) -> str:
        return str(self.raw_config.get("key", ""))

    @property
    def result(self) -> Any:
        """The typed result of the run's analysis (None before ``analyze``); older studies:
        metrics.json as a dict."""
        study = self.study_def
        if (self.dir / RESULT).is_file() and study.result is not None:
            return self.read_typed(RESULT, study.result,
                                   f"algolens {study.name.replace('_', '-')} analyze {self.id}")
        if (self.dir / METRICS).is_file() and study.result is None:
            return read_json(self.artefact(METRICS))
        return None

    def read_typed(self, name: str, cls: type, rerun: str | None = None) -> Any:
        """A JSON artefact read back as dataclass ``cls``; a file of another layout (an older
        algolens) is a ``StoreError`` that says so and what to re-run."""
        from .typed import from_json
        try:
            return from_json(cls, read_json(self.artefact(name)), f"{self.id}/{name}")
        except ValueError as e:
            cmd = rerun or f"algolens {self.study.replace('_', '-')} train"
            raise StoreError(f"run {self.id}: {name} was made by an older algolens or is damaged "
                             f"({e}); re-run it: `{cmd}`") from e

    @property
    def metrics(self) -> dict[str, Any]:
        """metrics.json as written by ``finish`` (empty before that)."""
        if not (self.dir / METRICS).is_file():
            return {}
        m = read_json(self.artefact(METRICS))
        return m if isinstance(m, dict) else {"value": m}

    def load_model(self) -> Any:
        """The run's network (its weights' SHA-256 checked first)."""
        return self.study_def.load_model(self)

    def artefact(self, name: str) -> Path:
        """The path of a file the run keeps, after checking it against its recorded SHA-256.

        A missing or changed file is a ``StoreError`` naming the run, the file and the fix."""
        path = self.dir / name
        if not path.is_file():
            raise StoreError(f"run {self.id} has no file {name!r} ({path}); re-run it or pick "
                             "another run (`algolens runs show` lists its files)")
        want = _manifest(self.dir).get(name)
        if want is not None and sha256_file(path) != want:
            raise StoreError(f"run {self.id}: {name} changed or was damaged after the run wrote "
                             f"it (SHA-256 differs from the manifest); delete {self.dir} and "
                             "train it again")
        return path

    @property
    def links(self) -> dict[str, str]:
        """{role: run id} of the runs this one was made from (``link``)."""
        return dict(read_json(self.artefact(LINKS))) if (self.dir / LINKS).is_file() else {}

    @property
    def parent(self) -> Run | None:
        """The run linked as ``parent`` (opened from this store), if any."""
        rid = self.links.get("parent")
        return self.store.open(rid) if rid else None

    def linked(self, role: str) -> Run:
        """The run linked under ``role``, opened from this store."""
        rid = self.links.get(role)
        if rid is None:
            raise StoreError(f"run {self.id} has no {role!r} link")
        return self.store.open(rid)

    # ---------------------------------------------------------------- files
    def link(self, role: str, run_id: str) -> None:
        """Record that this run was made from run ``run_id`` (by id: copies and moves keep it)."""
        links = self.links
        links[role] = run_id
        self.write_json(LINKS, links)

    def save_weights(self, tensors: dict[str, Any], name: str = WEIGHTS,
                     metadata: dict[str, str] | None = None) -> str:
        """Write tensors as safetensors (atomic); record and return the file's SHA-256."""
        from safetensors.torch import save
        data = save({k: v.detach().contiguous().cpu() for k, v in tensors.items()},
                    metadata=metadata)
        digest = self._write(name, data)
        if name == WEIGHTS:
            self.store._set(self.id, sha256=digest)
        return digest

    def load_weights(self, name: str = WEIGHTS) -> dict[str, Any]:
        """Tensors of a weights file (checksum checked; safetensors, never pickle)."""
        from safetensors.torch import load
        return load(self.artefact(name).read_bytes())

    def save_result(self, result: Any) -> Path:
        """Write the typed result (``result.json``, one converter for every result class), and
        put the study's summary row into the index row, so ``runs list`` shows the read-out."""
        from .typed import to_json
        path = self.write_json(RESULT, to_json(result))
        row = self.study_def.summary_row(self, result)
        self.set_key_metrics({k: v for k, v in row.items() if k not in ("run", "seed")})
        return path

    def set_key_metrics(self, metrics: dict[str, Any]) -> None:
        """Merge ``metrics`` (numbers and short strings) into the index row's key metrics."""
        rec = next((r for r in self.store.list() if r.id == self.id), None)
        if rec is None:
            return
        new = _scalars(jsonable(metrics))            # the read-out first: `runs list` shows it
        merged = {**new, **{k: v for k, v in rec.metrics.items() if k not in new}}
        self.store._set(self.id, metrics=json.dumps(merged))
        if rec.status != "running":
            self._keep_row()

    def save_figure(self, name: str, fig: Any, dpi: int = 110) -> Path:
        """A matplotlib figure as a PNG artefact."""
        import io as _io
        buf = _io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
        self._write(name, buf.getvalue())
        return self.dir / name

    def write_json(self, name: str, obj: Any) -> Path:
        self._write(name, (json.dumps(jsonable(obj), indent=2, sort_keys=True) + "\n").encode())
        return self.dir / name

    def write_text(self, name: str, text: str) -> Path:
        self._write(name, text.encode())
        return self.dir / name

    def write_bytes(self, name: str, data: bytes) -> Path:
        self._write(name, data)
        return self.dir / name

    def _write(self, name: str, data: bytes) -> str:
        """Atomic write of an artefact and its SHA-256 in the manifest."""
        if not name or name.startswith("/") or ".." in Path(name).parts or "\x00" in name:
            raise StoreError(f"bad artefact name {name!r}: a file name inside the run folder")
        atomic_write_bytes(self.dir / name, data)
        digest = hashlib.sha256(data).hexdigest()
        record_checksum(self.dir, name, digest)
        return digest

    def seal(self) -> list[str]:
        """Record the SHA-256 of every file in the folder that the manifest does not list yet
        (files a study wrote by path); returns their names."""
        known = _manifest(self.dir)
        new = [n for n in _files(self.dir) if n not in known]
        for n in new:
            record_checksum(self.dir, n, sha256_file(self.dir / n))
        return new

    # ---------------------------------------------------------------- status
    def finish(self, metrics: Any = None, *, status: str = "done", reason: str = "",
               key_metrics: dict[str, Any] | None = None) -> None:
        """End the run: write ``metrics.json`` (when given) and set the index row.

        ``key_metrics`` (default: the top-level numbers and strings of ``metrics``) is what
        ``algolens runs list`` shows."""
        if status not in STATUSES[1:]:
            raise ValueError(f"status must be one of {STATUSES[1:]}, got {status!r}")
        m = jsonable(metrics) if metrics is not None else None
        if m is not None:
            self.write_json(METRICS, m)
        if status == "done":
            self.seal()
        key = key_metrics if key_metrics is not None else _scalars(m)
        self.store._set(self.id, status=status, reason=reason, finished=time.time(),
                        metrics=json.dumps(jsonable(key)))
        self.status = status
        self._keep_row()

    def __enter__(self) -> Run:
        return self

    def __exit__(self, etype, exc, tb) -> None:
        self.unlock()
        if self.status != "running" or etype is None:
            if etype is None and self.status == "running":
                self.finish()
            return
        if issubclass(etype, (KeyboardInterrupt, SystemExit)):
            self._end("interrupted", "interrupted (Ctrl-C or SIGTERM) before it finished")
        else:
            self._end("failed", f"{etype.__name__}: {exc}")

    def _end(self, status: str, reason: str) -> None:
        try:
            self.store._set(self.id, status=status, reason=reason, finished=time.time())
            self.status = status
            self._keep_row()
        except (StoreError, OSError):
            pass   # the original error matters more than a failed index update

    def _keep_row(self) -> None:
        """Copy the index row into the run (run.json), so `runs reindex` rebuilds it exactly."""
        rec = next((r for r in self.store.list() if r.id == self.id), None)
        if rec is not None:
            self.write_json(ROW, {k: getattr(rec, k) for k in _ROW_FIELDS})

    # ---------------------------------------------------------------- locking
    def lock(self) -> Run:
        """Hold an exclusive lock on the run folder (two processes must not write one run)."""
        import fcntl
        fd = os.open(self.dir / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            if e.errno in (errno.EAGAIN, errno.EACCES):
                raise StoreError(f"run {self.id} is being written by another process; wait for "
                                 "it to finish (or stop it) before resuming") from e
            raise
        self._lock_fd = fd
        return self

    def unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


@contextmanager
def tracking(runs: list[Run]) -> Iterator[list[Run]]:
    """Mark every run of ``runs`` still running as failed / interrupted if the block raises
    (several runs trained together as one batched computation)."""
    try:
        yield runs
    except BaseException as e:
        for r in runs:
            if r.status == "running":
                r.__exit__(type(e), e, None)
        raise


def open_run(run_dir: str | Path) -> Run:
    """Open a run by its folder, whose store is the folder two levels up (``<store>/<study>/
    <run-id>``) -- checked, not guessed: the folder's config.json must name that study and the
    store's index must list the run."""
    run_dir = Path(run_dir)
    cfg = run_dir / CONFIG
    if not cfg.is_file():
        raise StoreError(f"{run_dir} is not a run folder (no {CONFIG}); see `algolens runs list`")
    study = read_json(cfg).get("study") if isinstance(read_json(cfg), dict) else None
    if study != run_dir.parent.name:
        raise StoreError(f"{run_dir} is not laid out as <store>/<study>/<run-id> (its config names "
                         f"study {study!r}); open it with RunStore(<store>).open(<run id>)")
    return RunStore(run_dir.parent.parent).open(run_dir.name)


def open_run_dir(run_dir: str | Path) -> tuple[RunStore, str, str]:
    """(store, study, run id) of a folder laid out as ``<root>/<study>/<run-id>``."""
    run_dir = Path(run_dir)
    return RunStore(run_dir.parent.parent), run_dir.parent.name, run_dir.name


# -------------------------------------------------------------------- checksums
def record_checksum(run_dir: Path, name: str, digest: str) -> None:
    """Set ``name``'s SHA-256 in the run's manifest (under a lock: two writers lose nothing)."""
    import fcntl
    fd = os.open(Path(run_dir) / ".manifest.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        m = _manifest(run_dir)
        m[name] = digest
        atomic_write_json(Path(run_dir) / MANIFEST, m)
    finally:
        os.close(fd)


def _files(run_dir: Path) -> list[str]:
    """Names of the files a run folder keeps (subfolders with a slash), manifest excluded."""
    run_dir = Path(run_dir)
    out = []
    for p in sorted(run_dir.rglob("*")):
        rel = p.relative_to(run_dir).as_posix()
        if p.is_file() and rel not in _UNRECORDED and not p.name.startswith("."):
            out.append(rel)
    return out


def _manifest(run_dir: Path) -> dict[str, str]:
    p = Path(run_dir) / MANIFEST
    if not p.is_file():
        return {}
    try:
        return dict(read_json(p))
    except ValueError:
        return {}


def check_weights(run_dir: str | Path, name: str = WEIGHTS) -> None:
    """Refuse (ValueError with the fix) a weights file whose SHA-256 is not the recorded one.

    Runs written before checksums existed have no manifest and pass."""
    run_dir = Path(run_dir)
    want = _manifest(run_dir).get(name)
    path = run_dir / name
    if want is None or not path.is_file():
        return
    got = sha256_file(path)
    if got != want:
        raise ValueError(f"{path}: checksum mismatch (SHA-256 {got[:12]}…, recorded "
                         f"{want[:12]}…); the file changed or was corrupted after the run "
                         "wrote it: delete the run directory and train again")


# -------------------------------------------------------------------- helpers
def _scalars(m: Any) -> dict[str, Any]:
    if not isinstance(m, dict):
        return {}
    return {k: v for k, v in m.items() if isinstance(v, (int, float, str, bool)) or v is None}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _safe(key: str) -> str:
    s = "".join(c if c.isalnum() or c in "-_." else "_" for c in key)
    return s[:60] or "run"


def _check_name(name: str, what: str) -> None:
    if not name or "/" in name or name in (".", "..") or "\x00" in name:
        raise StoreError(f"bad {what} {name!r}: use letters, digits, '-', '_' or '.'")


def _migrate_v1(con: sqlite3.Connection) -> None:
    """Copy rows of the first index format (table ``runs``: RNN training only) once."""
    old = con.execute("SELECT name FROM sqlite_master WHERE type='table' AND name='runs'"
                      ).fetchone()
    if old is None:
        return
    rows = con.execute("SELECT id, study, task, status, created, path, accuracy, hidden, "
                       "parameters, seconds, reason FROM runs").fetchall()
    for rid, study, task, status, created, path, acc, hidden, params, secs, reason in rows:
        metrics = json.dumps({"accuracy": acc, "hidden": hidden, "parameters": params,
                              "seconds": secs})
        con.execute("INSERT OR IGNORE INTO run_index (id, study, key, status, reason, created, "
                    "path, metrics) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (rid, study, task, status, reason or "", created,
                     f"{study}/{Path(path).name}", metrics))
    con.execute("DROP TABLE runs")

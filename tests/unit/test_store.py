"""The shared run store: layout, index, statuses, checksums, interrupted runs, bad folders."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass

import pytest
import torch

from algolens.store import RunStore, StoreError, check_weights


@dataclass
class _Metrics:
    rms_kev: float
    note: str


def _weights() -> dict[str, torch.Tensor]:
    return {"w": torch.arange(6, dtype=torch.float32).reshape(2, 3)}


def test_create_write_finish_list(tmp_path) -> None:
    store = RunStore(tmp_path)
    with store.create("nuclear", "binding", {"width": 64}, seed=3) as run:
        assert run.dir == tmp_path / "nuclear" / run.id and run.id.startswith("binding-")
        digest = run.save_weights(_weights())
        run.finish(_Metrics(312.5, "ok"))                   # a typed result, not a dict
    [rec] = store.list()
    assert (rec.study, rec.key, rec.seed, rec.status) == ("nuclear", "binding", 3, "done")
    assert rec.sha256 == digest and rec.metrics == {"rms_kev": 312.5, "note": "ok"}
    assert rec.finished >= rec.created
    cfg = (run.dir / "config.json").read_text()
    assert '"study": "nuclear"' in cfg and '"width": 64' in cfg
    assert store.list(study="mips") == [] and store.list(status="done") == [rec]
    assert store.find("nuclear", "binding").id == run.id


def test_exception_marks_failed_and_ctrl_c_interrupted(tmp_path) -> None:
    store = RunStore(tmp_path)
    with pytest.raises(RuntimeError):
        with store.create("s", "a", {}):
            raise RuntimeError("boom")
    with pytest.raises(KeyboardInterrupt):
        with store.create("s", "b", {}):
            raise KeyboardInterrupt
    got = {r.key: r for r in store.list()}
    assert got["a"].status == "failed" and "RuntimeError: boom" in got["a"].reason
    assert got["b"].status == "interrupted"
    assert store.find("s", "a") is None                        # only done runs are reused


def test_killed_process_is_reported_interrupted(tmp_path) -> None:
    code = ("import os, sys; from algolens.store import RunStore; "
            "RunStore(sys.argv[1]).create('s', 'killed', {}); os._exit(9)")
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=False)
    [rec] = RunStore(tmp_path).list()
    assert rec.status == "interrupted" and "ended without finishing" in rec.reason
    kinds = [p.kind for p in RunStore(tmp_path).verify()]
    assert kinds == ["interrupted"]


def test_verify_catches_a_flipped_byte_and_load_refuses_it(tmp_path) -> None:
    store = RunStore(tmp_path)
    with store.create("s", "k", {}) as run:
        run.save_weights(_weights())
        run.finish({})
    assert store.verify() == []
    check_weights(run.dir)                                     # passes while intact
    path = run.dir / "weights.safetensors"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))
    [problem] = store.verify()
    assert problem.kind == "checksum" and problem.run_id == run.id
    with pytest.raises(ValueError, match="checksum mismatch"):
        check_weights(run.dir)


def test_copied_store_points_at_its_own_runs(tmp_path) -> None:
    a = RunStore(tmp_path / "runs")
    with a.create("s", "k", {}) as run:
        run.finish({"x": 1})
    shutil.copytree(tmp_path / "runs", tmp_path / "copy")
    rec = RunStore(tmp_path / "copy").find("s", "k")
    assert rec.dir == (tmp_path / "copy" / "s" / run.id).resolve()


def test_bad_output_folders_fail_before_work(tmp_path) -> None:
    (tmp_path / "f.txt").write_text("")
    with pytest.raises(StoreError, match="is a file, not a folder"):
        RunStore(tmp_path / "f.txt").check_writable()
    with pytest.raises(StoreError, match="cannot"):
        RunStore(tmp_path / "f.txt" / "sub").check_writable()
    RunStore(tmp_path / "new").check_writable()
    assert (tmp_path / "new" / "index.db").is_file()


def test_corrupt_index_is_a_clear_error_and_reindex_rebuilds(tmp_path) -> None:
    store = RunStore(tmp_path)
    with store.create("s", "k", {}, seed=1) as run:
        run.finish({"x": 1})
    (tmp_path / "index.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="corrupt.*runs reindex"):
        store.list()
    (tmp_path / "index.db").unlink()
    assert store.reindex() == 1
    [rec] = store.list()
    assert (rec.id, rec.status, rec.key) == (run.id, "done", "k")


def test_duplicate_id_and_bad_names(tmp_path) -> None:
    store = RunStore(tmp_path)
    store.create("s", "k", {}, run_id="fixed")
    with pytest.raises(StoreError, match="already exists"):
        store.create("s", "k", {}, run_id="fixed")
    with pytest.raises(StoreError, match="bad study"):
        store.create("a/b", "k", {})
    with pytest.raises(StoreError, match="unknown status"):
        store.list(status="finished")


def test_lock_refuses_a_second_writer(tmp_path) -> None:
    run = RunStore(tmp_path).create("s", "k", {}).lock()
    other = RunStore(tmp_path).reopen(run.id)
    code = ("import sys; from algolens.store import RunStore; "
            "r = RunStore(sys.argv[1]).reopen(sys.argv[2]); r.lock()")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path), run.id],
                          capture_output=True, text=True)
    assert proc.returncode != 0 and "being written by another process" in proc.stderr
    run.unlock()
    other.lock().unlock()


def test_first_index_format_is_migrated(tmp_path) -> None:
    (tmp_path / "train" / "Sum_Last2-abc").mkdir(parents=True)
    with sqlite3.connect(tmp_path / "index.db") as con:
        con.execute("CREATE TABLE runs (id TEXT PRIMARY KEY, study TEXT, task TEXT, status TEXT, "
                    "created REAL, path TEXT, accuracy REAL, hidden INTEGER, parameters INTEGER, "
                    "seconds REAL, reason TEXT)")
        con.execute("INSERT INTO runs VALUES ('Sum_Last2-abc', 'train', 'Sum_Last2', 'done', 1.0, "
                    "'/elsewhere/runs/train/Sum_Last2-abc', 1.0, 2, 9, 0.5, '')")
    [rec] = RunStore(tmp_path).list()
    assert rec.key == "Sum_Last2" and rec.metrics["hidden"] == 2
    assert rec.dir == (tmp_path / "train" / "Sum_Last2-abc").resolve()


def test_prune_drops_rows_of_deleted_folders_only(tmp_path) -> None:
    from click.testing import CliRunner

    from algolens.cli import main
    store = RunStore(tmp_path)
    ids = []
    for seed in (0, 1):
        with store.create("nuclear", "binding", {"width": 8}, seed=seed) as run:
            run.finish({"rms_kev": 1.0})
            ids.append(run.id)
    shutil.rmtree(tmp_path / "nuclear" / ids[0])
    [p] = store.verify()
    assert p.kind == "missing" and "reindex --prune" in p.detail
    res = CliRunner().invoke(main, ["runs", "reindex", "--prune", "--out", str(tmp_path)])
    assert res.exit_code == 0 and f"1 row(s) for missing folders dropped: {ids[0]}" in res.output
    assert [r.id for r in store.list()] == [ids[1]] and store.verify() == []
    assert (tmp_path / "nuclear" / ids[1]).is_dir()

"""`algolens runs ...` over runs of several studies; interrupted runs are never left "running"."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from algolens.cli import main
from algolens.store import RunStore

CLI = [sys.executable, "-c", "from algolens.cli import main; main()"]


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    r = CliRunner()
    for args in (["train", "Sum_Last2", "--out", str(out), "--threads", "1"],
                 ["mips", "Sum_Last2", "--out", str(out)],
                 ["clock-pizza", "train", "--p", "7", "--width", "8", "--steps", "30", "--quiet",
                  "--threads", "1", "--out", str(out)]):
        res = r.invoke(main, args)
        assert res.exit_code == 0, res.output
    return out


def test_list_shows_every_study_and_filters(store_dir) -> None:
    r = CliRunner()
    res = r.invoke(main, ["runs", "list", "--out", str(store_dir)])
    assert res.exit_code == 0, res.output
    for study in ("train", "mips", "clock_pizza"):
        assert f"  {study}  " in res.output
    assert "3 runs: 3 done" in res.output
    rows = json.loads(r.invoke(main, ["runs", "list", "--out", str(store_dir), "--study", "mips",
                                      "--json"]).output)
    assert [row["study"] for row in rows] == ["mips"] and rows[0]["metrics"]["solved"] is True
    shown = json.loads(r.invoke(main, ["runs", "show", rows[0]["id"], "--out", str(store_dir),
                                       "--json"]).output)
    assert "program.py" in shown["files"] and shown["config"]["task"] == "Sum_Last2"


def test_verify_catches_a_flipped_byte(store_dir, tmp_path) -> None:
    import shutil
    out = tmp_path / "copy"
    shutil.copytree(store_dir, out)
    r = CliRunner()
    ok = r.invoke(main, ["runs", "verify", "--out", str(out)])
    assert ok.exit_code == 0 and "all checksums match" in ok.output
    [rec] = RunStore(out).list(study="clock_pizza")
    w = rec.dir / "weights.safetensors"
    data = bytearray(w.read_bytes())
    data[len(data) // 2] ^= 0x10
    w.write_bytes(bytes(data))
    bad = r.invoke(main, ["runs", "verify", "--out", str(out)])
    assert bad.exit_code == 1 and "checksum" in bad.output and rec.id in bad.output
    analyze = r.invoke(main, ["clock-pizza", "analyze", str(rec.dir), "--out", str(out),
                              "--force"])
    assert analyze.exit_code == 2 and f"run {rec.id}: weights.safetensors changed" in \
        analyze.output


def test_no_index_is_a_clear_error(tmp_path) -> None:
    res = CliRunner().invoke(main, ["runs", "list", "--out", str(tmp_path / "none")])
    assert res.exit_code == 2 and "no run index" in res.output


def _start_long_training(out) -> subprocess.Popen:
    return subprocess.Popen(CLI + ["clock-pizza", "train", "--p", "11", "--width", "16",
                                   "--steps", "1000000", "--quiet", "--threads", "1",
                                   "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_running(out, proc, limit_s: float = 120.0) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit_s:   # a wait for the child to start, not a timing check
        if (out / "index.db").is_file() and RunStore(out).list(status="running"):
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    proc.kill()
    pytest.fail("training never started")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["term", "kill"])
def test_killed_training_is_marked_interrupted(tmp_path, sig) -> None:
    proc = _start_long_training(tmp_path)
    _wait_running(tmp_path, proc)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    [rec] = RunStore(tmp_path).list()
    assert rec.status == "interrupted", rec
    if sig == signal.SIGTERM:
        assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err
    problems = RunStore(tmp_path).verify()
    assert [p.kind for p in problems] == ["interrupted"]

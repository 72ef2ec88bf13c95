"""Issue 18 (reliability, second round): the items not covered elsewhere in the suite.

The run store tells the truth (§2): `runs reindex` rebuilds a copied mips store's rows exactly and
`mips TASK --out copy` then reuses the network beside it; `runs reindex` of a missing folder,
`runs show` of a deleted run, `runs show ""` and `runs show ID | head` are clear. Bad input (§4):
a negative seed leaves no run folder; `nuclear train` refuses what cannot fit and names the flag
before training; `clock-pizza sweep` with the default --out files into the one store. Tiny settings:
seconds each. (The other items of issue 18 are covered where they were fixed: see the report of
the review, e.g. tests/unit/test_recursion_cli.py, tests/unit/test_nuclear_study.py,
tests/integration/test_clock_pizza_cli.py, tests/unit/test_contract.py.)
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from algolens.cli import main
from algolens.store import RunStore, StoreError

torch.set_num_threads(1)

ECHO_TASK = '''from algolens.tasks import SequenceTask, register
register(SequenceTask(name="Reliab_Echo", alphabet=[0, 1], length=4,
                      reference=lambda xs: list(xs), description="echo"))
'''
CP_TINY = ["--p", "7", "--width", "16", "--heads", "2", "--steps", "20", "--lr", "0.01",
           "--threads", "1", "--quiet"]


def cli(*args, code: int | None = 0):
    res = CliRunner().invoke(main, [str(a) for a in args])
    if code is not None:
        assert res.exit_code == code, res.output
    assert "Traceback" not in res.output
    return res


@pytest.fixture(scope="module")
def echo(tmp_path_factory) -> tuple[Path, Path]:
    """(task file, store holding one solved mips run and its network run)."""
    d = tmp_path_factory.mktemp("echo")
    task_file = d / "echo.py"
    task_file.write_text(ECHO_TASK)
    cli("mips", "Reliab_Echo", "--task-file", task_file, "--out", d / "runs")
    return task_file, d / "runs"


def _rows(store: Path) -> dict[str, dict]:
    drop = ("dir", "host", "pid")
    return {r.id: {k: v for k, v in r.to_dict().items() if k not in drop}
            for r in RunStore(store).list()}


# ------------------------------------------------------------------ §2 one store, the truth
def test_reindex_of_a_copied_mips_store_rebuilds_the_rows_and_reuses_the_network(
        echo, tmp_path) -> None:
    """Used to: the mips run "interrupted: no metrics.json", metrics, fingerprint and created
    lost, and `mips TASK --out ri` trained a second network."""
    task_file, runs = echo
    ri = tmp_path / "ri"
    shutil.copytree(runs, ri)
    (ri / "index.db").unlink()
    res = cli("runs", "reindex", "--out", ri)
    assert "2 run folder(s) added" in res.output
    assert _rows(ri) == _rows(runs)
    assert {r["status"] for r in _rows(ri).values()} == {"done"}
    [net] = RunStore(ri).list(study="train")
    assert net.fingerprint
    body = json.loads(cli("mips", "Reliab_Echo", "--task-file", task_file, "--out", ri,
                          "--json").output)
    assert body["network_run"] == net.id
    assert [r.id for r in RunStore(ri).list(study="train")] == [net.id]      # not retrained


def test_reindex_of_a_missing_folder_is_an_error_and_creates_nothing(tmp_path) -> None:
    res = cli("runs", "reindex", "--out", tmp_path / "missing_dir", code=2)
    assert "missing_dir does not exist" in res.output and "--out" in res.output
    assert not (tmp_path / "missing_dir").exists()


def test_runs_show_of_a_deleted_folder_says_missing(echo, tmp_path) -> None:
    _, runs = echo
    copy = tmp_path / "rd"
    shutil.copytree(runs, copy)
    [net] = RunStore(copy).list(study="train")
    shutil.rmtree(net.dir)
    res = cli("runs", "show", net.id, "--out", copy)
    status = next(line for line in res.output.splitlines() if line.startswith("status"))
    assert "missing" in status and "done" not in status
    assert f"reindex --prune --out {copy}" in status


def test_runs_show_of_no_run_names_the_store_in_its_hint(echo) -> None:
    _, runs = echo
    res = cli("runs", "show", "", "--out", runs, code=2)
    assert f"algolens runs list --out {runs}" in res.output


def test_runs_show_into_a_closed_pipe_is_quiet(echo) -> None:
    """`runs show ID | head -1` used to end with "Broken pipe … fix the permissions"."""
    _, runs = echo
    [rec] = RunStore(runs).list(study="mips")
    prog = "import sys; from algolens.cli import main; sys.argv[0] = 'algolens'; main()"
    cmd = (f"{sys.executable} -c \"{prog}\" runs show {rec.id} --out {runs} | head -c 0")
    res = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True,
                         timeout=120)
    assert "Broken pipe" not in res.stderr and "error" not in res.stderr, res.stderr
    assert res.returncode == 0


def test_clock_pizza_sweep_default_out_is_the_one_store(tmp_path, monkeypatch) -> None:
    """Used to: a second index runs/clock_pizza/index.db with the run under study "sweep"."""
    monkeypatch.chdir(tmp_path)
    cli("clock-pizza", "sweep", "--alphas", "0", "--seeds", "0", *CP_TINY, "--batch", "1")
    assert [p.relative_to(tmp_path) for p in tmp_path.rglob("index.db")] == \
        [Path("runs/index.db")]
    assert {r.study for r in RunStore("runs").list()} == {"clock_pizza"}
    assert "clock_pizza" in cli("runs", "list").output


# ------------------------------------------------------------------ §4 bad input, before work
@pytest.mark.parametrize("args", [["mips", "Parity_Last2", "--seed", "-1"],
                                  ["train", "Parity_Last2", "--seed", "-1"],
                                  ["recursion", "train", "Successor", "--seed", "-1"],
                                  ["clock-pizza", "train", *CP_TINY, "--seed", "-1"],
                                  ["nuclear", "train", "--steps", "3", "--seed", "-1"]],
                         ids=lambda a: " ".join(a[:2]))
def test_a_negative_seed_leaves_no_run_folder(args, tmp_path) -> None:
    res = cli(*args, "--out", tmp_path / "runs", code=2)
    assert "-1" in res.output
    left = [p for p in (tmp_path / "runs").glob("*/*")] if (tmp_path / "runs").exists() else []
    assert left == []


def test_the_store_refuses_a_negative_seed_before_making_a_folder(tmp_path) -> None:
    store = RunStore(tmp_path)
    with pytest.raises(StoreError, match="seed must be an integer >= 0, got -1"):
        store.create("train", "Parity_Last2", {}, seed=-1)
    assert not (tmp_path / "train").exists() and store.list() == []


@pytest.mark.parametrize("args, says", [
    (["--width", "100000"], "lower --members or --width"),
    (["--members", "100000"], "lower --members or --width"),
    (["--tasks", "binding,binding"], "listed twice"),
    (["--embed-weight-decay", "-1"], "--embed-weight-decay"),
    (["--aux-weight", "nan"], "--aux-weight"),
    (["--gk-weight", "nan"], "--gk-weight"),
], ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_nuclear_train_refuses_bad_settings_naming_the_flag(args, says, tmp_path) -> None:
    """Used to: an allocator traceback, a 90 s run killed for memory, or accepted (and NaN
    losses blamed on the learning rate)."""
    res = cli("nuclear", "train", "--steps", "3", "--quiet", *args, "--out", tmp_path / "runs",
              code=2)
    assert res.output.count("error:") == 1 and says in res.output
    assert not (tmp_path / "runs" / "nuclear").exists()

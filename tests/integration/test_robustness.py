"""Bad input through the CLI (issue 11, "Defects found"): each test feeds one class of bad input
and checks a non-zero exit, a message naming the problem and the fix, no traceback, and that
nothing already written is lost or half-written. Tiny settings: the module runs in seconds.

Defect classes (issue 11) and the tests covering them:
  1. output problems before the work / OSError -> message / results printed even when unsaved:
     test_bad_out_is_refused_before_any_work, test_out_under_proc_is_refused,
     test_analyze_prints_results_when_plots_cannot_be_written,
     test_mips_prints_program_when_it_cannot_be_saved, test_corrupt_index_is_a_clear_error,
     test_oserror_anywhere_is_one_clear_line
  2. run reuse keyed on the task definition and on paths relative to --out; --retrain:
     test_copied_runs_folder_reads_and_writes_its_own_runs, test_mips_retrain_trains_afresh,
     test_edited_task_file_is_not_reused_and_says_so
  4. the interrupt message fits the command: test_interrupt_message_fits_the_command
  5. networks that never learned: test_clock_pizza_untrained_withholds_verdict,
     test_grokking_untrained_is_marked, test_help_examples_name_existing_presets,
     test_mips_and_train_exit_1_when_not_solved
  6. smaller ones: test_duplicate_task_name_in_one_file, test_task_output_beyond_int64,
     test_tiny_or_even_modulus_rejected_up_front, test_alpha_grid_rejected,
     test_unknown_device_rejected, test_config_with_unknown_or_missing_keys,
     test_rnn_run_given_to_clock_pizza_analyze
(Class 3, partial tables, and negative --threads are covered where they were fixed:
tests/integration/test_train_search.py, tests/integration/test_mips_trained.py and
tests/integration/test_clock_pizza_cli.py.)
"""

from __future__ import annotations

import importlib
import json
import re
import shutil
import sqlite3
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from algolens.cli import main

torch.set_num_threads(1)

TINY = ["--p", "7", "--width", "16", "--heads", "2", "--steps", "20", "--lr", "0.01",
        "--quiet"]
ECHO_TASK = '''from algolens.tasks import SequenceTask, register
register(SequenceTask(name="Robust_Echo", alphabet=[0, 1], length=4,
                      reference=lambda xs: [{expr} for x in xs], description="echo"))
'''
# y_t = the last input: an RNN reading left to right cannot know it, so it is never solved
FUTURE_TASK = '''from algolens.tasks import SequenceTask, register
register(SequenceTask(name="Robust_Future", alphabet=[0, 1], length=6,
                      reference=lambda xs: [xs[-1]] * len(xs), description="needs the future"))
'''


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def clean_error(res, *words, code: int | None = None) -> str:
    """Non-zero exit, one clear message containing ``words``, no traceback."""
    out = res.output
    assert res.exit_code != 0, out
    if code is not None:
        assert res.exit_code == code, out
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in out, out
    for w in words:
        assert w.lower() in out.lower(), (w, out)
    return out


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != "index.db"}


@pytest.fixture(scope="module")
def echo(tmp_path_factory) -> tuple[Path, Path]:
    """(task file, runs folder holding one solved Robust_Echo run): trained once (seconds)."""
    d = tmp_path_factory.mktemp("echo")
    task_file = d / "echo.py"
    task_file.write_text(ECHO_TASK.format(expr="x"))
    res = cli("mips", "Robust_Echo", "--task-file", task_file, "--out", d / "runs")
    assert res.exit_code == 0, res.output
    return task_file, d / "runs"


# ------------------------------------------------------------------ 1. output locations
WRITERS = [
    ["clock-pizza", "train", *TINY],
    ["clock-pizza", "sweep", "--alphas", "0,1", "--seeds", "0", *TINY],
    ["grokking", "train", *TINY],
    ["mips", "Parity_Last3"],
    ["train", "Parity_Last3"],
    ["demo"],
]


@pytest.mark.parametrize("args", WRITERS, ids=lambda a: " ".join(a[:2]))
@pytest.mark.parametrize("where", ["file", "under_file"])
def test_bad_out_is_refused_before_any_work(tmp_path, monkeypatch, args, where) -> None:
    """Class 1: a file as --out, or a folder under a regular file (unwritable even for root),
    fails at once with the fix; no training starts (the training entry points would raise)."""
    _forbid_training(monkeypatch)
    f = tmp_path / "f.txt"
    f.write_text("keep me")
    out = f if where == "file" else f / "sub"
    clean_error(cli(*args, "--out", out), str(f), "--out")
    assert f.read_text() == "keep me"


def test_out_under_proc_is_refused(echo, monkeypatch) -> None:
    """Class 1: an unwritable location (/proc) for every writing command, before any work."""
    _forbid_training(monkeypatch)
    for args in WRITERS:
        clean_error(cli(*args, "--out", "/proc/algolens-test"), "/proc/algolens-test", "--out")
    clean_error(cli("report", echo[1], "--out", "/proc/algolens-test/r.html"), "--out")


def _forbid_training(monkeypatch) -> None:
    def boom(*a, **k):
        raise AssertionError("work started before --out was checked")
    modular = importlib.import_module("algolens.train.modular")
    search = importlib.import_module("algolens.train.search")   # the package re-exports search()
    monkeypatch.setattr(modular, "_train", boom)
    monkeypatch.setattr(search, "search", boom)


def test_analyze_prints_results_when_plots_cannot_be_written(tmp_path, monkeypatch) -> None:
    """Class 1: analyze computes, cannot save (read-only disk simulated), still prints the
    numbers, then exits non-zero naming what was not saved."""
    res = cli("clock-pizza", "train", *TINY, "--out", tmp_path, "--json")
    run = json.loads(res.output)[0]
    before = snapshot(Path(run["dir"]))

    def read_only(path, *a, **k):
        raise OSError(30, "Read-only file system", str(path))
    import algolens.store as store
    monkeypatch.setattr(store, "atomic_write_bytes", read_only)     # every write of a run
    out = clean_error(cli("clock-pizza", "analyze", run["run"], "--out", tmp_path, "--force"),
                      "read-only", "not saved")
    assert "s_g" in out and "circle isolation" in out          # the results were printed
    assert snapshot(Path(run["dir"])) == before


def test_mips_prints_program_when_it_cannot_be_saved(echo, tmp_path) -> None:
    """Class 1: the network is distilled, the mips folder cannot be written (a file in its
    place): the program is printed anyway, then a clear error; the trained run is kept."""
    task_file, runs = echo
    copy = tmp_path / "runs"
    shutil.copytree(runs, copy)
    shutil.rmtree(copy / "mips")
    (copy / "mips").write_text("in the way")
    out = clean_error(cli("mips", "Robust_Echo", "--task-file", task_file, "--out", copy),
                      "not saved", str(copy / "mips"))
    assert "def " in out                                       # the program was printed
    assert (copy / "mips").read_text() == "in the way"


def test_corrupt_index_is_a_clear_error(tmp_path, monkeypatch) -> None:
    """Class 1: a corrupt runs/index.db names `algolens runs reindex`, before any work."""
    _forbid_training(monkeypatch)
    (tmp_path / "index.db").write_bytes(b"this is not sqlite" * 100)
    for args in (["mips", "Parity_Last3"], ["train", "Parity_Last3"]):
        clean_error(cli(*args, "--out", tmp_path), "runs reindex")
    clean_error(cli("clock-pizza", "train", *TINY, "--out", tmp_path), "runs reindex")


def test_oserror_anywhere_is_one_clear_line(tmp_path, monkeypatch) -> None:
    """Class 1: an OSError the commands did not foresee (disk full) is one line, not a
    traceback."""
    from algolens.studies import registry

    def disk_full(*a, **k):
        raise OSError(28, "No space left on device", str(tmp_path / "x"))
    monkeypatch.setattr(registry, "run_points", disk_full)
    clean_error(cli("clock-pizza", "train", *TINY, "--out", tmp_path), "no space left",
                str(tmp_path / "x"))


# ------------------------------------------------------------------ 2. run reuse
def test_copied_runs_folder_reads_and_writes_its_own_runs(echo, tmp_path) -> None:
    """Class 2: cp -r runs runs_copy; mips --out runs_copy reuses the copy's network and
    writes only into the copy."""
    task_file, runs = echo
    copy = tmp_path / "runs_copy"
    shutil.copytree(runs, copy)
    before = snapshot(runs)
    res = cli("mips", "Robust_Echo", "--task-file", task_file, "--out", copy, "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert Path(out["run_dir"]).resolve().is_relative_to(copy.resolve())
    # the network is linked by run id (no path), so the copy resolves it inside itself
    from algolens.store import RunStore
    run = RunStore(copy).open(out["run_dir"])
    assert json.loads((run.dir / "links.json").read_text()) == {"network": out["network_run"]}
    assert run.linked("network").dir.resolve().is_relative_to(copy.resolve())
    assert run.load_model() is not None
    assert snapshot(runs) == before
    assert len(list((copy / "train").iterdir())) == len(list((runs / "train").iterdir()))


def test_mips_retrain_trains_afresh(echo, tmp_path) -> None:
    """Class 2: --retrain trains a new network even though a matching one exists."""
    task_file, runs = echo
    copy = tmp_path / "runs"
    shutil.copytree(runs, copy)
    n = len(list((copy / "train").iterdir()))
    res = cli("mips", "Robust_Echo", "--task-file", task_file, "--out", copy, "--retrain")
    assert res.exit_code == 0, res.output
    assert len(list((copy / "train").iterdir())) == n + 1


def test_edited_task_file_is_not_reused_and_says_so(echo, tmp_path) -> None:
    """Class 2: same name, new definition (y = 1 - x): a new network, and the output says so."""
    task_file, runs = echo
    copy = tmp_path / "runs"
    shutil.copytree(runs, copy)
    original = task_file.read_text()
    try:
        task_file.write_text(ECHO_TASK.format(expr="1 - x"))
        res = cli("mips", "Robust_Echo", "--task-file", task_file, "--out", copy)
    finally:
        task_file.write_text(original)
    assert res.exit_code == 0, res.output
    assert "definition changed" in res.output and "new network" in res.output
    assert len(list((copy / "train").iterdir())) == 2


# ------------------------------------------------------------------ 4. interrupts
@pytest.mark.parametrize("args,target", [
    (["train", "Parity_Last3"], "algolens.train.search.search"),
    (["clock-pizza", "train", *TINY], "algolens.studies.registry.run_points"),
    (["grokking", "train", *TINY], "algolens.studies.registry.run_point"),
    (["mips", "Parity_Last3"], "algolens.studies.mips.run"),
    (["clock-pizza", "sweep", "--alphas", "0,1", "--seeds", "0", *TINY],
     "algolens.cli.sweep_cmd.run_sweep"),
    (["demo"], "algolens.studies.demo.run"),
], ids=lambda a: " ".join(a[:2]) if isinstance(a, list) else "")
def test_interrupt_message_fits_the_command(tmp_path, monkeypatch, args, target) -> None:
    """Class 4: Ctrl-C names --resume only where the command has it; otherwise the exact
    command line to run again."""
    mod, name = target.rsplit(".", 1)

    def interrupted(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(importlib.import_module(mod), name, interrupted)
    out = clean_error(cli(*args, "--out", tmp_path), "interrupted", code=130)
    if args[0] == "train":
        assert "--resume" in out
    else:
        assert "--resume" not in out
        assert "algolens " + " ".join(args[:2]) in out and str(tmp_path) in out


# ------------------------------------------------------------------ 5. untrained networks
def test_clock_pizza_untrained_withholds_verdict(tmp_path) -> None:
    """Class 5: 20 steps leave the model untrained: 'not trained (accuracy X)', no verdict."""
    res = cli("clock-pizza", "train", *TINY, "--out", tmp_path)
    assert res.exit_code == 0, res.output
    assert "not trained (accuracy" in res.output
    assert not any(v in res.output for v in ("-> Pizza", "-> Clock", "-> non-circular"))
    [js] = json.loads(cli("clock-pizza", "train", *TINY, "--out", tmp_path, "--json").output)
    assert js["trained"] is False and js["verdict"] == "not trained"
    assert js["s_g"] is None and js["raw_verdict"] is None     # not measured, not interpreted
    an = json.loads(cli("clock-pizza", "analyze", js["run"], "--out", tmp_path, "--json").output)
    assert an["trained"] is False and an["verdict"] == "not trained" and an["q"] is None
    assert "not trained (accuracy" in cli("clock-pizza", "analyze", js["run"], "--out",
                                          tmp_path).output


def test_grokking_untrained_is_marked(tmp_path) -> None:
    """Class 5: below 99% test accuracy the key frequencies and phases are marked untrained."""
    res = cli("grokking", "train", *TINY, "--out", tmp_path)
    assert res.exit_code == 0, res.output
    assert "not trained (test accuracy" in res.output
    js = json.loads(cli("grokking", "train", *TINY, "--out", tmp_path, "--json").output)
    assert js["trained"] is False and js["key_freqs"] == [] and js["phases"] is None


def test_help_examples_name_existing_presets() -> None:
    """Class 5: the help's quick looks use presets that exist (quick-p31-d32 reaches 100%),
    not settings that end at 1% accuracy."""
    from algolens.studies import registry
    known = {*registry.get("grokking").presets, *registry.get("clock_pizza").presets}
    for group in ("grokking", "clock-pizza"):
        text = cli(group, "--help").output + cli(group, "train", "--help").output
        assert "--p 53 --steps 3000 --width 64" not in text
        assert "--alpha 1 --steps 3000 --width 64" not in text
        for word in text.split():
            if word.startswith(("quick-", "reduced-", "paper-", "nanda-")):
                assert word.strip(".,;:)") in known, word
    assert "--preset quick-p31-d32" in cli("grokking", "train", "--help").output


def test_mips_and_train_exit_1_when_not_solved(tmp_path, monkeypatch) -> None:
    """Class 5: a task that is not solved exits 1 (documented in --help), so scripts can tell.
    (The searches are replaced by ones that fail at once: a real unsolvable search takes
    minutes.)"""
    from types import SimpleNamespace

    from algolens.studies import mips
    f = tmp_path / "future.py"
    f.write_text(FUTURE_TASK)
    unsolved = SimpleNamespace(
        task="Robust_Future", solved=False, budget_exhausted=False, seconds=0.1,
        config=SimpleNamespace(describe=lambda: "h=1", encoding="numeric"), parameters=5,
        accuracy=0.5, tried=[], run_dir=None, budget_seconds=None,
        summary=lambda: {"task": "Robust_Future", "solved": False})
    monkeypatch.setattr(importlib.import_module("algolens.train.search"), "search",
                        lambda *a, **k: unsolved)
    monkeypatch.setattr(mips, "run", lambda task, **k: mips.MIPSResult(
        task.name, False, None, None, None, network_desc="h=1", failed_pass="collect",
        reason="the network is not 100% accurate"))
    for cmd in ("train", "mips"):
        assert re.search(r"Exit status:.*\b1 when", " ".join(cli(cmd, "--help").output.split()))
        for extra in ([], ["--json"]):
            res = cli(cmd, "Robust_Future", "--task-file", f, "--out", tmp_path / "runs", *extra)
            assert res.exit_code == 1, res.output
            assert "not solved" in res.output.lower() or '"solved": false' in res.output
            assert "Traceback" not in res.output


# ------------------------------------------------------------------ 6. smaller ones
def test_duplicate_task_name_in_one_file(tmp_path) -> None:
    """Class 6: one task file registering one name twice is an error naming both lines."""
    f = tmp_path / "dup.py"
    f.write_text("from algolens.tasks import SequenceTask, register\n"
                 "register(SequenceTask(name='Robust_Dup', alphabet=[0, 1], length=3,\n"
                 "                      reference=lambda xs: list(xs)))\n"
                 "register(SequenceTask(name='Robust_Dup', alphabet=[0, 1], length=3,\n"
                 "                      reference=lambda xs: [1 - x for x in xs]))\n")
    clean_error(cli("tasks", "--task-file", f), "Robust_Dup", "twice", "line 2", "line 4",
                "rename")
    from algolens import tasks
    assert "Robust_Dup" not in tasks.names()


def test_task_output_beyond_int64(tmp_path) -> None:
    """Class 6: outputs beyond int64 are rejected when the task is registered."""
    f = tmp_path / "big.py"
    f.write_text("from algolens.tasks import SequenceTask, register\n"
                 "register(SequenceTask(name='Robust_Big', alphabet=[0, 1], length=3,\n"
                 "                      reference=lambda xs: [x * 2**70 for x in xs]))\n")
    clean_error(cli("tasks", "--task-file", f), "Robust_Big", "int64")


@pytest.mark.parametrize("group,p", [("clock-pizza", 2), ("clock-pizza", 3), ("clock-pizza", 4),
                                     ("grokking", 2), ("grokking", 3)])
def test_tiny_or_even_modulus_rejected_up_front(tmp_path, monkeypatch, group, p) -> None:
    """Class 6: p=2/3 (and even p for clock-pizza) are rejected before training."""
    _forbid_training(monkeypatch)
    args = [a for a in TINY]
    args[1] = str(p)
    clean_error(cli(group, "train", *args, "--out", tmp_path), f"p={p}", "--p", code=2)


@pytest.mark.parametrize("spec", ["0:1:0", "0:1:1e-9", "1:0:0.1", "0:1:-0.1"])
def test_alpha_grid_rejected(tmp_path, monkeypatch, spec) -> None:
    """Class 6: a zero, negative or billion-point α step is a clear error, not a hang."""
    _forbid_training(monkeypatch)
    clean_error(cli("clock-pizza", "sweep", "--alphas", spec, *TINY, "--out", tmp_path),
                spec, "step", code=2)


def test_unknown_device_rejected(tmp_path, monkeypatch) -> None:
    """Class 6: a made-up --device fails up front and says which devices exist."""
    _forbid_training(monkeypatch)
    for group in ("clock-pizza", "grokking"):
        clean_error(cli(group, "train", *TINY, "--device", "tpu9", "--out", tmp_path),
                    "tpu9", "--device", "cpu")


def test_config_with_unknown_or_missing_keys(tmp_path) -> None:
    """Class 6: a run whose config.json has a misspelt or missing key: a clear error."""
    from algolens.store import record_checksum, sha256_file
    res = cli("clock-pizza", "train", *TINY, "--out", tmp_path, "--json")
    run = json.loads(res.output)[0]
    run_dir = Path(run["dir"])
    conf = json.loads((run_dir / "config.json").read_text())
    good = dict(conf)
    conf["widht"] = conf.pop("width")
    (run_dir / "config.json").write_text(json.dumps(conf))
    # edited after the run: refused as damage, naming the file
    clean_error(cli("clock-pizza", "analyze", run["run"], "--out", tmp_path), "config.json",
                "changed")
    # written so (another version): the misspelt key is named beside the known ones
    record_checksum(run_dir, "config.json", sha256_file(run_dir / "config.json"))
    clean_error(cli("clock-pizza", "analyze", run["run"], "--out", tmp_path), "widht", "width")
    (run_dir / "config.json").write_text(json.dumps({**good, "seed": "zero"}))
    record_checksum(run_dir, "config.json", sha256_file(run_dir / "config.json"))
    clean_error(cli("clock-pizza", "analyze", run["run"], "--out", tmp_path), "'zero'",
                "integer >= 0")
    legacy = {k: good[k] for k in ("study", "key", "seed", "run_id")}
    (run_dir / "config.json").write_text(json.dumps({**legacy, "model": {}, "train": {}}))
    record_checksum(run_dir, "config.json", sha256_file(run_dir / "config.json"))
    clean_error(cli("clock-pizza", "analyze", run["run"], "--out", tmp_path),
                "older algolens", "train it again")


def test_rnn_run_given_to_clock_pizza_analyze(echo) -> None:
    """Class 6: an RNN (train/mips) run given to clock-pizza / grokking analyze says what it
    is and where to look."""
    _, runs = echo
    train_run = next(p for p in (runs / "train").iterdir() if p.is_dir())
    clean_error(cli("clock-pizza", "analyze", train_run, "--out", runs), "is a train run",
                "not clock_pizza")
    mips_run = next(p for p in (runs / "mips").iterdir() if p.is_dir())
    clean_error(cli("grokking", "analyze", mips_run.name, "--out", runs), "is a mips run",
                "algolens runs show")


def test_index_rows_survive_a_failed_command(echo, tmp_path) -> None:
    """Nothing half-written: after the refused commands above, the store still verifies."""
    _, runs = echo
    copy = tmp_path / "runs"
    shutil.copytree(runs, copy)
    clean_error(cli("mips", "Nope_Task", "--out", copy), "unknown task")
    with sqlite3.connect(copy / "index.db") as con:
        assert con.execute("SELECT count(*) FROM run_index").fetchone()[0] >= 2
    assert cli("runs", "verify", "--out", copy).exit_code == 0


@pytest.mark.parametrize("cmd", [["nuclear", "train", "--steps", "1"],
                                 ["recursion", "train", "Successor", "--steps", "1"]],
                         ids=["nuclear", "recursion"])
def test_new_labs_refuse_a_bad_out_before_work(tmp_path, cmd) -> None:
    """Defect 1 for the labs added this session: a file as --out fails before training."""
    (tmp_path / "f.txt").write_text("keep")
    res = CliRunner().invoke(main, [*cmd, "--out", str(tmp_path / "f.txt" / "sub")])
    assert res.exit_code == 2 and "Traceback" not in res.output and "--out" in res.output
    assert (tmp_path / "f.txt").read_text() == "keep"

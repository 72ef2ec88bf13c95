"""``mips.run_all``: records merge by task, finished points are skipped, bad input fails fast.

The trainer is replaced by a stub (in-process executor), so these run in milliseconds; the real
thing on a dask cluster is tests/integration/test_dask_executor.py.
"""

from __future__ import annotations

import json
import textwrap

import pytest

from algolens import tasks
from algolens.studies import mips


class _Stub:
    def __init__(self, task: str) -> None:
        self.task = task

    def to_dict(self) -> dict:
        return {"task": self.task, "solved": True, "form": "symbolic", "program": "def f(xs): ...",
                "accuracy": 1.0, "accuracy_2x": 1.0, "failed_pass": None, "reason": ""}


@pytest.fixture
def calls(monkeypatch):
    seen: list[str] = []

    def fake_run(name, **kw):
        seen.append(name)
        if name == "Prev3":
            raise RuntimeError("boom")
        return _Stub(name)

    monkeypatch.setattr(mips, "run", fake_run)
    return seen


def _bench(out) -> list[dict]:
    return json.loads((out / "mips" / "benchmark.json").read_text())


def test_records_merge_and_finished_points_are_skipped(tmp_path, calls) -> None:
    got = mips.run_all(["Prev2", "Sum_Last2", "Prev3"], out=tmp_path, progress=False)
    assert [r["task"] for r in got] == ["Prev2", "Sum_Last2", "Prev3"]
    assert got[2]["failed_pass"] == "run" and "RuntimeError: boom" in got[2]["reason"]
    assert sorted(calls) == ["Prev2", "Prev3", "Sum_Last2"]
    calls.clear()
    mips.run_all(["Sum_Last2", "Prev2", "Prev3", "Prev1"], out=tmp_path, progress=False)
    assert sorted(calls) == ["Prev1", "Prev3"]          # finished ones skipped, the crash retried
    # the table keeps every finished task, in the benchmark's order, whatever was asked last
    assert [r["task"] for r in _bench(tmp_path)] == ["Sum_Last2", "Prev1", "Prev2", "Prev3"]
    calls.clear()
    mips.run_all(["Prev1"], out=tmp_path, progress=False, budget_seconds=10)   # another point
    mips.run_all(["Prev1"], out=tmp_path, progress=False, resume=False)
    assert calls == ["Prev1", "Prev1"]
    assert "solved 3/4" in (tmp_path / "mips" / "benchmark.md").read_text()


def test_edited_task_file_is_a_new_point(tmp_path, calls) -> None:
    src = textwrap.dedent('''
        from algolens.tasks import SequenceTask, register
        register(SequenceTask(name="User_Bench_Echo", alphabet=[0, 1], length=3,
                              reference=lambda xs: [{expr} for x in xs]))
    ''')
    f = tmp_path / "t.py"
    try:
        for expr, n_calls in (("x", 1), ("x", 1), ("1 - x", 2)):
            f.write_text(src.format(expr=expr))
            tasks.load_task_file(f)
            mips.run_all(["User_Bench_Echo"], out=tmp_path, progress=False, task_files=[f])
            assert calls.count("User_Bench_Echo") == n_calls
    finally:
        tasks.unregister("User_Bench_Echo")


@pytest.mark.parametrize("kw, match", [
    ({"names": []}, "no task names given"),
    ({"names": ["Parity_Lst3"]}, "did you mean"),
    ({"budget_seconds": 0}, "budget-seconds must be > 0"),
    ({"executor": "slurm"}, "unknown executor"),
])
def test_bad_input_fails_before_any_run(tmp_path, calls, kw, match) -> None:
    kw = {"names": ["Prev1"], **kw}
    with pytest.raises(ValueError, match=match):
        mips.run_all(out=tmp_path, progress=False, **kw)
    assert calls == []


@pytest.mark.parametrize("args, match", [
    (["--tasks", ","], "no task names given"),
    (["--tasks", "Prev1", "--executor", "slurm"], "unknown executor 'slurm'; use 'local'"),
    (["--tasks", "Prev1", "--jobs", "0"], "--jobs"),
])
def test_cli_bad_benchmark_input(tmp_path, calls, args, match) -> None:
    from click.testing import CliRunner

    from algolens.cli import main
    res = CliRunner().invoke(main, ["mips", "--all", *args, "--out", str(tmp_path)])
    assert res.exit_code == 2 and match in res.output, res.output
    assert "Traceback" not in res.output and calls == []
    assert not (tmp_path / "mips").exists()


def test_interrupt_says_what_to_rerun(tmp_path, monkeypatch) -> None:
    from click.testing import CliRunner

    from algolens.cli import main

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(mips, "run_all", interrupted)
    res = CliRunner().invoke(main, ["mips", "--all", "--tasks", "Prev1", "--out", str(tmp_path)])
    assert res.exit_code == 130
    assert "re-run the same command to continue" in res.output and "--resume" not in res.output


def test_costliest_tasks_start_first_results_keep_the_asked_order(tmp_path, calls) -> None:
    from algolens.studies.mips_costs import COSTS

    names = ["Prev2", "Majority_0_3", "Sum_Last2", "Bit_Palindrome"]
    got = mips.run_all(names, out=tmp_path, progress=False)
    assert [r["task"] for r in got] == names                    # records: the asked order
    assert calls == sorted(names, key=lambda n: -COSTS[n])      # starts: costliest first
    assert mips._costliest_first(["Prev2", "My_Own_Task"])[0] == "My_Own_Task"   # unknown first
    assert set(COSTS) == set(tasks.benchmark_names())           # every benchmark task has one

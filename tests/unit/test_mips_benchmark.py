"""``mips --all``: the benchmark's tasks are points of the mips study run through the one sweep;
the table is read back from the store (the exports are never read); finished points are skipped;
bad input fails fast.

The distiller is replaced by a stub (in-process executor), so these run in a second; the real
thing on a dask cluster is tests/integration/test_dask_executor.py.
"""

from __future__ import annotations

import json
import textwrap

import pytest
from click.testing import CliRunner

from algolens import tasks
from algolens.cli import main
from algolens.store import RunStore
from algolens.studies import mips, registry
from algolens.studies import mips_benchmark as bench


@pytest.fixture
def calls(monkeypatch):
    seen: list[str] = []

    def fake_run(task, **kw):
        name = tasks.get(task).name
        seen.append(name)
        if name == "Prev3":
            raise RuntimeError("boom")
        solved = name != "Prev2"
        return mips.MIPSResult(name, solved, "symbolic", "def f(xs): ...", None,
                               network_desc="h=1", hidden=1, failed_pass=None if solved else
                               "window", reason="" if solved else "no window")

    monkeypatch.setattr(mips, "run", fake_run)
    return seen


def _exported(out) -> list[dict]:
    return json.loads((out / "mips" / "benchmark.json").read_text())


def test_points_merge_in_the_store_and_finished_points_are_skipped(tmp_path, calls) -> None:
    got = bench.run_all(["Prev2", "Sum_Last2", "Prev3"], out=tmp_path, progress=False)
    assert [r["task"] for r in got] == ["Prev2", "Sum_Last2", "Prev3"]
    assert got[2]["failed_pass"] == "run" and "RuntimeError: boom" in got[2]["reason"]
    assert got[0]["solved"] is False and got[0]["failed_pass"] == "window"
    assert sorted(calls) == ["Prev2", "Prev3", "Sum_Last2"]
    store = RunStore(tmp_path)
    assert {r.key: r.status for r in store.list(study="mips")} == {"Prev2": "failed",
                                                                    "Sum_Last2": "done"}
    assert got[1]["run"] == mips.MIPS_STUDY.run_id(mips.MIPSConfig("Sum_Last2"), 0)
    calls.clear()
    bench.run_all(["Sum_Last2", "Prev2", "Prev3", "Prev1"], out=tmp_path, progress=False)
    assert sorted(calls) == ["Prev1", "Prev3"]       # finished ones skipped, the crash retried
    calls.clear()
    bench.run_all(["Prev1"], out=tmp_path, progress=False, budget_seconds=10)   # another point
    bench.run_all(["Prev1"], out=tmp_path, progress=False, resume=False)
    assert calls == ["Prev1", "Prev1"]


def test_the_table_is_a_view_of_the_store(tmp_path, calls) -> None:
    bench.run_all(["Prev2", "Sum_Last2", "Prev1"], out=tmp_path, progress=False)
    store = RunStore(tmp_path)
    bench.write_benchmark(store)
    # every finished task, in the benchmark's order, read from the runs' typed results
    assert [r["task"] for r in _exported(tmp_path)] == ["Sum_Last2", "Prev1", "Prev2"]
    assert "solved 2/3" in (tmp_path / "mips" / "benchmark.md").read_text()
    # the export is never read back: garbling it changes nothing, the store is the table
    (tmp_path / "mips" / "benchmark.json").write_text("not json")
    assert [r["task"] for r in bench.records_of_export(tmp_path / "mips")] == \
        ["Sum_Last2", "Prev1", "Prev2"]
    with pytest.raises(ValueError, match="not the mips folder of a run store"):
        bench.records_of_export(tmp_path)


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
            bench.run_all(["User_Bench_Echo"], out=tmp_path, progress=False, task_files=[f])
            assert calls.count("User_Bench_Echo") == n_calls
    finally:
        tasks.unregister("User_Bench_Echo")


def test_the_sweep_runs_mips_points_like_any_study(tmp_path, calls) -> None:
    r = CliRunner().invoke(main, ["sweep", "mips", "--grid", "task=Sum_Last2,Prev1",
                                  "--out", str(tmp_path), "--json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)["points"]
    assert sorted((p["task"], p["solved"]) for p in rows) == [("Prev1", True),
                                                              ("Sum_Last2", True)]
    calls.clear()       # the same points through `mips --all` are finished already
    bench.run_all(["Sum_Last2", "Prev1"], out=tmp_path, progress=False)
    assert calls == []


@pytest.mark.parametrize("kw, match", [
    ({"names": []}, "no task names given"),
    ({"names": ["Parity_Lst3"]}, "did you mean"),
    ({"budget_seconds": 0}, "budget-seconds must be > 0"),
    ({"executor": "slurm"}, "unknown executor"),
])
def test_bad_input_fails_before_any_run(tmp_path, calls, kw, match) -> None:
    kw = {"names": ["Prev1"], **kw}
    with pytest.raises(ValueError, match=match):
        bench.run_all(out=tmp_path, progress=False, **kw)
    assert calls == []


@pytest.mark.parametrize("args, match", [
    (["--tasks", ","], "no task names given"),
    (["--tasks", "Prev1", "--executor", "slurm"], "unknown executor 'slurm'; use 'local'"),
    (["--tasks", "Prev1", "--jobs", "0"], "--jobs"),
])
def test_cli_bad_benchmark_input(tmp_path, calls, args, match) -> None:
    res = CliRunner().invoke(main, ["mips", "--all", *args, "--out", str(tmp_path)])
    assert res.exit_code == 2 and match in res.output, res.output
    assert "Traceback" not in res.output and calls == []
    assert not (tmp_path / "mips").exists()


def test_cli_prints_the_table_and_exports_it(tmp_path, calls) -> None:
    res = CliRunner().invoke(main, ["mips", "--all", "--tasks", "Sum_Last2,Prev3",
                                    "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "| Sum_Last2 | 1 | symbolic |" in res.output and "| Prev3 | 0 |" in res.output
    assert [r["task"] for r in _exported(tmp_path)] == ["Sum_Last2", "Prev3"]   # crash kept


def test_interrupt_says_what_to_rerun(tmp_path, monkeypatch) -> None:
    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(bench, "run_all", interrupted)
    res = CliRunner().invoke(main, ["mips", "--all", "--tasks", "Prev1", "--out", str(tmp_path)])
    assert res.exit_code == 130
    assert "re-run the same command to continue" in res.output and "--resume" not in res.output


def test_costliest_tasks_start_first_results_keep_the_asked_order(tmp_path, calls) -> None:
    from algolens.studies.mips_costs import COSTS

    names = ["Prev2", "Majority_0_3", "Sum_Last2", "Bit_Palindrome"]
    got = bench.run_all(names, out=tmp_path, progress=False)
    assert [r["task"] for r in got] == names                    # records: the asked order
    assert calls == sorted(names, key=lambda n: -COSTS[n])      # starts: costliest first
    assert bench.costliest_first(["Prev2", "My_Own_Task"])[0] == "My_Own_Task"   # unknown first
    assert set(COSTS) == set(tasks.benchmark_names())           # every benchmark task has one


def test_mips_is_a_study_on_the_contract(tmp_path, calls) -> None:
    study = registry.get("mips")
    assert study.contract and study.key(mips.MIPSConfig("Prev1")) == "Prev1"
    [(run, res)] = registry.run_points(study, [(mips.MIPSConfig("Sum_Last2"), 0)],
                                       RunStore(tmp_path))
    opened = RunStore(tmp_path).open(run.id)
    assert opened.config == mips.MIPSConfig("Sum_Last2") and opened.result == res
    assert study.trained(res) and (run.dir / "program.py").read_text() == "def f(xs): ..."
    assert study.demo_lines([(run, res), (run, None)]) == [
        "MIPS: 1/2 tasks solved with verified programs"]
    with pytest.raises(ValueError, match="has no 'network' link"):
        opened.load_model()                       # a stub result: no network was distilled

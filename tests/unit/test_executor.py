"""The shared executor: spellings, failures kept per item, task files reaching fresh workers."""

from __future__ import annotations

import os
import textwrap

import pytest

from algolens import tasks
from algolens.executor import Failure, TaskSource, parse_executor, run_items

TASK_FILE = textwrap.dedent('''
    from algolens.tasks import SequenceTask, register

    def flip(xs):
        return [1 - x for x in xs]

    register(SequenceTask(name="{name}", alphabet=[0, 1], length=4, reference=flip))
''')


@pytest.fixture
def clean_registry():
    before = set(tasks.names())
    yield
    for name in set(tasks.names()) - before:
        tasks.unregister(name)


def _square(x: int) -> int:
    if x == 3:
        raise RuntimeError("three is bad")
    return x * x


def _die(x: int) -> int:
    if x == 1:
        os._exit(7)            # a worker that dies outright (segfault, out of memory)
    return x + 100


def _tuned(_x: int) -> bool:
    from algolens import perf
    return perf._ALLOCATOR_TUNED


def _targets(name: str) -> list:
    """Runs in a fresh worker: the task is only known there if its file reached the worker."""
    return tasks.get(name).targets([[0, 1, 1, 0]]).tolist()


@pytest.mark.parametrize("spec, kind, address", [
    ("local", "local", None),
    ("dask://127.0.0.1:8786", "dask", "tcp://127.0.0.1:8786"),
    ("tcp://scheduler:1234", "dask", "tcp://scheduler:1234"),
])
def test_parse_executor(spec, kind, address) -> None:
    got = parse_executor(spec, 2)
    assert (got.kind, got.address, got.jobs) == (kind, address, 2)


@pytest.mark.parametrize("spec, jobs, match", [
    ("slurm", 1, r"unknown executor 'slurm'; use 'local' .* 'dask://HOST:PORT'"),
    ("dask://nohost", 1, "needs a host and a port"),
    ("local", 0, "--jobs must be an integer >= 1"),
])
def test_bad_executor_names_the_fix(spec, jobs, match) -> None:
    with pytest.raises(ValueError, match=match):
        run_items(_square, [("a", 1)], spec, jobs)


def test_in_process_keeps_failures_and_order() -> None:
    got = list(run_items(_square, [(f"x{i}", i) for i in range(5)], progress=False))
    assert [i for i, _ in got] == ["x0", "x1", "x2", "x3", "x4"]
    assert isinstance(got[3][1], Failure) and "RuntimeError: three is bad" in got[3][1].reason
    assert [r for i, r in got if i != "x3"] == [0, 1, 4, 16]


def test_failed_callback_and_duplicate_ids() -> None:
    got = dict(run_items(_square, [("a", 3), ("b", 2)], failed=lambda i, why: ("failed", i, why),
                         progress=False))
    assert got["b"] == 4 and got["a"][:2] == ("failed", "a")
    with pytest.raises(ValueError, match="unique"):
        run_items(_square, [("a", 1), ("a", 2)])


def test_pool_matches_in_process() -> None:
    items = [(f"x{i}", i) for i in range(4)]
    local = dict(run_items(_square, items, progress=False))
    pooled = dict(run_items(_square, items, jobs=2, progress=False))
    assert pooled.keys() == local.keys()
    assert {k: v for k, v in pooled.items() if k != "x3"} == \
        {k: v for k, v in local.items() if k != "x3"}
    assert isinstance(pooled["x3"], Failure)


def test_pool_workers_tune_their_allocator_the_caller_is_untouched() -> None:
    from algolens import perf
    before = perf._ALLOCATOR_TUNED
    pooled = dict(run_items(_tuned, [("a", 0), ("b", 1)], jobs=2, progress=False))
    assert pooled == {"a": True, "b": True} and perf._ALLOCATOR_TUNED == before


def test_dead_worker_fails_only_its_item() -> None:
    got = dict(run_items(_die, [("a", 0), ("b", 1), ("c", 2)], jobs=2, progress=False))
    assert got["a"] == 100 and got["c"] == 102
    assert isinstance(got["b"], Failure)


@pytest.mark.parametrize("start_method", ["spawn", "forkserver"])
def test_task_file_reaches_fresh_workers(tmp_path, clean_registry, start_method) -> None:
    path = tmp_path / "my_tasks.py"
    path.write_text(TASK_FILE.format(name="User_Flip_Exec"))
    tasks.load_task_file(path)                      # as the CLI does in the caller
    items = [("a", "User_Flip_Exec"), ("b", "User_Flip_Exec")]
    bare = dict(run_items(_targets, items, jobs=2, progress=False, start_method=start_method))
    assert all(isinstance(v, Failure) and "unknown task" in v.reason for v in bare.values())
    got = dict(run_items(_targets, items, jobs=2, progress=False, start_method=start_method,
                         task_sources=TaskSource.read_all([path])))
    assert got == {"a": [[1, 0, 0, 1]], "b": [[1, 0, 0, 1]]}


def test_task_source_without_its_file(tmp_path, clean_registry) -> None:
    """A remote worker has the text but not the file; an edited file replaces the old tasks."""
    src = TaskSource(str(tmp_path / "gone" / "remote_tasks.py"), TASK_FILE.format(name="User_Rm"))
    assert src.load() == ["User_Rm"] and src.load() == ["User_Rm"]     # once per content
    edited = TaskSource(src.path, src.source.replace("1 - x", "x") + "\n")
    assert edited.load() == ["User_Rm"]
    assert tasks.get("User_Rm").targets([[0, 1, 1, 0]]).tolist() == [[0, 1, 1, 0]]
    with pytest.raises(ValueError, match="does not exist"):
        TaskSource.read(tmp_path / "nope.py")


def test_no_items_needs_no_cluster() -> None:
    """A re-run whose points are all finished must not need the scheduler to be up."""
    assert list(run_items(_square, [], "dask://127.0.0.1:1", progress=False)) == []

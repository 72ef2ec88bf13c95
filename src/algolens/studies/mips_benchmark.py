"""The MIPS benchmark: ``algolens mips --all`` as points of the ``mips`` study through the one
sweep, and its table as a view of the run store.

Each task is one point (``MIPSConfig(task, budget_seconds)``, seed) with the deterministic run id
``MIPS.run_id`` (over the config, the seed and the task's definition); the points go to
``registry.sweep_point`` on the one executor (``run_items``: in process, a local pool or dask),
costliest first (``mips_costs``), user task files travelling to the workers as ``TaskSource``. A
point whose run already holds a result is not run again. The table is read back from the
store -- the runs of the points asked, or for the export the newest finished mips run of every
task -- and exported as ``<store>/mips/benchmark.{md,json}`` for people; nothing reads the
exports back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..store import RESULT, Run, RunRecord, RunStore, StoreError
from ..tasks import get as get_task
from ..typed import to_json
from . import registry
from .mips import MIPS_STUDY, MIPSConfig, as_store

EXPORTS = ("benchmark.md", "benchmark.json")


def run_all(names: list[str] | None = None, jobs: int = 1, budget_seconds: float | None = None,
            out: RunStore | str | Path = "runs", seed: int = 0, progress: bool = True,
            executor: str = "local", task_files=(), resume: bool = True,
            retrain: bool = False) -> list[dict]:
    """Run the benchmark (default: the 62 tasks) on ``executor`` (``"local"`` with ``jobs``
    processes, or ``"dask://host:port"``); one record per task, in ``names`` order.

    With ``resume`` a point whose run in ``out`` holds a result is not run again (an edited task
    definition, another seed or budget is another point). The exports are rewritten as each
    task finishes. ``task_files`` (paths or ``TaskSource``) travel to every worker as source.
    ``retrain``: every point searches a new network instead of reusing the store's (its config
    says so, so a retrained point is another point than a reusing one, and resumes as one)."""
    from ..executor import TaskSource, parse_executor, run_items

    configs = _configs(names, budget_seconds, retrain)        # bad input fails before any run
    parse_executor(executor, jobs)
    store = as_store(out)
    ids = {n: MIPS_STUDY.run_id(c, seed) for n, c in configs.items()}
    have = _with_result(store) if resume else set()
    todo = [(ids[n], ("mips", [(to_json(configs[n]), seed)], str(store.root), 1))
            for n in costliest_first(list(configs)) if ids[n] not in have]
    sources = tuple(f if isinstance(f, TaskSource) else TaskSource.read(f) for f in task_files)
    crashed: dict[str, dict] = {}
    by_id = {rid: n for n, rid in ids.items()}
    for rid, res in run_items(registry.sweep_point, todo, executor, jobs, task_sources=sources,
                              failed=lambda i, why: {"status": "failed", "reason": why},
                              progress=progress, desc="mips", unit="task"):
        if isinstance(res, dict) and res.get("status") == "failed":
            crashed[by_id[rid]] = crashed_record(by_id[rid], res["reason"])
        write_benchmark(store, list(crashed.values()))
    return [crashed.get(n) or point_record(store.open(ids[n])) for n in configs]


def _configs(names: list[str] | None, budget_seconds: float | None,
             retrain: bool = False) -> dict[str, MIPSConfig]:
    """{task: its point's config}, checked (unknown names, an empty list, a bad budget)."""
    from ..tasks import benchmark_names
    if names is not None and not names:
        raise ValueError("no task names given; pass --tasks NAME[,NAME...] or leave it out for "
                         "all 62 benchmark tasks")
    names = list(dict.fromkeys(names or benchmark_names()))
    return {n: MIPSConfig(get_task(n).name, budget_seconds, retrain) for n in names}


def costliest_first(names: list[str]) -> list[str]:
    """``names`` in the order to start them: a user task (no cost on record) first, then the
    benchmark tasks by their recorded cost, largest first (``mips_costs.COSTS``), so that the
    last task to finish does not leave the other workers idle. Only the start order changes,
    never a result; the returned records keep the order of ``names``."""
    from .mips_costs import COSTS
    return sorted(names, key=lambda n: -COSTS.get(n, float("inf")))


# ---------------------------------------------------------------------- the table: a view
def _finished(store: RunStore) -> list[RunRecord]:
    """The store's mips runs that finished (newest first) and keep a result."""
    return [r for r in store.list(study=MIPS_STUDY.name) if r.status in ("done", "failed")
            and (r.dir / RESULT).is_file()]


def _with_result(store: RunStore) -> set[str]:
    return {r.id for r in _finished(store)}


def point_record(run: Run) -> dict[str, Any]:
    """The table row of one run: its typed result as JSON, plus where the run is."""
    try:
        result = MIPS_STUDY.analyze(run)
    except (StoreError, ValueError) as e:             # a damaged or unfinished run
        return crashed_record(run.key, str(e))
    return {**to_json(result), "run": run.id, "seed": run.seed, "run_dir": str(run.dir)}


def crashed_record(task: str, reason: str) -> dict[str, Any]:
    """The row of a task whose run raised: one broken task must not stop the benchmark."""
    return {"task": task, "solved": False, "form": None, "program": None, "accuracy": None,
            "accuracy_2x": None, "failed_pass": "run", "reason": reason}


def benchmark_records(store: RunStore, extra: list[dict] | None = None) -> list[dict[str, Any]]:
    """The benchmark table of ``store``: the newest finished mips run of every task (and the
    ``extra`` rows of tasks that crashed), in the benchmark's order, then user tasks by name."""
    rows: dict[str, dict] = {}
    for rec in _finished(store):
        if rec.key not in rows:           # (the index row is at hand: no second look-up)
            rows[rec.key] = point_record(Run(store, rec.study, rec.id, rec.dir))
    for r in extra or []:
        rows.setdefault(r["task"], r)
    return [rows[n] for n in _table_order(rows)]


def _table_order(records: dict[str, dict]) -> list[str]:
    from ..tasks import benchmark_names
    bench = [n for n in benchmark_names() if n in records]
    return bench + sorted(set(records) - set(bench))


def export_paths(store: RunStore) -> tuple[Path, Path]:
    folder = store.root / MIPS_STUDY.name
    return folder / EXPORTS[0], folder / EXPORTS[1]


def write_benchmark(store: RunStore, extra: list[dict] | None = None) -> tuple[Path, Path]:
    """Export the store's benchmark table as Markdown and JSON (for people and other tools;
    ``<store>/mips/benchmark.{md,json}``)."""
    from ..io import atomic_write_json, atomic_write_text
    rows = benchmark_records(store, extra)
    md, js = export_paths(store)
    md.parent.mkdir(parents=True, exist_ok=True)
    return (atomic_write_text(md, benchmark_markdown(rows) + "\n"),
            atomic_write_json(js, rows))


def records_of_export(folder: str | Path) -> list[dict[str, Any]]:
    """The table of the benchmark exported in ``folder`` -- read from its store, not from the
    export: ``folder`` must be the mips folder of a store (``<store>/mips`` beside
    ``<store>/index.db``, as ``algolens mips --all --out <store>`` writes it)."""
    folder = Path(folder)
    if folder.name != MIPS_STUDY.name or not (folder.parent / "index.db").is_file():
        raise ValueError(f"{folder} is not the mips folder of a run store (<store>/mips beside "
                         "<store>/index.db); pass <out>/mips of `algolens mips --all --out "
                         "<out>`, or re-run the benchmark")
    return benchmark_records(RunStore(folder.parent))


def benchmark_markdown(results: list[dict]) -> str:
    """The benchmark table beside the paper's MIPS and GPT-4 columns: the program's accuracy on
    the task at 1x, 2x, 10x the training length, the network's own accuracy at those lengths,
    the program's agreement with the network (fidelity) and the verdict."""
    from .mips_paper import paper_columns
    fmt = lambda v: "" if v is None else f"{v:.4f}"        # noqa: E731
    at = lambda r, key: "/".join(fmt((r.get(key) or {}).get(k)) for k in ("1x", "2x", "10x"))  # noqa: E731,E501
    rows = ["| Task | solved | form | acc | acc 2x | acc 10x | net acc 1x/2x/10x | fidelity "
            "1x/2x/10x | verdict | max formula | hidden | train s | distil s | failed pass "
            "| paper MIPS | GPT-4 |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        gpt, paper = paper_columns(r["task"])
        rows.append(f"| {r['task']} | {int(bool(r['solved']))} | {r.get('form') or ''} | "
                    f"{fmt(r.get('accuracy'))} | {fmt(r.get('accuracy_2x'))} | "
                    f"{fmt(r.get('accuracy_10x'))} | {at(r, 'network_accuracy_at')} | "
                    f"{at(r, 'fidelity')} | {r.get('verdict') or ''} | "
                    f"{r.get('largest_formula') or ''} | "
                    f"{r.get('hidden') or ''} | {r.get('train_seconds', '')} | "
                    f"{r.get('distill_seconds', '')} | {r.get('failed_pass') or ''} | "
                    f"{'' if paper is None else paper} | {'' if gpt is None else gpt} |")
    solved = sum(bool(r["solved"]) for r in results)
    sym = sum(bool(r["solved"]) and r.get("form") == "symbolic" for r in results)
    exact10 = sum(bool(r["solved"]) and r.get("accuracy_10x") == 1.0 for r in results)
    rows.append(f"\nsolved {solved}/{len(results)} ({sym} symbolic, {exact10} exact at 10x); "
                f"paper MIPS {sum(paper_columns(r['task'])[1] or 0 for r in results)}, GPT-4 "
                f"{sum(paper_columns(r['task'])[0] or 0 for r in results)} on these tasks")
    return "\n".join(rows)

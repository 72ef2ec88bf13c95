"""``build_report(PATH)``: one self-contained HTML report for a run, a benchmark or a runs folder.

What PATH is decides the page (``path_kind``):

- a run folder (``runs/<study>/<run-id>/`` with config.json): that run's study section;
- a benchmark folder (benchmark.json, as ``algolens mips --all`` writes): the table beside the
  paper's columns, then each task's program beside its state machine;
- a runs folder (index.db, or ``<study>/<run-id>/config.json`` below it) or one study's folder:
  an index of every run (sortable), a table per study with its key metrics, then a section per
  run (the newest ``max_runs``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..store import RunRecord, RunStore, StoreError
from .html import Link, Report, anchor_id
from .sections import Context, read_run, render_run
from .sections.view import RunView

KINDS = ("run", "benchmark", "runs")
AUTO_RECOMPUTE = 10
_HINT = ("pass a run folder (runs/<study>/<run-id>, with config.json), a benchmark folder (with "
         "benchmark.json, e.g. runs/mips after `algolens mips --all`) or a runs folder (with "
         "index.db); see `algolens runs list`")


@dataclass
class Built:
    """The report and what went into it."""

    report: Report
    kind: str
    runs: int


def path_kind(path: str | Path) -> str:
    """"run", "benchmark" or "runs"; ValueError naming the problem and the fix otherwise."""
    p = Path(path)
    if not p.exists():
        raise ValueError(f"{p} does not exist; {_HINT}")
    if not p.is_dir():
        raise ValueError(f"{p} is a file, not a folder; {_HINT}")
    if (p / "benchmark.json").is_file():
        return "benchmark"
    if (p / "config.json").is_file():
        return "run"
    if (p / "index.db").is_file() or any(p.glob("*/config.json")) or any(p.glob("*/*/config.json")):
        return "runs"
    raise ValueError(f"{p} holds no run, benchmark or runs: no config.json, benchmark.json, "
                     f"index.db or run folders in it; {_HINT}")


def build_report(path: str | Path, recompute: bool | None = None, max_runs: int = 40,
                 title: str | None = None, preface: Callable[[Report], None] | None = None,
                 run_ids: frozenset[str] | None = None) -> Built:
    """The report for ``path`` (see the module docstring). ``recompute`` lets sections load
    weights to draw evidence that was not saved; by default for a single run and for folders of
    at most ``AUTO_RECOMPUTE`` runs (seconds each, so a 62-task page stays quick). For a runs
    folder, ``title`` and ``preface(report)`` (content put before the index) let a caller such
    as the demo frame the page, and ``run_ids`` keeps only those runs of the store."""
    if max_runs < 0:
        raise ValueError(f"max_runs must be >= 0, got {max_runs}")
    kind, p = path_kind(path), Path(path)
    if kind == "run":
        return _run_page(p, True if recompute is None else recompute)
    if kind == "benchmark":
        return _benchmark_page(p, recompute)
    return _runs_page(p, recompute, max_runs, title, preface, run_ids)


def _run_page(p: Path, recompute: bool) -> Built:
    run = read_run(p)
    rep = Report(f"{run.study}: {run.key or run.id}", f"run folder {run.dir}")
    render_run(rep, run, Context(recompute=recompute, level=2, runs=frozenset({run.id})))
    return Built(rep, "run", 1)


# ---------------------------------------------------------------- benchmark
def _benchmark_page(p: Path, recompute: bool | None) -> Built:
    from ..studies.mips_benchmark import records_of_export
    from ..studies.mips_paper import paper_columns
    results = records_of_export(p)          # read back from the store's runs, not the export
    recompute = len(results) <= AUTO_RECOMPUTE if recompute is None else recompute
    solved = sum(bool(r.get("solved")) for r in results)
    paper = [paper_columns(r.get("task", "")) for r in results]
    rep = Report("MIPS benchmark", f"{p} · {len(results)} tasks")
    rep.add_metrics({"tasks": len(results), "solved": solved,
                     "symbolic": sum(bool(r.get("solved")) and r.get("form") == "symbolic"
                                     for r in results),
                     "paper MIPS": sum(pm or 0 for _, pm in paper),
                     "GPT-4": sum(g or 0 for g, _ in paper)})
    rows = []
    for r, (gpt, pm) in zip(results, paper):
        rows.append({"task": Link(r.get("task", "?"), "#" + anchor_id(r.get("task", "?"))),
                     "solved": bool(r.get("solved")), "form": r.get("form") or "",
                     "accuracy": r.get("accuracy"), "accuracy 2x": r.get("accuracy_2x"),
                     "hidden": r.get("hidden"), "train s": r.get("train_seconds"),
                     "distil s": r.get("distill_seconds"), "failed pass": r.get("failed_pass") or "",
                     "paper MIPS": pm, "GPT-4": gpt})
    rep.add_table(rows, caption="click a column to sort; accuracy is exact match at every position "
                                "on fresh sequences of the training length L, and of 2L")
    for r in results:
        _benchmark_task(rep, p, r, recompute)
    return Built(rep, "benchmark", len(results))


def _benchmark_task(rep: Report, folder: Path, r: Mapping, recompute: bool) -> None:
    from .sections.mips import render as mips_section
    task = str(r.get("task", "?"))
    rep.add_heading(task, level=3, anchor=task)
    run_dir = _task_run_dir(folder, r.get("run_dir"))
    if run_dir is not None:
        run = read_run(run_dir)
        mips_section(rep, run, Context(recompute=recompute, level=3))
        return
    if not r.get("solved"):
        rep.add_note(f"**Not solved**: `{r.get('failed_pass')}`: {r.get('reason', '')}")
    if r.get("program"):
        rep.add_code(r["program"])


def _task_run_dir(folder: Path, run_dir: str | None) -> Path | None:
    """The task's mips run: its recorded path, else the same name in the benchmark's folder."""
    if not run_dir:
        return None
    for c in (Path(run_dir), folder / Path(run_dir).name):
        if (c / "config.json").is_file():
            return c
    return None


# ---------------------------------------------------------------- a whole runs folder
def _records(p: Path) -> tuple[Path, list[RunRecord | RunView]]:
    """The store root and its runs, newest first: from index.db, else from the folders."""
    root = p if (p / "index.db").is_file() or not (p.parent / "index.db").is_file() else p.parent
    study = None if root == p else p.name
    if (root / "index.db").is_file():
        try:
            recs = RunStore(root).list(study=study)
            return root, [r for r in recs if r.dir.is_dir()]
        except StoreError:
            pass                                  # a corrupt index: read the folders instead
    dirs = sorted({c.parent for c in p.glob("*/config.json")} |
                  {c.parent for c in p.glob("*/*/config.json")},
                  key=lambda d: d.stat().st_mtime, reverse=True)
    return root, [read_run(d) for d in dirs]


def _runs_page(p: Path, recompute: bool | None, max_runs: int, title: str | None = None,
               preface: Callable[[Report], None] | None = None,
               run_ids: frozenset[str] | None = None) -> Built:
    root, recs = _records(p)
    if run_ids is not None:
        recs = [r for r in recs if (r.id in run_ids)]
    recompute = len(recs) <= AUTO_RECOMPUTE if recompute is None else recompute
    views = [r if isinstance(r, RunView) else read_run(r.dir, r) for r in recs]
    shown = views[:max_runs]
    rep = Report(title or "algolens runs", f"{p} · {len(views)} runs")
    if preface is not None:
        preface(rep)
    counts: dict[str, int] = {}
    for v in views:
        st = "damaged" if v.damaged else v.status
        counts[st] = counts.get(st, 0) + 1
    rep.add_metrics({"runs": len(views), **counts,
                     "studies": len({v.study for v in views})})
    if not views:
        rep.add_text("No runs yet: run a study first (e.g. `algolens demo`).")
        return Built(rep, "runs", 0)
    on_page = frozenset(v.id for v in shown)
    rep.add_table([_index_row(v, on_page, recs) for v in views],
                  caption="every run, newest first; click a column to sort, a run to jump to it")
    if len(views) > len(shown):
        rep.add_note(f"Sections below cover the newest {len(shown)} of {len(views)} runs "
                     "(`--max-runs` shows more).")
    for study in sorted({v.study for v in views}):
        mine = [v for v in views if v.study == study]
        rep.add_heading(f"Study {study} ({len(mine)} runs)", level=2, anchor=f"study-{study}")
        rep.add_table([_study_row(v, on_page) for v in mine], caption=f"{study}: key metrics")
        if (root / study / "benchmark.json").is_file():
            rep.add_text(f"A benchmark table is in `{root / study}`: "
                         f"`algolens report {root / study}`.")
        ctx = Context(recompute=recompute, level=3, runs=on_page)
        for v in mine:
            if v.id in on_page:
                render_run(rep, v, ctx)
    return Built(rep, "runs", len(views))


def _index_row(v: RunView, on_page: frozenset[str], recs: list) -> dict:
    created = next((r.created for r in recs if isinstance(r, RunRecord) and r.id == v.id), None)
    return {"run": Link(v.id, "#" + anchor_id(v.id)) if v.id in on_page else v.id,
            "study": v.study, "key": v.key, "seed": v.seed,
            "status": "damaged" if v.damaged else v.status,
            "created": time.strftime("%Y-%m-%d %H:%M", time.localtime(created)) if created else "",
            "reason": v.reason[:80]}


def _study_row(v: RunView, on_page: frozenset[str]) -> dict:
    row = {"run": Link(v.id, "#" + anchor_id(v.id)) if v.id in on_page else v.id,
           "key": v.key, "seed": v.seed, "status": "damaged" if v.damaged else v.status}
    for k, val in v.key_metrics.items():
        if isinstance(val, (int, float, str, bool)) or val is None:
            row[k] = val
    return row

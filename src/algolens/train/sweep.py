"""Run many modular-addition trainings through an executor; merge results by run id.

Every run is a pure function of (config, seed): its id is a hash of both
(``algolens.train.modular.run_id``), so any executor can run any subset, a crashed sweep resumes
by skipping finished run directories, and results from several machines merge by id.

Runs that share everything but α and seed are *grouped* into one ``TransformerEnsemble`` (up to
``batch`` members) so each process uses the batched trainer. Executors: ``"local"`` (a process
pool of ``jobs`` workers; in-process when jobs == 1) or ``"dask://host:port"`` (a
dask.distributed scheduler; ``pip install algolens[dist]``), through ``algolens.executor``.
With dask, ``out_root`` must be a folder every worker can write (a shared file system): each
worker saves its runs there and the caller merges their summaries by run id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from ..io import atomic_write_json, read_json
from ..models.transformer import TransformerConfig
from ..perf import fast_cpu
from ..store import tracking
from .modular import RunResult, TrainConfig, run_id, save_run, start_runs, train_ensemble

# analyse(result: RunResult, run_dir: Path | None) -> metrics dict; a top-level function (pickled)
Analyse = Callable[[RunResult, "Path | None"], dict]


@dataclass(frozen=True)
class SweepPoint:
    """One run: model config (its ``attn_rate`` is this run's α), train config and seed."""

    model: TransformerConfig
    train: TrainConfig
    seed: int

    @property
    def run_id(self) -> str:
        return run_id(self.model, self.train, self.seed)

    def group_key(self) -> str:
        """Runs with equal keys can share one ensemble (they differ only in α and seed)."""
        return run_id(replace(self.model, attn_rate=0.0), self.train, 0)


def grid(alphas: Iterable[float], seeds: Iterable[int], widths: Iterable[int] = (128,),
         base: TransformerConfig = TransformerConfig(), train: TrainConfig = TrainConfig()
         ) -> list[SweepPoint]:
    """The cartesian product α × seed × width (d_mlp = 4·width, heads kept)."""
    out = []
    for w in widths:
        heads = base.n_heads if w % base.n_heads == 0 else 1
        cfg = replace(base, d_model=int(w), d_mlp=4 * int(w), n_heads=heads)
        for a in alphas:
            for s in seeds:
                out.append(SweepPoint(replace(cfg, attn_rate=float(a)), train, int(s)))
    return out


def group_points(points: list[SweepPoint], batch: int) -> list[list[SweepPoint]]:
    """Chunks of at most ``batch`` compatible points, in input order within each group."""
    if batch < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    groups: dict[str, list[SweepPoint]] = {}
    for pt in points:
        groups.setdefault(pt.group_key(), []).append(pt)
    return [g[i:i + batch] for g in groups.values() for i in range(0, len(g), batch)]


def run_group(points: list[SweepPoint], out_root: str | None, analyse: Analyse | None = None,
              threads: int = 1) -> list[dict]:
    """Train one group as one ensemble; save each run's directory; return one summary each.

    Pure given its arguments (the executor's unit of work). Analysis failures are recorded in
    the summary (``analysis_error``), never lost silently.
    """
    first, dirs = points[0], _dirs(points, out_root)
    runs = [] if dirs is None else start_runs(dirs, [p.model for p in points], first.train,
                                               [p.seed for p in points])
    with tracking(runs):                # indexed as running; interrupted/failed if this raises
        with fast_cpu(threads=threads):      # the caller's thread count is back afterwards
            results = train_ensemble(first.model, [p.seed for p in points],
                                     [p.model.attn_rate for p in points], first.train,
                                     checkpoint_dirs=dirs, progress=False)
        return [_finish(r, out_root, analyse) for r in results]


def _finish(r: RunResult, out_root: str | None, analyse: Analyse | None) -> dict:
    """One run's summary row (plus its analysis), saved to its run directory when there is one."""
    row = r.summary().to_dict()
    run_dir = None if out_root is None else Path(out_root) / r.run_id
    if analyse is not None and r.status == "ok":
        try:
            row.update(analyse(r, run_dir))
        except Exception as e:  # noqa: BLE001 - recorded per run, the sweep goes on
            row["analysis_error"] = f"{type(e).__name__}: {e}"
    if run_dir is not None:
        save_run(run_dir, r, {"analysis": dict(row)})
    return row


def _dirs(points: list[SweepPoint], out_root: str | None) -> list[Path] | None:
    return None if out_root is None else [Path(out_root) / p.run_id for p in points]


def finished(out_root: str | Path, rid: str) -> dict | None:
    """The saved summary of run ``rid`` if its directory is complete, else None."""
    path = Path(out_root) / rid / "metrics.json"
    if not path.is_file():
        return None
    try:
        m = read_json(path)
    except ValueError:
        return None
    return m.get("analysis") or m.get("summary")


def run_sweep(points: list[SweepPoint], out_root: str | Path | None = None,
              executor: str = "local", jobs: int = 1, batch: int = 8,
              analyse: Analyse | None = None, threads: int = 1, resume: bool = True,
              progress: bool = True) -> dict[str, dict]:
    """Run every point (skipping finished ones when ``resume``); return {run_id: summary}.

    Groups run through ``algolens.executor.run_items`` (local process pool or dask).
    ``out_root/sweep.json`` holds every run ever finished under ``out_root`` (merged by run id,
    rewritten atomically after every group), so an interrupted or partial sweep keeps what it
    did and never shrinks the file.
    """
    from ..executor import run_items

    out = str(out_root) if out_root is not None else None
    merged: dict[str, dict] = {}
    todo = []
    for pt in points:
        done = finished(out, pt.run_id) if (out and resume) else None
        if done is not None:
            merged[pt.run_id] = done
        else:
            todo.append(pt)
    groups = group_points(todo, batch)
    items = [(g[0].run_id, (g, out, analyse, threads)) for g in groups]
    by_id = dict(zip([i for i, _ in items], groups))
    stored = stored_runs(out)
    fail = lambda gid, why: _failed(by_id[gid], why)          # noqa: E731
    for _gid, rows in run_items(_run_payload, items, executor, jobs, failed=fail,
                                progress=progress, desc="sweep", unit="group"):
        for row in rows:
            merged[row["run_id"]] = row
        if out is not None:
            stored.update(merged)
            atomic_write_json(Path(out) / "sweep.json", {"runs": stored})
    return merged


def _run_payload(payload: tuple) -> list[dict]:
    """The executor's unit of work: ``run_group`` on one group."""
    return run_group(*payload)


def stored_runs(out: str | Path | None) -> dict[str, dict]:
    """{run_id: row} of every run recorded in ``out/sweep.json`` (all sweeps into ``out``)."""
    if out is None or not (Path(out) / "sweep.json").is_file():
        return {}
    try:
        return dict(read_json(Path(out) / "sweep.json").get("runs", {}))
    except (ValueError, AttributeError):
        return {}


def _failed(points: list[SweepPoint], reason: str) -> list[dict]:
    """A crashed group becomes one "failed" row per run (the other groups are kept)."""
    return [{"run_id": pt.run_id, "seed": pt.seed, "attn_rate": pt.model.attn_rate,
             "status": "failed", "reason": reason} for pt in points]

"""Sweeps: grouping into ensembles, resume, merge by run id, executors and their errors."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch

from algolens.models.transformer import TransformerConfig
from algolens.train.modular import TrainConfig
from algolens.train.sweep import grid, group_points, run_group, run_sweep

torch.set_num_threads(1)

CFG = TransformerConfig(p=7, d_model=16, n_heads=2, d_mlp=32)
TRAIN = TrainConfig(steps=10, lr=1e-2, eval_every=5)


def _norm(row: dict) -> dict:
    return {k: v for k, v in row.items() if k not in ("seconds", "n_members")}


def test_grid_and_grouping() -> None:
    pts = grid([0.0, 0.5, 1.0], [0, 1], [16, 32], CFG, TRAIN)
    assert len(pts) == 12 and len({p.run_id for p in pts}) == 12
    groups = group_points(pts, batch=4)
    assert sorted(len(g) for g in groups) == [2, 2, 4, 4]
    for g in groups:   # a group shares everything but α and seed
        assert len({p.model.d_model for p in g}) == 1
    with pytest.raises(ValueError):
        group_points(pts, 0)


def test_sweep_writes_runs_and_resumes(tmp_path) -> None:
    pts = grid([0.0, 1.0], [0, 1], [16], CFG, TRAIN)
    calls = []

    def analyse(result, run_dir):
        calls.append(result.run_id)
        return {"extra": result.seed * 10}

    rows = run_sweep(pts, tmp_path, batch=3, analyse=analyse, progress=False)
    assert set(rows) == {p.run_id for p in pts}
    assert all((tmp_path / rid / "weights.safetensors").is_file() for rid in rows)
    assert json.loads((tmp_path / "sweep.json").read_text())["runs"].keys() == rows.keys()
    assert rows[pts[1].run_id]["extra"] == 10
    n = len(calls)
    again = run_sweep(pts, tmp_path, batch=3, analyse=analyse, progress=False)
    assert len(calls) == n                       # nothing re-trained
    assert {k: _norm(v) for k, v in again.items()} == {k: _norm(v) for k, v in rows.items()}


def test_result_independent_of_batching() -> None:
    pts = grid([0.0, 1.0], [0, 1], [16], CFG, TRAIN)
    together = {r["run_id"]: r for r in run_group(pts, None)}
    alone = {r["run_id"]: r for p in pts for r in run_group([p], None)}
    for rid in alone:
        assert abs(alone[rid]["train_loss"] - together[rid]["train_loss"]) < 1e-5


def test_analysis_errors_are_recorded_not_raised() -> None:
    def broken(result, run_dir):
        raise RuntimeError("boom")

    [row] = run_group(grid([0.0], [0], [16], CFG, TRAIN), None, broken)
    assert "boom" in row["analysis_error"] and row["status"] == "ok"


def test_bad_executor_and_jobs(tmp_path) -> None:
    pts = grid([0.0], [0], [16], CFG, TRAIN)
    with pytest.raises(ValueError, match="unknown executor"):
        run_sweep(pts, tmp_path, executor="slurm", progress=False)
    with pytest.raises(ValueError, match="jobs"):
        run_sweep(pts, tmp_path, jobs=0, progress=False)


def test_dask_missing_gives_install_hint(tmp_path, monkeypatch) -> None:
    import builtins
    real = builtins.__import__

    def no_dask(name, *a, **k):
        if name.startswith("dask"):
            raise ImportError("no dask")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_dask)
    pts = grid([0.0], [0], [16], CFG, TRAIN)
    with pytest.raises(ValueError, match=r"pip install algolens\[dist\]"):
        run_sweep(pts, tmp_path, executor="dask://localhost:8786", progress=False)


def test_process_pool_matches_in_process(tmp_path) -> None:
    pts = grid([0.0, 1.0], [0], [16], CFG, replace(TRAIN, steps=5))
    local = run_sweep(pts, None, jobs=1, batch=1, progress=False)
    pooled = run_sweep(pts, tmp_path, jobs=2, batch=1, progress=False)
    for rid in local:
        assert abs(local[rid]["train_loss"] - pooled[rid]["train_loss"]) < 1e-6


def test_partial_sweeps_merge_into_sweep_json(tmp_path) -> None:
    """A sweep over a subset adds to sweep.json; it never drops the runs of earlier sweeps."""
    first = run_sweep(grid([0.0], [0], [16], CFG, TRAIN), tmp_path, progress=False)
    second = run_sweep(grid([1.0], [0], [16], CFG, TRAIN), tmp_path, progress=False)
    stored = json.loads((tmp_path / "sweep.json").read_text())["runs"]
    assert stored.keys() == first.keys() | second.keys() and len(stored) == 2


def test_crashed_group_is_a_failed_row(tmp_path) -> None:
    bad = replace(grid([0.0], [0], [16], CFG, TRAIN)[0], seed=-1)    # torch rejects the seed
    ok = grid([1.0], [0], [16], CFG, TRAIN)[0]
    rows = run_sweep([bad, ok], tmp_path, batch=1, progress=False)
    assert rows[ok.run_id]["status"] == "ok"
    assert rows[bad.run_id]["status"] == "failed" and rows[bad.run_id]["reason"]


def test_phase_table_covers_every_run_in_the_folder(tmp_path) -> None:
    """Re-running the sweep on a subset must not rebuild phase_table.json from the subset."""
    from algolens.studies.clock_pizza import phase_diagram
    kw = dict(model=CFG, train=TRAIN, out_root=tmp_path, progress=False)
    phase_diagram([0.0], [0], **kw)
    rows, table = phase_diagram([1.0], [0], **kw)
    assert len(rows) == 1 and sum(t["n_runs"] for t in table) == 2
    stored = json.loads((tmp_path / "phase_table.json").read_text())
    assert sum(t["n_runs"] for t in stored) == 2

"""Clock/Pizza sweeps through the one shared sweep: runs in ``<out>/clock_pizza/<id>`` indexed in
``<out>/index.db`` (no second index, no sweep.json), batched ensembles by ``group_size``,
finished points skipped, and the phase table read back from the store."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch
from click.testing import CliRunner

from algolens.cli import main
from algolens.store import RunStore
from algolens.studies import registry
from algolens.studies.clock_pizza import phase_table

torch.set_num_threads(1)

CP = registry.get("clock_pizza")
TINY = CP.make_config(p=7, width=16, heads=2, steps=10, lr=1e-2, eval_every=5)
GRID = ["--grid", "p=7", "--grid", "width=16", "--grid", "heads=2", "--grid", "steps=10",
        "--grid", "lr=0.01", "--grid", "eval_every=5"]


def _invoke(args):
    res = CliRunner().invoke(main, [str(a) for a in args])
    assert res.exit_code == 0, res.output
    return res


def test_shared_sweep_files_runs_in_the_one_store(tmp_path) -> None:
    out = tmp_path / "runs"
    args = ["sweep", "clock_pizza", *GRID, "--grid", "attn_rate=0,1", "--seeds", "0-1",
            "--out", out, "--json"]
    body = json.loads(_invoke(args).output)
    assert body["skipped"] == 0 and len(body["points"]) == 4
    assert sorted((r["attn_rate"], r["seed"]) for r in body["points"]) == \
        [(0.0, 0), (0.0, 1), (1.0, 0), (1.0, 1)]
    assert sorted(p.name for p in out.iterdir()) == ["clock_pizza", "index.db"]
    assert not list(tmp_path.rglob("sweep.json")) and len(list(tmp_path.rglob("index.db"))) == 1
    recs = RunStore(out).list(study="clock_pizza")
    assert len(recs) == 4 and {r.status for r in recs} == {"done"}
    assert all(r.dir.parent == out / "clock_pizza" for r in recs)
    # the four points differ only in α and seed: one batched ensemble of four members
    assert {CP.record(RunStore(out).open(r.id)).summary.n_members for r in recs} == {4}
    again = json.loads(_invoke(args).output)
    assert again["skipped"] == 4 and again["points"] == body["points"]


def test_batched_runs_equal_runs_alone(tmp_path) -> None:
    """A point is a function of (config, seed): its ensemble mates do not change it."""
    points = [(replace(TINY, attn_rate=a), 0) for a in (0.0, 1.0)]
    together = registry.run_points(CP, points, RunStore(tmp_path / "a"), progress=False,
                                   analyze=False)
    alone = [registry.run_points(CP, [pt], RunStore(tmp_path / "b"), progress=False,
                                 analyze=False)[0] for pt in points]
    for (r1, _), (r2, _) in zip(together, alone):
        assert r1.id == r2.id                              # deterministic ids: merge by id
        s1, s2 = CP.record(r1).summary, CP.record(r2).summary
        assert (s1.n_members, s2.n_members) == (2, 1)
        assert abs(s1.train_loss - s2.train_loss) < 1e-5


def test_clock_pizza_sweep_verb_skips_and_tabulates(tmp_path) -> None:
    out = tmp_path / "runs"
    args = ["clock-pizza", "sweep", "--alphas", "0,1", "--seeds", "0", "--p", "7", "--width",
            "16", "--heads", "2", "--steps", "10", "--lr", "0.01", "--batch", "2", "--quiet",
            "--out", out, "--export", tmp_path / "phase.md"]
    first = _invoke([*args, "--json"])
    body = json.loads(first.output)
    assert len(body["points"]) == 2 and body["skipped"] == 0 and len(body["phase_table"]) == 10
    assert sum(t["n_runs"] for t in body["phase_table"]) == 2
    for row in body["points"]:                # half-way checkpoints: the `settled` check ran
        run = RunStore(out).open(row["run"])
        assert run.result.verdict_halfway is not None or not CP.trained(run.result)
        assert {"checkpoints/step_000005.safetensors"} <= set(
            json.loads((run.dir / "manifest.json").read_text()))
    text = (tmp_path / "phase.md").read_text()
    assert "frac s_g>0.98" in text and "| run |" in text
    again = _invoke(args)
    assert "2 finished already, 0 to run" in again.output and "frac q<0.6" in again.output
    assert len(RunStore(out).list(study="clock_pizza")) == 2


def test_phase_table_counts_trained_circular_runs() -> None:
    rows = [{"attn_rate": 0.0, "val_acc": 1.0, "s_g": 0.99, "q": 0.2, "circularity": 0.999,
             "settled": True},
            {"attn_rate": 0.0, "val_acc": 1.0, "s_g": 0.99, "q": 0.2, "circularity": 0.5},
            {"attn_rate": 0.7000000001, "val_acc": 1.0, "s_g": 0.5, "q": 0.9,
             "circularity": 0.999, "settled": False},
            {"attn_rate": 1.0, "val_acc": 0.5, "s_g": None, "q": None, "circularity": None}]
    t = {r["alpha"]: r for r in phase_table(rows)}
    assert (t["0.0-0.1"]["n_runs"], t["0.0-0.1"]["n_counted"], t["0.0-0.1"]["frac_q"]) == (2, 1, 1.0)
    assert (t["0.7-0.8"]["frac_sg"], t["0.7-0.8"]["n_unsettled"]) == (0.0, 1)
    assert t["0.9-1.0"]["n_runs"] == 1 and t["0.9-1.0"]["n_counted"] == 0


def test_bad_sweep_input_is_refused_before_work(tmp_path) -> None:
    for args, says in ((["--alphas", "zero"], "cannot read"), (["--seeds", "3-1"], "must go up"),
                       (["--export", tmp_path / "t.csv"], ".md or .json")):
        res = CliRunner().invoke(main, ["clock-pizza", "sweep", *map(str, args), "--out",
                                        str(tmp_path / "runs")])
        assert res.exit_code == 2 and says in res.output, res.output
    assert not (tmp_path / "runs").exists()
    with pytest.raises(ValueError, match="share every setting but attn_rate"):
        CP.train_group([(TINY, 0, None), (replace(TINY, width=32), 0, None)],
                       RunStore(tmp_path / "x"))

"""``algolens nuclear train|analyze|predict`` end to end on a tiny model (seconds), and the
benchmark's accuracy target on one split (slow: a few minutes on 2 cores)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from algolens.cli import main

TINY = ["--steps", "40", "--members", "2", "--width", "16", "--threads", "1", "--quiet"]


def _invoke(args, code=0):
    res = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert res.exit_code == code, res.output
    return res


def test_train_predict_analyze(tmp_path):
    out = json.loads(_invoke(["nuclear", "train", *TINY, "--out", tmp_path, "--json"]).output)
    assert out["test_rms_keV"] < out["test_semf_rms_keV"] and not out["trained"]
    run, store = out["run"], ["--out", tmp_path]
    rows = json.loads(_invoke(["nuclear", "predict", run, *store, "--json"]).output)
    assert len(rows) == 3558                                   # one task (binding) per nuclide
    fe = next(r for r in rows if (r["Z"], r["N"]) == (26, 30))
    assert abs(fe["prediction_keV"] - fe["ame2020_keV"]) < 20_000 and fe["measured"]
    assert sum(r["in_training"] for r in rows) > 2000
    assert not any(r["in_training"] for r in rows if not r["measured"])
    _invoke(["nuclear", "predict", run, *store, "--output", tmp_path / "p.csv"])
    assert (tmp_path / "p.csv").read_text().startswith("Z,N,A,element,task")
    # 40 steps is not below half the SEMF error: read out only with --force, and marked so
    res = json.loads(_invoke(["nuclear", "analyze", run, *store, "--no-symbolic", "--json"]).output)
    assert res["trained"] is False and res["embedding_Z"] is None
    res = json.loads(_invoke(["nuclear", "analyze", run, *store, "--no-symbolic", "--force",
                              "--json"]).output)
    assert set(res) >= {"embedding_Z", "embedding_N", "penultimate", "physics_match", "topography"}
    assert res["forced"] is True
    assert (tmp_path / "nuclear" / run).is_dir()
    from algolens.report.build import build_report

    html = build_report(out["dir"], recompute=False).report.to_html()
    assert "held-out binding RMS" in html and "physics terms vs penultimate PCs" in html
    assert "Not trained" in html and "forced" in html
    assert _invoke(["runs", "verify", *store]).exit_code == 0


def test_paper_preset_trains_all_of_B(tmp_path):
    args = ["--preset", "paper-pairing", "--steps", "30", "--width", "16", "--embed", "8",
            "--aux-weight", "3", "--embed-weight-decay", "0.5"]
    out = json.loads(_invoke(["nuclear", "train", *args, "--threads", "1", "--quiet", "--out",
                              tmp_path, "--json"]).output)
    assert out["test_semf_rms_keV"] > 1e5                     # baseline "none": B itself
    cfg = json.loads((Path(out["dir"]) / "config.json").read_text())
    assert (cfg["aux_weight"], cfg["embed_weight_decay"]) == (3.0, 0.5)
    assert cfg["tasks"] == ["binding", "Sn", "Sp", "D2n", "D2p"] and cfg["seed"] == 0
    res = json.loads(_invoke(["nuclear", "analyze", out["run"], "--out", tmp_path, "--force",
                              "--no-symbolic", "--json"]).output)
    assert {r["term"] for r in res["physics_match_per_nucleon"]["terms"]} >= {"surface/A", "pairing/A"}


@pytest.mark.slow
def test_demo_point_learns_and_prints_the_demo_line(tmp_path):
    from algolens.store import RunStore
    from algolens.studies import registry
    from algolens.studies.nuclear import STUDY

    [(cfg, seed)] = STUDY.demo_points()
    [(run, res)] = registry.run_points(STUDY, [(cfg, seed)], RunStore(tmp_path), progress=False)
    assert STUDY.trained(res) and res.fit.test_rms_keV < res.fit.test_semf_fit_rms_keV
    assert res.embedding_Z is not None and res.physics_match.terms[0].term == "volume"
    [line] = STUDY.demo_lines([(run, res)])
    assert line.startswith("nuclear (accuracy): trained; held-out binding RMS ")


def test_bad_input_is_one_line(tmp_path):
    res = _invoke(["nuclear", "train", "--tasks", "Sn,binding", "--out", tmp_path], code=2)
    assert "must start with 'binding'" in res.output
    res = _invoke(["nuclear", "predict", tmp_path, "--out", tmp_path], code=2)
    assert "error:" in res.output
    res = _invoke(["nuclear", "train", "--tasks", "binding,binding", "--out", tmp_path], code=2)
    assert "listed twice" in res.output
    res = _invoke(["nuclear", "train", "--gk-weight", "nan", "--out", tmp_path], code=2)
    assert "gk_weight" in res.output and "--gk-weight" in res.output
    res = _invoke(["nuclear", "train", "--width", "100000", "--out", tmp_path], code=2)
    assert "GiB" in res.output and not (tmp_path / "nuclear").exists()


def test_split_seeds_are_sweep_points(tmp_path):
    args = ["sweep", "nuclear", "--seeds", "0-1", "--grid", "steps=3", "--grid", "n_members=1",
            "--grid", "d_model=8", "--out", tmp_path, "--json"]
    body = json.loads(_invoke(args).output)
    assert [(p["seed"], p["split"], p["trained"]) for p in body["points"]] == [
        (0, "split0", False), (1, "split1", False)]
    assert json.loads(_invoke(args).output)["skipped"] == 2


@pytest.mark.slow
def test_held_out_rms_target(tmp_path):
    out = json.loads(_invoke(["nuclear", "train", "--seed", "2", "--threads", "1", "--quiet",
                              "--out", tmp_path, "--json"]).output)
    assert out["test_rms_keV"] < 400 and out["trained"]

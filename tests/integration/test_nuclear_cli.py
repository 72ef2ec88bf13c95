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
    res = CliRunner().invoke(main, args, catch_exceptions=False)
    assert res.exit_code == code, res.output
    return res


def test_train_predict_analyze(tmp_path):
    out = json.loads(_invoke(["nuclear", "train", *TINY, "--out", str(tmp_path), "--json"]).output)
    assert out["test_rms_keV"] < out["test_semf_rms_keV"]
    run = out["run"]
    rows = json.loads(_invoke(["nuclear", "predict", run, "--json"]).output)
    assert len(rows) == 3558                                   # one task (binding) per nuclide
    fe = next(r for r in rows if (r["Z"], r["N"]) == (26, 30))
    assert abs(fe["prediction_keV"] - fe["ame2020_keV"]) < 20_000 and fe["measured"]
    assert sum(r["in_training"] for r in rows) > 2000
    assert not any(r["in_training"] for r in rows if not r["measured"])
    _invoke(["nuclear", "predict", run, "--output", str(tmp_path / "p.csv")])
    assert (tmp_path / "p.csv").read_text().startswith("Z,N,A,element,task")
    res = json.loads(_invoke(["nuclear", "analyze", run, "--no-symbolic", "--json"]).output)
    assert set(res) >= {"embedding_Z", "embedding_N", "penultimate", "physics_match", "topography"}
    assert (tmp_path / "nuclear").is_dir()
    from algolens.report.build import build_report

    html = build_report(run, recompute=False).report.to_html()
    assert "held-out binding RMS" in html and "physics terms vs penultimate PCs" in html


def test_paper_preset_trains_all_of_B(tmp_path):
    args = ["--preset", "paper-pairing", "--steps", "30", "--width", "16", "--embed", "8",
            "--aux-weight", "3", "--embed-weight-decay", "0.5"]
    out = json.loads(_invoke(["nuclear", "train", *args, "--threads", "1", "--quiet", "--out",
                              str(tmp_path), "--json"]).output)
    assert out["test_semf_rms_keV"] > 1e5                     # baseline "none": B itself
    cfg = json.loads((Path(out["run"]) / "config.json").read_text())["train"]
    assert (cfg["aux_weight"], cfg["embed_weight_decay"]) == (3.0, 0.5)
    assert cfg["tasks"] == ["binding", "Sn", "Sp", "D2n", "D2p"]
    res = json.loads(_invoke(["nuclear", "analyze", out["run"], "--no-symbolic", "--json"]).output)
    assert {r["term"] for r in res["physics_match_per_nucleon"]["terms"]} >= {"surface/A", "pairing/A"}


@pytest.mark.slow
def test_demo_returns_typed_result(tmp_path):
    from algolens.studies.nuclear import NuclearDemoResult, demo

    (r,) = demo(tmp_path, log=lambda s: None, steps=200)
    assert isinstance(r, NuclearDemoResult) and r.test_rms_keV < r.semf_rms_keV
    assert len(r.embeddings) == 2 and r.physics[0].term == "volume"


def test_bad_input_is_one_line(tmp_path):
    res = _invoke(["nuclear", "train", "--tasks", "Sn,binding", "--out", str(tmp_path)], code=2)
    assert "must start with 'binding'" in res.output
    res = _invoke(["nuclear", "predict", str(tmp_path)], code=2)
    assert "error:" in res.output


@pytest.mark.slow
def test_held_out_rms_target(tmp_path):
    out = json.loads(_invoke(["nuclear", "train", "--seed", "2", "--threads", "1", "--quiet",
                              "--out", str(tmp_path), "--json"]).output)
    assert out["test_rms_keV"] < 400

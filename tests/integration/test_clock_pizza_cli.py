"""The clock-pizza and grokking commands end to end on tiny settings (seconds), and the paper's
Clock/Pizza targets at full size (slow: ~10+ minutes on 2 cores)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from algolens.cli import main

torch.set_num_threads(1)

TINY = ["--p", "7", "--width", "16", "--heads", "2", "--steps", "30", "--lr", "0.01",
        "--threads", "1", "--quiet"]


def _invoke(args):
    res = CliRunner().invoke(main, args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res


def test_clock_pizza_train_and_analyze(tmp_path) -> None:
    res = _invoke(["clock-pizza", "train", "--alpha", "0", "--alpha", "1", *TINY,
                   "--checkpoint-every", "15", "--out", str(tmp_path), "--json"])
    runs = json.loads(res.output)
    assert [r["summary"]["attn_rate"] for r in runs] == [0.0, 1.0]
    run_dir = runs[1]["run_dir"]
    for name in ("config.json", "weights.safetensors", "metrics.json",
                 "checkpoints/step_000030.safetensors"):
        assert (tmp_path / run_dir.split("/")[-1] / name).is_file(), name
    metrics = json.loads((tmp_path / run_dir.split("/")[-1] / "metrics.json").read_text())
    assert len(metrics["history"]["train_loss"]) == 2          # steps 0 and 29 at eval_every 100
    assert "verdict" in metrics["analysis"]
    res = _invoke(["clock-pizza", "analyze", run_dir, "--json"])
    out = json.loads(res.output)
    assert out["verdict"] in ("Pizza", "Clock", "non-circular", "hybrid", "unknown")
    m = out["metrics"]
    assert len(m["circles"]) == 3 and set(m["accuracy_by_pcs"]) == {"1-4", "1-6", "7-12"}
    assert {"delta", "frequency", "fve_clock", "fve_pizza", "fve_accompanying"} <= set(m["circles"][0])
    for name in m["plots"]:
        assert (Path(run_dir) / name).read_bytes()[:4] == b"\x89PNG"
    assert len(m["plots"]) == 3
    assert "circle isolation" in _invoke(["clock-pizza", "analyze", run_dir]).output


def test_clock_pizza_sweep_small(tmp_path) -> None:
    res = _invoke(["clock-pizza", "sweep", "--alphas", "0,1", "--seeds", "0-1", *TINY,
                   "--out", str(tmp_path), "--batch", "4", "--json"])
    out = json.loads(res.output)
    assert len(out["runs"]) == 4 and len(out["phase_table"]) == 10
    assert {r["d_model"] for r in out["runs"].values()} == {16}         # --width is honoured
    assert (tmp_path / "phase_table.json").is_file()
    for r in out["runs"].values():
        assert "analysis_error" not in r, r["analysis_error"]
        assert r["verdict_halfway"] in ("Pizza", "Clock", "non-circular", "hybrid")
        assert r["settled"] == (r["verdict_halfway"] == r["verdict"])


def test_grokking_train_analyze(tmp_path) -> None:
    res = _invoke(["grokking", "train", "--p", "7", "--width", "16", "--heads", "2",
                   "--steps", "40", "--checkpoint-every", "10", "--lr", "0.01", "--quiet",
                   "--threads", "1", "--out", str(tmp_path), "--json"])
    out = json.loads(res.output)
    assert out.get("error", "") == "" and [r["step"] for r in out["table"]] == [0, 10, 20, 30, 40]
    assert out["phases"]["rule"] and out["key_freqs"]
    assert (tmp_path / out["run_dir"].split("/")[-1] / "progress.json").is_file()


def test_bad_input_is_a_clear_error(tmp_path) -> None:
    res = CliRunner().invoke(main, ["clock-pizza", "train", "--width", "10", "--heads", "4",
                                    "--out", str(tmp_path)])
    assert res.exit_code == 2 and "multiple of n_heads" in res.output
    res = CliRunner().invoke(main, ["clock-pizza", "sweep", "--alphas", "zero"])
    assert res.exit_code == 2 and "cannot read" in res.output


def test_help_has_examples() -> None:
    for cmd in (["clock-pizza", "--help"], ["clock-pizza", "train", "--help"],
                ["clock-pizza", "sweep", "--help"], ["grokking", "train", "--help"]):
        assert "Example" in _invoke(cmd).output


@pytest.mark.slow
def test_paper_targets_alpha0_pizza_alpha1_clock(tmp_path) -> None:
    """p = 59, d = 128, 20k steps (the spec): α = 0 -> Pizza, α = 1 -> Clock."""
    from algolens.studies import clock_pizza
    results = clock_pizza.run_batch([0.0, 1.0], [0], out_root=tmp_path, progress=False)
    pizza, clock = (r.metrics for r in results)
    assert results[0].summary.val_acc == 1.0 and results[1].summary.val_acc == 1.0
    assert pizza["s_g"] > 0.98 and pizza["q"] < 0.4 and pizza["circularity"] >= 0.995
    assert clock["s_g"] < 0.8 and clock["q"] > 0.6

"""The clock-pizza and grokking commands end to end on tiny settings (seconds), and the paper's
Clock/Pizza targets at full size (slow: ~10+ minutes on 2 cores)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from algolens.cli import main
from algolens.store import RunStore
from algolens.studies import registry

torch.set_num_threads(1)

TINY = ["--p", "7", "--width", "16", "--heads", "2", "--steps", "30", "--lr", "0.01",
        "--threads", "1", "--quiet"]


def _invoke(args):
    res = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res


def test_clock_pizza_train_and_analyze(tmp_path) -> None:
    out = tmp_path / "runs"
    res = _invoke(["clock-pizza", "train", "--alpha", "0", "--alpha", "1", *TINY,
                   "--checkpoint-every", "15", "--out", out, "--json"])
    runs = json.loads(res.output)
    assert [r["config"]["attn_rate"] for r in runs] == [0.0, 1.0]
    run_dir = Path(runs[1]["dir"])
    assert run_dir.parent == out / "clock_pizza"             # <out>/clock_pizza/<id>, one index
    assert [r.id for r in RunStore(out).list(study="clock_pizza")] != []
    manifest = json.loads((run_dir / "manifest.json").read_text())
    for name in ("config.json", "weights.safetensors", "metrics.json", "result.json",
                 "checkpoints/step_000030.safetensors"):
        assert name in manifest, name
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert len(metrics["history"]["train_loss"]) == 2          # steps 0 and 29 at eval_every 100
    assert metrics["summary"]["n_members"] == 2                # both α trained as one ensemble
    # 30 steps do not train the model: nothing is read out, the verdict says why
    assert runs[1]["trained"] is False and runs[1]["verdict"] == "not trained"
    assert runs[1]["s_g"] is None and runs[1]["reason"]
    out_json = json.loads(_invoke(["clock-pizza", "analyze", runs[1]["run"], "--out", out,
                                   "--force", "--json"]).output)
    assert out_json["trained"] is False and out_json["verdict"] == "not trained"
    assert out_json["raw_verdict"] in ("Pizza", "Clock", "non-circular", "hybrid")
    assert len(out_json["circles"]) == 3
    assert set(out_json["accuracy_by_pcs"]) == {"1-4", "1-6", "7-12"}
    assert {"delta", "frequency", "fve_clock", "fve_pizza", "fve_accompanying"} <= \
        set(out_json["circles"][0])
    assert out_json["verdict_halfway"] is not None                # checkpoint 15 <= 30 // 2
    manifest = json.loads((run_dir / "manifest.json").read_text())
    for name in out_json["plots"]:
        assert (run_dir / name).read_bytes()[:4] == b"\x89PNG" and name in manifest
    assert len(out_json["plots"]) == 3 and "analysis.txt" in manifest
    text = _invoke(["clock-pizza", "analyze", str(run_dir), "--out", out, "--force"]).output
    assert "circle isolation" in text and "verdict withheld" in text
    assert RunStore(out).open(runs[1]["run"]).result.raw_verdict == out_json["raw_verdict"]


def test_out_is_the_store_root(tmp_path, monkeypatch) -> None:
    """Issue 17/18: `--out icp` is a store (icp/index.db, runs in icp/clock_pizza), never a
    study named after the folder; `--out .` works too."""
    monkeypatch.chdir(tmp_path)
    _invoke(["clock-pizza", "train", *TINY, "--out", "icp"])
    assert (tmp_path / "icp" / "index.db").is_file() and not (tmp_path / "index.db").exists()
    [rec] = RunStore("icp").list()
    assert rec.study == "clock_pizza" and rec.dir.parent == (tmp_path / "icp" / "clock_pizza")
    _invoke(["grokking", "train", *TINY, "--no-analyze", "--out", "."])
    assert [r.study for r in RunStore(".").list()] == ["grokking"]


def test_clock_pizza_sweep_small(tmp_path) -> None:
    out = tmp_path / "runs"
    res = _invoke(["clock-pizza", "sweep", "--alphas", "0,1", "--seeds", "0-1", *TINY,
                   "--out", out, "--batch", "4", "--json"])
    body = json.loads(res.output)
    assert len(body["points"]) == 4 and len(body["phase_table"]) == 10
    assert {r["width"] for r in body["points"]} == {16}                 # --width is honoured
    assert not list(tmp_path.rglob("sweep.json")) and not list(tmp_path.rglob("phase_table*"))
    assert len(list(tmp_path.rglob("index.db"))) == 1
    cp = registry.get("clock_pizza")
    for row in body["points"]:
        run = RunStore(out).open(row["run"])
        assert cp.record(run).summary.n_members == 4
        assert row["status"] == "done" and row["trained"] is False     # 30 steps: withheld


def test_grokking_train_analyze(tmp_path) -> None:
    out = tmp_path / "runs"
    res = _invoke(["grokking", "train", "--p", "7", "--width", "16", "--heads", "2",
                   "--steps", "40", "--checkpoint-every", "10", "--lr", "0.01", "--quiet",
                   "--threads", "1", "--out", out, "--json"])
    body = json.loads(res.output)
    assert body["trained"] is False and body["key_freqs"] == [] and body["phases"] is None
    forced = json.loads(_invoke(["grokking", "analyze", body["run"], "--out", out, "--force",
                                 "--json"]).output)
    assert [r["step"] for r in forced["table"]] == [0, 10, 20, 30, 40]
    assert forced["phases"]["rule"] and forced["key_freqs"] and forced["trained"] is False
    run = RunStore(out).open(body["run"])
    assert run.result.table[-1].step == 40 and "progress.png" in \
        json.loads((run.dir / "manifest.json").read_text())


def test_a_damaged_checkpoint_stops_grokking_analyze(tmp_path) -> None:
    """Issue 18 §3: half of every checkpoint overwritten -> runs verify flags them and
    `grokking analyze` refuses, naming the run and the file (it used to answer rc 0)."""
    out = tmp_path / "runs"
    body = json.loads(_invoke(["grokking", "train", *TINY, "--checkpoint-every", "10",
                               "--no-analyze", "--out", out, "--json"]).output)
    ckpts = sorted((Path(body["dir"]) / "checkpoints").glob("*.safetensors"))
    assert len(ckpts) == 4
    for p in ckpts:
        data = p.read_bytes()
        p.write_bytes(data[: len(data) // 2] + bytes(len(data) - len(data) // 2))
    verify = CliRunner().invoke(main, ["runs", "verify", "--out", str(out)])
    assert verify.exit_code == 1 and "checkpoints/step_000000.safetensors" in verify.output
    res = CliRunner().invoke(main, ["grokking", "analyze", body["run"], "--out", str(out),
                                    "--force"])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert f"run {body['run']}: checkpoints/step_000000.safetensors changed or was damaged" \
        in res.output


def test_demo_part(tmp_path) -> None:
    """The demo trains both studies' demo points into the one store and prints their lines."""
    out = tmp_path / "runs"
    res = _invoke(["demo", "--only", "clock_pizza", "--only", "grokking", "--set",
                   "clock_pizza.steps=40", "--set", "grokking.steps=40", "--out", out, "--json"])
    parts = json.loads(res.output)["studies"]
    lines = parts["clock_pizza"]["lines"] + parts["grokking"]["lines"]
    assert [ln.split(":")[0] for ln in lines] == ["Clock/Pizza α=0", "Clock/Pizza α=1",
                                                  "grokking p=31"]
    assert all("not trained (accuracy" in ln for ln in lines)        # 40 steps: withheld
    assert {r.study for r in RunStore(out).list()} == {"clock_pizza", "grokking"}
    html = (out / "demo.html").read_text()
    assert "Clock vs Pizza" in html and "Grokking" in html


def test_bad_input_is_a_clear_error(tmp_path) -> None:
    res = CliRunner().invoke(main, ["clock-pizza", "train", "--width", "10", "--heads", "4",
                                    "--out", str(tmp_path)])
    assert res.exit_code == 2 and "multiple of n_heads" in res.output
    res = CliRunner().invoke(main, ["clock-pizza", "sweep", "--alphas", "zero"])
    assert res.exit_code == 2 and "cannot read" in res.output
    res = CliRunner().invoke(main, ["clock-pizza", "analyze", "nope", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "no run store" in res.output
    assert not list(tmp_path.iterdir())


def test_help_has_examples() -> None:
    for cmd in (["clock-pizza", "--help"], ["clock-pizza", "train", "--help"],
                ["clock-pizza", "sweep", "--help"], ["clock-pizza", "analyze", "--help"],
                ["grokking", "train", "--help"], ["grokking", "analyze", "--help"]):
        assert "Example" in _invoke(cmd).output


@pytest.mark.slow
def test_paper_targets_alpha0_pizza_alpha1_clock(tmp_path) -> None:
    """p = 59, d = 128, 20k steps (the spec): α = 0 -> Pizza, α = 1 -> Clock."""
    cp = registry.get("clock_pizza")
    base = cp.make_config("paper-p59-d128")
    points = [(replace(base, attn_rate=a), 0) for a in (0.0, 1.0)]
    (_, pizza), (_, clock) = registry.run_points(cp, points, RunStore(tmp_path), progress=False)
    assert pizza.val_acc == 1.0 and clock.val_acc == 1.0
    assert pizza.s_g > 0.98 and pizza.q < 0.4 and pizza.circularity >= 0.995
    assert clock.s_g < 0.8 and clock.q > 0.6

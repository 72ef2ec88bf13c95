"""The sparse-parity study end to end on the contract: CLI train/analyze, the run read back typed,
the emitted program, "not trained" withheld, and a network whose support is known by
construction read out through the study."""

from __future__ import annotations

import json
import runpy

import numpy as np
import pytest
from click.testing import CliRunner

from algolens.analysis.parity import ProgressPoint
from algolens.cli import main
from algolens.store import RunStore
from algolens.studies import registry
from algolens.studies.sparse_parity import SparseParityConfig, SparseParityResult
from algolens.typed import to_json

from _parity_nets import parity_network


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("sp") / "runs"
    r = cli("sparse-parity", "train", "--preset", "quick", "--seed", "1", "--out", out,
            "--json", "--no-progress")
    assert r.exit_code == 0, r.output
    return out, json.loads(r.output)


def test_train_json_names_the_run_and_its_config(trained) -> None:
    out, body = trained
    cfg = json.loads((out / "sparse_parity" / body["run"] / "config.json").read_text())
    assert cfg["n"] == 20 and cfg["k"] == 3 and cfg["seed"] == 1
    assert body["status"] == "done" and body["summary"]["test acc"] == 1.0


def test_analyze_reads_the_support_and_emits_a_verified_program(trained) -> None:
    out, body = trained
    r = cli("sparse-parity", "analyze", body["run"], "--out", out, "--json")
    assert r.exit_code == 0, r.output
    res = json.loads(r.output)
    task = SparseParityConfig(n=20).task()
    assert res["trained"] and tuple(res["support"]) == task.support and res["support_correct"]
    assert res["agreement"] == 1.0 and res["program_agreement"] == 1.0
    run = RunStore(out).open(body["run"])
    assert isinstance(run.result, SparseParityResult) and run.result.support == task.support
    f = runpy.run_path(str(run.artefact("program.py")))["f"]
    x, y = task.sample(500, np.random.default_rng(99))
    assert [f(list(map(int, row))) for row in x] == y.tolist()
    # the hidden progress: the output-weighted share on S grew during the accuracy plateau
    p = run.result.progress
    assert p["support_output_share_at_plateau_end"] > 2 * p["support_output_share_start"]


def test_a_flipped_byte_in_the_program_is_flagged(trained, tmp_path) -> None:
    import shutil
    out, body = trained
    copy = tmp_path / "runs"
    shutil.copytree(out, copy)
    cli("sparse-parity", "analyze", body["run"], "--out", copy)
    prog = copy / "sparse_parity" / body["run"] / "program.py"
    data = bytearray(prog.read_bytes())
    data[100] ^= 1
    prog.write_bytes(bytes(data))
    r = cli("runs", "verify", "--out", copy)
    assert r.exit_code == 1 and "program.py" in r.output and "checksum" in r.output


def test_an_untrained_run_gets_no_read_out(tmp_path) -> None:
    out = tmp_path / "runs"
    r = cli("sparse-parity", "train", "--n", "30", "--steps", "100", "--out", out, "--json",
            "--no-progress")
    assert r.exit_code == 0, r.output
    rid = json.loads(r.output)["run"]
    r = cli("sparse-parity", "analyze", rid, "--out", out)
    assert r.exit_code == 0 and r.output.startswith("not trained")
    res = RunStore(out).open(rid).result
    assert not res.trained and res.support is None and res.program is None
    assert not (out / "sparse_parity" / rid / "program.py").exists()
    forced = json.loads(cli("sparse-parity", "analyze", rid, "--out", out, "--force",
                            "--json").output)
    assert forced["forced"] and forced["support"] is not None
    assert "did NOT train" in (out / "sparse_parity" / rid / "program.py").read_text()


def test_a_constructed_network_is_read_out_through_the_study(tmp_path) -> None:
    """A run whose weights are set by hand to the parity of {2, 5, 7}: the study's read-out
    finds exactly that support and checks it on all 2^12 inputs; the task's secret is another
    support, so the emitted program is checked against the task and found wrong."""
    study = registry.get("sparse_parity")
    cfg = SparseParityConfig(n=12, width=8, support_seed=0)
    net = parity_network(12, (2, 5, 7), width=8)
    store = RunStore(tmp_path / "runs")
    with store.create(study.name, study.key(cfg), cfg, seed=0) as run:
        run.save_weights(dict(net.state_dict()))
        run.write_json("history.json", to_json([ProgressPoint(0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0)]))
        run.finish({"test_acc": 1.0})
    res = study.analyze(store.open(run.id))
    assert res.support == (2, 5, 7) and res.exhaustive and res.verified_on == 4096
    assert cfg.task().support != (2, 5, 7)
    assert res.agreement == 1.0 and res.support_correct is False
    assert 0.35 < res.program_agreement < 0.65         # a parity of other bits: chance level


@pytest.mark.parametrize("args, says", [
    (["--k", "0"], "k = 0"),
    (["--n", "70"], "n = 70"),
    (["--lr", "nan"], "finite"),
    (["--seed", "-1"], "-1"),
    (["--loss", "mse"], "'mse' is not one of"),
    (["--preset", "huge"], "'huge' is not one of"),
], ids=["k0", "n70", "lr-nan", "seed-neg", "loss", "preset"])
def test_bad_settings_fail_before_any_run(tmp_path, args, says) -> None:
    out = tmp_path / "runs"
    r = cli("sparse-parity", "train", *args, "--out", out)
    assert r.exit_code == 2 and says in r.output and "Traceback" not in r.output
    assert not (out / "sparse_parity").exists()


def test_sweep_over_n_through_the_executor(tmp_path) -> None:
    out = tmp_path / "runs"
    r = cli("sweep", "sparse_parity", "--preset", "quick", "--grid", "n=12,16", "--seeds", "0",
            "--out", out, "--json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)["points"]
    assert [row["n"] for row in rows] == [12, 16] and all(row["trained"] for row in rows)
    assert all(row["correct"] for row in rows)

"""Training loop, linear start, run index, resume and the ``algolens train`` command."""

from __future__ import annotations

import importlib
import json

import pytest
import torch
from click.testing import CliRunner

from algolens import tasks
from algolens.cli import main
from algolens.models.rnn import RNNConfig, RNNEnsemble
from algolens.train import (
    TaskData,
    TrainingDiverged,
    default_config,
    find_run,
    search,
    train_ensemble,
)
from algolens.train.linear import features, linear_order
from algolens.train.mixed import apply_masks, mask_grads, member_sizes, shrink, state_masks
from algolens.store import RunStore
from algolens.train.runs import finish_run, read_progress, start_run, write_progress
from algolens.train.search import Candidate, plan

search_mod = importlib.import_module("algolens.train.search")  # the name `search` is the function

torch.set_num_threads(1)


@pytest.mark.parametrize("name, order", [("Sum_Last3", 3), ("Prev2", 3), ("Sum_All", 1),
                                         ("Newton_Freebody", 2), ("Bitwise_Or", 1),
                                         ("Parity_Last2", None), ("Add_Mod_3", None)])
def test_linear_order(name, order):
    task = tasks.get(name)
    assert linear_order(TaskData.generate(task, 4096, 0)) == order


def test_plan_starts_linear_only_when_plausible():
    lin = tasks.get("Sum_Last2")
    first = plan(lin, TaskData.generate(lin, 4096, 0))[0]
    assert (first.hidden, first.f_depth) == (2, 1)
    nonlin = tasks.get("Add_Mod_5")
    cands = plan(nonlin, TaskData.generate(nonlin, 4096, 0))
    assert [c.key for c in cands] == [
        "h=1/2/3/4;f=2x32;g=1;onehot",
        # the additive cell stalled on the smallest group: the bilinear cell, affine (h = 1..8)
        # first, then each group but the largest with the additive row's ReLU layer
        "h=1/2/3/4/6/8;f=1;g=1;onehot;bilinear", "h=1/2/3/4;f=2x32;g=1;onehot;bilinear",
        "h=6/8;f=2x64;g=1;onehot", "h=6/8;f=2x64;g=1;onehot;bilinear",
        "h=12/16;f=2x64;g=1;onehot", "h=12/16;f=2x64;g=1;onehot;bilinear",
        "h=24/32;f=2x64;g=1;onehot",
        "h=1/2/3/4;f=2x32;g=1;numeric"]                   # raw values once, last, another bias
    binary = tasks.get("Bit_Palindrome")
    keys = [c.key for c in plan(binary, TaskData.generate(binary, 4096, 0))]
    assert keys[:5] == ["h=1/2/3/4;f=2x32;g=1;numeric", "h=1/2/3/4/6/8;f=1;g=1;numeric;bilinear",
                        "h=1/2/3/4;f=2x32;g=1;numeric;bilinear", "h=6/8;f=2x64;g=1;numeric",
                        "h=6/8;f=2x64;g=1;numeric;bilinear"]


def test_nan_loss_raises_training_diverged():
    task = tasks.get("Sum_All")
    data = TaskData.generate(task, 256, 0)
    cfg = default_config(task, 1, data=data)
    with pytest.raises(TrainingDiverged, match=r"NaN/inf at step \d+.*lower the learning rate"):
        train_ensemble(task, cfg, 2, train=data, val=data, max_steps=50, lr=1e30, batch=32)


def test_non_finite_data_is_rejected():
    task = tasks.get("Sum_All")
    data = TaskData.generate(task, 64, 0)
    data.y[3, 2, 0] = float("nan")
    cfg = default_config(task, 1)
    with pytest.raises(ValueError, match="NaN/inf values"):
        train_ensemble(task, cfg, 2, train=data, val=data, max_steps=5)


def test_search_linear_task_saves_a_loadable_run(tmp_path):
    r = search("Sum_Last2", budget_seconds=30, out=tmp_path, progress=False)
    assert r.solved and r.accuracy == 1.0 and r.config.hidden == 2 and r.config.is_linear
    store = RunStore(tmp_path)
    run = store.open(r.run_id)
    net = run.load_model()                                    # through the store, checked
    x = torch.randint(0, 100, (32, 10))
    torch.testing.assert_close(net(x), r.network(x), rtol=1e-6, atol=1e-6)
    assert run.result.accuracy == 1.0 and run.result.tried == r.tried
    assert run.config.task == "Sum_Last2" and run.config.budget_seconds == 30.0
    assert find_run(store, "Sum_Last2").id == r.run_id
    [rec] = store.list(study="train")
    assert (rec.status, rec.metrics["hidden"], rec.key) == ("done", 2, "Sum_Last2")
    # every file the run keeps is in its manifest: a flipped byte anywhere is flagged
    manifest = json.loads((run.dir / "manifest.json").read_text())
    assert {"config.json", "progress.json", "weights.safetensors", "model.json",
            "result.json"} <= set(manifest)
    assert [p for p in store.verify() if p.kind != "unrecorded"] == []
    w = run.dir / "weights.safetensors"
    w.write_bytes(w.read_bytes()[:-1] + bytes([w.read_bytes()[-1] ^ 1]))
    assert any(p.kind == "checksum" for p in store.verify())
    with pytest.raises(ValueError, match="changed or was damaged"):
        store.open(r.run_id).load_model()


def test_resume_skips_architectures_already_tried(tmp_path):
    store = RunStore(tmp_path)
    run = start_run(store, "Bitwise_Not", seed=0)          # an "interrupted" search
    done = {"key": "h=1;f=1;g=1;numeric", "config": "h=1; f=1; g=1", "steps": 7,
            "seconds": 1.0, "val_acc": 0.5, "test_acc": None, "status": "unsolved"}
    write_progress(run, [done])
    finish_run(run, "interrupted")
    assert "progress.json" in json.loads((run.dir / "manifest.json").read_text())
    r = search("Bitwise_Not", budget_seconds=30, out=tmp_path, resume=True, progress=False)
    assert r.run_id == run.id
    assert r.tried[0] == done and r.tried[1]["key"] == "h=2;f=1;g=1;numeric"
    assert r.solved and r.config.hidden == 2
    assert read_progress(store.open(run.id)) == r.tried


def test_cli_train_json(tmp_path):
    res = CliRunner().invoke(main, ["train", "Bitwise_Not", "--budget-seconds", "20",
                                    "--out", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert {"task", "accuracy", "hidden_size", "parameters", "seconds", "run_dir"} <= set(out)
    assert out["task"] == "Bitwise_Not" and out["accuracy"] == 1.0 and out["hidden_size"] == 1
    assert (tmp_path / "train").is_dir() and out["run_dir"].startswith(str(tmp_path))


def test_cli_unknown_task_suggests_and_exits_2(tmp_path):
    res = CliRunner().invoke(main, ["train", "Parity_Lst3", "--out", str(tmp_path)])
    assert res.exit_code == 2
    assert "did you mean 'Parity_Last3'" in res.output
    assert not (tmp_path / "index.db").exists()


@pytest.mark.parametrize("f_depth, cell", [(1, "additive"), (2, "additive"), (1, "bilinear"),
                                           (2, "bilinear")])
def test_masked_members_are_exactly_smaller_networks(f_depth, cell):
    cfg = RNNConfig(hidden=4, f_depth=f_depth, f_width=5 if f_depth > 1 else 0, cell=cell,
                    n_inputs=2)
    model = RNNEnsemble(cfg, 8, seed=0)
    sizes = member_sizes((1, 2, 3, 4), 8)
    masks = state_masks(model, sizes)
    apply_masks(model, masks)
    # one training step with masked gradients keeps the dead units dead
    model(torch.rand(4, 6, 2)).pow(2).sum().backward()
    mask_grads(model, masks)
    with torch.no_grad():
        for p in model.parameters():
            p -= 0.1 * p.grad
    x = torch.rand(5, 7, 2)
    y = model(x)
    for i, k in enumerate(sizes):
        small = shrink(model.member(i), k)
        assert small.cfg.hidden == k
        assert torch.allclose(small(x), y[i], atol=1e-6)


def test_onehot_linear_order():
    task = tasks.get("Evens_Counter")
    cfg = default_config(task, 1, encoding="onehot")
    assert linear_order(features(TaskData.generate(task, 4096, 0), cfg)) == 1


def test_search_with_no_time_fails_with_reason(tmp_path):
    with pytest.raises(ValueError, match="budget exhausted"):
        search("Bitwise_Not", budget_seconds=1e-6, out=tmp_path, progress=False)
    [rec] = RunStore(tmp_path).list(study="train")
    assert rec.status == "failed" and "budget" in rec.reason


def test_hopeless_encoding_is_skipped():
    from algolens.train.search import Candidate, _hopeless
    tried = [{"key": "h=1/2/3/4;f=2x32;g=1;onehot", "encoding": "onehot", "val_acc": 0.95},
             {"key": "h=1/2/3/4;f=2x32;g=1;numeric", "encoding": "numeric", "val_acc": 0.3}]
    numeric = Candidate(8, 2, 64, "numeric", sizes=(6, 8))
    onehot = Candidate(8, 2, 64, "onehot", sizes=(6, 8))
    assert _hopeless(numeric, tried) and not _hopeless(onehot, tried)
    tried[0]["val_acc"] = 0.6
    assert not _hopeless(numeric, tried)


def _tiny_plan(monkeypatch, steps: int = 300) -> None:
    """A one-candidate plan (a masked h=1/2 ReLU ensemble) and small data: a search in seconds."""
    cand = Candidate(2, 2, 16, "numeric", steps, n_models=4, batch=64, sizes=(1, 2))
    monkeypatch.setattr(search_mod, "plan", lambda task, data: [cand])
    for name, n in [("N_TRAIN", 2048), ("N_VAL", 512), ("N_CONFIRM", 1024), ("N_TEST", 1024)]:
        monkeypatch.setattr(search_mod, name, n)


def test_search_is_a_function_of_the_seed(tmp_path, monkeypatch):
    """Same task, config and seed: the same weights and the same rows (timings aside)."""
    _tiny_plan(monkeypatch)
    a = search("Parity_Last2", seed=3, out=tmp_path / "a", progress=False)
    b = search("Parity_Last2", seed=3, out=tmp_path / "b", progress=False)
    assert a.tried[0]["steps"] > 0 and not a.budget_exhausted      # it did train
    sa, sb = a.network.state_dict(), b.network.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:   # one code path run twice: equal to the bit (not two float paths compared)
        torch.testing.assert_close(sa[k], sb[k], rtol=0, atol=0)
    untimed = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]
    assert untimed(a.tried) == untimed(b.tried)
    assert a.config == b.config and a.accuracy == b.accuracy


class _FakeClock:
    """``time.monotonic`` that advances one second per call: a "slow machine", deterministic."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        self.t += 1.0
        return self.t


def test_search_whose_cap_bites_says_budget_exhausted(tmp_path, monkeypatch):
    _tiny_plan(monkeypatch, steps=3000)
    monkeypatch.setattr(search_mod.time, "monotonic", _FakeClock())
    r = search("Parity_Last3", budget_seconds=3, out=tmp_path, progress=False)
    assert r.budget_exhausted and r.summary()["budget_exhausted"]
    assert r.tried[0]["status"] == "budget exhausted" and r.tried[0]["steps"] < 3000
    assert RunStore(tmp_path).open(r.run_id).result.budget_exhausted is True
    [rec] = RunStore(tmp_path).list(study="train")
    assert rec.status == "failed" and rec.reason.startswith("budget exhausted")


def test_cli_says_budget_exhausted(tmp_path, monkeypatch):
    _tiny_plan(monkeypatch, steps=3000)
    monkeypatch.setattr(search_mod.time, "monotonic", _FakeClock())
    res = CliRunner().invoke(main, ["train", "Parity_Last3", "--budget-seconds", "3",
                                    "--out", str(tmp_path)])
    assert res.exit_code == 1, res.output                       # not solved: exit status 1
    assert "BUDGET EXHAUSTED" in res.output and "not the search's answer" in res.output


def test_budget_must_be_positive():
    with pytest.raises(ValueError, match="budget_seconds must be > 0"):
        search("Bitwise_Not", budget_seconds=0, out=None, progress=False)


def test_held_out_check_probes_first_and_is_exact_where_it_matters():
    """The stopping check scores all held-out sequences only when some member is perfect on the
    first PROBE: every stopping decision is the one the full set gives."""
    from algolens.train import rnn as rnn_mod

    task = tasks.get("Parity_All")
    val = TaskData.generate(task, 4 * rnn_mod.PROBE, 0)
    cfg = default_config(task, 2, 2, 8)
    model = RNNEnsemble(cfg, 3, seed=0)
    full = rnn_mod.sequence_accuracy(model, val)
    probe = rnn_mod._held_out(model, val, final=False)
    assert bool((full < 1).all()) and bool((probe < 1).all())          # untrained: none perfect
    assert torch.allclose(rnn_mod._held_out(model, val, final=True), full)
    # member 1 answers exactly (the reference's own outputs): the whole set is scored, exactly
    real = model.forward
    model.forward = lambda x: torch.stack([real(x)[0], val_y(x), real(x)[2]])

    def val_y(x):
        return torch.as_tensor(task.targets(x.squeeze(-1).long().numpy()),
                               dtype=torch.float32).unsqueeze(-1)
    got = rnn_mod._held_out(model, val, final=False)
    assert got[1] == 1.0 and torch.allclose(got, rnn_mod.sequence_accuracy(model, val))


def test_a_run_of_fixed_length_checks_val_once_at_the_end():
    task = tasks.get("Parity_All")
    data = TaskData.generate(task, 256, 0)
    res = train_ensemble(task, default_config(task, 2, 2, 8), 2, train=data, val=data,
                         max_steps=30, batch=16, eval_every=0, stop_when_solved=False)
    assert res.steps == 30 and [h["step"] for h in res.history] == [30]


def test_members_are_the_same_networks_alone():
    cfg = RNNConfig(n_inputs=1, hidden=4, f_depth=2, f_width=8, cell="bilinear")
    model = RNNEnsemble(cfg, 5, seed=3)
    x = torch.randint(0, 2, (64, 10)).float()
    state = torch.random.get_rng_state()
    sub = model.members([1, 4])
    assert torch.random.get_rng_state().numpy().tobytes() == state.numpy().tobytes()  # RNG kept
    assert torch.allclose(sub(x), model(x)[[1, 4]], atol=1e-6)


def test_train_and_mips_are_studies_linked_by_run_id(tmp_path):
    """The search is a contract study (typed config and result, deterministic point ids); a
    mips run reuses its network and links to it by id, and loads it through the store."""
    from algolens.studies import mips, registry
    store = RunStore(tmp_path)
    study = registry.get("train")
    cfg = mips.TrainConfig("Sum_Last2", budget_seconds=30)
    run, res = registry.run_point(study, cfg, 0, store, run_id=study.run_id(cfg, 0))
    assert study.trained(res) and res.hidden_size == 2 and run.id.startswith("Sum_Last2-s0-")
    assert run.id == study.run_id(mips.TrainConfig("Sum_Last2", 30.0), 0)      # 30 == 30.0
    opened = store.open(run.id)
    assert opened.config == cfg and opened.result == res
    got = mips.run("Sum_Last2", out=tmp_path)                         # reuses the network
    assert got.solved and got.network_run == run.id
    assert len(store.list(study="train")) == 1
    mrun = store.open(got.run_id)
    assert mrun.links == {"network": run.id} and mrun.linked("network").id == run.id
    x = torch.randint(0, 100, (8, 10))
    torch.testing.assert_close(mrun.load_model()(x), opened.load_model()(x), rtol=0, atol=0)
    assert mrun.result.program == (mrun.dir / "program.py").read_text()
    assert registry.get("mips").analyze(mrun) == mrun.result

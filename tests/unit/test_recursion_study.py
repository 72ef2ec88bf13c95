"""The recursion study on the run/study contract: presets, the one trained rule, typed results
read back through the store, every artefact checksummed, the demo's lines and the sweep."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest
from click.testing import CliRunner

from algolens.cli import main
from algolens.store import RunStore, StoreError
from algolens.studies import registry
from algolens.studies.recursion import (STUDY, Failures, RecursionResult, ShortcutReadout,
                                        analyze_pointer, remedy)
from algolens.train.seq2seq import Seq2SeqTrainConfig

TINY = dict(d_model=16, n_heads=2, d_mlp=32, n_layers=1, steps=3, eval_n=20, n_eval=30,
            n_build=40, n_held=20, plots=False)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """One 3-step Successor run (not trained), analyzed through the registry."""
    store = RunStore(tmp_path_factory.mktemp("runs"))
    run, res = registry.run_point(STUDY, STUDY.make_config(**TINY), 0, store)
    return store, run, res


# the presets as they were before the study contract (Preset.shape / .train / .failure_split)
OLD_PRESETS = {
    "Successor": ((32, 4, 128, 2), Seq2SeqTrainConfig(steps=2000, eval_n=2000,
                                                      schedule="cosine"), "rare"),
    "Preorder": ((64, 4, 256, 1), Seq2SeqTrainConfig(steps=1200, eval_n=1000), "rare"),
    "Inorder": ((64, 4, 256, 2), Seq2SeqTrainConfig(steps=800, eval_n=1000), "test"),
    "Postorder": ((64, 4, 256, 2), Seq2SeqTrainConfig(steps=800, eval_n=1000), "test"),
}


@pytest.mark.parametrize("task", list(OLD_PRESETS))
def test_each_task_starts_from_its_preset(task) -> None:
    shape, train, split = OLD_PRESETS[task]
    cfg = STUDY.make_config(task=task)             # as `recursion train TASK` and a sweep do
    assert cfg == STUDY.presets[task] and cfg.task == task
    assert tuple(cfg.shape().values()) == shape and cfg.train_config() == train
    assert cfg.failure_split == split and (cfg.n_eval, cfg.n_build, cfg.n_held) == (2000, 10000,
                                                                                    3000)


def test_demo_preset_and_other_tasks() -> None:
    demo = STUDY.presets[STUDY.demo_preset]
    assert demo == replace(STUDY.presets["Successor"], steps=1000, n_eval=1000, n_build=3000,
                           n_held=1000, plots=False)
    assert STUDY.demo_points() == [(demo, 0)]
    assert STUDY.make_config("Preorder", steps=5).n_layers == 1      # a preset by name too


@pytest.mark.parametrize("bad, match", [
    (dict(n_build=0), "n_build must be >= 1, got 0; pass --n-build"),
    (dict(n_held=0), "n_held must be >= 1"),
    (dict(n_eval=0), "n_eval must be >= 1"),
    (dict(steps=0), "steps must be >= 1"),
    (dict(d_model=30, n_heads=4), "multiple of n_heads"),
    (dict(oversample=2.0), "oversample"),
    (dict(task="Succesor"), "did you mean 'Successor'"),
    (dict(nsteps=3), "unknown recursion setting"),
])
def test_bad_settings_fail_before_any_run(bad, match, tmp_path) -> None:
    with pytest.raises(ValueError, match=match):
        STUDY.make_config(**bad)
    assert not (tmp_path / "recursion").exists()


def test_the_one_trained_rule() -> None:
    res = RecursionResult("Successor", 10, 0.95, 0.5, 0.0)
    assert STUDY.trained(res) and STUDY.status(res) == "trained"
    res = replace(res, test_exact=0.949)            # the preset Preorder model is 0.981
    assert not STUDY.trained(res) and STUDY.status(res) == "not trained (accuracy 0.949)"


def test_an_untrained_run_is_not_interpreted(tiny) -> None:
    store, run, res = tiny
    assert not STUDY.trained(res) and res.shortcut is None and not res.forced
    assert not (run.dir / "program.py").exists()
    opened = store.open(run.id)                      # read back typed, through the store
    assert opened.result == res and opened.config == run.config
    assert opened.config.task == "Successor" and opened.key == "Successor"
    assert opened.load_model().cfg.d_model == 16


def test_forced_read_out_is_marked_and_every_file_is_checked(tiny) -> None:
    store, run, _ = tiny
    res = STUDY.analyze(store.open(run.id), force=True)
    assert res.forced and res.shortcut.method == "read-table"
    assert set(res.shortcut.failures) == {"rare", "test", "ood"}
    assert store.open(run.id).result == res
    manifest = json.loads((run.dir / "manifest.json").read_text())
    assert {"program.py", "result.json", "metrics.json", "weights.safetensors"} <= set(manifest)
    for name in ("program.py", "result.json"):
        p = run.dir / name
        good = p.read_bytes()
        p.write_bytes(good[:10] + bytes([good[10] ^ 1]) + good[11:])
        assert any(pr.kind == "checksum" and name in pr.detail for pr in store.verify()), name
        with pytest.raises(StoreError, match=f"{name} changed or was damaged"):
            store.open(run.id).artefact(name)
        p.write_bytes(good)


def test_weights_are_loaded_through_the_store_only(tiny) -> None:
    store, run, _ = tiny
    w = run.dir / "weights.safetensors"
    good = w.read_bytes()
    w.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))
    try:
        with pytest.raises(StoreError, match="weights.safetensors changed"):
            STUDY.load_model(store.open(run.id))
    finally:
        w.write_bytes(good)


def test_a_config_from_before_the_contract_still_opens() -> None:
    old = {"study": "recursion", "key": "Preorder", "seed": 1, "run_id": "Preorder-1234abcd",
           "task": "Preorder", "model": {"input_alphabet": [0, 1], "output_alphabet": [0],
                                         "max_input_len": 40, "max_output_len": 13,
                                         "d_model": 64, "n_heads": 4, "d_mlp": 256,
                                         "n_layers": 1},
           "train": {"steps": 77, "batch": 64, "lr": 0.002, "weight_decay": 0.01,
                     "warmup": 50, "schedule": "constant", "oversample": 0.25,
                     "eval_every": 100, "eval_n": 1000, "stop_at": 1.0}}
    cfg = STUDY.read_config(old)
    assert cfg == replace(STUDY.presets["Preorder"], steps=77, oversample=0.25)


def _result(test: float, *, forced: bool = False) -> RecursionResult:
    fp = Failures(1000, 103, 106, 100, 100 / 103, 100 / 106, 0.95)
    sc = ShortcutReadout("read-table", "rare", 4, 253, 0.955, {"rare": fp}, [], 1.0)
    return RecursionResult("Successor", 1000, test, 0.904, 0.819, forced, sc)


class _Rep:
    """A report that records what a section adds."""

    def __init__(self) -> None:
        self.blocks: list = []

    def __getattr__(self, name):
        return lambda *a, **k: self.blocks.append((name, a, k))


def test_demo_lines_and_section_are_the_old_demo_s(tiny) -> None:
    _, run, _ = tiny
    trained, untrained = _result(1.0), RecursionResult("Successor", 1000, 0.54, 0.1, 0.0)
    assert STUDY.demo_lines([(run, trained), (run, untrained), (run, _result(0.5, forced=True))]
                            ) == [
        "recursion Successor: trained; exact 1.000 in distribution; failures predicted: recall "
        "0.971, precision 0.943 (|F|=103, |P|=106)",
        "recursion Successor: not trained (accuracy 0.540); exact 0.540 in distribution",
        "recursion Successor: not trained (accuracy 0.500); exact 0.500 in distribution"]
    rep = _Rep()
    STUDY.demo_section(rep, [(run, trained), (run, untrained)])
    kinds = [b[0] for b in rep.blocks]
    assert kinds == ["add_heading", "add_text", "add_table"]
    assert rep.blocks[0][1] == ("Structural recursion",)
    rows = rep.blocks[2][1][0]
    assert rows[0] == {"task": "Successor", "status": "trained", "exact (in distribution)": 1.0,
                       "exact (long carry chains)": 0.904, "shortcut agreement": 0.95,
                       "|F|": 103, "|P|": 106, "recall": 100 / 103, "precision": 100 / 106}
    assert rows[1]["status"] == "not trained (accuracy 0.540)" and rows[1]["recall"] is None


def test_report_section_reads_the_typed_result(tiny, tmp_path) -> None:
    from algolens.report.build import build_report
    store, run, _ = tiny
    STUDY.analyze(store.open(run.id))                      # not trained: withheld
    text = re.sub(r"<[^>]+>", "", build_report(store.root).report.to_html())
    assert "Not trained" in text and "failure prediction" not in text
    STUDY.analyze(store.open(run.id), force=True)
    text = re.sub(r"<[^>]+>", "", build_report(store.root).report.to_html())
    assert "read out anyway" in text and "failure prediction" in text and "def f(" in text


def test_remedy_and_pointer_refuse_what_they_cannot_read(tiny) -> None:
    store, run, _ = tiny
    STUDY.analyze(store.open(run.id))                      # not trained: no shortcut
    with pytest.raises(ValueError, match="has no shortcut.*recursion analyze"):
        remedy(store.open(run.id), progress=False)
    with pytest.raises(ValueError, match="pointer shortcut is for pre-order"):
        analyze_pointer(store.open(run.id))


def test_remedy_trains_a_linked_run(tmp_path) -> None:
    store = RunStore(tmp_path / "runs")
    run, _ = registry.run_point(STUDY, STUDY.make_config(**TINY), 0, store)
    STUDY.analyze(run, force=True)
    res = remedy(store.open(run.id), oversample=0.5, n_held=30, progress=False)
    new = store.open(res.run)
    assert new.parent.id == run.id and new.config.oversample == 0.5 and new.seed == 0
    assert new.config == replace(run.config, oversample=0.5)
    assert res.predicted_failures == sum(c.predicted for c in res.by_feature.values())
    assert "remedy.json" in json.loads((new.dir / "manifest.json").read_text())


def test_pointer_read_out_of_a_preorder_run(tmp_path) -> None:
    store = RunStore(tmp_path / "runs")
    cfg = STUDY.make_config(task="Preorder", **{**TINY, "n_layers": 1})
    run, res = registry.run_point(STUDY, cfg, 0, store, analyze=False)
    with pytest.raises(ValueError, match="not trained.*--force"):
        analyze_pointer(run, n_build=30, n_held=10)
    p = analyze_pointer(run, n_build=30, n_held=10, force=True)
    assert p.forced and set(p.failures) == {"rare", "test", "ood"}
    manifest = json.loads((run.dir / "manifest.json").read_text())
    assert {"pointer_program.py", "pointer_analysis.json"} <= set(manifest)


def test_sweep_over_tasks_uses_each_task_s_preset(tmp_path) -> None:
    out = str(tmp_path / "runs")
    args = ["sweep", "recursion", "--grid", "task=Successor,Preorder", "--seeds", "0-1",
            "--grid", "steps=2", "--grid", "n_eval=10", "--grid", "eval_n=10",
            "--grid", "plots=false", "--out", out, "--json"]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    body = json.loads(r.output)
    assert body["skipped"] == 0 and len(body["points"]) == 4
    assert sorted((p["task"], p["seed"]) for p in body["points"]) == [
        ("Preorder", 0), ("Preorder", 1), ("Successor", 0), ("Successor", 1)]
    assert all(p["trained"] is False and "recall" not in p for p in body["points"])
    store = RunStore(out)
    layers = {store.open(p["run"]).config.task: store.open(p["run"]).config.n_layers
              for p in body["points"]}
    assert layers == {"Successor": 2, "Preorder": 1}
    again = json.loads(CliRunner().invoke(main, args).output)
    assert again["skipped"] == 4


def test_the_demo_runs_recursion_through_the_registry(tmp_path) -> None:
    from algolens.studies import demo
    res = demo.run(out=tmp_path / "runs", only=("recursion",),
                   overrides={"recursion": {"steps": 5, "n_eval": 50}}, log=lambda *_: None)
    [part] = res.parts
    [run], [result] = part.runs, part.results
    x = result.test_exact
    assert part.lines == [f"recursion Successor: not trained (accuracy {x:.3f}); exact {x:.3f} "
                          "in distribution"]
    assert result.shortcut is None and run.config.n_build == 3000        # the demo preset
    text = re.sub(r"<[^>]+>", "", res.report_path.read_text())
    assert "Structural recursion" in text and "not trained (accuracy" in text

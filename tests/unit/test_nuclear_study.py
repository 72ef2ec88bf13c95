"""The nuclear study on the run/study contract: its config and presets, its data through the
``AME2020`` table task, the one trained rule (an untrained run is not read out), every artefact
through the run (checksummed), the optional pyoperon checked first, and the demo's lines and
report section as the demo printed them before the contract."""

from __future__ import annotations

import json
import math
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from click.testing import CliRunner

from algolens.cli import main
from algolens.store import RunStore
from algolens.studies import registry
from algolens.studies.nuclear import (
    STUDY,
    NuclearConfig,
    NuclearFit,
    NuclearResult,
    load_data,
)
from algolens.tasks import get as get_task
from algolens.tasks.nuclear_data import load
from algolens.tasks.nuclear_tasks import AMETableTask, dataset, split
from algolens.train.nuclear import PRESETS as TRAIN_PRESETS
from algolens.train.nuclear import NuclearTrainConfig, preset

TINY = dict(steps=3, n_members=1, d_model=8, d_embed=4, n_blocks=1)


def _cli(*args: str, code: int = 0):
    res = CliRunner().invoke(main, [str(a) for a in args])
    assert res.exit_code == code, res.output
    return res


@pytest.fixture
def tiny(tmp_path):
    """An untrained run (3 steps: no better than the SEMF) in a fresh store."""
    store = RunStore(tmp_path / "runs")
    run, _ = registry.run_point(STUDY, STUDY.make_config(**TINY), 0, store, progress=False,
                                analyze=False)
    return store, run


# ------------------------------------------------------------------ config and presets
def test_presets_are_the_trainers_presets() -> None:
    assert NuclearConfig().train_config() == NuclearTrainConfig()
    for name in TRAIN_PRESETS:
        assert STUDY.presets[name].train_config() == preset(name), name
    demo = STUDY.presets["demo"]
    assert (demo.n_members, demo.steps, demo.symbolic_evaluations) == (1, 400, 5000)
    assert demo.train_config() == preset("accuracy", n_members=1, steps=400)
    assert STUDY.make_config("accuracy", model_seed=3).train_config().seed == 3


@pytest.mark.parametrize("over, says", [
    (dict(tasks=("binding", "binding")), "listed twice"),
    (dict(tasks=("Sn", "binding")), "must start with 'binding'"),
    (dict(tasks=("binding", "Sx")), "unknown nuclear task"),
    (dict(embed_weight_decay=-1.0), "embed_weight_decay must be a finite number >= 0"),
    (dict(gk_weight=math.nan), "gk_weight must be a finite number"),
    (dict(aux_weight=math.nan), "aux_weight must be a finite number"),
    (dict(d_model=0), "d_model must be an integer >= 1"),
    (dict(symbolic_evaluations=-1), "symbolic_evaluations"),
], ids=["tasks-twice", "tasks-order", "tasks-unknown", "embed-wd", "gk-nan", "aux-nan",
        "width-0", "symbolic"])
def test_bad_settings_name_the_setting(over, says) -> None:
    with pytest.raises(ValueError, match=says):
        STUDY.make_config(**over)


@pytest.mark.parametrize("over", [dict(d_model=100_000), dict(n_members=100_000)],
                         ids=["width", "members"])
def test_a_config_that_cannot_fit_is_refused_before_any_run(tmp_path, over) -> None:
    store = RunStore(tmp_path / "runs")
    with pytest.raises(ValueError, match="GiB to train.*lower --members or --width"):
        registry.run_point(STUDY, STUDY.make_config(**over), 0, store)
    assert not (tmp_path / "runs" / "nuclear").exists()


def test_runs_made_before_the_contract_still_open() -> None:
    old = {"study": "nuclear", "key": "split1", "seed": 3, "run_id": "split1-0a1b2c3d",
           "train": NuclearTrainConfig(seed=3, steps=60).to_dict(), "split_seed": 1,
           "discovery": False}
    assert STUDY.read_config(old) == NuclearConfig(model_seed=3, steps=60)


# ------------------------------------------------------------------ data through the task
def test_the_mass_table_is_a_registered_table_task() -> None:
    ame = get_task("AME2020", kind="table")
    assert isinstance(ame, AMETableTask) and ame.inputs == ("Z", "N")
    assert {"binding", "Sn", "D2n"} <= set(ame.targets) and ame.properties["nuclear"]
    cols = ame.columns()
    ds = dataset(load(2020), ("binding",))
    assert np.isfinite(cols["binding"]).sum() == len(ds)
    train, test = ame.split(0.9, seed=3)
    held = {tuple(x) for x in split(ds, 3).heldout_nuclides}
    assert {(int(cols["Z"][i]), int(cols["N"][i])) for i in test} == held
    assert not set(train) & set(test)


def test_the_study_reads_its_data_through_the_task() -> None:
    cfg = STUDY.make_config("paper-embeddings")
    ds, sp = load_data(cfg, 2)
    want = dataset(load(2020), cfg.tasks)
    assert np.array_equal(ds.target, want.target) and np.array_equal(sp.train, split(want, 2).train)
    ds, sp = load_data(STUDY.make_config(discovery=True), 0)
    assert int(sp.test.sum()) == 74                       # the nuclides new in AME2020


# ------------------------------------------------------------------ the one trained rule
def test_an_untrained_run_is_not_read_out(tiny) -> None:
    store, run = tiny
    res = STUDY.analyze(run)
    assert not STUDY.trained(res) and not res.trained and res.embedding_Z is None
    assert res.physics_match is None and res.notes[0].startswith("not trained")
    assert store.open(run.id).result == res                  # typed, through result.json
    assert not list(run.dir.glob("*.png"))
    out = _cli("nuclear", "analyze", run.id, "--out", store.root, "--no-symbolic").output
    assert "not trained" in out and "--force" in out and "parity" not in out
    row = STUDY.summary_row(run, res)
    assert row["trained"] is False and "parity_Z" not in row


def test_a_forced_read_out_is_marked_and_checksummed(tiny) -> None:
    store, run = tiny
    res = STUDY.analyze(run, force=True, symbolic=False)
    assert res.forced and not res.trained and res.embedding_Z is not None
    assert [t.term for t in res.physics_match.terms][:2] == ["volume", "surface"]
    manifest = json.loads((run.dir / "manifest.json").read_text())
    assert {"result.json", "embedding_Z.png", "physics_match.png"} <= set(manifest)
    assert not list(run.dir.glob("analysis.json"))
    assert [p for p in store.verify() if p.kind == "unrecorded"] == []
    png = run.dir / "penultimate_pca.png"
    data = bytearray(png.read_bytes())
    data[len(data) // 2] ^= 1
    png.write_bytes(bytes(data))
    assert any(p.kind == "checksum" and "penultimate_pca.png" in p.detail for p in store.verify())
    out = _cli("nuclear", "analyze", run.id, "--out", store.root, "--force",
               "--no-symbolic").output
    assert out.startswith("NOT TRAINED") and "embedding_Z: parity PC" in out


def test_missing_pyoperon_is_said_before_the_work(tiny, monkeypatch) -> None:
    store, run = tiny
    monkeypatch.setitem(sys.modules, "pyoperon", None)       # as if it were not installed
    res = _cli("nuclear", "analyze", run.id, "--out", store.root, "--force", "--json")
    assert "algolens[symbolic]" in res.stderr
    body = json.loads(res.stdout)
    assert body["symbolic"] is None and body["embedding_Z"] is not None
    assert any("pyoperon" in n for n in body["notes"])
    with pytest.raises(ValueError, match="needs pyoperon"):
        STUDY.analysis_plan(run.config, symbolic=True)


def test_the_report_follows_the_trained_rule(tiny) -> None:
    from algolens.report.build import build_report
    _, run = tiny
    STUDY.analyze(run)
    html = build_report(run.dir, recompute=False).report.to_html()
    assert "Not trained" in html and "embedding PCA" not in html
    assert "could not be drawn" not in html


def test_predict_writes_what_it_is_asked(tiny, tmp_path) -> None:
    store, run = tiny
    res = _cli("nuclear", "predict", run.id, "--out", store.root, "--json", "--output",
               tmp_path / "p.csv")
    assert len(json.loads(res.stdout)) == 3558
    assert (tmp_path / "p.csv").read_text().startswith("Z,N,A,element,task")
    _cli("nuclear", "predict", run.id, "--out", store.root)
    assert "predictions.csv" in json.loads((run.dir / "manifest.json").read_text())
    res = _cli("nuclear", "predict", run.dir, code=2)              # default --out: not its store
    assert f"pass --out {run.dir.parent.parent}" in res.stderr


# ------------------------------------------------------------------ the demo, as before
def _result(rms: float, semf: float, trained: bool) -> NuclearResult:
    from algolens.analysis.representations import (
        EmbeddingSummary,
        PhysicsMatchSummary,
        TermMatch,
    )
    emb = [EmbeddingSummary(n, [0.5], pc, acc, 0.1, 0.1, 60.0, 0.1, {}) for n, pc, acc in
           (("Z", 2, 0.6126), ("N", 1, 0.6025))] if trained else [None, None]
    terms = [TermMatch("volume", 6, 0.56, 0.54, 0.47, 0.5, True)]
    return NuclearResult(NuclearFit(test_rms_keV=rms, test_semf_fit_rms_keV=semf), trained,
                         embedding_Z=emb[0], embedding_N=emb[1],
                         physics_match=PhysicsMatchSummary(terms, 0.3, 0.47, 0.2)
                         if trained else None)


class _Rep:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple, dict]] = []

    def __getattr__(self, name):
        return lambda *a, **k: self.calls.append((name, a, k))


def test_demo_lines_and_section_are_the_demos_of_before() -> None:
    run = SimpleNamespace(config=STUDY.make_config("demo"))
    good, bad = _result(473.8170802593231, 3500.001681496, True), _result(2891.4, 3500.0, False)
    assert STUDY.demo_lines([(run, good), (run, bad)]) == [
        "nuclear (accuracy): trained; held-out binding RMS 474 keV (SEMF 3500 keV)",
        "nuclear (accuracy): UNTRAINED (readouts describe an untrained model); held-out binding "
        "RMS 2891 keV (SEMF 3500 keV)"]
    rep = _Rep()
    STUDY.demo_section(rep, [(run, good), (run, bad)])
    assert [c[0] for c in rep.calls] == ["add_heading", "add_text", "add_table", "add_table"]
    assert rep.calls[0][1] == ("Nuclear physics",)
    rows = rep.calls[2][1][0]
    assert rows[0] == {"model": "accuracy", "steps": 400, "status": "trained",
                       "held-out RMS (keV)": 473.8170802593231,
                       "SEMF RMS (keV)": 3500.001681496, "parity Z (one PC)": 0.6126,
                       "parity N (one PC)": 0.6025}
    assert rows[1]["status"].startswith("UNTRAINED") and rows[1]["parity Z (one PC)"] is None
    assert rep.calls[3][1][0] == [{"term": "volume", "best PC": 6, "|r|": 0.56, "probe R²": 0.54,
                                   "null R² (95th pct)": 0.47, "above null": True}]
    assert rep.calls[3][2] == {"caption": "mass-formula terms against the penultimate PCs"}
    assert STUDY.demo_points() == [(STUDY.make_config("demo"), 0)]

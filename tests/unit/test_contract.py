"""The run and study contract: typed configs and results written and read back through the store,
every artefact checksummed, CLI and sweep generated from a study's declared shape."""

from __future__ import annotations

import json
import sys
import textwrap
from dataclasses import dataclass, field

import pytest
from click.testing import CliRunner

import algolens.studies as studies_pkg
from algolens.cli import main, register_commands
from algolens.store import RunStore, StoreError
from algolens.studies import registry
from algolens.typed import from_json, to_json


@dataclass(frozen=True)
class Point:
    step: int
    acc: float


@dataclass
class Res:
    support: tuple[int, ...]
    history: list[Point]
    note: str | None = None
    table: dict[str, float] = field(default_factory=dict)


def test_one_converter_round_trips_nested_results() -> None:
    r = Res((1, 4), [Point(0, 0.5), Point(10, float("nan"))], None, {"a": float("inf")})
    back = from_json(Res, json.loads(json.dumps(to_json(r))))
    assert back.support == (1, 4) and back.history[0] == Point(0, 0.5)
    assert back.history[1].acc != back.history[1].acc          # NaN survives as NaN
    assert back.table == {"a": float("inf")}


@pytest.mark.parametrize("data, match", [
    ({"support": [1], "history": [], "nte": "x"}, "unknown field.*'nte'"),
    ({"history": []}, "missing field.*'support'"),
    ({"support": ["a"], "history": []}, r"Res.support\[0\]: expected int"),
    ({"support": [1], "history": [{"step": 1.5, "acc": 1}]}, r"history\[0\].step"),
])
def test_converter_names_the_bad_key(data, match) -> None:
    with pytest.raises(ValueError, match=match):
        from_json(Res, data)


# ------------------------------------------------------------------ a toy study on the contract
TOY = textwrap.dedent('''
    from dataclasses import dataclass
    import torch
    from algolens.studies.registry import Study, param

    @dataclass(frozen=True)
    class ToyConfig:
        width: int = param(3, "hidden units")
        scale: float = param(1.0, "weight scale")
        mode: str = param("a", "which mode", choices=("a", "b"))

        def __post_init__(self):
            if self.width < 1:
                raise ValueError(f"width must be >= 1, got {self.width}; pass --width 1 or more")

    @dataclass
    class ToyResult:
        trained: bool
        total: float

    class Toy(Study[ToyConfig, ToyResult]):
        name, summary = "toy_study", "a study that exists only in a test"
        config, result = ToyConfig, ToyResult
        presets = {"small": ToyConfig(width=2), "big": ToyConfig(width=5)}
        default_preset = demo_preset = "small"

        def train(self, config, seed, store, *, run_id=None, progress=True):
            g = torch.Generator().manual_seed(seed)
            with store.create(self.name, self.key(config), config, seed=seed,
                              run_id=run_id, exist_ok=run_id is not None) as run:
                run.save_weights({"w": config.scale * torch.randn(config.width, generator=g)})
                run.write_text("notes.txt", "trained by a test")
                run.finish({"width": config.width})
            return run

        def load_model(self, run):
            return run.load_weights()["w"]

        def analyze(self, run, *, force=False):
            w = run.load_model()
            res = ToyResult(trained=run.config.scale > 0, total=float(w.abs().sum()))
            run.save_result(res)
            return res

        def summary_row(self, run, result):
            row = {"run": run.id, "seed": run.seed, "width": run.config.width}
            if result is not None:
                row["total"] = round(result.total, 6)
            return row

    STUDY = Toy()
''')


@pytest.fixture
def toy(tmp_path, monkeypatch):
    d = tmp_path / "pkg"
    d.mkdir()
    (d / "toy_study.py").write_text(TOY)
    monkeypatch.setattr(studies_pkg, "__path__", [*studies_pkg.__path__, str(d)])
    yield registry.get("toy_study")
    sys.modules.pop("algolens.studies.toy_study", None)


def test_a_run_is_read_back_typed(toy, tmp_path) -> None:
    store = RunStore(tmp_path / "runs")
    cfg = toy.make_config("big", scale=2.0)
    run, res = registry.run_point(toy, cfg, 3, store)
    opened = store.open(run.id)
    assert opened.config == cfg and type(opened.config).__name__ == "ToyConfig"
    assert opened.seed == 3 and opened.result == res and res.trained
    assert opened.load_model().shape == (5,)
    assert store.open(run.dir).id == run.id                       # by folder too
    # every file is in the manifest; a flipped byte anywhere is flagged and refused
    manifest = json.loads((run.dir / "manifest.json").read_text())
    assert {"config.json", "weights.safetensors", "notes.txt", "metrics.json",
            "result.json"} <= set(manifest)
    assert [p for p in store.verify() if p.kind != "unrecorded"] == []
    for name in ("notes.txt", "result.json", "config.json"):
        p = run.dir / name
        data = bytearray(p.read_bytes())
        data[len(data) // 2] ^= 1
        p.write_bytes(bytes(data))
        assert any(pr.kind == "checksum" and name in pr.detail for pr in store.verify()), name
    with pytest.raises(StoreError, match=f"run {run.id}: result.json changed or was damaged"):
        _ = store.open(run.id).result


def test_links_are_run_ids(toy, tmp_path) -> None:
    store = RunStore(tmp_path / "runs")
    a, _ = registry.run_point(toy, toy.make_config(), 0, store, analyze=False)
    b, _ = registry.run_point(toy, toy.make_config(), 1, store, analyze=False)
    b.link("parent", a.id)
    moved = RunStore(tmp_path / "runs")
    assert moved.open(b.id).parent.id == a.id
    assert json.loads((b.dir / "links.json").read_text()) == {"parent": a.id}


def test_bad_settings_and_seeds_fail_before_any_run(toy, tmp_path) -> None:
    store = RunStore(tmp_path / "runs")
    with pytest.raises(ValueError, match="unknown toy_study setting.*wdth"):
        toy.make_config(wdth=3)
    with pytest.raises(ValueError, match="unknown preset 'huge'.*small, big"):
        toy.make_config("huge")
    with pytest.raises(ValueError, match="width must be >= 1"):
        toy.make_config(width=0)
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        registry.run_point(toy, toy.make_config(), -1, store)
    assert not (tmp_path / "runs" / "toy_study").exists()


def test_cli_is_generated_from_the_config(toy, tmp_path) -> None:
    from algolens.cli import study_cmds
    group = study_cmds.study_group(toy)
    runner = CliRunner()
    out = str(tmp_path / "runs")
    help_text = runner.invoke(group, ["train", "--help"]).output
    assert "hidden units" in help_text and "--preset" in help_text and "[a|b]" in help_text
    r = runner.invoke(group, ["train", "--preset", "big", "--width", "4", "--seed", "2",
                              "--out", out, "--json"])
    assert r.exit_code == 0, r.output
    body = json.loads(r.output)
    assert body["config"]["width"] == 4 and body["seed"] == 2
    r = runner.invoke(group, ["analyze", body["run"], "--out", out, "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["trained"] is True
    bad = runner.invoke(group, ["train", "--mode", "c", "--out", out])
    assert bad.exit_code == 2 and "'c' is not one of" in bad.output


def test_sweep_runs_a_grid_and_skips_finished_points(toy, tmp_path) -> None:
    register_commands(main)        # the toy study gets its generated group like any other
    out = str(tmp_path / "runs")
    runner = CliRunner()
    args = ["sweep", "toy_study", "--grid", "width=1,3", "--seeds", "0-1", "--out", out, "--json"]
    r = runner.invoke(main, args)
    assert r.exit_code == 0, r.output
    body = json.loads(r.output)
    assert body["skipped"] == 0 and len(body["points"]) == 4
    assert sorted((p["width"], p["seed"]) for p in body["points"]) == [(1, 0), (1, 1), (3, 0),
                                                                       (3, 1)]
    again = json.loads(runner.invoke(main, args).output)
    assert again["skipped"] == 4 and again["points"] == body["points"]
    assert len(RunStore(out).list(study="toy_study")) == 4
    r = runner.invoke(main, ["sweep", "toy_study", "--grid", "wdth=1", "--out", out])
    assert r.exit_code == 2 and "no setting 'wdth'" in r.output
    r = runner.invoke(main, ["sweep", "toy_study", "--seeds", "3-x", "--out", out])
    assert r.exit_code == 2 and "--seeds" in r.output
    main.commands.pop("toy-study", None)


def test_reindex_rebuilds_the_same_rows(toy, tmp_path) -> None:
    import shutil
    store = RunStore(tmp_path / "runs")
    pairs = registry.run_points(toy, [(toy.make_config(), 0), (toy.make_config("big"), 1)], store)
    before = {r.id: r.to_dict() for r in store.list()}
    copy = tmp_path / "copy"
    shutil.copytree(tmp_path / "runs", copy)
    (copy / "index.db").unlink()
    assert RunStore(copy).reindex() == 2
    after = {r.id: r.to_dict() for r in RunStore(copy).list()}
    drop = lambda d: {k: v for k, v in d.items() if k not in ("dir", "host", "pid")}
    assert {k: drop(v) for k, v in after.items()} == {k: drop(v) for k, v in before.items()}
    assert RunStore(copy).open(pairs[1][0].id).result == pairs[1][1]
    with pytest.raises(StoreError, match="does not exist"):
        RunStore(tmp_path / "nowhere").reindex()


def test_the_report_marks_a_damaged_run(toy, tmp_path) -> None:
    import re
    from algolens.report.build import build_report
    store = RunStore(tmp_path / "runs")
    (run, _), (bad, _) = registry.run_points(toy, [(toy.make_config(), 0),
                                                   (toy.make_config(), 1)], store)
    (bad.dir / "notes.txt").write_text("tampered")
    text = re.sub(r"<[^>]+>", "", build_report(tmp_path / "runs").report.to_html())
    assert "notes.txt changed" in text and "damaged" in text


def test_the_demo_iterates_registered_studies(toy, tmp_path, monkeypatch) -> None:
    from algolens.studies import demo
    res = demo.run(out=tmp_path / "runs", only=("toy_study",),
                   overrides={"toy_study": {"width": 4}}, log=lambda *_: None)
    [part] = res.parts
    assert part.study == "toy_study" and part.runs[0].config.width == 4
    assert part.lines and part.lines[0].startswith("toy_study: ")
    html = res.report_path.read_text()
    assert res.report_path == tmp_path / "runs" / "demo.html"
    assert "a study that exists only in a test" in html
    assert RunStore(tmp_path / "runs").open(part.runs[0].id).result == part.results[0]
    with pytest.raises(ValueError, match="no demo for"):
        demo.run(out=tmp_path / "runs", only=("demo",))

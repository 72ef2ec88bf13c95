"""Studies and CLI commands are found where they live (pkgutil), not from hand-kept lists."""

from __future__ import annotations

import sys
import textwrap

import click
import pytest

import algolens.cli as cli_pkg
import algolens.studies as studies_pkg
from algolens.cli import main, register_commands
from algolens.studies import registry
from algolens.studies.registry import Study


def test_every_current_study_is_found() -> None:
    found = registry.studies()
    assert {"mips", "train", "clock_pizza", "grokking", "demo"} <= set(found)
    assert all(isinstance(s, Study) and s.summary for s in found.values())
    for name in ("mips", "train", "clock_pizza", "grokking"):
        assert callable(found[name].load_run) or found[name].contract, name
    with pytest.raises(ValueError, match="unknown study 'nucular'; did you mean 'nuclear'. "
                                         "known studies: .*clock_pizza"):
        registry.get("nucular")


def test_lazy_submodules_come_from_the_package() -> None:
    assert set(registry.module_names()) >= {"mips", "clock_pizza", "grokking", "demo"}
    assert studies_pkg.clock_pizza.STUDY.name == "clock_pizza"
    with pytest.raises(AttributeError):
        studies_pkg.no_such_study                       # noqa: B018


@pytest.fixture
def fake_modules(tmp_path, monkeypatch):
    """A folder added to both packages' search paths; its modules are forgotten afterwards."""
    monkeypatch.setattr(studies_pkg, "__path__", [*studies_pkg.__path__, str(tmp_path / "s")])
    monkeypatch.setattr(cli_pkg, "__path__", [*cli_pkg.__path__, str(tmp_path / "c")])
    (tmp_path / "s").mkdir()
    (tmp_path / "c").mkdir()
    yield tmp_path
    for name in [m for m in sys.modules if m.endswith(("fake_study", "fake_cmd"))]:
        del sys.modules[name]


def test_a_new_study_is_one_module_in_studies_and_one_in_cli(fake_modules) -> None:
    (fake_modules / "s" / "fake_study.py").write_text(textwrap.dedent('''
        from algolens.studies.registry import Study
        STUDY = Study("fake", "a study nobody listed anywhere")
    '''))
    (fake_modules / "c" / "fake_cmd.py").write_text(textwrap.dedent('''
        import click

        @click.command("fake")
        def fake():
            click.echo("fake study ran")

        def register(group):
            group.add_command(fake)
    '''))
    assert registry.get("fake").summary == "a study nobody listed anywhere"
    group = click.Group("algolens")
    assert "fake_cmd" in register_commands(group)
    assert {"fake", "mips", "clock-pizza", "grokking", "train", "tasks", "demo"} <= set(group.commands)


def test_duplicate_study_names_are_an_error(fake_modules) -> None:
    (fake_modules / "s" / "fake_study.py").write_text(
        "from algolens.studies.registry import Study\nSTUDY = Study('mips', 'again')\n")
    with pytest.raises(ValueError, match="two studies are named 'mips'"):
        registry.studies()


def test_main_has_every_command_module() -> None:
    assert {"mips", "clock-pizza", "grokking", "train", "tasks", "demo"} <= set(main.commands)


def test_one_load_run_for_every_study(tmp_path) -> None:
    """``algolens.studies.load_run`` dispatches on config.json's study and checks checksums."""
    import pytest
    import torch

    from algolens.models.rnn import MIPSRNN
    from algolens.models.transformer import Transformer
    from algolens.studies import load_run
    from algolens.store import RunStore
    from algolens.studies import registry
    from algolens.train.search import search

    r = search("Sum_Last2", out=tmp_path, progress=False)
    net = load_run(r.run_dir)                      # a contract study: Study.load_model
    assert isinstance(net, MIPSRNN) and net.cfg.hidden == r.config.hidden
    cp = registry.get("clock_pizza")
    run = cp.train(cp.make_config(p=5, width=8, heads=2, steps=3), 0,
                   RunStore(tmp_path / "store"), progress=False)
    d = run.dir
    model = load_run(d)
    assert isinstance(model, Transformer)
    torch.testing.assert_close(model.W_E, run.load_weights()["W_E"], rtol=0, atol=0)
    w = d / "weights.safetensors"
    w.write_bytes(w.read_bytes()[:-1] + bytes([w.read_bytes()[-1] ^ 1]))
    with pytest.raises(ValueError, match="weights.safetensors changed or was damaged"):
        load_run(d)
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "config.json").write_text('{"a": 1}')
    with pytest.raises(ValueError, match="does not say which study"):
        load_run(tmp_path / "x")
    (tmp_path / "x" / "config.json").write_text('{"study": "nope"}')
    with pytest.raises(ValueError, match="unknown study 'nope'"):
        load_run(tmp_path / "x")

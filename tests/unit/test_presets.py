"""The modular-addition presets live in each study's ``presets`` (the one preset registry of all
studies) and feed the CLI (``--preset NAME``; explicit options override single values)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from click.testing import CliRunner

from algolens.cli import main
from algolens.studies import registry

CP, GK = registry.get("clock_pizza"), registry.get("grokking")


def test_presets_are_the_settings_they_were() -> None:
    """The values of the old preset table (studies/presets.py), field for field."""
    paper = CP.make_config()                                     # the default preset
    m, t = CP.model_config(paper), paper.train()
    assert (m.p, m.d_model, m.d_mlp, m.n_heads, m.attn_rate) == (59, 128, 512, 4, 1.0)
    assert (t.steps, t.lr, t.weight_decay, t.train_frac, t.checkpoint_every) == \
        (20_000, 1e-3, 2.0, 0.8, 0)
    reduced = CP.presets["reduced-p31-d32"]
    assert (reduced.p, reduced.width, reduced.steps, reduced.lr, reduced.wd) == \
        (31, 32, 4000, 2e-3, 2.0)
    nanda = GK.make_config()
    m = GK.model_config(nanda)
    assert (m.p, m.d_model, m.causal, m.eq_token) == (113, 128, True, True)
    assert (nanda.steps, nanda.wd, nanda.frac, nanda.lr) == (40_000, 1.0, 0.3, 1e-3)
    assert nanda.train().checkpoint_every == 1000                # 0 means every steps // 40
    quick = GK.presets["quick-p31-d32"]
    assert (quick.p, quick.width, quick.steps, quick.lr, quick.wd, quick.frac) == \
        (31, 32, 3000, 5e-3, 1.0, 0.5)
    assert CP.demo_preset == "reduced-p31-d32" and GK.demo_preset == "quick-p31-d32"


def test_unknown_preset_or_setting_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="unknown preset 'nanda-p113' for clock_pizza; choose "
                                         "one of: paper-p59-d128, reduced-p31-d32"):
        CP.make_config("nanda-p113")
    with pytest.raises(ValueError, match="unknown clock_pizza setting.*stepz"):
        CP.make_config(stepz=3)
    with pytest.raises(ValueError, match="odd modulus p >= 5"):
        CP.make_config(p=8)
    with pytest.raises(ValueError, match="multiple of n_heads"):
        replace(GK.make_config(), width=10)


def _config(args: list[str]):
    """The config a training command would run with (its body stops before any work)."""
    from algolens.cli import clock_pizza as cli
    study = {"clock-pizza": CP, "grokking": GK}[args[0]]
    group = {"clock-pizza": cli.clock_pizza, "grokking": cli.grokking}[args[0]]
    ctx = group.commands[args[1]].make_context(args[1], list(args[2:]))
    fields = {k: v for k, v in ctx.params.items() if k in {f for f in study.config.__dataclass_fields__}}
    return cli._config(study, ctx.params["preset"], fields)


def test_cli_preset_feeds_defaults_and_flags_override() -> None:
    assert _config(["clock-pizza", "train"]).p == 59
    got = _config(["clock-pizza", "sweep", "--preset", "reduced-p31-d32"])
    assert (got.p, got.width, got.steps, got.lr) == (31, 32, 4000, 2e-3)
    got = _config(["clock-pizza", "sweep", "--steps", "50", "--preset", "reduced-p31-d32"])
    assert (got.p, got.steps) == (31, 50)                  # an explicit flag wins, in any order
    got = _config(["grokking", "train"])
    assert (got.p, got.frac, got.wd) == (113, 0.3, 1.0)


def test_cli_help_lists_presets_and_rejects_unknown() -> None:
    runner = CliRunner()
    out = runner.invoke(main, ["clock-pizza", "--help"]).output
    assert "paper-p59-d128" in out and "reduced-p31-d32" in out
    assert "nanda-p113" in runner.invoke(main, ["grokking", "--help"]).output
    res = runner.invoke(main, ["clock-pizza", "train", "--preset", "tiny"])
    assert res.exit_code == 2 and "'tiny' is not one of 'paper-p59-d128', 'reduced-p31-d32'" \
        in res.output
    assert "Traceback" not in res.output
    help_text = " ".join(runner.invoke(main, ["grokking", "train", "--help"]).output.split())
    assert "(0: every steps // 40)" in help_text and "[preset default: 0]" in help_text

"""Named presets: one place for the modular-addition settings, feeding the CLI and the API."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from algolens.cli import main
from algolens.studies import presets


def test_presets_build_the_configs() -> None:
    paper = presets.get("paper-p59-d128")
    m, t = paper.model_config(), paper.train_config(steps=123)
    assert (m.p, m.d_model, m.d_mlp, m.n_heads) == (59, 128, 512, 4)
    assert (t.steps, t.weight_decay, t.train_frac) == (123, 2.0, 0.8)
    nanda = presets.get("nanda-p113").model_config()
    assert nanda.p == 113 and nanda.causal and nanda.eq_token
    reduced = presets.get("reduced-p31-d32")
    assert (reduced.p, reduced.width, reduced.steps, reduced.lr) == (31, 32, 4000, 2e-3)


def test_api_defaults_come_from_the_presets() -> None:
    import inspect

    from algolens.studies import clock_pizza, grokking
    assert grokking.NANDA_MODEL == presets.get("nanda-p113").model_config(attn_rate=1.0)
    assert grokking.NANDA_TRAIN == presets.get("nanda-p113").train_config()
    assert inspect.signature(clock_pizza.run).parameters["preset"].default == "paper-p59-d128"
    m, t = clock_pizza._configs("reduced-p31-d32", None, None)
    assert (m.p, m.d_model, t.steps) == (31, 32, 4000)


@pytest.mark.parametrize("name, study, match", [
    ("paper-p95-d128", None, r"unknown preset 'paper-p95-d128'; choose one of: paper-p59-d128, "
                             r"reduced-p31-d32, nanda-p113"),
    ("nanda-p113", "clock_pizza", r"'nanda-p113' is a grokking preset"),
])
def test_unknown_preset_lists_the_valid_ones(name, study, match) -> None:
    with pytest.raises(ValueError, match=match):
        presets.get(name, study)


def _defaults(args: list[str]) -> dict:
    """The option values a command would run with (the command body is not run)."""
    from algolens.cli.clock_pizza import clock_pizza, grokking
    group = {"clock-pizza": clock_pizza, "grokking": grokking}[args[0]]
    cmd = group.commands[args[1]]
    ctx = cmd.make_context(args[1], list(args[2:]))
    return ctx.params


def test_cli_preset_feeds_defaults_and_flags_override() -> None:
    assert _defaults(["clock-pizza", "train"])["p"] == 59
    got = _defaults(["clock-pizza", "sweep", "--preset", "reduced-p31-d32"])
    assert (got["p"], got["width"], got["steps"], got["lr"]) == (31, 32, 4000, 2e-3)
    got = _defaults(["clock-pizza", "sweep", "--steps", "50", "--preset", "reduced-p31-d32"])
    assert (got["p"], got["steps"]) == (31, 50)            # an explicit flag wins, in any order
    got = _defaults(["grokking", "train"])
    assert (got["p"], got["frac"], got["wd"]) == (113, 0.3, 1.0)


def test_cli_help_lists_presets_and_rejects_unknown() -> None:
    runner = CliRunner()
    out = runner.invoke(main, ["clock-pizza", "--help"]).output
    assert "paper-p59-d128" in out and "reduced-p31-d32" in out
    assert "nanda-p113" in runner.invoke(main, ["grokking", "--help"]).output
    res = runner.invoke(main, ["clock-pizza", "train", "--preset", "tiny"])
    assert res.exit_code == 2 and "choose one of: paper-p59-d128, reduced-p31-d32" in res.output
    assert "Traceback" not in res.output

"""``algolens <study> train|analyze`` for every study on the contract, generated from its shape.

Nothing here names a study: each registered ``Study`` with a config dataclass gets a command
group (its name with dashes, ``sparse_parity`` -> ``sparse-parity``) whose ``train`` options are
the config's fields (``param`` docs are the help, the default preset's values the defaults) plus
the options every study shares: ``--preset``, ``--seed``, ``--threads``, ``--json``, ``--out``
(the store root). A study whose own CLI module already registered a group of that name keeps it.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable
from typing import Any

import click

from ..studies import registry
from ..studies.registry import Study
from ..typed import to_json
from .common import (command_line, echo_json, json_option, on_interrupt, open_done,
                     store_at)

OUT_HELP = "The run store (its root folder, holding index.db)."


def register(group: click.Group) -> None:
    for study in registry.contract_studies().values():
        name = study.name.replace("_", "-")
        if name not in group.commands:
            group.add_command(study_group(study), name)


def study_group(study: Study) -> click.Group:
    """The ``train`` and ``analyze`` commands of one study."""
    cli_name = study.name.replace("_", "-")

    @click.group(cli_name, help=_group_help(study, cli_name))
    def grp() -> None:
        pass

    grp.add_command(_train_command(study, cli_name))
    grp.add_command(_analyze_command(study, cli_name))
    return grp


def _group_help(study: Study, cli_name: str) -> str:
    presets = "\n".join(f"  {n}" for n in study.presets) or "  (none)"
    return (f"{study.summary}\n\n\b\nExamples:\n  algolens {cli_name} train --json\n"
            f"  algolens {cli_name} analyze RUN_ID --json\n"
            f"  algolens sweep {study.name} --seeds 0-2\n\n\b\nPresets:\n{presets}")


# --------------------------------------------------------------------------- train
def _train_command(study: Study, cli_name: str) -> click.Command:
    def train(preset: str | None, seed: int, threads: int, out: str, as_json: bool,
              progress: bool, **fields: Any) -> None:
        overrides = {k: study.parse_value(k, v) for k, v in fields.items() if v is not None}
        config = study.make_config(preset, **overrides)     # bad settings fail here, first
        store = store_at(out)
        on_interrupt(f"the run is marked interrupted in {out}; to train it again run: "
                     f"{command_line()}")
        run, _ = registry.run_point(study, config, seed, store, threads=threads,
                                    progress=progress and not as_json, analyze=False)
        row = study.summary_row(run, None)
        if as_json:
            echo_json({"run": run.id, "study": study.name, "seed": seed, "dir": str(run.dir),
                       "status": run.status, "config": to_json(config), "summary": row})
            return
        click.echo(f"{study.name} run {run.id} ({run.status}): {study.summary_line(run, None)}")
        click.echo(f"next: algolens {cli_name} analyze {run.id} --out {out}")

    train.__doc__ = (f"Train one {study.name} model from a preset (and field overrides).\n\n"
                     f"\b\nExample:\n  algolens {cli_name} train --seed 1 --json")
    cmd = click.command("train")(train)
    for f in dataclasses.fields(study.config):            # appended in order
        cmd = field_option(study, f)(cmd)
    for opt in common_options(study):
        cmd = opt(cmd)
    return cmd


def common_options(study: Study) -> list[Callable]:
    """``--preset --seed --threads --out --json --progress``: the same in every study."""
    return [
        click.option("--preset", default=None, type=click.Choice(list(study.presets)) if
                     study.presets else None,
                     help=f"Named settings (default: {study.default_preset or 'the defaults'})."),
        click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0),
                     help="Seed of the run (data, initialisation, order)."),
        click.option("--threads", default=1, show_default=True, type=click.IntRange(min=1),
                     help="Torch threads while training (the caller's count is restored)."),
        click.option("--out", default="runs", show_default=True,
                     type=click.Path(file_okay=False), help=OUT_HELP),
        json_option,
        click.option("--progress/--no-progress", default=True, help="Show a progress bar."),
    ]


def field_option(study: Study, f: dataclasses.Field) -> Callable:
    """The click option of one config field (help from its ``param`` doc, choices, default)."""
    tp = typing.get_type_hints(study.config)[f.name]
    doc = f.metadata.get("doc", "")
    default = getattr(study.make_config(), f.name)
    flag = "--" + f.name.replace("_", "-")
    if tp is bool:
        return click.option(f"{flag}/--no-{f.name.replace('_', '-')}", f.name, default=None,
                            help=f"{doc} [preset default: {default}]")
    choices = f.metadata.get("choices")
    ctype: Any = click.Choice([str(c) for c in choices]) if choices else \
        {int: int, float: float}.get(tp, str)
    shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
    return click.option(flag, f.name, default=None, type=ctype,
                        help=f"{doc} [preset default: {shown}]")


# --------------------------------------------------------------------------- analyze
def analyze_options(force_help: str) -> Callable:
    """RUN, ``--out``, ``--force`` and ``--json``: what every study's ``analyze`` takes."""
    def deco(fn: Callable) -> Callable:
        fn = json_option(fn)
        fn = click.option("--force", is_flag=True, help=force_help)(fn)
        fn = click.option("--out", default="runs", show_default=True,
                          type=click.Path(file_okay=False), help=OUT_HELP)(fn)
        return click.argument("run")(fn)
    return deco


def _analyze_command(study: Study, cli_name: str) -> click.Command:
    @click.command("analyze")
    @analyze_options("Read out a run that did not train anyway (findings then marked so).")
    def analyze(run: str, out: str, force: bool, as_json: bool) -> None:
        opened = open_done(study, run, out)
        result = study.analyze(opened, force=force)
        trained = study.trained(result)
        if as_json:
            echo_json({"run": opened.id, "study": study.name, "trained": trained,
                       **to_json(result)})
            return
        line = study.summary_line(opened, result)
        click.echo(line if trained else f"not trained: {line} (no read-out claimed)")

    analyze.help = (f"Read out a trained {study.name} run (RUN: its id or folder).\n\n\b\n"
                    f"Example:\n  algolens {cli_name} analyze RUN_ID --json")
    return analyze


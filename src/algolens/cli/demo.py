"""``algolens demo``: the quick tour of every registered study, ending in one HTML report."""

from __future__ import annotations

import click

from .common import check_out, echo_json, json_option


def register(group: click.Group) -> None:
    group.add_command(demo)


@click.command()
@click.option("--out", default="runs", show_default=True, type=click.Path(file_okay=False),
              help="The run store (its root folder); the report is OUT/demo.html.")
@click.option("--only", multiple=True, metavar="STUDY",
              help="Only this study's part of the tour (repeatable).")
@click.option("--set", "sets", multiple=True, metavar="STUDY.FIELD=VALUE",
              help="Change one setting of a study's demo runs (e.g. clock_pizza.steps=40).")
@json_option
def demo(out: str, only: tuple[str, ...], sets: tuple[str, ...], as_json: bool) -> None:
    """Every study once: train, read out, verify; one self-contained report.

    \b
    Examples:
      algolens demo                          # a few minutes; then open runs/demo.html
      algolens demo --only sparse_parity     # one study's part
      algolens demo --set clock_pizza.steps=400 --out /tmp/quick
    """
    from ..studies import demo as demo_study

    if not str(out).strip():
        raise ValueError("--out is empty; pass the folder of the run store (e.g. --out runs)")
    overrides = demo_study.parse_overrides(sets)      # bad settings fail before any work
    demo_study.demo_studies(only or None)
    check_out(out)                                    # a bad --out fails now, not after training
    log = (lambda *_: None) if as_json else (lambda s: click.echo(s, err=True))
    res = demo_study.run(out=out, only=only or None, overrides=overrides, log=log)
    if as_json:
        echo_json(res.to_dict())
        return
    for part in res.parts:
        for line in part.lines:
            click.echo(line)
    click.echo(f"report: {res.report_path}  ({res.seconds:.0f} s)")
    click.echo(f"runs:   algolens runs list --out {out}")

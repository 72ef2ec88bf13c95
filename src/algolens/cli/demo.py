"""``algolens demo``: the quick tour, ending in one self-contained HTML report."""

from __future__ import annotations

import click

from .common import echo_json, json_option


def register(group: click.Group) -> None:
    group.add_command(demo)


@click.command()
@click.option("--out", default="runs/demo", show_default=True, type=click.Path(file_okay=False),
              help="Folder for the runs and report.html.")
@click.option("--budget-seconds", default=120.0, show_default=True,
              help="Training budget per MIPS task.")
@click.option("--cp-steps", default=None, type=int,
              help="Training steps of the two Clock/Pizza models (default: the "
                   "reduced-p31-d32 preset's, 4000).")
@json_option
def demo(out: str, budget_seconds: float, cp_steps: int, as_json: bool) -> None:
    """Train, distil and verify a few tasks; tell a Clock from a Pizza; write a report.

    \b
    Example:
      algolens demo --out runs/demo      # then open runs/demo/report.html
    """
    from ..studies import demo as demo_study

    log = (lambda *_: None) if as_json else (lambda s: click.echo(s, err=True))
    res = demo_study.run(out=out, budget_seconds=budget_seconds, cp_steps=cp_steps, log=log)
    if as_json:
        echo_json({"report": str(res.report_path), "mips": res.mips,
                   "clock_pizza": res.clock_pizza, "seconds": round(res.seconds, 1)})
    else:
        solved = sum(r["solved"] for r in res.mips)
        click.echo(f"MIPS: {solved}/{len(res.mips)} tasks solved with verified programs")
        for r in res.clock_pizza:
            m = r["metrics"]
            click.echo(f"Clock/Pizza α={r['summary'].get('attn_rate')}: {r['verdict']} "
                       f"(s_g={m.get('s_g', float('nan')):.3f}, q={m.get('q', float('nan')):.3f}, "
                       f"c={m.get('circularity', float('nan')):.4f})")
        click.echo(f"report: {res.report_path}  ({res.seconds:.0f} s)")

"""``algolens demo``: the quick tour, ending in one self-contained HTML report."""

from __future__ import annotations

import click

from pathlib import Path

from .common import check_out, echo_json, json_option


def register(group: click.Group) -> None:
    group.add_command(demo)


@click.command()
@click.option("--out", default="runs/demo", show_default=True,
              help="Folder for the runs (OUT/runs) and OUT/report.html.")
@click.option("--cp-steps", default=None, type=click.IntRange(min=1),
              help="Training steps of the two Clock/Pizza models (default: the "
                   "reduced-p31-d32 preset's, 4000).")
@json_option
def demo(out: str, cp_steps: int | None, as_json: bool) -> None:
    """Every study once: programs from RNNs, a Clock and a Pizza, a grokking run; a report.

    \b
    Example:
      algolens demo --out runs/demo      # then open runs/demo/report.html
    """
    from ..studies import demo as demo_study

    check_out(out, store_root=Path(out) / "runs")     # a bad --out fails now, not after training
    log = (lambda *_: None) if as_json else (lambda s: click.echo(s, err=True))
    res = demo_study.run(out=out, cp_steps=cp_steps, log=log)
    if as_json:
        echo_json(res.to_dict())
        return
    solved = sum(r.solved for r in res.mips)
    click.echo(f"MIPS: {solved}/{len(res.mips)} tasks solved with verified programs")
    for r in res.clock_pizza:
        s, m = r.summary, r.metrics
        verdict = r.verdict if s.val_acc >= 0.99 else f"not trained (accuracy {s.val_acc:.2f})"
        click.echo(f"Clock/Pizza α={s.attn_rate:g}: {verdict} "
                   f"(s_g={m.get('s_g', float('nan')):.3f}, q={m.get('q', float('nan')):.3f}, "
                   f"c={m.get('circularity', float('nan')):.4f})")
    for r in res.grokking:
        s = r.summary
        if s.val_acc >= 0.99:
            click.echo(f"grokking p={s.p}: val acc {s.val_acc:.3f}, key frequencies "
                       f"{list(r.key_freqs)}, phases {_phases(r.phases)}")
        else:
            click.echo(f"grokking p={s.p}: not trained (accuracy {s.val_acc:.2f})")
    for r in res.nuclear:
        click.echo(f"nuclear ({r.preset}): {r.label}; held-out binding RMS {r.test_rms_keV:.0f} "
                   f"keV (SEMF {r.semf_rms_keV:.0f} keV)")
    for r in res.recursion:
        click.echo(f"recursion {r.task}: {r.status}; exact {r.test_exact:.3f} in distribution"
                   + (f"; failures predicted: recall {r.recall:.3f}, precision {r.precision:.3f} "
                      f"(|F|={r.n_failures}, |P|={r.n_predicted})" if r.trained else ""))
    click.echo(f"report: {res.report_path}  ({res.seconds:.0f} s)")


def _phases(phases: dict) -> str:
    """``memorisation 0-100, circuit formation 100-1600, cleanup 1600-1900`` (steps); the rule
    that defines them is in the report, not on the terminal."""
    spans = [f"{k.replace('_', ' ')} {v[0]}-{v[1]}" for k, v in phases.items()
             if isinstance(v, (tuple, list)) and len(v) == 2]
    return ", ".join(spans) or "none found"

"""Grokking runs: the progress measures over training and the three phases."""

from __future__ import annotations

from ..html import Report
from . import section
from .generic import history_figure, notes, png_figures
from .view import Context, RunView


@section("grokking")
def render(rep: Report, run: RunView, ctx: Context) -> None:
    notes(rep, run)
    m = run.metrics if isinstance(run.metrics, dict) else {}
    summary = m.get("summary", {})
    prog = run.json("progress.json") or {}
    val = summary.get("val_acc")
    rep.add_metrics({"p": summary.get("p"), "d_model": summary.get("d_model"),
                     "steps": summary.get("steps_done"), "train acc": summary.get("train_acc"),
                     "val acc": val, "key frequencies": ", ".join(map(str, prog.get("key_freqs",
                                                                                    [])))})
    if val is not None and val < 0.99:
        rep.add_note(f"**Not trained** (test accuracy {val:.1%}): the network has not grokked, "
                     "so its key frequencies and phases describe memorisation only.")
    phases = prog.get("phases") or {}
    if phases:
        rep.add_table([{"phase": k.replace("_", " "), "steps": "-" if v is None else
                        f"{v[0]}–{v[1]}"} for k, v in phases.items() if k != "rule"],
                      caption=phases.get("rule"), sortable=False)
    figs = png_figures(run.pngs())
    if figs:
        rep.add_figures(figs)
    elif isinstance(m.get("history"), dict) and len(m["history"].get("step", [])) >= 2:
        rep.add_figure(history_figure(m["history"]), caption="training history")
    if prog.get("table"):
        rep.add_table(prog["table"][:60], caption="progress measures per checkpoint")

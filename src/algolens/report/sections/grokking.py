"""Grokking runs: the progress measures over training and the three phases (``Grokking.
report_section`` draws a run's section with ``render``, from its typed result)."""

from __future__ import annotations

from typing import Any

from ...store import METRICS, Run
from ...typed import to_json
from ..html import Report
from .generic import history_figure, png_figures


def render(rep: Report, run: Run, result: Any, study: Any) -> bool:
    """The run's section; False (the generic section instead) when it never finished training."""
    if not (run.dir / METRICS).is_file():
        return False
    cfg, rec = run.config, study.record(run)
    s = rec.summary
    keys = ", ".join(map(str, result.key_freqs)) if result is not None else ""
    rep.add_metrics({"p": cfg.p, "d_model": cfg.width, "steps": s.steps_done,
                     "train acc": s.train_acc, "val acc": s.val_acc, "key frequencies": keys})
    if result is None:
        rep.add_note(f"Not analysed yet: `algolens grokking analyze {run.id}` reads the "
                     "progress measures from its checkpoints.")
    elif not study.trained(result):
        rep.add_note(f"**Not trained** (test accuracy {s.val_acc:.1%}): the network has not "
                     "grokked, so no key frequencies or phases are read from it.")
    if result is not None and result.phases is not None:
        ph = result.phases
        spans = {n: getattr(ph, n) for n in ("memorisation", "circuit_formation", "cleanup")}
        rep.add_table([{"phase": n.replace("_", " "), "steps": "-" if v is None else
                        f"{v[0]}–{v[1]}"} for n, v in spans.items()],
                      caption=ph.rule, sortable=False)
    if result is not None and (run.dir / "progress.png").is_file():
        rep.add_figures(png_figures([run.artefact("progress.png")]))
    elif len(rec.history.step) >= 2:
        rep.add_figure(history_figure(to_json(rec.history)), caption="training history")
    if result is not None and result.table:
        rep.add_table(to_json(result.table[:60]), caption="progress measures per checkpoint")
    return True


"""Clock/Pizza runs: the verdict with the evidence for it, side by side (``ClockPizza.
report_section`` draws a run's section with ``render``, from its typed result).

The correct-logit table in (a+b, a−b) coordinates (Pizza: stripes along a−b; Clock: none), the
per-triple gradient similarities (s_g) and the embedding circles, as ``algolens clock-pizza
analyze`` saved them in the run (checksums verified). A run below the study's ``trained`` rule
is marked "not trained" and its verdict withheld: the paper discards such runs.
"""

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
    cfg, s = run.config, study.record(run).summary
    rep.add_metrics({"α (attention rate)": cfg.attn_rate, "p": cfg.p, "d_model": cfg.width,
                     "steps": s.steps_done, "val acc": s.val_acc,
                     "verdict": _verdict(result, study),
                     **({"s_g": result.s_g, "q": result.q, "circularity": result.circularity}
                        if result is not None else {})})
    if result is None:
        rep.add_note(f"Not analysed yet: `algolens clock-pizza analyze {run.id}` measures the run.")
    elif result.verdict == "diverged":
        rep.add_note(f"**Diverged**: {result.reason}. No verdict is given.")
    elif not study.trained(result):
        rep.add_note(f"**Not trained** (validation accuracy {s.val_acc:.1%}): the paper discards "
                     "such runs, so no verdict is given.")
    rep.add_text("Pizza: the correct logit depends on a+b and on |a−b| (stripes along a−b), "
                 "s_g ≈ 1, q < 0.6. Clock: the correct logit depends on a+b only, s_g < 0.98.")
    _evidence(rep, run, result)
    if result is not None and result.circles:
        rep.add_table(to_json(result.circles), caption="circle isolation: each PC pair of W_E "
                      "alone")
    hist = to_json(study.record(run).history)
    if len(hist["step"]) >= 2:
        rep.add_figure(history_figure(hist), caption="training history")
    return True


def _verdict(result: Any, study: Any) -> str:
    if result is None:
        return "not analysed"
    if result.verdict == "diverged" or study.trained(result):
        return result.verdict
    return "withheld (not trained)"


def _evidence(rep: Report, run: Run, result: Any) -> None:
    from ...studies.clock_pizza import EVIDENCE
    names = [n for n in EVIDENCE if result is not None and n in result.plots]
    if names:
        rep.add_figures(png_figures([run.artefact(n) for n in names]))
    elif result is not None and result.s_g is not None:
        rep.add_text("No evidence plots saved; run `algolens clock-pizza analyze "
                     f"{run.id}` again to draw them.")


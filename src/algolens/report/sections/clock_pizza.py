"""Clock/Pizza runs: the verdict with the evidence for it, side by side.

The correct-logit table in (a+b, a−b) coordinates (Pizza: stripes along a−b; Clock: none), the
per-triple gradient similarities (s_g) and the embedding circles. Taken from the PNGs
``algolens clock-pizza analyze`` wrote, else computed from the weights for this report (the run
folder is not touched). A run that did not reach 100% validation accuracy is marked "not
trained" and its verdict withheld: the paper discards such runs.
"""

from __future__ import annotations

from ..html import Report
from . import section
from .generic import history_figure, notes, png_figures
from .view import Context, RunView

EVIDENCE = ("logit_table.png", "gradient_symmetricity.png", "embedding_circles.png")
TRAINED = 0.99          # below this validation accuracy a verdict means nothing


@section("clock_pizza")
def render(rep: Report, run: RunView, ctx: Context) -> None:
    notes(rep, run)
    m = run.metrics if isinstance(run.metrics, dict) else {}
    summary = m.get("summary", {})
    analysis = run.json("analysis.json") or m.get("analysis", {})
    val = summary.get("val_acc")
    trained = val is not None and val >= TRAINED
    verdict = analysis.get("verdict", "unknown") if trained else "withheld (not trained)"
    rep.add_metrics({"α (attention rate)": summary.get("attn_rate"), "p": summary.get("p"),
                     "d_model": summary.get("d_model"), "steps": summary.get("steps_done"),
                     "val acc": val, "verdict": verdict, "s_g": analysis.get("s_g"),
                     "q": analysis.get("q"), "circularity": analysis.get("circularity")})
    if not trained:
        rep.add_note(f"**Not trained** (validation accuracy {val if val is None else f'{val:.1%}'}"
                     "): the paper discards such runs, so no verdict is given; the plots show "
                     "what the network did learn.")
    rep.add_text("Pizza: the correct logit depends on a+b and on |a−b| (stripes along a−b), "
                 "s_g ≈ 1, q < 0.6. Clock: the correct logit depends on a+b only, s_g < 0.98.")
    _evidence(rep, run, ctx)
    if analysis.get("circles"):
        rep.add_table(analysis["circles"], caption="circle isolation: each PC pair of W_E alone")
    if isinstance(m.get("history"), dict) and len(m["history"].get("step", [])) >= 2:
        rep.add_figure(history_figure(m["history"]), caption="training history")
    rest = png_figures([p for p in run.pngs() if p.name not in EVIDENCE])
    if rest:
        rep.add_figures(rest)


def _evidence(rep: Report, run: RunView, ctx: Context) -> None:
    saved = [run.dir / n for n in EVIDENCE]
    if all(p.is_file() for p in saved):
        rep.add_figures(png_figures(saved))
        return
    if not ctx.recompute:
        rep.add_text("No evidence plots saved; run `algolens clock-pizza analyze RUN` or build "
                     "this report for the run alone.")
        return
    rep.add_figures(evidence_figures(run))


def evidence_figures(run: RunView) -> list:
    """The three figures computed from the run's (checksum-checked) weights."""
    from ...analysis.transformer import ClockPizzaClassifier
    from ...analysis.transformer import plots as P
    from ...train.modular import load_run

    model = load_run(run.dir).eval()
    clf = ClockPizzaClassifier().fit(model)
    W_E = model.W_E.detach().double().cpu().numpy()[: model.cfg.p]
    return [(P.plot_logit_table(clf.logit_table_, title=f"correct logit ({clf.verdict_})"),
             "correct logit by (a+b, a−b), computed from the weights"),
            (P.plot_gradient_symmetricity(clf.per_triple_),
             f"gradient symmetricity per triple (s_g = {clf.metrics_['s_g']:.3f})"),
            (P.plot_embedding_circles(W_E), "embedding circles (PCs of W_E)")]

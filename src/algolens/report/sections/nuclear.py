"""Nuclear runs: accuracy beside the SEMF, then the physics read out of the model.

Key metrics (held-out binding RMS beside the plain SEMF and the run's own baseline), the embedding
PCA plots (parity direction, helix), the penultimate-layer PC heat maps with the PC-truncation
curve, the physics-match table beside its random-function null, and the symbolic PC formulas —
all read from what ``algolens nuclear train`` / ``analyze`` saved (``metrics.json``,
``analysis.json``, PNGs). A model that does not beat half the SEMF error is marked "not trained":
its readouts describe an untrained network.
"""

from __future__ import annotations

from ..html import Report
from . import section
from .generic import notes, png_figures
from .view import Context, RunView

ORDER = ("embedding_Z.png", "embedding_N.png", "penultimate_pca.png", "physics_match.png",
         "physics_match_per_nucleon.png", "latent_topography_N.png")


@section("nuclear")
def render(rep: Report, run: RunView, ctx: Context) -> None:
    notes(rep, run)
    m = run.metrics if isinstance(run.metrics, dict) else {}
    train = run.config.get("train", {}) if isinstance(run.config, dict) else {}
    rms, semf = m.get("test_rms_keV"), m.get("test_semf_fit_rms_keV")
    trained = rms is not None and semf is not None and rms < 0.5 * semf
    a = run.json("analysis.json") or {}
    rep.add_metrics({
        "held-out binding RMS (keV)": rms,
        "SEMF (keV)": semf,
        "baseline alone (keV)": m.get("test_semf_rms_keV"),
        "train RMS (keV)": m.get("train_rms_keV"),
        "baseline": train.get("baseline"),
        "physics inputs": train.get("physics_inputs"),
        "per nucleon": train.get("per_nucleon", False),
        "steps": train.get("steps"),
        "parity Z": a.get("embedding_Z", {}).get("parity_accuracy"),
        "parity N": a.get("embedding_N", {}).get("parity_accuracy"),
    })
    if not trained:
        rep.add_note("**Not trained**: held-out RMS is not below half the SEMF error; the readouts "
                     "below describe an untrained network.")
    if not a:
        rep.add_text("No analysis saved; run `algolens nuclear analyze RUN`.")
    _embedding_table(rep, a)
    for key, cap in (("physics_match", "physics terms vs penultimate PCs (probe R² from the top "
                      "PCs, 5-fold CV) beside the null of random smooth functions of (Z, N)"),
                     ("physics_match_per_nucleon", "the same for the SEMF terms divided by A "
                      "(what a B/A readout carries)")):
        if a.get(key):
            rows = [{k: r[k] for k in ("term", "best_pc", "best_abs_r", "probe_r2", "null_r2_q95",
                                        "above_null")} for r in a[key]["terms"]]
            rep.add_table(rows, caption=cap)
    pen = a.get("penultimate", {})
    if pen.get("truncation_rms_keV"):
        rows = [{"k PCs kept": k, "held-out RMS (keV)": v}
                for k, v in enumerate(pen["truncation_rms_keV"][:9])]
        rep.add_table(rows, caption="PC-truncation curve (faithfulness)")
    sym = a.get("symbolic", {})
    if sym.get("formulas"):
        rep.add_table([{"PC": i, "R²": r2, "formula": f}
                       for i, (f, r2) in enumerate(zip(sym["formulas"], sym["r2"]))],
                      caption="symbolic regression of the leading penultimate PCs")
    figs = [run.dir / n for n in ORDER if (run.dir / n).is_file()]
    if figs:
        rep.add_figures(png_figures(figs))


def _embedding_table(rep: Report, a: dict) -> None:
    rows = []
    for k in ("Z", "N"):
        e = a.get(f"embedding_{k}")
        if e:
            rows.append({"table": k, "parity PC": e.get("parity_pc"),
                         "parity accuracy": e.get("parity_accuracy"),
                         "helix period": e.get("helix_period"),
                         "helix share of variance": e.get("helix_fraction")})
    if rows:
        rep.add_table(rows, caption="embedding PCA: parity (best one-PC threshold) and helix")

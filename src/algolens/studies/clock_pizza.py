"""Clock vs Pizza (Zhong et al. 2023): train a 1-layer modular-addition transformer, then tell
which algorithm it learned from gradient symmetricity, distance irrelevance and circularity.

The study reads like the paper's method: train (full batch AdamW, 20k steps, α-mixed attention;
several α and seeds as one batched ensemble) → keep runs at 99% validation accuracy or more (the
study's one ``trained`` rule) → measure s_g, q, c → classify, isolate the embedding circles and
draw the evidence. A phase diagram is the shared sweep over α (``algolens sweep clock_pizza
--grid attn_rate=0,0.5,1 --seeds 0-9``, or ``algolens clock-pizza sweep``); its Fig. 7 table
(``phase_table``) is a view of the store's runs, not a file of its own.

Shortened training biases verdicts toward Pizza (Clock runs look Pizza-like early), so a run
with a half-way checkpoint also classifies that checkpoint: ``settled`` is True when the two
verdicts agree. Report unsettled runs separately rather than trusting their label.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from ..analysis.transformer.clock_pizza import CIRCULAR, Q_PIZZA, SG_SYMMETRIC, CircleResult
from ..models.transformer import Transformer
from ..store import Run
from ..train.modular import list_checkpoints, load_model
from ._modular import ModularConfig, ModularStudy, TRAINED_ACC
from .registry import param

NOT_TRAINED = "not trained"
DIVERGED = "diverged"
EVIDENCE = ("logit_table.png", "gradient_symmetricity.png", "embedding_circles.png")
ALPHA_BINS = [(0.0, 0.1), (0.1, 0.2), (0.2, 0.3), (0.3, 0.4), (0.4, 0.5), (0.5, 0.6),
              (0.6, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 1.0001)]


@dataclass(frozen=True)
class ClockPizzaConfig(ModularConfig):
    """A Clock/Pizza run: the network reads [a, b] (no "=" token, bidirectional attention)."""

    attn_rate: float = param(1.0, "attention rate α: 1 standard attention (Clock), 0 constant "
                             "attention (Pizza)")

    def __post_init__(self) -> None:
        # distance irrelevance pairs a+b with a-b and circularity reads 4 embedding PCs
        if self.p < 5 or self.p % 2 == 0:
            raise ValueError(f"Clock/Pizza needs an odd modulus p >= 5 (the analysis pairs a+b "
                             f"with a-b and reads 4 embedding PCs), got p={self.p}; pass e.g. "
                             "--p 7, 31 or 59")
        super().__post_init__()


@dataclass
class ClockPizzaResult:
    """One read-out run. Below the trained rule (or after divergence) ``verdict`` says so and
    the measurements are withheld (``None``), unless the analysis was forced."""

    attn_rate: float
    p: int
    d_model: int
    steps_done: int
    val_acc: float
    train_acc: float
    verdict: str                # Pizza | Clock | non-circular | hybrid | not trained | diverged
    raw_verdict: str | None = None        # what the measurements say (also when forced)
    s_g: float | None = None
    q: float | None = None
    q_max_incorrect: float | None = None
    circularity: float | None = None
    circularity_per_pc: list[float] = field(default_factory=list)
    frequencies: list[int] = field(default_factory=list)
    accuracy: float | None = None
    notes: list[str] = field(default_factory=list)
    circles: list[CircleResult] = field(default_factory=list)
    accuracy_by_pcs: dict[str, float] = field(default_factory=dict)
    verdict_halfway: str | None = None    # the half-way checkpoint's verdict, if there is one
    settled: bool | None = None           # half-way and final verdicts agree
    plots: list[str] = field(default_factory=list)
    report: str = ""                      # the metrics beside the paper's models, as text
    reason: str = ""                      # why nothing was read out
    save_error: str = ""                  # why the result could not be written (kept here)


class ClockPizza(ModularStudy):
    name = "clock_pizza"
    summary = "Clock vs Pizza: which algorithm a modular-addition transformer learns (Zhong et al. 2023)"
    config, result = ClockPizzaConfig, ClockPizzaResult
    presets = {
        "paper-p59-d128": ClockPizzaConfig(),                                  # the paper's
        "reduced-p31-d32": ClockPizzaConfig(p=31, width=32, steps=4000, lr=2e-3),  # the demo's
    }
    default_preset, demo_preset, demo_order = "paper-p59-d128", "reduced-p31-d32", 20

    # ------------------------------------------------------------------ read-out
    def analyze(self, run: Run, *, force: bool = False) -> ClockPizzaResult:
        """Measure the run (final weights, and its half-way checkpoint when it has one), isolate
        its circles, save the evidence plots, ``analysis.txt`` and ``result.json`` in the run."""
        rec, cfg = self.record(run), run.config
        s = rec.summary
        res = ClockPizzaResult(cfg.attn_rate, cfg.p, cfg.width, s.steps_done, s.val_acc,
                               s.train_acc, NOT_TRAINED)
        if s.status != "ok":
            res.verdict, res.reason = DIVERGED, s.reason
        elif not self.trained(res) and not force:
            res.reason = (f"the model has not learned modular addition (validation accuracy "
                          f"below {TRAINED_ACC}), so no algorithm is read from it; train longer, "
                          "or --force to measure it anyway")
        else:
            model = self.load_model(run)
            res, clf = _measured(res, model, self.trained(res))
            res = _with_halfway(res, run, self.model_config(cfg))
            return _save(run, res, lambda: _evidence(model, clf))
        return _save(run, res, dict)

    def verdict_text(self, result: ClockPizzaResult) -> str:
        """The verdict, or why there is none (a model that never learned has no algorithm)."""
        if result.verdict == DIVERGED:
            return f"diverged: {result.reason}"
        return result.verdict if self.trained(result) else \
            f"not trained (accuracy {result.val_acc:.2f})"

    # ------------------------------------------------------------------ people
    def summary_row(self, run: Run, result: ClockPizzaResult | None) -> dict[str, Any]:
        cfg = run.config
        row: dict[str, Any] = {"run": run.id, "seed": run.seed, "attn_rate": cfg.attn_rate,
                               "p": cfg.p, "width": cfg.width}
        if result is None:
            s = self.record(run).summary if run.status in ("done", "failed") else None
            return {**row, "val_acc": s.val_acc if s else None}
        return {**row, "val_acc": result.val_acc, "trained": self.trained(result),
                "verdict": self.verdict_text(result), "s_g": result.s_g, "q": result.q,
                "circularity": result.circularity, "settled": result.settled}

    def summary_line(self, run: Run, result: ClockPizzaResult | None) -> str:
        cfg = run.config
        head = f"α={cfg.attn_rate:.2f} seed={run.seed}"
        if result is None:
            s = self.record(run).summary
            return f"{head} val_acc={s.val_acc:.4f} steps={s.steps_done} ({run.status})"
        line = (f"{head} val_acc={result.val_acc:.4f} steps={result.steps_done} -> "
                f"{self.verdict_text(result)}")
        if result.s_g is not None:
            line += f" (s_g={result.s_g:.4f} q={result.q:.4f} circularity={result.circularity:.4f})"
        return line

    def report_section(self, rep: Any, run: Run, result: ClockPizzaResult | None) -> bool:
        from ..report.sections.clock_pizza import render
        render(rep, run, result, self)
        return True

    # ------------------------------------------------------------------ the demo
    def demo_points(self) -> list[tuple[ClockPizzaConfig, int]]:
        """A Pizza (α = 0) and a Clock (α = 1) in the reduced setting, trained together."""
        base = self.presets[self.demo_preset]
        return [(replace(base, attn_rate=0.0), 0), (replace(base, attn_rate=1.0), 0)]

    def demo_lines(self, pairs: list[tuple[Run, ClockPizzaResult | None]]) -> list[str]:
        lines = []
        for _, r in pairs:
            if r is None:
                continue
            line = f"Clock/Pizza α={r.attn_rate:g}: {self.verdict_text(r)}"
            if r.s_g is not None:
                line += f" (s_g={r.s_g:.3f}, q={r.q:.3f}, c={r.circularity:.4f})"
            lines.append(line)
        return lines

    def demo_section(self, rep: Any, pairs: list[tuple[Run, ClockPizzaResult | None]]) -> None:
        rep.add_heading("Clock vs Pizza")
        rep.add_text(
            "Two modular-addition transformers, one with standard attention (α = 1) and one with "
            "constant attention (α = 0), in a reduced setting (p = 31, d = 32). Gradient "
            "symmetricity s_g, distance irrelevance q and circularity c decide the verdict (Pizza: "
            "q < 0.6; Clock: s_g < 0.98, q ≥ 0.6; non-circular if c < 0.995); 'leaning' is what "
            "s_g and q alone say. A model below 99% validation accuracy gets no verdict.")
        rep.add_table([self._demo_row(r) for _, r in pairs if r is not None])

    def _demo_row(self, r: ClockPizzaResult) -> dict[str, Any]:
        trained = self.trained(r)
        return {"α": r.attn_rate, "val acc": r.val_acc, "verdict": self.verdict_text(r),
                "leaning": leaning(r.s_g, r.q) if trained else "-", "s_g": r.s_g, "q": r.q,
                "circularity": r.circularity}


STUDY = ClockPizza()


# ---------------------------------------------------------------------- measuring one model
def measure(model: Transformer) -> tuple[dict[str, Any], Any]:
    """s_g, q (both definitions), circularity, accuracy, verdict and notes of one model, and
    the fitted ``ClockPizzaClassifier`` (its logit table and per-triple values, for plots)."""
    from ..analysis.transformer import ClockPizzaClassifier
    clf = ClockPizzaClassifier().fit(model.eval())
    return {**clf.metrics_, "verdict": clf.verdict_, "notes": clf.notes_}, clf


def _measured(res: ClockPizzaResult, model: Transformer, trained: bool
              ) -> tuple[ClockPizzaResult, Any]:
    from ..analysis.transformer import CircleIsolation
    m, clf = measure(model)
    iso = CircleIsolation().fit(model)
    out = replace(res, verdict=m["verdict"] if trained else NOT_TRAINED, raw_verdict=m["verdict"],
                  s_g=m["s_g"], q=m["q"], q_max_incorrect=m["q_max_incorrect"],
                  circularity=m["circularity"], circularity_per_pc=m["circularity_per_pc"],
                  frequencies=m["frequencies"], accuracy=m["accuracy"], notes=m["notes"],
                  circles=list(iso.circles_), accuracy_by_pcs=iso.accuracy_by_pcs_)
    return replace(out, report=clf.summary() + "\n" + format_circles(out)), clf


def _with_halfway(res: ClockPizzaResult, run: Run, mcfg) -> ClockPizzaResult:
    """The verdict of the last checkpoint at or before half the run, when there is one."""
    early = [name for step, name in list_checkpoints(run) if step <= res.steps_done // 2]
    if not early:
        return res
    half = measure(load_model(mcfg, run, early[-1]))[0]["verdict"]
    return replace(res, verdict_halfway=half, settled=half == res.raw_verdict)


def leaning(s_g: float | None, q: float | None) -> str:
    """What gradient symmetricity and distance irrelevance alone say (no circularity cut)."""
    if s_g is None or q is None:
        return "-"
    if q < Q_PIZZA and s_g >= SG_SYMMETRIC:
        return "Pizza-like"
    if q >= Q_PIZZA and s_g < SG_SYMMETRIC:
        return "Clock-like"
    return "mixed"


# Model A's circle-isolation values in the spec (released checkpoint, recomputed independently)
MODEL_A_CIRCLES = {"fve_clock": 0.754, "fve_pizza": 0.992, "fve_accompanying": "0.972-0.977",
                   "acc_pcs": {"1-4": 0.914, "1-6": 0.997, "7-12": 0.167}}


def format_circles(res: ClockPizzaResult) -> str:
    """A table of the isolated circles beside the spec's Model A (Pizza) values."""
    rows = ["circle isolation (one PC pair kept):",
            f"{'pair':<8}{'δ':>4}{'k':>4}{'clean':>7}{'acc':>7}{'FVE clock':>11}{'FVE pizza':>11}"
            f"{'FVE accomp.':>13}"]
    for c in res.circles:
        rows.append(f"{c.label:<8}{c.delta:>4}{c.frequency:>4}{c.delta_agreement:>7.2f}"
                    f"{c.accuracy:>7.3f}{c.fve_clock:>11.3f}{c.fve_pizza:>11.3f}"
                    f"{c.fve_accompanying:>13.3f}")
    a = MODEL_A_CIRCLES
    rows.append(f"{'Model A':<8}{'':>4}{'':>4}{'':>7}{'':>7}{a['fve_clock']:>11.3f}"
                f"{a['fve_pizza']:>11.3f}{a['fve_accompanying']:>13}")
    acc = ", ".join(f"PCs {k}: {v:.3f}" for k, v in res.accuracy_by_pcs.items())
    ref = ", ".join(f"{k}: {v:.3f}" for k, v in a["acc_pcs"].items())
    rows.append(f"accuracy keeping {acc} (Model A: {ref}; Model B: PCs 1-4 -> 1.000)")
    rows.append("FVE = 2·corr − 1 of z-scored logits (−1: unrelated). FVE accomp. is near 1 only "
                "for an accompanying circle (Model A's value is for those).")
    return "\n".join(rows)


def _evidence(model: Transformer, clf) -> dict[str, Any]:
    """Embedding circles, correct-logit table and gradient similarities as figures."""
    from ..analysis.transformer import plots as P
    W_E = model.W_E.detach().double().cpu().numpy()[: model.cfg.p]
    return {"embedding_circles.png": P.plot_embedding_circles(W_E),
            "logit_table.png": P.plot_logit_table(clf.logit_table_,
                                                  title=f"correct logit ({clf.verdict_})"),
            "gradient_symmetricity.png": P.plot_gradient_symmetricity(clf.per_triple_)}


def _save(run: Run, res: ClockPizzaResult, figures) -> ClockPizzaResult:
    """Plots, analysis.txt and result.json through the run (all in its manifest). A folder
    that cannot be written must not cost the numbers: the error is kept in ``save_error``."""
    try:
        figs = figures()
        for name, fig in figs.items():
            run.save_figure(name, fig)
        res = replace(res, plots=sorted(figs))
        if res.report:
            run.write_text("analysis.txt", res.report + "\n")
        run.save_result(res)
    except OSError as e:
        res = replace(res, save_error=f"cannot write {e.filename or run.dir} "
                                      f"({e.strerror or e})")
    return res


# ---------------------------------------------------------------------- the phase diagram
def phase_table(rows: list[dict], bins=ALPHA_BINS) -> list[dict]:
    """Fig. 7 fractions per α bin over runs that count (100% val accuracy and circular), from
    sweep rows (``summary_row``s). Columns: n_runs, n_counted, frac_sg (s_g > 0.98), frac_q
    (q < 0.6), n_unsettled."""
    table = []
    for lo, hi in bins:
        rs = [r for r in rows if lo - 1e-6 <= r.get("attn_rate", -1) < hi - 1e-6]
        ok = _counted(rs)
        table.append({"alpha": f"{lo:.1f}-{min(hi, 1.0):.1f}", "n_runs": len(rs),
                      "n_counted": len(ok), "frac_sg": _frac([r["s_g"] > SG_SYMMETRIC for r in ok]),
                      "frac_q": _frac([r["q"] < Q_PIZZA for r in ok]),
                      "n_unsettled": sum(1 for r in ok if r.get("settled") is False)})
    return table


def transition_alpha(rows: list[dict], circular_only: bool = True) -> dict:
    """Logistic-regression boundary of P(s_g > 0.98) and of P(q < 0.6) against α, over runs at
    100% validation accuracy (and circular ones only, as the paper does, unless
    ``circular_only`` is False): the α where each probability crosses one half."""
    from ..analysis.transformer.plots import logistic_boundary

    ok = _counted(rows, circular_only)
    out: dict[str, Any] = {"n_runs": len(ok)}
    for name, flag in (("s_g", lambda r: r["s_g"] > SG_SYMMETRIC), ("q", lambda r: r["q"] < Q_PIZZA)):
        labels = [int(flag(r)) for r in ok]
        out[f"alpha_transition_{name}"] = None if len(set(labels)) < 2 else \
            logistic_boundary([r["attn_rate"] for r in ok], labels)[2]
    return out


def _counted(rows: list[dict], circular_only: bool = True) -> list[dict]:
    """Measured runs at 100% validation accuracy (and circular, as the paper counts them)."""
    return [r for r in rows if r.get("val_acc") == 1.0 and r.get("s_g") is not None
            and (not circular_only or (r.get("circularity") or 0) >= CIRCULAR)]


def _frac(flags: list[bool]) -> float:
    return sum(flags) / len(flags) if flags else float("nan")


def format_phase_table(table: list[dict]) -> str:
    lines = [f"{'alpha':<9}{'runs':>6}{'counted':>9}{'frac s_g>0.98':>15}{'frac q<0.6':>12}"
             f"{'unsettled':>11}"]
    for t in table:
        lines.append(f"{t['alpha']:<9}{t['n_runs']:>6}{t['n_counted']:>9}{t['frac_sg']:>15.2f}"
                     f"{t['frac_q']:>12.2f}{t['n_unsettled']:>11}")
    return "\n".join(lines)


def phase_figures(rows: list[dict]) -> dict[str, Any]:
    """The phase diagram as figures: q and s_g against α for one width, α × width for several
    (empty without measured runs)."""
    from ..analysis.transformer.plots import plot_phase_diagram
    runs = [dict(r, alpha=r["attn_rate"]) for r in rows if r.get("s_g") is not None]
    if not runs:
        return {}
    if len({r["width"] for r in runs}) == 1:
        return {y: plot_phase_diagram(runs, y=y) for y in ("q", "s_g")}
    return {"width": plot_phase_diagram(runs, y="width")}

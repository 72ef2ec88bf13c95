"""The quick tour: every study once, on a setting that runs in minutes on a 2-core laptop, in
one self-contained HTML report.

- MIPS: a few tasks, each trained (smallest RNN), distilled into a program, verified;
- Clock vs Pizza: an α = 0 and an α = 1 transformer in the reduced setting, classified;
- grokking: one small run, its Fourier key frequencies and three phases;
- nuclear physics: a model of the AME2020 mass table beside the semi-empirical mass formula,
  with its embeddings and penultimate features read out against the physics;
- structural recursion: a binary-successor transformer, the shortcut it took read out as a
  program, and its failures on long carry chains predicted from that program;

Every number comes from this run: programs are verified by running them, verdicts are computed
from the trained weights, and a network that did not learn is labelled so, not interpreted.
All runs go into the run store ``<out>/runs``; the report is ``algolens report`` of that store
with a summary of the tour on top. Results are typed (``MIPSResult``, ``ClockPizzaResult``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..store import jsonable
from .registry import Study

STUDY = Study("demo", "The quick tour: every study once, in one HTML report")
DEMO_TASKS = ("Parity_Last3", "Sum_Last3", "Add_Mod_3", "Binary_Addition", "Newton_Gravity")


@dataclass
class DemoResult:
    """What the tour produced, one typed result per run of each study."""

    report_path: Path
    mips: list[Any] = field(default_factory=list)           # MIPSResult
    clock_pizza: list[Any] = field(default_factory=list)    # ClockPizzaResult
    grokking: list[Any] = field(default_factory=list)       # GrokkingResult
    nuclear: list[Any] = field(default_factory=list)        # NuclearDemoResult
    recursion: list[Any] = field(default_factory=list)      # RecursionDemoResult
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {"report": str(self.report_path), "mips": [r.to_dict() for r in self.mips],
                "clock_pizza": [r.to_dict() for r in self.clock_pizza],
                "grokking": [r.to_dict() for r in self.grokking],
                "nuclear": [jsonable(r) for r in self.nuclear],
                "recursion": [r.to_dict() for r in self.recursion],
                "seconds": round(self.seconds, 1)}


def _mips_part(tasks: tuple[str, ...], runs: Path, log) -> list:
    from . import mips

    results = []
    for name in tasks:
        log(f"[mips] {name}: training the smallest RNN, then distilling it ...")
        res = mips.run(name, out=runs, progress=False)
        v = res.verification
        log(f"[mips] {name}: solved={res.solved} form={res.form} "
            f"acc={v.accuracy if v else None} acc_2x={v.accuracy_2x if v else None}")
        results.append(res)
    return results


def _clock_pizza_part(runs: Path, steps: int | None, log) -> list:
    from . import clock_pizza, presets

    # The reduced setting of our 110-run phase diagram (p = 31, d = 32, 4000 steps, lr 2e-3):
    # both models train in under a minute and, for seed 0, end circular (Pizza and Clock).
    pre = presets.get(presets.DEMO_CLOCK_PIZZA)
    steps = pre.steps if steps is None else steps
    model, train = pre.model_config(), pre.train_config(steps=steps)
    log(f"[clock-pizza] training α=0 and α=1 together ({pre.name}, {steps} steps) ...")
    return clock_pizza.run_batch([0.0, 1.0], [0], model, train, runs / "clock_pizza",
                                 progress=False)


def _grokking_part(runs: Path, log) -> list:
    from . import grokking, presets

    pre = presets.get(presets.DEMO_GROKKING)
    log(f"[grokking] training one model ({pre.name}: {pre.describe()}) ...")
    return [grokking.run(model=pre.model_config(), train=pre.train_config(),
                         out_root=runs / "grokking", progress=False)]


def run(out: str | Path = "runs/demo", cp_steps: int | None = None,
        tasks: tuple[str, ...] | None = None, grokking: bool = True, nuclear: bool = True,
        recursion: bool = True,
        log=print) -> DemoResult:
    """Run the tour and write ``out/report.html`` (``tasks`` defaults to ``DEMO_TASKS``)."""
    from ..report.build import build_report
    from ..store import RunStore

    out, t0 = Path(out), time.monotonic()
    runs = out / "runs"
    RunStore(runs).check_writable()            # a bad --out fails now, not after training
    tasks = DEMO_TASKS if tasks is None else tuple(tasks)
    res = DemoResult(out / "report.html")
    res.mips = _mips_part(tasks, runs, log)
    res.clock_pizza = _clock_pizza_part(runs, cp_steps, log)
    res.grokking = _grokking_part(runs, log) if grokking else []
    if nuclear:
        from .nuclear import demo as nuclear_demo
        res.nuclear = nuclear_demo(runs, log)
    if recursion:
        from .recursion import demo as recursion_demo
        res.recursion = recursion_demo(runs, log)
    res.seconds = time.monotonic() - t0
    built = build_report(runs, recompute=True, title="algolens demo",
                         preface=lambda rep: _summary(rep, res))
    built.report.save(res.report_path)
    log(f"report written to {res.report_path}")
    return res


def _summary(rep, res: DemoResult) -> None:
    """The tour's headline tables, above the run store's index and each run's evidence."""
    rep.add_text("Small networks, opened up — every claim checked in this run "
                 f"({res.seconds:.0f} s).")
    rep.add_heading("RNN → program (MIPS)")
    rep.add_text(
        "For each task the architecture search trains the smallest RNN that is 100% correct, the "
        "distiller reads the network (never the labels) into a state machine and formulas, and "
        "the emitted standalone program is verified on 10,000 fresh sequences and on 2,000 "
        "sequences of twice the training length.")
    rep.add_table([_mips_row(r) for r in res.mips],
                  caption="Verification is exact match at every position.")
    rep.add_heading("Clock vs Pizza")
    rep.add_text(
        "Two modular-addition transformers, one with standard attention (α = 1) and one with "
        "constant attention (α = 0), in a reduced setting (p = 31, d = 32). Gradient "
        "symmetricity s_g, distance irrelevance q and circularity c decide the verdict (Pizza: "
        "q < 0.6; Clock: s_g < 0.98, q ≥ 0.6; non-circular if c < 0.995); 'leaning' is what s_g "
        "and q alone say. A model below 99% validation accuracy gets no verdict.")
    rep.add_table([_clock_pizza_row(r) for r in res.clock_pizza])
    if res.grokking:
        rep.add_heading("Grokking")
        rep.add_text(
            "A small modular-addition transformer trained on half of the pairs with weight "
            "decay: it memorises first, then generalises. The progress measures read the "
            "Fourier circuit from its checkpoints and locate the three phases.")
        rep.add_table([_grokking_row(r) for r in res.grokking])
    if res.nuclear:
        rep.add_heading("Nuclear physics")
        rep.add_text(
            "A network with learned proton and neutron embeddings corrects the semi-empirical "
            "mass formula (plus shell terms) on the AME2020 binding energies; whole nuclides are "
            "held out. Below: its held-out RMS beside the SEMF fit, and how well single "
            "penultimate-layer directions match each mass-formula term (cross-validated R² of a "
            "probe beside a null of random smooth functions of Z and N).")
        rep.add_table([_nuclear_row(r) for r in res.nuclear])
        for r in res.nuclear:
            if r.trained:
                rep.add_table([{"term": t.term, "best PC": t.best_pc, "|r|": t.best_abs_r,
                                "probe R²": t.probe_r2, "null R² (95th pct)": t.null_r2_q95,
                                "above null": t.above_null} for t in r.physics],
                              caption="mass-formula terms against the penultimate PCs")
    if res.recursion:
        rep.add_heading("Structural recursion")
        rep.add_text(
            "A small transformer learns binary successor (LSB first). Its attention says which "
            "input bits each output step reads; the shortcut program rebuilt from that (written "
            "to the run's program.py) predicts which inputs the model gets wrong: F = inputs it "
            "gets wrong, P = inputs where the shortcut differs from the true successor, on long "
            "carry chains never used to build the shortcut.")
        rep.add_table([_recursion_row(r) for r in res.recursion])


def _mips_row(r) -> dict:
    v = r.verification
    return {"task": r.task, "solved": r.solved, "form": r.form or "-", "network": r.network_desc,
            "accuracy": v.accuracy if v else None, "accuracy 2x": v.accuracy_2x if v else None,
            "train s": round(r.train_seconds, 1), "distil s": round(r.distill_seconds, 1),
            "failed pass": r.failed_pass or ""}


def _clock_pizza_row(r) -> dict:
    s, m = r.summary, r.metrics
    trained = s.val_acc >= 0.99
    return {"α": s.attn_rate, "val acc": s.val_acc,
            "verdict": r.verdict if trained else f"not trained (accuracy {s.val_acc:.2f})",
            "leaning": _leaning(m) if trained else "-", "s_g": m.get("s_g"), "q": m.get("q"),
            "circularity": m.get("circularity")}


def _grokking_row(r) -> dict:
    s = r.summary
    trained = s.val_acc >= 0.99
    return {"p": s.p, "val acc": s.val_acc, "key frequencies":
            ", ".join(map(str, r.key_freqs)) if trained else "-",
            **{name: str(r.phases.get(name)) if trained else "-"
               for name in ("memorisation", "circuit_formation", "cleanup")},
            "note": "" if trained else f"not trained (accuracy {s.val_acc:.2f})"}


def _nuclear_row(r) -> dict:
    emb = {e.name: e for e in r.embeddings}
    return {"model": r.preset, "steps": r.steps, "status": r.label,
            "held-out RMS (keV)": r.test_rms_keV, "SEMF RMS (keV)": r.semf_rms_keV,
            **{f"parity {n} (one PC)": e.parity_accuracy if r.trained else None
               for n, e in emb.items()}}


def _recursion_row(r) -> dict:
    return {"task": r.task, "status": r.status, "exact (in distribution)": r.test_exact,
            "exact (long carry chains)": r.rare_exact, "shortcut agreement": r.agreement,
            "|F|": r.n_failures, "|P|": r.n_predicted, "recall": r.recall,
            "precision": r.precision}


def _leaning(m: dict) -> str:
    """What gradient symmetricity and distance irrelevance alone say (no circularity cut)."""
    s_g, q = m.get("s_g"), m.get("q")
    if s_g is None or q is None:
        return "-"
    from ..analysis.transformer import Q_PIZZA, SG_SYMMETRIC
    if q < Q_PIZZA and s_g >= SG_SYMMETRIC:
        return "Pizza-like"
    if q >= Q_PIZZA and s_g < SG_SYMMETRIC:
        return "Clock-like"
    return "mixed"

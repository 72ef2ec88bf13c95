"""Grokking progress measures (Nanda et al. 2023): train the [a, b, =] causal transformer on 30%
of the pairs, checkpoint along the way, then read the Fourier multiplication circuit's growth
from the checkpoints (restricted / excluded loss, Gini of Fourier norms, weight norm) and locate
the three phases (memorisation, circuit formation, cleanup).

Checkpoints are weights of the run (``checkpoints/step_NNNNNN.safetensors``, each in its
manifest): the analysis reads them through the run, so a damaged one is refused with the run and
the file named. A run below the study's ``trained`` rule gets no key frequencies or phases.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..analysis.transformer.progress import Phases
from ..store import Run
from ..train.modular import TrainConfig, list_checkpoints, load_model, split_mask
from ._modular import ModularConfig, ModularStudy, TRAINED_ACC
from .registry import param


@dataclass(frozen=True)
class GrokkingConfig(ModularConfig):
    """A grokking run (causal [a, b, =] inputs); defaults: Nanda et al.'s setting."""

    p: int = param(113, "modulus")
    steps: int = param(40_000, "full-batch AdamW steps")
    wd: float = param(1.0, "AdamW weight decay")
    frac: float = param(0.3, "fraction of the p² pairs trained on (the rest is the test set)")
    checkpoint_every: int = param(0, "keep the weights every N steps under checkpoints/ "
                                  "(0: every steps // 40)")

    def __post_init__(self) -> None:
        if self.p < 5:
            raise ValueError(f"grokking needs a modulus p >= 5 (its progress measures read "
                             f"several Fourier frequencies), got p={self.p}; pass e.g. --p 31 "
                             "or 113")
        super().__post_init__()

    def train(self) -> TrainConfig:
        """The schedule; checkpoints every ``steps // 40`` unless ``checkpoint_every`` says."""
        tcfg = super().train()
        return tcfg if self.checkpoint_every else replace(
            tcfg, checkpoint_every=max(1, self.steps // 40))


@dataclass(frozen=True)
class ProgressRow:
    """The progress measures of one checkpoint."""

    step: int
    train_loss: float
    test_loss: float
    train_acc: float
    test_acc: float
    restricted_loss: float
    excluded_loss: float
    gini_embed: float
    gini_neuron_logit: float
    weight_norm_sq: float


@dataclass
class GrokkingResult:
    """Progress measures per checkpoint, key frequencies and phases of one run (withheld,
    with the ``reason``, for a run that did not generalise unless the analysis was forced)."""

    p: int
    d_model: int
    steps_done: int
    train_acc: float
    val_acc: float
    key_freqs: tuple[int, ...] = ()
    phases: Phases | None = None
    table: list[ProgressRow] = field(default_factory=list)
    reason: str = ""                      # why nothing was read out
    save_error: str = ""                  # why the result could not be written (kept here)


class Grokking(ModularStudy):
    name = "grokking"
    summary = "Grokking progress measures of modular addition (Nanda et al. 2023)"
    config, result = GrokkingConfig, GrokkingResult
    causal = eq_token = True
    presets = {
        "nanda-p113": GrokkingConfig(),
        # memorises, then generalises to 100% by 3000 steps: about half a minute of CPU
        "quick-p31-d32": GrokkingConfig(p=31, width=32, steps=3000, lr=5e-3, frac=0.5),
    }
    default_preset, demo_preset, demo_order = "nanda-p113", "quick-p31-d32", 30

    def analyze(self, run: Run, *, force: bool = False) -> GrokkingResult:
        """Progress measures over every checkpoint of the run (plus the final weights); writes
        ``progress.png`` and ``result.json`` into the run."""
        rec, cfg = self.record(run), run.config
        s = rec.summary
        res = GrokkingResult(cfg.p, cfg.width, s.steps_done, s.train_acc, s.val_acc)
        if s.status != "ok":
            return _save(run, replace(res, reason=f"training diverged: {s.reason}"), None)
        if not self.trained(res) and not force:
            return _save(run, replace(res, reason=(
                f"the network has not generalised (test accuracy below {TRAINED_ACC}; memorised "
                "at most), so no key frequencies or phases are read from it; train longer (e.g. "
                "--preset quick-p31-d32), or --force to compute them anyway")), None)
        pm = self._progress(run, rec)
        res = replace(res, key_freqs=pm.key_freqs_, phases=pm.phases_,
                      table=[ProgressRow(**row) for row in pm.table_])
        return _save(run, res, pm)

    def _progress(self, run: Run, rec) -> Any:
        from ..analysis.transformer import ProgressMeasures
        cfg, s, hist = run.config, rec.summary, rec.history
        mask = split_mask(cfg.p, cfg.frac, run.seed).numpy()
        mcfg = self.model_config(cfg)
        ckpts = [(step, load_model(mcfg, run, name)) for step, name in list_checkpoints(run)]
        if not ckpts or ckpts[-1][0] != s.steps_done:
            ckpts.append((s.steps_done, self.load_model(run)))
        curves = [{"step": st, "train_acc": a, "test_loss": v}
                  for st, a, v in zip(hist.step, hist.train_acc, hist.val_loss)]
        return ProgressMeasures().fit(ckpts, np.flatnonzero(mask), np.flatnonzero(~mask), curves)

    # ------------------------------------------------------------------ people
    def summary_row(self, run: Run, result: GrokkingResult | None) -> dict[str, Any]:
        cfg = run.config
        row: dict[str, Any] = {"run": run.id, "seed": run.seed, "p": cfg.p, "width": cfg.width}
        if result is None:
            return row
        return {**row, "val_acc": result.val_acc, "trained": self.trained(result),
                "key_freqs": ", ".join(map(str, result.key_freqs)),
                "phases": phase_spans(result.phases) if result.phases else ""}

    def summary_line(self, run: Run, result: GrokkingResult | None) -> str:
        if result is None:
            s = self.record(run).summary
            return f"p={s.p} val_acc={s.val_acc:.4f} steps={s.steps_done} ({run.status})"
        line = (f"val_acc={result.val_acc:.4f} steps={result.steps_done} key frequencies="
                f"{list(result.key_freqs)}")
        return line if not result.reason else f"{line} -- {result.reason}"

    def report_section(self, rep: Any, run: Run, result: GrokkingResult | None) -> bool:
        from ..report.sections.grokking import render
        render(rep, run, result, self)
        return True

    # ------------------------------------------------------------------ the demo
    def demo_lines(self, pairs: list[tuple[Run, GrokkingResult | None]]) -> list[str]:
        lines = []
        for _, r in pairs:
            if r is None:
                continue
            if self.trained(r):
                lines.append(f"grokking p={r.p}: val acc {r.val_acc:.3f}, key frequencies "
                             f"{list(r.key_freqs)}, phases {phase_spans(r.phases)}")
            else:
                lines.append(f"grokking p={r.p}: not trained (accuracy {r.val_acc:.2f})")
        return lines

    def demo_section(self, rep: Any, pairs: list[tuple[Run, GrokkingResult | None]]) -> None:
        rep.add_heading("Grokking")
        rep.add_text(
            "A small modular-addition transformer trained on half of the pairs with weight "
            "decay: it memorises first, then generalises. The progress measures read the "
            "Fourier circuit from its checkpoints and locate the three phases.")
        rep.add_table([self._demo_row(r) for _, r in pairs if r is not None])

    def _demo_row(self, r: GrokkingResult) -> dict[str, Any]:
        trained = self.trained(r)
        phases = r.phases or Phases(None, None, None, "")
        return {"p": r.p, "val acc": r.val_acc, "key frequencies":
                ", ".join(map(str, r.key_freqs)) if trained else "-",
                **{name: str(getattr(phases, name)) if trained else "-"
                   for name in ("memorisation", "circuit_formation", "cleanup")},
                "note": "" if trained else f"not trained (accuracy {r.val_acc:.2f})"}


STUDY = Grokking()


def phase_spans(phases: Phases | None) -> str:
    """``memorisation 0-100, circuit formation 100-1600, cleanup 1600-1900`` (steps); the rule
    that defines them is in the report, not on the terminal."""
    spans = [f"{name.replace('_', ' ')} {span[0]}-{span[1]}" for name in
             ("memorisation", "circuit_formation", "cleanup")
             if phases is not None and (span := getattr(phases, name)) is not None]
    return ", ".join(spans) or "none found"


def _save(run: Run, res: GrokkingResult, pm: Any) -> GrokkingResult:
    """progress.png and result.json through the run; a write error is kept, not raised."""
    try:
        if pm is not None:
            from ..analysis.transformer.plots import plot_progress
            run.save_figure("progress.png", plot_progress(pm.table_, pm.phases_))
        run.save_result(res)
    except OSError as e:
        res = replace(res, save_error=f"cannot write {e.filename or run.dir} ({e.strerror or e})")
    return res

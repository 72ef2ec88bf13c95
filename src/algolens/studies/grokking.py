"""Grokking progress measures (Nanda et al. 2023): train the [a, b, =] causal transformer on 30%
of the pairs, checkpoint along the way, then read the Fourier multiplication circuit's growth
from the checkpoints (restricted / excluded loss, Gini of Fourier norms, weight norm) and locate
the three phases (memorisation, circuit formation, cleanup).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..io import atomic_write_json, read_json
from ..models.transformer import TransformerConfig
from ..store import tracking
from ..train.modular import (
    RunSummary,
    TrainConfig,
    list_checkpoints,
    load_run,
    run_id,
    save_run,
    split_mask,
    start_runs,
    train_ensemble,
)

from .presets import get as get_preset
from .registry import Study

DEFAULT_ROOT = Path("runs/grokking")
STUDY = Study("grokking", "Grokking progress measures of modular addition (Nanda et al. 2023)",
              load_run=load_run)
# Nanda et al.'s setting, stated once in studies.presets ("nanda-p113"); checkpoint_every 0
# means every steps // 40 (see ``train``)
NANDA_MODEL = get_preset("nanda-p113").model_config(attn_rate=1.0)
NANDA_TRAIN = get_preset("nanda-p113").train_config()


@dataclass
class GrokkingResult:
    """Progress-measure table per checkpoint, key frequencies and phases of one run."""

    run_dir: Path
    summary: RunSummary
    table: list[dict] = field(default_factory=list)
    key_freqs: tuple[int, ...] = ()
    phases: dict = field(default_factory=dict)
    error: str = ""

    def to_dict(self) -> dict:
        return {"run_dir": str(self.run_dir), "summary": self.summary.to_dict(), "table": self.table,
                "key_freqs": list(self.key_freqs), "phases": self.phases, "error": self.error}


def train(seed: int = 0, model: TransformerConfig = NANDA_MODEL,
          train: TrainConfig = NANDA_TRAIN, out_root: str | Path = DEFAULT_ROOT,
          progress: bool = True) -> Path:
    """Train one model with checkpoints every ``train.checkpoint_every`` steps; return its dir."""
    if train.checkpoint_every == 0:
        train = replace(train, checkpoint_every=max(1, train.steps // 40))
    run_dir = Path(out_root) / run_id(model, train, seed)
    with tracking(start_runs([run_dir], [model], train, [seed])):
        [result] = train_ensemble(model, [seed], None, train, [run_dir], progress)
        save_run(run_dir, result)
    if result.status != "ok":
        raise ValueError(f"training diverged: {result.reason}")
    return run_dir


_train = train     # ``run``'s keyword ``train`` (a TrainConfig) shadows the function


def analyze(run_dir: str | Path) -> GrokkingResult:
    """Progress measures over every checkpoint of ``run_dir`` (plus the final weights)."""
    run_dir = Path(run_dir)
    conf = read_json(run_dir / "config.json")
    tcfg = TrainConfig.from_dict(conf["train"])
    metrics = read_json(run_dir / "metrics.json")
    summary, hist = RunSummary.from_dict(metrics.get("summary", {})), metrics.get("history", {})
    p = conf["model"]["p"]
    split = tcfg.split_seed if tcfg.split_seed is not None else conf["seed"]
    mask = split_mask(p, tcfg.train_frac, split).numpy()
    ckpts = [(s, load_run(run_dir, path.name)) for s, path in list_checkpoints(run_dir)]
    final = summary.steps_done if isinstance(summary.steps_done, int) else tcfg.steps
    if not ckpts or ckpts[-1][0] != final:
        ckpts.append((final, load_run(run_dir)))
    try:
        from ..analysis.transformer import ProgressMeasures
    except ImportError as e:
        return GrokkingResult(run_dir, summary, error=f"analysis unavailable ({e})")
    curves = [{"step": s, "train_acc": a, "test_loss": v} for s, a, v in
              zip(hist.get("step", []), hist.get("train_acc", []), hist.get("val_loss", []))]
    pm = ProgressMeasures().fit(ckpts, np.flatnonzero(mask), np.flatnonzero(~mask), curves)
    phases = {k: v for k, v in vars(pm.phases_).items()}
    res = GrokkingResult(run_dir, summary, pm.table_, pm.key_freqs_, phases)
    atomic_write_json(run_dir / "progress.json", res.to_dict())
    _maybe_plot(pm, run_dir)
    return res


def run(seed: int = 0, model: TransformerConfig = NANDA_MODEL, train: TrainConfig = NANDA_TRAIN,
        out_root: str | Path = DEFAULT_ROOT, progress: bool = True) -> GrokkingResult:
    """Train, then analyse: the whole study in one call (keywords as ``clock_pizza.run``)."""
    return analyze(_train(seed, model, train, out_root, progress))


def _maybe_plot(pm, run_dir: Path) -> None:
    try:
        from ..analysis.transformer.plots import plot_progress
        plot_progress(pm.table_, pm.phases_).savefig(run_dir / "progress.png", dpi=110)
    except Exception:  # noqa: BLE001 - the table is the result; a plot is a convenience
        pass

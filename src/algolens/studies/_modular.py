"""What the two modular-addition studies (Clock vs Pizza, grokking) share: the config of one
transformer and its training schedule, and the training half of the study contract.

A point of either study is a flat config (the CLI options: ``--p``, ``--width``, ``--steps``,
``--wd`` ...; ``d_mlp`` is always 4·width) and a seed. Points that differ only in their attention
rate α and seed train together as one batched ``TransformerEnsemble`` (``group_key``, up to
``group_size`` members): ``train_group`` creates each run once in the store, trains the ensemble
(checkpoints go into each run through ``Run.save_weights``, so they are in its manifest), then
writes each run's weights and ``metrics.json`` (a ``TrainingRecord``) and finishes it. The one
rule that says a run learned modular addition is ``ModularStudy.trained``.

Not a study module itself (its name starts with ``_``): ``clock_pizza`` and ``grokking`` declare
the studies.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from ..models.transformer import Transformer, TransformerConfig
from ..store import METRICS, Run, RunStore, StoreError, tracking
from ..train.modular import RunResult, TrainConfig, TrainingRecord, load_model, train_ensemble
from ..typed import to_json
from .registry import Study, param

TRAINED_ACC = 0.99       # validation accuracy a run needs before anything is read from it


@dataclass(frozen=True)
class ModularConfig:
    """One modular-addition transformer (1 layer, no LayerNorm) and its full-batch schedule."""

    p: int = param(59, "modulus")
    width: int = param(128, "d_model (d_mlp = 4·width)")
    heads: int = param(4, "attention heads (d_head = width / heads)")
    layers: int = param(1, "transformer blocks")
    act: str = param("relu", "MLP activation", choices=("relu", "gelu"))
    attn_rate: float = param(1.0, "attention rate α: 1 standard attention, 0 constant attention")
    steps: int = param(20_000, "full-batch AdamW steps")
    lr: float = param(1e-3, "learning rate (10-step linear warm-up)")
    wd: float = param(2.0, "AdamW weight decay")
    frac: float = param(0.8, "fraction of the p² pairs trained on (the rest is validation)")
    eval_every: int = param(100, "curve resolution in steps (metrics cost nothing extra)")
    checkpoint_every: int = param(0, "keep the weights every N steps under checkpoints/ "
                                  "(0: none)")
    stop_at_100: bool = param(False, "stop once train and validation accuracy are both 100%")
    device: str = param("cpu", "torch device to train on (cpu, cuda, cuda:N, mps)")

    def __post_init__(self) -> None:
        self.model()                   # shapes, α and the schedule are checked here, before
        self.train()                   # any run exists

    def model(self, causal: bool = False, eq_token: bool = False) -> TransformerConfig:
        """The network's ``TransformerConfig`` (inputs [a, b], or causal [a, b, =])."""
        return TransformerConfig(p=self.p, d_model=self.width, n_heads=self.heads,
                                 d_mlp=4 * self.width, n_layers=self.layers, act=self.act,
                                 attn_rate=self.attn_rate, causal=causal, eq_token=eq_token)

    def train(self) -> TrainConfig:
        """The optimiser and schedule (``train.modular.TrainConfig``)."""
        return TrainConfig(steps=self.steps, lr=self.lr, weight_decay=self.wd,
                           train_frac=self.frac, eval_every=self.eval_every,
                           checkpoint_every=self.checkpoint_every, stop_at_100=self.stop_at_100,
                           device=self.device)

    def describe(self) -> str:
        return (f"p={self.p}, d={self.width}, {self.steps} steps, lr {self.lr:g}, "
                f"wd {self.wd:g}, {self.frac:.0%} train")


class ModularStudy(Study):
    """The training half of both modular-addition studies (subclasses add the analysis)."""

    group_size = 8               # α × seed points of one shape train as one ensemble
    causal = False               # the network reads [a, b] (grokking: causal [a, b, =])
    eq_token = False

    def model_config(self, config: ModularConfig) -> TransformerConfig:
        return config.model(self.causal, self.eq_token)

    def train_config(self, config: ModularConfig) -> TrainConfig:
        return config.train()

    def key(self, config: ModularConfig) -> str:
        return f"p{config.p}-d{config.width}-a{config.attn_rate:.3f}"

    def group_key(self, config: ModularConfig) -> str:
        return json.dumps(to_json(replace(config, attn_rate=0.0)), sort_keys=True)

    def read_config(self, data: Any) -> ModularConfig:
        if isinstance(data, dict) and "model" in data and "train" in data:
            raise StoreError(f"run {data.get('run_id', '?')} was made by an older algolens (its "
                             "config.json has 'model' and 'train' sections); train it again: "
                             f"`algolens {self.name.replace('_', '-')} train --help`")
        return super().read_config(data)

    # ------------------------------------------------------------------ training
    def train(self, config: ModularConfig, seed: int, store: RunStore, *,
              run_id: str | None = None, progress: bool = True) -> Run:
        return self.train_group([(config, seed, run_id)], store, progress=progress)[0]

    def train_group(self, points: list[tuple[ModularConfig, int, str | None]], store: RunStore,
                    *, progress: bool = True) -> list[Run]:
        """Train the points as one ensemble: each run is created once, then finished (done, or
        failed with the reason when its loss diverged)."""
        configs = [c for c, _, _ in points]
        if len({self.group_key(c) for c in configs}) != 1:
            raise ValueError("a group must share every setting but attn_rate (and the seed); "
                             "train other settings in separate groups")
        check_device(configs[0].device)
        runs = [store.create(self.name, self.key(c), c, seed=s, run_id=r, exist_ok=r is not None)
                for c, s, r in points]
        tcfg = self.train_config(configs[0])
        with tracking(runs):
            results = train_ensemble(self.model_config(configs[0]), [s for _, s, _ in points],
                                     [c.attn_rate for c in configs], tcfg,
                                     runs if tcfg.checkpoint_every else None, progress)
            for run, cfg, res in zip(runs, configs, results):
                _finish(run, cfg, res)
        return runs

    # ------------------------------------------------------------------ reading back
    def load_model(self, run: Run) -> Transformer:
        return load_model(self.model_config(run.config), run).eval()

    def record(self, run: Run) -> TrainingRecord:
        """How the run's training ended and its curves (``metrics.json``, checksum verified)."""
        seed = run.seed
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise StoreError(f"run {run.id}: config.json gives the seed as {seed!r}, not an "
                             "integer >= 0; the file is damaged or from another program: train "
                             "the run again")
        return run.read_typed(METRICS, TrainingRecord)

    def trained(self, result: Any) -> bool:
        """The one rule: validation accuracy >= 0.99 (NaN, never recorded, is not trained)."""
        return bool(result.val_acc >= TRAINED_ACC)


def _finish(run: Run, config: ModularConfig, res: RunResult) -> None:
    run.save_weights(res.state)
    s = res.summary()
    key = {"val_acc": s.val_acc, "train_acc": s.train_acc, "val_loss": s.val_loss,
           "steps_done": s.steps_done, "attn_rate": config.attn_rate}
    run.finish(to_json(res.record()), status="done" if res.status == "ok" else "failed",
               reason=res.reason, key_metrics=key)


def check_device(device: str) -> None:
    """A device torch knows and this machine has, before any run is created."""
    import torch
    have = ["cpu"] + (["cuda", "cuda:N"] if torch.cuda.is_available() else []) + \
        (["mps"] if torch.backends.mps.is_available() else [])
    try:
        kind = torch.device(device).type
    except (RuntimeError, ValueError):
        kind = None
    if kind not in [h.split(":")[0] for h in have]:
        raise ValueError(f"--device {device!r} is not a device on this machine; use one of: "
                         f"{', '.join(have)}")


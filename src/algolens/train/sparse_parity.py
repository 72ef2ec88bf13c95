"""Train a ParityMLP on sparse parity with online SGD (Barak et al. 2022), recording hidden progress.

Every update sees a fresh batch of uniform inputs (online SGD: no training set, no overfitting),
constant learning rate, no momentum. Every ``eval_every`` updates the shared ``train.loop.Loop``
evaluates test accuracy on a fixed test set and the hidden-progress measures of
``analysis.parity`` (Fourier coefficient on S vs the largest off S, weight share of S), so the
plateau-then-jump of accuracy can be plotted next to the measures that rise during the plateau.
Training stops early at the first evaluation with 100% test accuracy.

Deterministic given (task, configs, seed): the init comes from ``ParityMLP(cfg, seed)``, the
batches, test set and progress sample from numpy generators seeded by ``[seed, stream]``; runs on
the caller's torch threads (``registry.run_point`` sets one thread, the project's one place
for it).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from ..analysis.parity import ProgressPoint, logits, progress_measures
from ..models.mlp import ParityMLP, ParityMLPConfig
from ..tasks.sparse_parity import SparseParityTask
from .loop import Loop

LOSSES = ("hinge", "logistic")
_TRAIN, _TEST, _PROGRESS = 1, 2, 3      # numpy stream ids: default_rng([seed, stream])


@dataclass(frozen=True)
class SparseParityTrainConfig:
    """Online SGD. Limits are counted in updates (``steps``), never in seconds."""

    steps: int = 20_000          # most updates; stops earlier at 100% test accuracy
    batch: int = 32              # fresh samples per update
    lr: float = 0.1              # constant (learning time scales ~1/lr; 1.0 still converges)
    loss: str = "hinge"          # "hinge": max(0, 1 - y·logit), ~2x faster than "logistic":
                                 # log(1 + e^(-y·logit)) at the same lr (half the gradient at 0)
    weight_decay: float = 0.0
    eval_every: int = 50         # ~30 points over an n = 40, k = 3 run at the defaults
    n_test: int = 2048           # fixed test set
    n_progress: int = 4096       # inputs behind each Fourier coefficient (noise ~ 1/√n_progress)
    n_other: int = 16            # random other k-subsets for the off-support coefficient
    stop_at_100: bool = True     # stop at the first evaluation with test accuracy 1.0

    def __post_init__(self) -> None:
        if self.steps < 0 or min(self.batch, self.eval_every, self.n_test, self.n_progress) < 1:
            raise ValueError(f"steps must be >= 0 and batch, eval_every, n_test, n_progress "
                             f">= 1; got {self}")
        if self.lr <= 0 or self.weight_decay < 0:
            raise ValueError(f"lr must be > 0 and weight_decay >= 0, got lr={self.lr}, "
                             f"weight_decay={self.weight_decay}; e.g. lr=0.1")
        if self.loss not in LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}; use one of {LOSSES}")


@dataclass
class SparseParityTraining:
    """A trained network, its curves and how training ended.

    ``stopped``: "solved" (100% test accuracy at step ``steps``), "steps" (the step limit) or
    "budget" (never set here: no deadline is passed to the loop).
    """

    model: ParityMLP
    history: list[ProgressPoint]
    steps: int
    stopped: str
    seconds: float

    @property
    def test_acc(self) -> float:
        return self.history[-1].test_acc if self.history else float("nan")


def loss_fn(logit: torch.Tensor, y: torch.Tensor, kind: str) -> torch.Tensor:
    """Mean hinge or logistic loss of ``logit [b]`` against labels ``y [b]`` in {0,1}."""
    margin = (2.0 * y - 1.0) * logit                                        # [b] y± · logit
    if kind == "hinge":
        return torch.relu(1.0 - margin).mean()
    return torch.nn.functional.softplus(-margin).mean()


def train_sparse_parity(task: SparseParityTask, model_cfg: ParityMLPConfig,
                        cfg: SparseParityTrainConfig, seed: int,
                        progress: bool = False) -> SparseParityTraining:
    """Train ``ParityMLP(model_cfg, seed)`` on ``task`` with online SGD; see the module doc."""
    if model_cfg.n_in != task.n:
        raise ValueError(f"model_cfg.n_in = {model_cfg.n_in} but the task has n = {task.n} "
                         f"bits; build the model with ParityMLPConfig(n_in={task.n}, ...)")
    model = ParityMLP(model_cfg, seed=seed)
    history: list[ProgressPoint] = []
    window = _LossWindow()
    step_fn = _step_fn(model, task, cfg, seed, window)
    eval_fn = _eval_fn(model, task, cfg, seed, window, history)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    rule = (lambda it, m: m["test_acc"] >= 1.0) if cfg.stop_at_100 else None
    out = Loop(step_fn, opt, steps=cfg.steps, eval_fn=eval_fn, eval_every=cfg.eval_every,
               final_eval=True, stop_rule=rule, progress=progress, desc="sparse parity",
               what="sparse parity", hint="lower the learning rate (e.g. lr=0.05)").run()
    stopped = "solved" if out.stopped == "rule" else out.stopped
    return SparseParityTraining(model, history, out.steps, stopped, out.seconds)


@dataclass
class _LossWindow:
    """The mean train loss over the updates since the last evaluation (a smoother curve than
    one batch's loss)."""

    total: float = 0.0
    count: int = 0

    def add(self, loss: torch.Tensor) -> None:
        self.total += float(loss.detach())
        self.count += 1

    def take(self) -> float:
        mean = self.total / max(self.count, 1)
        self.total, self.count = 0.0, 0
        return mean


def _step_fn(model: ParityMLP, task: SparseParityTask, cfg: SparseParityTrainConfig, seed: int,
             window: _LossWindow):
    """The forward pass of one update on a fresh batch of ``cfg.batch`` inputs."""
    rng = np.random.default_rng([seed, _TRAIN])

    def step(it: int, evaluate: bool) -> torch.Tensor:
        x, y = task.sample(cfg.batch, rng)                                 # [b, n], [b]
        loss = loss_fn(model(torch.from_numpy(x)), torch.from_numpy(y).float(), cfg.loss)
        window.add(loss)
        return loss
    return step


def _eval_fn(model: ParityMLP, task: SparseParityTask, cfg: SparseParityTrainConfig, seed: int,
             window: _LossWindow, history: list[ProgressPoint]):
    """Test accuracy, the mean train loss since the last evaluation and the progress measures."""
    x_test, y_test = task.sample(cfg.n_test, np.random.default_rng([seed, _TEST]))

    def evaluate(it: int, alive: torch.Tensor) -> dict:
        acc = float(np.mean((logits(model, x_test) > 0) == (y_test == 1)))
        loss = window.take()
        pm = progress_measures(model, task.support, task.n,
                               np.random.default_rng([seed, _PROGRESS]), cfg.n_progress,
                               cfg.n_other)
        history.append(ProgressPoint(it, loss, acc, **asdict(pm)))
        return {"test_acc": acc, "train_loss": loss, "fourier_on_support": pm.fourier_on_support}
    return evaluate

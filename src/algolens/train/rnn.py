"""Train many RNNs of one shape at once (an ensemble dimension), stopping at 100% accuracy.

Loss is the paper's 0.5·log(1 + (ŷ − y)²) per output; accuracy is the exact integer match
round(ŷ) == y at every position of a sequence. A held-out batch is evaluated every
``eval_every`` steps, never every step, and training stops as soon as one member is 100% correct
on it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from ..models.rnn import RNNConfig, RNNEnsemble
from ..tasks.spec import SequenceTask
from .loop import Loop, TrainingDiverged, adamw, warmup_cosine

__all__ = ["TaskData", "TrainResult", "TrainingDiverged", "default_config", "mips_loss",
           "sequence_accuracy", "train_ensemble"]


@dataclass
class TaskData:
    """Inputs and targets of one task as float tensors, ``x [n, T, C]``, ``y [n, T, D]``."""

    x: torch.Tensor
    y: torch.Tensor

    @classmethod
    def generate(cls, task: SequenceTask, n: int, seed: int, length: int | None = None
                 ) -> TaskData:
        rng = np.random.default_rng(seed)
        xs = task.sample(n, rng, length)
        ys = task.targets(xs)
        x = torch.as_tensor(xs, dtype=torch.float32)
        y = torch.as_tensor(ys, dtype=torch.float32)
        return cls(x.unsqueeze(-1) if x.dim() == 2 else x, y.unsqueeze(-1) if y.dim() == 2 else y)

    def __len__(self) -> int:
        return self.x.shape[0]


def default_config(task: SequenceTask, hidden: int, f_depth: int = 1, f_width: int = 0,
                   g_depth: int = 1, g_width: int = 0, encoding: str = "numeric",
                   data: TaskData | None = None, cell: str = "additive") -> RNNConfig:
    """An RNNConfig for ``task`` with input/output scales chosen from the alphabet and targets.

    The scales are fixed constants (part of the config), so they are function-preserving: they
    only keep raw values such as 0..99 in a range where AdamW is well conditioned.
    """
    in_scale = tuple(1.0 / max(1, max(abs(v) for v in ch)) for ch in task.channels)
    out_scale = 1.0
    if data is not None:
        out_scale = float(max(1.0, data.y.abs().max().item() / 2))
        out_scale = float(2 ** round(math.log2(out_scale)))   # a power of two: exact in floats
    return RNNConfig(n_inputs=task.n_channels, n_outputs=task.output_dim, hidden=hidden,
                     f_depth=f_depth, f_width=f_width, g_depth=g_depth, g_width=g_width,
                     encoding=encoding, alphabet=task.channels, input_scale=in_scale,
                     output_scale=out_scale, cell=cell)


def mips_loss(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-member loss ``[E]``: mean of 0.5·log(1 + (ŷ − y)²)."""
    return 0.5 * torch.log1p((pred - y) ** 2).flatten(1).mean(1)


@torch.no_grad()
def sequence_accuracy(model: RNNEnsemble, data: TaskData, chunk: int = 8192) -> torch.Tensor:
    """Per-member fraction of sequences whose every rounded output is exact, ``[E]``."""
    return _correct(model, data, 0, len(data), chunk) / len(data)


@torch.no_grad()
def _correct(model: RNNEnsemble, data: TaskData, start: int, stop: int, chunk: int = 8192
             ) -> torch.Tensor:
    """Per-member count of exact sequences among ``data[start:stop]``, ``[E]``."""
    correct = torch.zeros(model.n_models)
    for i in range(start, stop, chunk):
        j = min(i + chunk, stop)
        pred = model(data.x[i:j])
        ok = (torch.round(pred) == data.y[i:j]).flatten(2).all(-1)             # [E, B]
        correct += ok.sum(1)
    return correct


PROBE = 1024          # held-out sequences checked first during training (see ``_held_out``)


def _held_out(model: RNNEnsemble, val: TaskData, final: bool) -> torch.Tensor:
    """Per-member held-out accuracy as the stopping rule needs it, at a quarter of the cost.

    Only a member that is perfect on ``val`` can stop training, and such a member is perfect on
    its first ``PROBE`` sequences. So during training the first ``PROBE`` are checked, and the
    rest only when some member is perfect on them; then every accuracy is exact, as it is at the
    final check (``final``). Otherwise the accuracies are estimates from ``PROBE`` sequences, all
    below 1, which gives every stopping decision the same answer as the full set would. (Only a
    run cut short by the safety cap can end on such an estimate; its result says so.)
    """
    n = len(val)
    if final or n <= 2 * PROBE:
        return sequence_accuracy(model, val)
    head = _correct(model, val, 0, PROBE)
    if not bool((head >= PROBE).any()):
        return head / PROBE
    return (head + _correct(model, val, PROBE, n)) / n


@dataclass
class TrainResult:
    """What one ensemble run produced. ``best`` indexes the member with the best held-out score."""

    model: RNNEnsemble
    steps: int
    seconds: float
    val_accuracy: list[float]
    best: int
    solved: bool
    diverged: list[bool] = field(default_factory=list)
    history: list[dict] = field(default_factory=list)
    budget_exhausted: bool = False    # the safety cap (``deadline``) cut the schedule short


def train_ensemble(task: SequenceTask, cfg: RNNConfig, n_models: int = 8, *,
                   train: TaskData, val: TaskData, max_steps: int = 10_000, batch: int = 512,
                   lr: float = 1e-2, weight_decay: float = 0.0, eval_every: int = 250,
                   seed: int = 0, deadline: float | None = None, callback=None,
                   stop_when_solved: bool = True,
                   init: Callable[[RNNEnsemble], None] | None = None,
                   after_backward: Callable[[RNNEnsemble], None] | None = None,
                   stop_rule: Callable[[int, torch.Tensor], bool] | None = None
                   ) -> TrainResult:
    """Train ``n_models`` seeds of ``cfg`` together until one is 100% right on ``val``.

    The learning rate warms up over the first 2% of ``max_steps``, then follows a cosine down to
    lr/100 (one-cycle). The schedule is counted in steps only, so the result is a function of
    the arguments and ``seed`` whatever the machine's load. ``deadline`` (a ``time.monotonic()``
    value) is only a safety cap: past it, training stops at the next evaluation and the result
    says ``budget_exhausted``. ``callback(step, val_acc)`` is called at each evaluation.
    ``stop_when_solved=False`` runs all steps (used by the batched-vs-sequential benchmark).
    ``eval_every=0`` checks ``val`` only once, after the last step (for a run of fixed length
    whose intermediate checks would decide nothing; the safety cap is then checked only there).
    ``init(model)`` may overwrite members before training (e.g. a closed-form linear start); the
    ensemble is then evaluated once before the first step and returned at once if it is solved.
    ``after_backward(model)`` may edit gradients each step (e.g. masks that fix units at zero).
    ``stop_rule(step, val_acc [E])`` replaces the default "some member is 100% right" rule.
    Raises ``TrainingDiverged`` when every member's loss is NaN/inf, ``ValueError`` for
    non-finite data. The loop itself is ``train.loop.Loop``; this function is its RNN plug-in:
    random minibatches from a private generator, the MIPS loss, sequence accuracy on ``val``.
    """
    _check_finite(task, train, "training")
    _check_finite(task, val, "validation")
    model = RNNEnsemble(cfg, n_models, seed=seed)
    if init is not None:
        init(model)
    gen = torch.Generator().manual_seed(seed)
    history: list[dict] = []
    last = {"loss": torch.zeros(n_models), "acc": torch.zeros(n_models)}

    def step_fn(it: int, evaluate: bool) -> torch.Tensor:
        idx = torch.randint(0, len(train), (batch,), generator=gen)
        last["loss"] = mips_loss(model(train.x[idx]), train.y[idx])            # [E]
        return last["loss"]

    def eval_fn(it: int, alive: torch.Tensor) -> dict:
        acc = torch.where(alive, _held_out(model, val, final=it >= max_steps),
                          torch.zeros(n_models))
        last["acc"] = acc
        live = last["loss"].detach()[alive]
        history.append({"step": it, "loss": float(live.mean()) if live.numel() else math.nan,
                        "val_acc": float(acc.max())})
        if callback is not None:
            callback(it, float(acc.max()))
        return {"val_acc": float(acc.max()), "per_member": acc}

    rule = stop_rule or (lambda it, acc: bool(acc.max() >= 1.0))
    out = Loop(step_fn, adamw(model.parameters(), lr=lr, weight_decay=weight_decay),
               steps=max_steps, schedule=warmup_cosine(max_steps), eval_fn=eval_fn,
               eval_at=lambda it: (eval_every > 0 and it % eval_every == 0
                                   and (it > 0 or init is not None)),
               final_eval=True, deadline=deadline,
               stop_rule=(lambda it, m: rule(it, m["per_member"])) if stop_when_solved else None,
               after_backward=None if after_backward is None else lambda: after_backward(model),
               what=f"{task.name} ({cfg.describe()})",
               hint=f"lower the learning rate (now {lr:g}) or check the data scale").run()
    acc = last["acc"]
    best = int(torch.argmax(acc))
    return TrainResult(model=model, steps=out.steps, seconds=out.seconds,
                       val_accuracy=acc.tolist(), best=best, solved=bool(acc[best] >= 1.0),
                       diverged=(~out.alive.expand(n_models)).tolist(), history=history,
                       budget_exhausted=out.stopped == "budget")


def _check_finite(task: SequenceTask, data: TaskData, what: str) -> None:
    if not (torch.isfinite(data.x).all() and torch.isfinite(data.y).all()):
        raise ValueError(f"{task.name}: the {what} data contains NaN/inf values; check the task's "
                         "sampler and reference (they must return finite ints)")

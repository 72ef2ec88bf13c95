"""One training loop for every study: updates, LR schedule, evaluation every N steps, a stop rule,
per-member divergence handling, checkpoints and a progress bar.

A study plugs its fast path in as a *step function* that returns the loss of each ensemble member
(or one loss for one model); the loop does the rest, so every study has the same divergence rule
and the same meaning of "step"::

    opt = adamw(model.parameters(), lr=1e-3, weight_decay=1.0)

    def step_fn(it, evaluate):                   # forward for update ``it``: loss [E] or scalar
        x, y = batch(it)
        return loss_fn(model(x), y)

    def eval_fn(it, alive):                      # weights after ``it`` updates; metrics dict
        return {"val_loss": val_loss(model)}

    out = Loop(step_fn, opt, steps=20_000, schedule=warmup_cosine(20_000),
               eval_fn=eval_fn, eval_every=500, final_eval=True,
               stop_rule=lambda it, m: m["val_loss"] < 1e-3).run()
    out.steps, out.stopped, out.metrics          # updates done; "steps" | "rule" | "budget"

Contract (``it`` counts the optimizer updates done so far: 0, 1, ..., steps - 1):

- ``step_fn(it, evaluate) -> loss``: the forward pass for update ``it``. ``evaluate`` says that
  ``eval_fn`` follows at this ``it``, so a fast path may compute more (say every pair instead of
  the training pairs) and keep it for ``eval_fn``.
- ``eval_fn(it, alive) -> dict``: runs before update ``it``, i.e. on the weights after ``it``
  updates (nanoGPT's convention), whenever ``eval_at(it)`` (default: every ``eval_every`` steps
  from 0), and with ``final_eval`` once more on the final weights (``it = steps``). ``alive [E]``
  marks the members still training. Scalar metrics are shown on the progress bar.
- ``stop_rule(it, metrics) -> bool``: stop before update ``it``.
- Divergence, one rule: a member whose loss is NaN/inf is frozen out (its loss term and its
  gradients are zeroed from then on; ``on_diverged(members, it, loss)`` is told); when no member
  is left, the loop raises ``TrainingDiverged``. Parameters must then carry the member index
  first (``[E, ...]``), as the batched ensembles here do.
- ``on_checkpoint(n)``: save the weights after ``n`` updates, for ``n = 0`` and every
  ``checkpoint_every`` updates.
- ``after_backward()``: edit gradients before the optimizer step (masks, clipping).
- ``deadline`` (a ``time.monotonic()`` value): a safety cap checked at evaluations, never a limit
  of its own (limits are counted in steps); when it bites, ``stopped == "budget"``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import torch


class TrainingDiverged(ValueError):
    """Every member's loss became NaN or infinite; the message says when and what to try.

    A ``ValueError`` so that the CLI prints it as ``error: ...`` (bad settings, not a bug)."""


@dataclass
class LoopResult:
    """How a loop ended: ``steps`` optimizer updates done, ``stopped`` by "steps" (all done),
    "rule" (``stop_rule``) or "budget" (the safety cap), the live members and the last metrics."""

    steps: int
    stopped: str
    alive: torch.Tensor
    seconds: float
    metrics: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------- optimizer and schedules
def adamw(params: Iterable[torch.nn.Parameter], lr: float, weight_decay: float = 0.0,
          betas: tuple[float, float] = (0.9, 0.999), fused: bool = False
          ) -> torch.optim.Optimizer:
    """AdamW; ``fused=True`` uses the fused kernel where the device supports it."""
    params = list(params)
    kw = dict(lr=lr, weight_decay=weight_decay, betas=tuple(betas))
    if fused:
        try:
            return torch.optim.AdamW(params, fused=True, **kw)
        except (RuntimeError, TypeError):  # fused not available for this device/dtype
            pass
    return torch.optim.AdamW(params, **kw)


def linear_warmup(warmup: int) -> Callable[[int], float]:
    """LR factor rising linearly to 1 over ``warmup`` updates, then constant."""
    return lambda it: min(1.0, (it + 1) / warmup) if warmup else 1.0


def _cosine_down(frac: float, floor: float) -> float:
    """From 1 at ``frac`` = 0 down to ``floor`` at ``frac`` >= 1, along half a cosine."""
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, frac)))


def linear_warmup_cosine(total: int, warmup: int, floor: float = 0.01) -> Callable[[int], float]:
    """``linear_warmup(warmup)``, then a cosine from 1 down to ``floor`` at update ``total``."""
    warm, rest = linear_warmup(warmup), max(1, total - warmup)
    return lambda it: warm(it) if it < warmup else _cosine_down((it - warmup) / rest, floor)


def warmup_cosine(total: int, warmup_frac: float = 0.02,
                  floor: float = 0.01) -> Callable[[int], float]:
    """One-cycle LR factor: linear warm-up over ``warmup_frac`` of ``total`` (from 0.04), then a
    cosine down to ``floor``. Annealing matters: linear RNNs reach exact integers only at the
    end of it."""
    warm = max(1, int(warmup_frac * total))

    def factor(it: int) -> float:
        if it < warm:
            return 0.04 + 0.96 * it / warm
        return _cosine_down((it - warm) / max(1, total - warm), floor)
    return factor


# ---------------------------------------------------------------- the loop
class Loop:
    """``Loop(step_fn, optimizer, steps=..., ...).run()``: see the module docstring."""

    def __init__(self, step_fn: Callable[[int, bool], torch.Tensor],
                 optimizer: torch.optim.Optimizer, *, steps: int,
                 schedule: Callable[[int], float] | None = None,
                 eval_fn: Callable[[int, torch.Tensor], dict[str, Any]] | None = None,
                 eval_every: int = 100, eval_at: Callable[[int], bool] | None = None,
                 final_eval: bool = False,
                 stop_rule: Callable[[int, dict[str, Any]], bool] | None = None,
                 after_backward: Callable[[], None] | None = None,
                 on_diverged: Callable[[list[int], int, torch.Tensor], None] | None = None,
                 on_checkpoint: Callable[[int], None] | None = None, checkpoint_every: int = 0,
                 deadline: float | None = None, progress: bool = False, desc: str = "train",
                 what: str = "training", hint: str = "lower the learning rate") -> None:
        if steps < 0 or eval_every < 1 or checkpoint_every < 0:
            raise ValueError(f"steps and checkpoint_every must be >= 0 and eval_every >= 1, got "
                             f"{steps}, {checkpoint_every}, {eval_every}")
        self.step_fn, self.opt, self.steps, self.schedule = step_fn, optimizer, steps, schedule
        self.eval_fn, self.final_eval, self.stop_rule = eval_fn, final_eval, stop_rule
        self.eval_at = eval_at or (lambda it: it % eval_every == 0)
        self.after_backward, self.on_diverged = after_backward, on_diverged
        self.on_checkpoint = on_checkpoint if checkpoint_every else None
        self.checkpoint_every, self.deadline = checkpoint_every, deadline
        self.progress, self.desc, self.what, self.hint = progress, desc, what, hint
        self.params = [p for g in optimizer.param_groups for p in g["params"]]

    def run(self) -> LoopResult:
        sched = (torch.optim.lr_scheduler.LambdaLR(self.opt, self.schedule)
                 if self.schedule is not None else None)
        bar = _bar(self.steps, self.progress, self.desc)
        t0, alive, metrics, stopped, it = time.monotonic(), None, {}, "steps", self.steps
        if self.on_checkpoint is not None:
            self.on_checkpoint(0)                # the initialisation, for progress curves
        try:
            for it in range(self.steps):
                evaluate = self.eval_fn is not None and self.eval_at(it)
                loss = self.step_fn(it, evaluate).reshape(-1)                      # [E]
                alive = self._drop_diverged(loss, alive, it)
                if evaluate:
                    metrics = self.eval_fn(it, alive)
                    stopped = self._should_stop(it, metrics, bar)
                    if stopped != "steps":
                        break
                self._update(loss, alive, sched)
                bar.update(1)
                if self.on_checkpoint is not None and (it + 1) % self.checkpoint_every == 0:
                    self.on_checkpoint(it + 1)
            else:
                it = self.steps
                if self.final_eval and self.eval_fn is not None:
                    metrics = self.eval_fn(it, _alive_or_all(alive))
        finally:
            bar.close()
        return LoopResult(it, stopped, _alive_or_all(alive), time.monotonic() - t0,
                          metrics)

    def _update(self, loss: torch.Tensor, alive: torch.Tensor, sched) -> None:
        self.opt.zero_grad(set_to_none=True)
        torch.where(alive, loss, torch.zeros_like(loss)).sum().backward()
        if not bool(alive.all()):            # a frozen member's NaN must not reach its weights
            for p in self.params:
                if p.grad is not None:
                    p.grad[~alive] = 0.0
        if self.after_backward is not None:
            self.after_backward()
        self.opt.step()
        if sched is not None:
            sched.step()

    def _drop_diverged(self, loss: torch.Tensor, alive: torch.Tensor | None,
                       it: int) -> torch.Tensor:
        """Members whose loss is NaN/inf stop training; if none is left, raise."""
        if alive is None:
            alive = torch.ones(loss.shape[0], dtype=torch.bool, device=loss.device)
        bad = alive & ~torch.isfinite(loss.detach())
        if bool(bad.any()):
            alive = alive & ~bad
            if self.on_diverged is not None:
                self.on_diverged(bad.nonzero().flatten().tolist(), it, loss.detach())
            if not bool(alive.any()):
                raise TrainingDiverged(f"{self.what}: every member's loss became NaN/inf at "
                                       f"step {it}; {self.hint}")
        return alive

    def _should_stop(self, it: int, metrics: dict[str, Any], bar) -> str:
        shown = {k: f"{v:.4g}" for k, v in metrics.items()
                 if isinstance(v, (int, float)) and not isinstance(v, bool)}
        if shown:
            bar.set_postfix(shown, refresh=False)
        if self.stop_rule is not None and self.stop_rule(it, metrics):
            return "rule"
        if self.deadline is not None and time.monotonic() > self.deadline:
            return "budget"
        return "steps"


def _alive_or_all(alive: torch.Tensor | None) -> torch.Tensor:
    """``alive`` before any forward pass (``steps == 0``): all members, as a broadcastable [1]."""
    return alive if alive is not None else torch.ones(1, dtype=torch.bool)


def _bar(total: int, enabled: bool, desc: str):
    from tqdm.auto import tqdm
    return tqdm(total=total, disable=not enabled, unit="step", desc=desc, leave=False,
                mininterval=1.0)

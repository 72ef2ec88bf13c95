"""The shared training loop: step counting, evaluation points, stop rule, divergence, caps."""

from __future__ import annotations

import time

import pytest
import torch

from algolens.train.loop import Loop, TrainingDiverged, adamw, linear_warmup, warmup_cosine


def _quadratic(E: int = 3, bad: set[int] = frozenset()):
    """E independent 1-parameter problems (w - 3)²; members in ``bad`` return NaN."""
    w = torch.nn.Parameter(torch.zeros(E, 1))
    nan = torch.tensor([float("nan") if i in bad else 0.0 for i in range(E)])

    def step_fn(it: int, evaluate: bool) -> torch.Tensor:
        return ((w[:, 0] - 3.0) ** 2) + nan
    return w, step_fn


def test_steps_evaluations_and_checkpoints_are_counted_in_updates() -> None:
    w, step_fn = _quadratic()
    seen, saved = [], []

    def eval_fn(it, alive):
        seen.append(it)
        return {"err": float((w.detach() - 3).abs().max())}
    out = Loop(step_fn, adamw([w], lr=0.1), steps=25, eval_fn=eval_fn, eval_every=10,
               final_eval=True, on_checkpoint=saved.append, checkpoint_every=10).run()
    assert (out.steps, out.stopped) == (25, "steps")
    assert seen == [0, 10, 20, 25] and saved == [0, 10, 20]
    assert out.metrics["err"] < 3.0 and bool(out.alive.all())


def test_stop_rule_stops_before_the_update() -> None:
    w, step_fn = _quadratic(E=1)
    out = Loop(step_fn, adamw([w], lr=0.5), steps=1000, eval_fn=lambda it, a: {"w": w.item()},
               eval_every=5, stop_rule=lambda it, m: abs(m["w"] - 3) < 0.2).run()
    assert out.stopped == "rule" and out.steps % 5 == 0 and 0 < out.steps < 1000
    assert abs(w.item() - 3) < 0.2          # the weights the rule saw are the ones returned


def test_scalar_loss_single_model() -> None:
    lin = torch.nn.Linear(2, 1)
    x, y = torch.randn(16, 2, generator=torch.Generator().manual_seed(0)), torch.ones(16, 1)
    out = Loop(lambda it, ev: ((lin(x) - y) ** 2).mean(), adamw(lin.parameters(), lr=1e-2),
               steps=30).run()
    assert out.steps == 30 and out.alive.shape == (1,)


def test_a_diverged_member_is_frozen_out_and_reported() -> None:
    w, step_fn = _quadratic(E=3, bad={1})
    told = []
    out = Loop(step_fn, adamw([w], lr=0.1), steps=20,
               on_diverged=lambda bad, it, loss: told.append((bad, it))).run()
    assert told == [([1], 0)] and out.alive.tolist() == [True, False, True]
    assert w[1].item() == 0.0 and torch.isfinite(w).all()  # no NaN reached its weights


def test_all_members_diverged_raises_with_step_and_hint() -> None:
    w, step_fn = _quadratic(E=2, bad={0, 1})
    loop = Loop(step_fn, adamw([w], lr=0.1), steps=20, what="toy", hint="lower the lr")
    with pytest.raises(TrainingDiverged, match=r"toy: every member's loss became NaN/inf at "
                                                r"step 0; lower the lr"):
        loop.run()


def test_safety_cap_says_budget() -> None:
    w, step_fn = _quadratic()
    out = Loop(step_fn, adamw([w], lr=0.1), steps=100, eval_fn=lambda it, a: {},
               eval_every=10, deadline=time.monotonic() - 1.0).run()
    assert out.stopped == "budget" and out.steps == 0


def test_schedules() -> None:
    f = warmup_cosine(1000)
    assert f(0) == pytest.approx(0.04) and f(20) == pytest.approx(1.0)
    assert f(1000) == pytest.approx(0.01) and f(500) < f(100)
    g = linear_warmup(10)
    assert g(0) == pytest.approx(0.1) and g(9) == 1.0 and g(500) == 1.0
    assert linear_warmup(0)(0) == 1.0


def test_bad_loop_settings() -> None:
    w, step_fn = _quadratic()
    with pytest.raises(ValueError, match="eval_every >= 1"):
        Loop(step_fn, adamw([w], lr=0.1), steps=10, eval_every=0)

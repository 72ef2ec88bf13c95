"""Architecture search: the smallest MIPS RNN that is 100% correct, within a time budget.

Plan (generic rules from the data, never from the task's name):
  1. If a least-squares fit shows the targets are a rounded *linear* function of the input history
     (max residual < 0.5), try linear nets (f = g = depth 1) starting at the minimal state size
     read off the rank of the Hankel matrix of the fitted impulse response.
  2. Otherwise / then, ReLU nets f = 2 x width, g = 1 with growing hidden size
     h = 1, 2, 3, 4, 6, 8, ...; numeric inputs first, then one-hot inputs for alphabets > 2.
Each configuration trains several seeds as one batched ensemble and stops when a member is 100%
right on a held-out batch; that member is then confirmed on >= 10,000 fresh sequences. The first
confirmed configuration wins.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import tasks as task_registry
from ..io import atomic_write_json
from ..models.rnn import MIPSRNN, RNNConfig
from ..tasks.spec import SequenceTask
from . import runs
from .checkpoint import save_checkpoint
from .linear import fit_impulse, linear_order, load_realization, realize
from .rnn import TaskData, TrainingDiverged, default_config, sequence_accuracy, train_ensemble

N_TRAIN, N_VAL, N_TEST = 32_768, 4096, 10_000
TEST_SEED_OFFSET = 1_000_003          # test data never shares a seed with training data
HIDDEN_SIZES = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32)


@dataclass(frozen=True)
class Candidate:
    """One architecture to try, with its step cap and ensemble size."""

    hidden: int
    f_depth: int = 1
    f_width: int = 0
    encoding: str = "numeric"
    max_steps: int = 3000
    n_models: int = 8
    batch: int = 256

    @property
    def key(self) -> str:
        f = "1" if self.f_depth == 1 else f"{self.f_depth}x{self.f_width}"
        return f"h={self.hidden};f={f};g=1;{self.encoding}"


@dataclass
class SearchResult:
    """The outcome of ``search``; ``tried`` has one row per architecture trained."""

    task: str
    network: MIPSRNN
    config: RNNConfig
    accuracy: float
    solved: bool
    seconds: float
    parameters: int
    tried: list[dict]
    run_dir: Path | None

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary (what ``algolens train --json`` prints)."""
        return {"task": self.task, "accuracy": self.accuracy, "solved": self.solved,
                "hidden_size": self.config.hidden, "architecture": self.config.describe(),
                "encoding": self.config.encoding, "parameters": self.parameters,
                "seconds": round(self.seconds, 2), "tried": self.tried,
                "run_dir": str(self.run_dir) if self.run_dir else None}


# ------------------------------------------------------------------ the plan
def plan(task: SequenceTask, data: TaskData) -> list[Candidate]:
    """The ordered list of architectures to try for ``task``."""
    out: list[Candidate] = []
    order = linear_order(data)
    if order is not None:
        out += [Candidate(h, max_steps=4000) for h in (order, order + 1, order + 2)]
    # one-hot first for small non-binary alphabets: it makes per-symbol nonlinear maps easy
    sizes = [len(ch) for ch in task.channels]
    encodings = ["onehot", "numeric"] if 2 < max(sizes) and sum(sizes) <= 64 else ["numeric"]
    for h in HIDDEN_SIZES:
        width = 32 if h <= 4 else 64
        steps = 1500 if h <= 2 else 2500 if h <= 4 else 4000
        out += [Candidate(h, 2, width, enc, steps, batch=128) for enc in encodings]
    return out


# ------------------------------------------------------------------ the search
@dataclass
class _Data:
    train: TaskData
    val: TaskData
    test: TaskData


def make_data(task: SequenceTask, seed: int) -> _Data:
    """One data pool per task, reused by every architecture (labels are slow to make)."""
    pool = TaskData.generate(task, N_TRAIN + N_VAL, seed)
    test = TaskData.generate(task, N_TEST, seed + TEST_SEED_OFFSET)
    return _Data(TaskData(pool.x[:N_TRAIN], pool.y[:N_TRAIN]),
                 TaskData(pool.x[N_TRAIN:], pool.y[N_TRAIN:]), test)


def search(task: SequenceTask | str, *, budget_seconds: float = 120, seed: int = 0,
           out: str | Path | None = "runs", resume: bool = False,
           progress: bool = True) -> SearchResult:
    """Find the smallest RNN that solves ``task`` (see the module docstring for the plan)."""
    task = task_registry.get(task)
    if budget_seconds <= 0:
        raise ValueError(f"budget_seconds must be > 0, got {budget_seconds}")
    t0 = time.monotonic()
    deadline = t0 + budget_seconds
    run_dir = _open_run(task, out, resume)
    tried = runs.read_progress(run_dir) if run_dir else []
    try:
        data = make_data(task, seed)
        found = _try_all(task, data, tried, run_dir, deadline, seed, progress)
    except BaseException as e:
        if run_dir is not None and not isinstance(e, KeyboardInterrupt):
            runs.finish_run(out, run_dir, "failed", reason=f"{type(e).__name__}: {e}")
        raise
    return _finish(task, found, data, tried, run_dir, out, time.monotonic() - t0)


def _open_run(task: SequenceTask, out: str | Path | None, resume: bool) -> Path | None:
    if out is None:
        return None
    if resume:
        old = runs.find_unfinished(task.name, out)
        if old is not None:
            return old
    return runs.start_run(out, task.name)


def _try_all(task, data, tried, run_dir, deadline, seed, progress):
    """Train candidates in order; return (net, cfg, test_acc) of the winner or the best loser."""
    cands = plan(task, data.train)
    done = {row["key"] for row in tried}
    best: tuple[MIPSRNN, RNNConfig, float] | None = None
    bar = _bar(task, len(cands), progress)
    for i, cand in enumerate(cands):
        bar.update(1) if i else None
        if cand.key in done:
            continue
        if time.monotonic() > deadline:
            break
        row, net, cfg, acc = _try_one(task, cand, data, deadline, seed + i, bar)
        tried.append(row)
        if run_dir is not None:
            runs.write_progress(run_dir, tried)
        if net is not None and (best is None or acc > best[2]):
            best = (net, cfg, acc)
        if acc >= 1.0:
            break
    bar.close()
    return best


def _try_one(task, cand, data, deadline, seed, bar):
    """Train one candidate; returns (tried row, best member, its config, its test accuracy)."""
    cfg = default_config(task, cand.hidden, cand.f_depth, cand.f_width, encoding=cand.encoding,
                         data=data.train)
    bar.set_postfix_str(cand.key)
    cb = lambda step, acc: bar.set_postfix_str(f"{cand.key} step {step} val {acc:.3f}")  # noqa
    row: dict[str, Any] = {"key": cand.key, "config": cfg.describe(), "encoding": cand.encoding,
                           "parameters": cfg.n_params()}
    try:
        res = train_ensemble(task, cfg, cand.n_models, train=data.train, val=data.val,
                             max_steps=cand.max_steps, seed=seed, deadline=deadline,
                             callback=cb, eval_every=100, batch=cand.batch,
                             time_budget=_time_slice(deadline),
                             init=_linear_start(data.train, cand.hidden) if cfg.is_linear else None)
    except TrainingDiverged as e:
        row.update(steps=0, seconds=0.0, val_acc=0.0, test_acc=0.0, status="diverged",
                   reason=str(e))
        return row, None, cfg, 0.0
    test_acc = sequence_accuracy(res.model, data.test) if res.solved else None
    # among the members perfect on the held-out batch, take the best on fresh sequences
    if test_acc is not None:
        val = torch.tensor(res.val_accuracy)
        test_acc = torch.where(val >= 1.0, test_acc, torch.zeros_like(test_acc))
        best = int(torch.argmax(test_acc))
        acc = float(test_acc[best])
    else:
        best, acc = res.best, float(res.val_accuracy[res.best])
    row.update(steps=res.steps, seconds=round(res.seconds, 2),
               val_acc=float(max(res.val_accuracy)), test_acc=acc if res.solved else None,
               status="solved" if acc >= 1.0 else "unsolved")
    return row, res.model.member(best).eval(), cfg, acc


def _linear_start(train: TaskData, hidden: int):
    """Member 0 starts from the Ho–Kalman realization of the least-squares impulse response."""
    def init(model) -> None:
        try:
            load_realization(model, 0, realize(fit_impulse(train), hidden))
        except (np.linalg.LinAlgError, ValueError):
            pass                     # no closed form: member 0 trains from its random start
    return init


def _time_slice(deadline: float) -> float:
    """Seconds one architecture may use: a third of what is left (at least 10 s if available),
    so that a failing small net cannot eat the budget of the larger ones after it."""
    left = deadline - time.monotonic()
    return max(left / 3, min(left, 10.0))


def _finish(task, found, data, tried, run_dir, out, seconds) -> SearchResult:
    if found is None:
        reason = "the time budget ran out before any architecture was trained"
        if run_dir is not None:
            runs.finish_run(out, run_dir, "failed", reason=reason)
        raise ValueError(f"{task.name}: {reason}; raise --budget-seconds")
    net, cfg, _ = found
    acc = float(sequence_accuracy(net.core, data.test)[0])     # the reported number, re-measured
    result = SearchResult(task.name, net, cfg, acc, acc >= 1.0, seconds, cfg.n_params(),
                          tried, run_dir)
    if run_dir is not None:
        _write_run(result, out)
    return result


def _write_run(r: SearchResult, out) -> None:
    save_checkpoint(r.network, r.run_dir, {"task": r.task})
    atomic_write_json(r.run_dir / "metrics.json", {
        "task": r.task, "accuracy": r.accuracy, "solved": r.solved, "seconds": r.seconds,
        "parameters": r.parameters, "hidden_size": r.config.hidden, "n_test": N_TEST,
        "architecture": r.config.describe(), "tried": r.tried})
    status = "done" if r.solved else "failed"
    reason = "" if r.solved else (f"no architecture reached 100% within the budget "
                                  f"(best {r.accuracy:.4f})")
    runs.finish_run(out, r.run_dir, status, reason, r.accuracy, r.config.hidden,
                    r.parameters, r.seconds)


def _bar(task: SequenceTask, total: int, progress: bool):
    from tqdm.auto import tqdm
    return tqdm(total=total, desc=task.name, unit="arch", disable=not progress, leave=False)

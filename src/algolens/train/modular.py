"""Train modular-addition transformers (Clock/Pizza, grokking) many at a time.

The recipe of Zhong et al. (2023): full-batch AdamW (lr 1e-3, weight decay 2, betas (0.9, 0.98)),
10-step linear warm-up, cross-entropy on the last position with the log-softmax in float64, a
seeded random 80/20 split of all p² pairs, 20k steps (Nanda et al.: wd 1, 30% train).

Speed (exact, not approximations): a 1-layer model is trained through
``TransformerEnsemble.grid_logits`` — only the last position's outputs, factored through the
vocabulary, for E members at once (each with its own seed, split and α). On eval steps that
forward covers all p² pairs, so validation loss / accuracy come with it and the train loss is a
mask. Between eval steps, when the split is small (grokking's 30%), only the train pairs are
computed (``TransformerEnsemble.pair_logits``). Deeper models use the plain stacked forward.
The loop itself (updates, schedule, evaluation points, divergence, checkpoints, progress) is the
shared ``train.loop.Loop``; this module plugs that fast path in as its step function.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from ..models.ensemble import TransformerEnsemble
from ..models.transformer import Transformer, TransformerConfig, make_inputs
from ..perf import fast_cpu
from ..store import WEIGHTS, Run, StoreError
from .loop import Loop, TrainingDiverged, adamw, linear_warmup


@dataclass(frozen=True)
class TrainConfig:
    """Optimiser and schedule. ``eval_every`` sets the curve resolution (metrics are free)."""

    steps: int = 20_000
    lr: float = 1e-3
    weight_decay: float = 2.0
    betas: tuple[float, float] = (0.9, 0.98)
    warmup: int = 10
    train_frac: float = 0.8
    eval_every: int = 100
    checkpoint_every: int = 0        # 0: no intermediate checkpoints
    stop_at_100: bool = False        # stop once every member is 100% on train and val
    split_seed: int | None = None    # None: each run's split comes from its own seed
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.steps < 1 or self.eval_every < 1 or self.warmup < 0 or self.checkpoint_every < 0:
            raise ValueError(f"steps and eval_every must be >= 1, warmup and checkpoint_every "
                             f">= 0; got {self}")
        if not 0 < self.train_frac < 1:
            raise ValueError(f"train_frac must be in (0, 1), got {self.train_frac}; e.g. 0.8")
        if self.lr <= 0 or self.weight_decay < 0:
            raise ValueError(f"lr must be > 0 and weight_decay >= 0, got {self.lr}, "
                             f"{self.weight_decay}")


@dataclass
class History:
    """Curves of one run, sampled every ``eval_every`` steps (and at the last step)."""

    step: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)


@dataclass
class RunResult:
    """One trained model: its config, seed, curves and how training ended."""

    config: TransformerConfig
    train: TrainConfig
    seed: int
    history: History
    status: str = "ok"               # "ok" | "diverged"
    reason: str = ""
    steps_done: int = 0
    seconds: float = 0.0             # wall time of the ensemble this run was trained in
    n_members: int = 1
    state: dict[str, torch.Tensor] | None = None

    def model(self) -> Transformer:
        net = Transformer(self.config, seed=None)
        net.load_state_dict(self.state)
        return net

    def summary(self) -> RunSummary:
        h = self.history
        last = lambda xs: xs[-1] if xs else float("nan")
        return RunSummary(self.seed, self.config.attn_rate, self.config.d_model,
                          self.config.p, self.status, self.reason, self.steps_done, self.seconds,
                          self.n_members, last(h.train_loss), last(h.val_loss),
                          last(h.train_acc), last(h.val_acc))

    def record(self) -> TrainingRecord:
        """What a run keeps of its training (``metrics.json``)."""
        return TrainingRecord(self.summary(), self.history)


@dataclass(frozen=True)
class RunSummary:
    """How one modular-addition training run ended: typed, so that a reader asking for a field
    that does not exist fails at once instead of getting nothing. Whether the run *learned* is
    its study's rule (``Study.trained``), not a property of this record."""

    seed: int
    attn_rate: float
    d_model: int
    p: int
    status: str                      # "ok" | "diverged"
    reason: str
    steps_done: int
    seconds: float
    n_members: int
    train_loss: float
    val_loss: float
    train_acc: float
    val_acc: float


@dataclass
class TrainingRecord:
    """``metrics.json`` of a modular-addition run: the summary and the curves (one converter,
    ``algolens.typed``, writes and reads it)."""

    summary: RunSummary
    history: History


def split_mask(p: int, frac: float, seed: int) -> torch.Tensor:
    """Boolean train mask over the p² pairs (make_inputs order), a seeded random permutation."""
    perm = np.random.default_rng(seed).permutation(p * p)
    mask = torch.zeros(p * p, dtype=torch.bool)
    mask[torch.as_tensor(perm[: int(round(frac * p * p))])] = True
    return mask


# Between eval steps a 1-layer model's train loss goes through the per-row path (``pair_logits``)
# when the split holds at most this fraction of the p² pairs, else through the all-pairs grid
# (``grid_logits``, loss masked). Chosen with ``benchmarks/bench_clock_pizza.py --paths``: the
# per-row path is 1.4-2.2x faster at 30%, about even at 50%, 1.2-1.6x slower at 80%.
ROW_PATH_MAX_FRAC = 0.4


class _Stepper:
    """Per-step losses of all members ``[E]``; on eval steps also val loss and all logits.

    Between eval steps only the training pairs' logits are computed when that is cheaper (see
    ``ROW_PATH_MAX_FRAC``): with the grokking setting's 30% split it skips most of the work.
    """

    def __init__(self, ens: TransformerEnsemble, masks: torch.Tensor, labels: torch.Tensor,
                 tokens: torch.Tensor) -> None:
        self.ens, self.masks, self.labels = ens, masks, labels        # masks [E, p*p]
        self.grid = ens.cfg.n_layers == 1
        self.tokens = tokens
        self.n_train = masks.sum(1).double()                          # [E]
        self.n_val = (~masks).sum(1).double()
        # every member's split has round(frac·p²) pairs, so train rows stack as [E, n]
        n = self.n_train
        small = bool((n == n[0]).all()) and n[0] <= ROW_PATH_MAX_FRAC * masks.shape[1]
        self.train_rows = torch.stack([m.nonzero().flatten() for m in masks]) if small else None

    def _logits(self, rows: torch.Tensor | None) -> torch.Tensor:
        if rows is not None:   # only the train pairs
            return self.ens.pair_logits(rows) if self.grid else self.ens(self.tokens[rows])
        if self.grid:
            return self.ens.grid_logits()
        return self.ens(self.tokens)  # general depth: every pair through the stacked forward

    def __call__(self, full: bool = True):
        """-> (train loss [E] with grad, val loss [E] or None, logits [E, p*p, p] or None).

        ``full=False`` computes only the train loss (when the split allows it).
        """
        rows = None if full else self.train_rows
        logits = self._logits(rows)                                   # [E, p*p or n, p]
        labels = self.labels.expand(logits.shape[0], -1) if rows is None else self.labels[rows]
        logp = logits.double().log_softmax(-1)                        # float64, as the paper
        nll = -logp.gather(-1, labels[..., None])[..., 0]
        if rows is not None:
            return nll.sum(1) / self.n_train, None, None
        m = self.masks.double()
        train = (nll * m).sum(1) / self.n_train
        val = (nll.detach() * (1 - m)).sum(1) / self.n_val
        return train, val, logits.detach()


def checkpoint_name(step: int) -> str:
    """The name of a run's checkpoint after ``step`` updates (kept in its manifest)."""
    return f"{CHECKPOINTS}/step_{step:06d}.safetensors"


CHECKPOINTS = "checkpoints"


def _save_checkpoints(runs: list[Run], ens: TransformerEnsemble, step: int) -> None:
    """Each member's weights at ``step`` into its run (``checkpoint_name``, SHA-256 recorded)."""
    for i, run in enumerate(runs):
        run.save_weights(ens.member_state(i), name=checkpoint_name(step))


def train_ensemble(cfg: TransformerConfig, seeds: list[int], alphas: list[float] | None = None,
                   tcfg: TrainConfig = TrainConfig(), checkpoint_runs: list[Run] | None = None,
                   progress: bool = True) -> list[RunResult]:
    """Train one model per (seed, α) as one batched computation; one RunResult per member.

    ``checkpoint_runs`` (one run per member) receive the weights every ``tcfg.checkpoint_every``
    steps (and at step 0) as ``checkpoints/step_NNNNNN.safetensors``, in their manifests.

    A member whose loss becomes NaN/inf is frozen out of the loss and marked ``diverged`` with
    the step and a suggested fix; training stops when every member has diverged, at
    ``tcfg.steps``, or (``stop_at_100``) when every live member is 100% on train and val.
    """
    # Late in training, float32 softmax tails and tiny gradients become subnormal numbers, which
    # x86 CPUs process ~100x slower (measured: 12 -> 6 steps/s by step 2k). Flushing them to
    # zero changes nothing that matters here (the loss is computed in float64); scoped to
    # training, so the caller's setting is back afterwards.
    with fast_cpu(flush_denormal=True):
        return _train(cfg, seeds, alphas, tcfg, checkpoint_runs, progress)


def _train(cfg: TransformerConfig, seeds: list[int], alphas: list[float] | None,
           tcfg: TrainConfig, checkpoint_runs: list[Run] | None, progress: bool
           ) -> list[RunResult]:
    """The modular plug-in of ``train.loop.Loop``: the ``_Stepper`` fast path as step function,
    metrics from the eval step's own all-pairs logits, per-run curves and divergence reasons."""
    dev = torch.device(tcfg.device)
    alphas = [cfg.attn_rate] * len(seeds) if alphas is None else [float(a) for a in alphas]
    ens = TransformerEnsemble(cfg, seeds, alphas).to(dev)
    E = ens.n_models
    tokens, labels = (t.to(dev) for t in make_inputs(cfg))
    masks = torch.stack([split_mask(cfg.p, tcfg.train_frac, s if tcfg.split_seed is None
                                    else tcfg.split_seed) for s in seeds]).to(dev)
    stepper = _Stepper(ens, masks, labels, tokens)
    members = [ens.member_config(i) for i in range(E)]
    results = [RunResult(members[i], tcfg, seeds[i], History(), n_members=E) for i in range(E)]
    held: dict[str, torch.Tensor] = {}

    def step_fn(it: int, evaluate: bool) -> torch.Tensor:
        held["train"], held["val"], held["logits"] = stepper(full=evaluate)
        return held["train"]

    def eval_fn(it: int, alive: torch.Tensor) -> dict:
        correct = held["logits"].argmax(-1) == labels                 # [E, p*p], eval steps only
        return _record(results, it, held["train"], held["val"], correct, masks, alive)

    def checkpoint(n: int) -> None:
        _save_checkpoints(checkpoint_runs, ens, n)

    loop = Loop(step_fn, adamw(ens.parameters(), tcfg.lr, tcfg.weight_decay, tcfg.betas,
                               fused=True),
                steps=tcfg.steps, schedule=linear_warmup(tcfg.warmup), eval_fn=eval_fn,
                eval_at=lambda it: it % tcfg.eval_every == 0 or it == tcfg.steps - 1,
                stop_rule=(lambda it, m: m["done"]) if tcfg.stop_at_100 else None,
                on_diverged=lambda bad, it, loss: _mark_diverged(results, bad, it, loss, tcfg),
                on_checkpoint=checkpoint if checkpoint_runs else None,
                checkpoint_every=tcfg.checkpoint_every, progress=progress)
    t0 = time.perf_counter()
    try:
        updates = loop.run().steps
    except TrainingDiverged:          # every run is marked diverged, with its step and a fix
        updates = 0
    seconds = time.perf_counter() - t0
    for i, r in enumerate(results):
        r.steps_done = updates if r.status == "ok" else r.steps_done
        r.seconds, r.state = seconds, {k: v.cpu() for k, v in ens.member_state(i).items()}
    return results


def _mark_diverged(results: list[RunResult], bad: list[int], step: int, loss: torch.Tensor,
                   tcfg: TrainConfig) -> None:
    for i in bad:
        r = results[i]
        r.status, r.steps_done = "diverged", step
        r.reason = (f"loss became {loss[i].item()} at step {step} (lr {tcfg.lr}); the run is "
                    "stopped: try a lower --lr or a longer warm-up")


def _record(results: list[RunResult], step: int, train_loss: torch.Tensor,
            val_loss: torch.Tensor, correct: torch.Tensor, masks: torch.Tensor,
            alive: torch.Tensor) -> dict:
    """Append curve points; metrics of the live members (worst of each) and ``done``: every
    live member is 100% on train and val."""
    c = correct.double()
    m = masks.double()
    tr_acc = ((c * m).sum(1) / m.sum(1)).tolist()
    va_acc = ((c * (1 - m)).sum(1) / (1 - m).sum(1)).tolist()
    tl, vl = train_loss.detach().tolist(), val_loss.tolist()
    for i, r in enumerate(results):
        if r.status != "ok":
            continue
        h = r.history
        h.step.append(step)
        h.train_loss.append(tl[i])
        h.val_loss.append(vl[i])
        h.train_acc.append(tr_acc[i])
        h.val_acc.append(va_acc[i])
    live = [i for i in range(len(results)) if bool(alive[i])]
    if not live:
        return {"done": False}
    return {"train_loss": min(tl[i] for i in live), "val_acc": min(va_acc[i] for i in live),
            "done": all(tr_acc[i] == 1.0 and va_acc[i] == 1.0 for i in live)}


# ------------------------------------------------------------------------- runs of the store
def load_model(cfg: TransformerConfig, run: Run, name: str = WEIGHTS) -> Transformer:
    """A ``Transformer`` of shape ``cfg`` with the weights ``name`` of ``run`` (the final
    weights or a ``checkpoint_name``), read through the run: a file whose SHA-256 differs from
    the manifest is refused (``StoreError`` naming the run and the file), a truncated or
    mismatched one is a ``ValueError`` with the fix."""
    from .checkpoint import _fill
    try:
        tensors = run.load_weights(name)
    except StoreError:
        raise
    except Exception as e:  # safetensors raises its own error types for truncated files
        raise ValueError(f"run {run.id}: {name} cannot be read as safetensors ({e}); the file "
                         f"is truncated or corrupt: delete {run.dir} and train again") from e
    net = Transformer(cfg, seed=None)
    _fill(net, tensors, run.dir / name, str(cfg.to_dict()))
    return net


def list_checkpoints(run: Run) -> list[tuple[int, str]]:
    """``(step, name)`` of every checkpoint the run recorded in its manifest, in step order."""
    from ..store import _manifest
    names = [n for n in _manifest(run.dir) if n.startswith(f"{CHECKPOINTS}/step_")
             and n.endswith(".safetensors")]
    return sorted((int(n.rsplit("_", 1)[1].split(".")[0]), n) for n in names)


def sec_per_1k(result: RunResult) -> float:
    return 1000 * result.seconds / max(1, result.steps_done) if result.steps_done else math.nan

"""Train a decoder-only seq2seq transformer on a recursion task, and score it.

Data are fresh samples every step from the task's in-distribution split (optionally with a
fraction of rare cases: the oversampling remedy); the run is a function of (config, seed).
Scoring uses one teacher-forced forward pass: a greedy decoder reproduces the target exactly iff
every teacher-forced argmax is right (each step then sees the right prefix), so exact-sequence
accuracy needs no decoding. Per-token accuracy is teacher-forced too (each output step judged
given the right prefix). Greedy decoding is only run where the actual outputs are needed.

The loop is the shared ``train.loop.Loop``; this module is its seq2seq plug-in (``batch_loss``
as the step function, ``clip_gradients`` after backward).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from ..models.seq2seq import IGNORE, Seq2SeqConfig, Seq2SeqTransformer
from ..tasks.seq2seq import Seq2SeqTask
from .loop import Loop, adamw, linear_warmup, linear_warmup_cosine


@dataclass(frozen=True)
class Seq2SeqTrainConfig:
    """Optimisation settings; limits are counted in steps."""

    steps: int = 1500
    batch: int = 64
    lr: float = 2e-3
    weight_decay: float = 0.01
    warmup: int = 50
    schedule: str = "constant"   # after the warm-up: "constant" or "cosine" (down to lr/100)
    oversample: float = 0.0      # fraction of rare cases in each batch (the remedy)
    eval_every: int = 100
    eval_n: int = 1000
    stop_at: float = 1.0         # stop when held-out exact accuracy reaches this; 1.0 runs all
                                 # steps (a perfect eval batch early on is not a finished model)

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch < 1 or self.eval_every < 1 or self.eval_n < 1:
            raise ValueError("steps, batch, eval_every and eval_n must be >= 1")
        if not 0.0 <= self.oversample <= 1.0:
            raise ValueError(f"oversample is a fraction in [0, 1], got {self.oversample}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if self.schedule not in ("constant", "cosine"):
            raise ValueError(f"schedule must be 'constant' or 'cosine', got {self.schedule!r}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Scores:
    """Accuracy of a model on a set of rows, overall and stratified by the task's feature."""

    n: int
    exact: float
    per_token: float
    by_feature: dict[int, tuple[int, float]]    # feature value -> (rows, exact accuracy)
    correct: np.ndarray = field(repr=False)      # [n] bool, exact match per row

    def to_dict(self) -> dict:
        return {"n": self.n, "exact": self.exact, "per_token": self.per_token,
                "by_feature": {str(k): {"n": n, "exact": a} for k, (n, a) in
                               sorted(self.by_feature.items())}}


@dataclass
class FeatureScore:
    n: int
    exact: float


@dataclass
class SplitScore:
    """``Scores`` as a run keeps them: exact / per-token accuracy on one split, by the task's
    feature value (a string key, as in JSON)."""

    n: int
    exact: float
    per_token: float
    by_feature: dict[str, FeatureScore]

    @classmethod
    def of(cls, sc: Scores) -> SplitScore:
        return cls(sc.n, sc.exact, sc.per_token, {str(k): FeatureScore(n, a) for k, (n, a) in
                                                  sorted(sc.by_feature.items())})


@dataclass
class HistoryPoint:
    """One evaluation during training (fresh in-distribution rows)."""

    step: int
    loss: float
    exact: float
    per_token: float


@dataclass
class TrainingSummary:
    """What a training run gave: steps, time, the evaluation history and the final accuracy on
    fresh rows of each split (a run's ``metrics.json``)."""

    steps: int
    train_seconds: float
    history: list[HistoryPoint]
    test: SplitScore
    rare: SplitScore
    ood: SplitScore


def evaluate_splits(model: Seq2SeqTransformer, task: Seq2SeqTask, n: int, seed: int
                    ) -> dict[str, SplitScore]:
    """Exact / per-token accuracy on ``n`` fresh rows (from ``seed``) of the test, rare and
    ood splits, stratified by the task's feature."""
    return {s: SplitScore.of(score(model, task, task.sample(n, seed, s)))
            for s in ("test", "rare", "ood")}


def model_config_for(task: Seq2SeqTask, **shape) -> Seq2SeqConfig:
    return Seq2SeqConfig(task.input_alphabet, task.output_alphabet, task.max_input_len,
                         task.max_output_len, **shape)


def batch_loss(model: Seq2SeqTransformer, xs: list, ys: list) -> torch.Tensor:
    """Teacher-forced cross-entropy of one batch (the forward half of a training step)."""
    return model.loss(xs, ys)


def clip_gradients(model: Seq2SeqTransformer, max_norm: float = 1.0) -> None:
    """Clip the global gradient norm (run between backward and the optimizer step)."""
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)


@torch.no_grad()
def score(model: Seq2SeqTransformer, task: Seq2SeqTask, xs: list, batch: int = 500) -> Scores:
    """Exact-sequence and per-token accuracy (teacher forced, see module docstring)."""
    ys = task.targets(xs)
    correct, tok_ok, tok_n = [], 0, 0
    was = model.training
    model.eval()
    for i in range(0, len(xs), batch):
        tokens, mask, targets = model.encode(xs[i:i + batch], ys[i:i + batch])
        pred = model(tokens, attention_mask=mask).argmax(-1)
        hit = (pred == targets) | (targets == IGNORE)
        correct.append(hit.all(1).numpy())
        tok_ok += int(((pred == targets) & (targets != IGNORE)).sum())
        tok_n += int((targets != IGNORE).sum())
    model.train(was)
    correct = np.concatenate(correct)
    return Scores(len(xs), float(correct.mean()), tok_ok / max(tok_n, 1),
                  stratify(correct, task.features(xs)), correct)


def stratify(values: np.ndarray, feature: np.ndarray) -> dict[int, tuple[int, float]]:
    return {int(f): (int((feature == f).sum()), float(values[feature == f].mean()))
            for f in np.unique(feature)}


@dataclass
class TrainResult:
    model: Seq2SeqTransformer
    steps: int
    history: list[HistoryPoint]        # one row per evaluation


def _schedule(tcfg: Seq2SeqTrainConfig):
    """LR factor per update: linear warm-up over ``tcfg.warmup`` updates, then constant or a
    cosine down to 1/100 at the last step."""
    if tcfg.schedule == "constant":
        return linear_warmup(tcfg.warmup)
    return linear_warmup_cosine(tcfg.steps, tcfg.warmup)


def train(task: Seq2SeqTask, cfg: Seq2SeqConfig, tcfg: Seq2SeqTrainConfig, seed: int = 0,
          progress: bool = True) -> TrainResult:
    """Train from scratch with the shared ``train.loop.Loop``; evaluate every ``eval_every``
    updates (and after the last) on fresh in-distribution rows, stop early at ``stop_at``.

    The plug-in: ``step_fn`` draws a fresh batch from a private generator and returns its loss;
    gradients are clipped to norm 1 (``after_backward``); the LR warms up linearly, then stays
    or follows a cosine (``tcfg.schedule``).
    """
    model = Seq2SeqTransformer(cfg, seed=seed)
    rng = np.random.default_rng([seed, 1])
    held = task.sample(tcfg.eval_n, np.random.default_rng([seed, 2]), "test")
    history: list[HistoryPoint] = []
    loss = {"pending": torch.zeros(()), "done": float("nan")}   # the last update's loss

    def step_fn(it: int, evaluate: bool) -> torch.Tensor:
        xs = task.sample(tcfg.batch, rng, "train", oversample=tcfg.oversample)
        loss["pending"] = batch_loss(model, xs, task.targets(xs))
        return loss["pending"]

    def after_backward() -> None:
        clip_gradients(model)
        loss["done"] = float(loss["pending"].detach())

    def eval_fn(it: int, alive: torch.Tensor) -> dict:
        sc = score(model, task, held)
        history.append(HistoryPoint(it, loss["done"], sc.exact, sc.per_token))
        return {"loss": loss["done"], "exact": sc.exact}

    out = Loop(step_fn, adamw(model.parameters(), lr=tcfg.lr, weight_decay=tcfg.weight_decay),
               steps=tcfg.steps, schedule=_schedule(tcfg), eval_fn=eval_fn,
               eval_at=lambda it: it > 0 and it % tcfg.eval_every == 0, final_eval=True,
               stop_rule=(lambda it, m: m["exact"] >= tcfg.stop_at) if tcfg.stop_at < 1.0
               else None,
               after_backward=after_backward, progress=progress, desc=f"train {task.name}",
               what=f"seq2seq {task.name}", hint=f"lower the learning rate (now {tcfg.lr:g})"
               ).run()
    model.eval()
    return TrainResult(model, out.steps, history)

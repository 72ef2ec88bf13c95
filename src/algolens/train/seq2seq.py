"""Train a decoder-only seq2seq transformer on a recursion task, and score it.

Data are fresh samples every step from the task's in-distribution split (optionally with a
fraction of rare cases: the oversampling remedy); the run is a function of (config, seed).
Scoring uses one teacher-forced forward pass: a greedy decoder reproduces the target exactly iff
every teacher-forced argmax is right (each step then sees the right prefix), so exact-sequence
accuracy needs no decoding. Per-token accuracy is teacher-forced too (each output step judged
given the right prefix). Greedy decoding is only run where the actual outputs are needed.

``step`` is the per-batch step function (the piece a shared training loop would call).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from ..models.seq2seq import IGNORE, Seq2SeqConfig, Seq2SeqTransformer
from ..tasks.seq2seq import Seq2SeqTask


@dataclass(frozen=True)
class Seq2SeqTrainConfig:
    """Optimisation settings; limits are counted in steps."""

    steps: int = 1500
    batch: int = 64
    lr: float = 2e-3
    weight_decay: float = 0.01
    warmup: int = 50
    oversample: float = 0.0      # fraction of rare cases in each batch (the remedy)
    eval_every: int = 100
    eval_n: int = 1000
    stop_at: float = 1.0         # stop when held-out exact accuracy reaches this (1.0: all steps)

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch < 1 or self.eval_every < 1 or self.eval_n < 1:
            raise ValueError("steps, batch, eval_every and eval_n must be >= 1")
        if not 0.0 <= self.oversample <= 1.0:
            raise ValueError(f"oversample is a fraction in [0, 1], got {self.oversample}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")

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


def model_config_for(task: Seq2SeqTask, **shape) -> Seq2SeqConfig:
    return Seq2SeqConfig(task.input_alphabet, task.output_alphabet, task.max_input_len,
                         task.max_output_len, **shape)


def step(model: Seq2SeqTransformer, opt: torch.optim.Optimizer, xs: list, ys: list) -> float:
    """One optimisation step on a batch; returns the loss."""
    loss = model.loss(xs, ys)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    return float(loss.detach())


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
    history: list[dict]        # one row per evaluation: step, loss, exact, per_token


def train(task: Seq2SeqTask, cfg: Seq2SeqConfig, tcfg: Seq2SeqTrainConfig, seed: int = 0,
          progress: bool = True) -> TrainResult:
    """Train from scratch; evaluate every ``eval_every`` steps on fresh in-distribution rows."""
    from tqdm.auto import tqdm

    model = Seq2SeqTransformer(cfg, seed=seed)
    opt = torch.optim.AdamW(model.parameters(), lr=tcfg.lr, weight_decay=tcfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / tcfg.warmup))
    rng = np.random.default_rng([seed, 1])
    held = task.sample(tcfg.eval_n, np.random.default_rng([seed, 2]), "test")
    history: list[dict] = []
    bar = tqdm(range(1, tcfg.steps + 1), desc=f"train {task.name}", disable=not progress,
               leave=False)
    s = 0
    for s in bar:
        xs = task.sample(tcfg.batch, rng, "train", oversample=tcfg.oversample)
        loss = step(model, opt, xs, task.targets(xs))
        sched.step()
        if s % tcfg.eval_every == 0 or s == tcfg.steps:
            sc = score(model, task, held)
            history.append({"step": s, "loss": loss, "exact": sc.exact,
                            "per_token": sc.per_token})
            bar.set_postfix(loss=f"{loss:.4f}", exact=f"{sc.exact:.4f}")
            if sc.exact >= tcfg.stop_at:
                break
    bar.close()
    model.eval()
    return TrainResult(model, s, history)

"""Architecture search: the smallest MIPS RNN that is 100% correct, with step-counted limits.

Plan (generic rules from the data and alphabet, never from the task's name):
  1. If a least-squares fit shows the targets are a rounded *linear* function of the input
     history (max residual < 0.5) -- in the raw values, or else, for small alphabets, in one-hot
     features -- try linear nets (f = g = depth 1) at the minimal state size read off the rank of
     the Hankel matrix of the fitted impulse response, then one and two units more. One member
     starts from the Ho-Kalman realization (linear.py), so exactly linear tasks need no steps.
  2. Then ReLU nets f = 2 x width, g = 1, with hidden sizes in groups (1/2/3/4, 6/8, 12/16,
     24/32) trained together as one masked ensemble (mixed.py), 4 seeds per size, on batches
     of ``BATCH`` = 64 sequences; one-hot inputs for small non-binary alphabets (numeric
     otherwise). (Batches of 128 cost nearly twice as much per step and solved no more tasks:
     benchmarks/results/mips_62_from_scratch.md.)
  3. After the additive row of each group but the largest, the same group in the
     *bilinear* cell (f on [h, x, h (x) x], models/rnn.py: with one-hot inputs, one map of the
     state per symbol); after the smallest group also its affine form (f = 1, sizes 1..8, the
     smallest in parameters). Updates bilinear in state and input or in time (Bit_Palindrome's
     x_t 2^t), rotations of a cyclic group (Add_Mod_k, Dithering) and small state machines are
     exact in it where the additive cell stalls short of 100%. Every row of the search log
     names its cell (``...;bilinear``).
  4. Last, for small alphabets, the smallest group once more on the raw values: one-hot contains
     the numeric map at the same sizes, so this is another inductive bias, not a larger family
     (in four full benchmark runs it never found a network the rows before it missed).
Training stops when a member is 100% right on a held-out batch (waiting a little for a smaller
size in the group; the check runs every 100 steps and reads the whole batch only once some
member is perfect on its first 1,024 sequences); the smallest such member is confirmed on 20,000
fresh sequences (polished if it misses a few, as is an ensemble that ends just short) and its
accuracy reported on another 10,000 fresh sequences.

Every limit is counted in work -- the plan is fixed, each candidate has a step cap
(``Candidate.max_steps``), a polish is ``POLISH_STEPS`` steps -- so the network found is a
function of (task, seed) alone, whatever the machine's load. ``budget_seconds`` is only a safety
cap: when it bites, the search stops and its result says ``budget_exhausted`` (in the
SearchResult, the run's result.json, the run index and the CLI), never silently a different answer.

A search with a store is one run of study ``train`` (``runs.py``): its resume state, network and
typed result (``SearchSummary``) are written through the ``Run``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import tasks as task_registry
from ..models.rnn import MIPSRNN, RNNConfig
from ..perf import fast_cpu
from ..store import Run, RunStore
from ..tasks.spec import SequenceTask
from . import runs
from .checkpoint import save_checkpoint
from .linear import features, fit_impulse, linear_order, load_realization, realize
from .mixed import apply_masks, mask_grads, member_sizes, shrink, state_masks
from .rnn import TaskData, TrainingDiverged, default_config, sequence_accuracy, train_ensemble

N_TRAIN, N_VAL, N_TEST = 16_384, 4096, 10_000
POLISH_STEPS = 1000                   # one polish: steps at lr/10 from the trained ensemble
NEAR_MISS = 0.99                      # held-out accuracy at which an unsolved ensemble is polished
N_CONFIRM = 20_000                    # twice the test size: rare misses show up before the test
TEST_SEED_OFFSET = 1_000_003          # test data never shares a seed with training data
# nonlinear hidden sizes, in groups trained together as one masked ensemble (see mixed.py)
HIDDEN_GROUPS = ((1, 2, 3, 4), (6, 8), (12, 16), (24, 32))
BILINEAR_SIZES = (1, 2, 3, 4, 6, 8)     # bilinear cell (f = 1), tried after the first group
BILINEAR_GROUPS = HIDDEN_GROUPS[:3]     # bilinear cell (f = 2 x width): all but the largest group
BATCH = 64                            # sequences per step of the nonlinear rows


@dataclass(frozen=True)
class Candidate:
    """Architectures to try together: ``hidden`` is the largest size, ``sizes`` all sizes in the
    ensemble (smallest preferred), with a step cap and the ensemble size."""

    hidden: int
    f_depth: int = 1
    f_width: int = 0
    encoding: str = "numeric"
    max_steps: int = 3000
    n_models: int = 8
    batch: int = 256
    sizes: tuple[int, ...] = ()
    cell: str = "additive"

    @property
    def key(self) -> str:
        f = "1" if self.f_depth == 1 else f"{self.f_depth}x{self.f_width}"
        h = "/".join(map(str, self.sizes)) if len(self.sizes) > 1 else str(self.hidden)
        cell = ";bilinear" if self.cell == "bilinear" else ""
        return f"h={h};f={f};g=1;{self.encoding}{cell}"


@dataclass
class SearchSummary:
    """The typed result of a search run (its ``result.json``): what ``algolens train`` found."""

    task: str
    accuracy: float               # on 10,000 fresh sequences never used for selection
    solved: bool
    seconds: float
    parameters: int
    hidden_size: int
    architecture: str
    encoding: str
    budget_exhausted: bool
    n_test: int = N_TEST
    tried: list[dict[str, Any]] = field(default_factory=list)   # one row per architecture


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
    budget_exhausted: bool = False    # the safety cap bit: the best found so far, not the answer
    budget_seconds: float | None = None                       # the safety cap (None: none)
    run_id: str | None = None         # the search's run in the store (None: not stored)

    def record(self) -> SearchSummary:
        """The typed result the run keeps (``result.json``)."""
        return SearchSummary(self.task, self.accuracy, self.solved, self.seconds,
                             self.parameters, self.config.hidden, self.config.describe(),
                             self.config.encoding, self.budget_exhausted, N_TEST, self.tried)

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary (what ``algolens train --json`` prints)."""
        return {"task": self.task, "accuracy": self.accuracy, "solved": self.solved,
                "budget_exhausted": self.budget_exhausted,
                "hidden_size": self.config.hidden, "architecture": self.config.describe(),
                "encoding": self.config.encoding, "parameters": self.parameters,
                "seconds": round(self.seconds, 2), "tried": self.tried,
                "run_dir": str(self.run_dir) if self.run_dir else None, "run": self.run_id}


# ------------------------------------------------------------------ the plan
def plan(task: SequenceTask, data: TaskData) -> list[Candidate]:
    """The ordered list of architectures to try for ``task``."""
    out: list[Candidate] = []
    sizes = [len(ch) for ch in task.channels]
    small = 2 < max(sizes) and sum(sizes) <= 64
    # linear in the raw values, or else (small alphabets) linear in the one-hot features
    for enc in ["numeric", "onehot"] if small else ["numeric"]:
        cfg = default_config(task, 1, encoding=enc)
        order = linear_order(features(data, cfg))
        if order is not None:
            out += [Candidate(h, 1, 0, enc, 4000) for h in (order, order + 1, order + 2)]
            break
    # one-hot for small non-binary alphabets: it makes per-symbol nonlinear maps easy
    first = "onehot" if small else "numeric"
    for group in HIDDEN_GROUPS:
        out.append(_relu_row(group, first, "additive"))
        # the additive cell stalled at these sizes: the bilinear cell, affine (the smallest in
        # parameters) once, then with the same ReLU layer as the additive row
        if group == HIDDEN_GROUPS[0]:
            out.append(Candidate(max(BILINEAR_SIZES), 1, 0, first, 2000,
                                 n_models=2 * len(BILINEAR_SIZES), batch=BATCH,
                                 sizes=BILINEAR_SIZES, cell="bilinear"))
        if group in BILINEAR_GROUPS:
            out.append(_relu_row(group, first, "bilinear"))
    # raw values once, last: one-hot contains the numeric map at the same sizes (its first
    # layer can learn w * x), so this is only another inductive bias, not a larger family
    if small:
        out.append(_relu_row(HIDDEN_GROUPS[0], "numeric", "additive"))
    return out


def _relu_row(group: tuple[int, ...], encoding: str, cell: str) -> Candidate:
    """f = 2 x width for the sizes of ``group`` in one masked ensemble, 4 seeds per size."""
    h = max(group)
    return Candidate(h, 2, 32 if h <= 4 else 64, encoding, 3000 if h <= 4 else 4000,
                     n_models=4 * len(group), batch=BATCH, sizes=group, cell=cell)


# ------------------------------------------------------------------ the search
@dataclass
class _Data:
    train: TaskData
    val: TaskData          # held-out batch: the stopping rule
    confirm: TaskData      # 20,000 fresh sequences: confirms a member that stopped
    test: TaskData         # 10,000 other fresh sequences: the reported accuracy
    task: SequenceTask     # with ``seed``: makes ``fresh`` sets on demand
    seed: int

    def fresh(self) -> TaskData:
        """Yet another 10,000 fresh sequences, for a score after ``test`` was used to polish."""
        return TaskData.generate(self.task, N_TEST, self.seed + 3 * TEST_SEED_OFFSET)


def make_data(task: SequenceTask, seed: int) -> _Data:
    """One data pool per task, reused by every architecture (labels are slow to make)."""
    pool = TaskData.generate(task, N_TRAIN + N_VAL, seed)
    confirm = TaskData.generate(task, N_CONFIRM, seed + TEST_SEED_OFFSET)
    test = TaskData.generate(task, N_TEST, seed + 2 * TEST_SEED_OFFSET)
    return _Data(TaskData(pool.x[:N_TRAIN], pool.y[:N_TRAIN]),
                 TaskData(pool.x[N_TRAIN:], pool.y[N_TRAIN:]), confirm, test, task, seed)


def search(task: SequenceTask | str, *, budget_seconds: float | None = None, seed: int = 0,
           out: RunStore | str | Path | None = "runs", resume: bool = False,
           progress: bool = True, threads: int | None = 1, run_id: str | None = None
           ) -> SearchResult:
    """Find the smallest RNN that solves ``task`` (see the module docstring for the plan).

    The result is a function of (task, seed). ``budget_seconds`` (default: none) is a safety cap
    on wall-clock time; if it bites, the result is marked ``budget_exhausted``. Training runs on
    ``threads`` torch threads (default 1, as ``algolens train`` and ``algolens mips`` do: a
    different count changes float summation order, so the network found; None keeps the
    process's count); the caller's count is restored afterwards. ``out`` is the run store (or
    its root folder; None: nothing is stored); ``run_id`` a deterministic id for the run.
    """
    store = out if isinstance(out, RunStore) or out is None else RunStore(out)
    with fast_cpu(threads=threads):
        return _search(task, budget_seconds, seed, store, resume, progress, run_id)


def _search(task, budget_seconds, seed, store, resume, progress, run_id) -> SearchResult:
    task = task_registry.get(task)
    if budget_seconds is not None and not budget_seconds > 0:
        raise ValueError(f"budget_seconds must be > 0 (or None for no cap), got {budget_seconds}")
    t0 = time.monotonic()
    cap = _Cap(None if budget_seconds is None else t0 + budget_seconds, budget_seconds)
    run, resumed = _open_run(task, store, resume, seed, budget_seconds, run_id)
    tried = runs.read_progress(run) if resumed else []
    try:
        data = make_data(task, seed)
        found = _try_all(task, data, tried, run, cap, seed, progress)
    except BaseException as e:
        if run is not None:
            stopped = isinstance(e, (KeyboardInterrupt, SystemExit))
            runs.finish_run(run, "interrupted" if stopped else "failed",
                            reason="interrupted: `algolens train TASK --resume` continues it"
                            if stopped else f"{type(e).__name__}: {e}")
        raise
    return _finish(task, found, tried, run, time.monotonic() - t0, cap)


@dataclass
class _Cap:
    """The wall-clock safety cap: ``deadline`` (monotonic seconds, None: no cap); ``hit`` is set
    once it has cut anything short."""

    deadline: float | None
    seconds: float | None
    hit: bool = False

    def passed(self) -> bool:
        if self.deadline is not None and time.monotonic() > self.deadline:
            self.hit = True
        return self.hit

    def reason(self) -> str:
        return exhausted_reason(self.seconds)


def exhausted_reason(seconds: float | None) -> str:
    """What a search cut short by its safety cap says (run index, CLI)."""
    return (f"budget exhausted: the {seconds:g} s safety cap (--budget-seconds) stopped the "
            "search early; the result is the best found so far, not the search's answer "
            "(raise or drop --budget-seconds)")


def _open_run(task: SequenceTask, store: RunStore | None, resume: bool, seed: int,
              budget_seconds: float | None, run_id: str | None) -> tuple[Run | None, bool]:
    """(the search's run, whether it continues an unfinished one)."""
    if store is None:
        return None, False
    if resume:
        old = runs.find_unfinished(store, task.name, task.fingerprint())
        if old is not None:
            return runs.reopen_run(store, old), True
    return runs.start_run(store, task.name, seed=seed, budget_seconds=budget_seconds,
                          fingerprint=task.fingerprint(), run_id=run_id), False


def _try_all(task, data, tried, run: Run | None, cap: _Cap, seed, progress):
    """Train candidates in order; return (net, cfg, test_acc) of the winner or the best loser."""
    cands = plan(task, data.train)
    done = {row["key"] for row in tried}
    best: tuple[MIPSRNN, RNNConfig, float] | None = None
    bar = _bar(task, len(cands), progress)
    for i, cand in enumerate(cands):
        bar.update(1) if i else None
        if cand.key in done or _hopeless(cand, tried):
            continue
        if cap.passed():
            break
        row, net, cfg, acc = _try_one(task, cand, data, cap, seed + i, bar)
        tried.append(row)
        if run is not None:
            runs.write_progress(run, tried)
        if net is not None and (best is None or acc > best[2]):
            best = (net, cfg, acc)
        if acc >= 1.0 or cap.hit:
            break
    bar.close()
    return best


def _hopeless(cand: Candidate, tried: list[dict]) -> bool:
    """Skip an input encoding that was far behind another one on the same sizes (best held-out
    accuracy < 0.5 while the other reached >= 0.9): larger nets rarely close such a gap, and the
    time is better spent on the encoding that works."""
    best: dict[str, float] = {}
    for row in tried:
        if row["key"].split(";")[1] != "f=1":                  # nonlinear rows only
            best[row["encoding"]] = max(best.get(row["encoding"], 0.0), row["val_acc"])
    others = [v for enc, v in best.items() if enc != cand.encoding]
    return (cand.f_depth > 1 and cand.encoding in best and best[cand.encoding] < 0.5
            and any(v >= 0.9 for v in others))


def _try_one(task, cand, data, cap: _Cap, seed, bar):
    """Train one candidate; returns (tried row, best member, its config, its test accuracy).

    A member perfect on the held-out batch is confirmed on 20,000 fresh sequences; if it misses
    a few, the ensemble is polished (``POLISH_STEPS`` more steps at a tenth of the rate, all of
    them: the annealing widens the rounding margins, where stopping at the first perfect check
    left nets that miss one sequence in 10,000). An ensemble that ends its schedule close
    (>= ``NEAR_MISS`` on the held-out batch) is polished the same way first. The accuracy
    returned is measured on yet another fresh set, never used for selection.
    """
    cfg = default_config(task, cand.hidden, cand.f_depth, cand.f_width, encoding=cand.encoding,
                         data=data.train, cell=cand.cell)
    cb = lambda step, acc: bar.set_postfix_str(f"{cand.key} step {step} val {acc:.3f}")
    row: dict[str, Any] = {"key": cand.key, "config": cfg.describe(), "encoding": cand.encoding,
                           "parameters": cfg.n_params()}
    sizes = member_sizes(cand.sizes or (cand.hidden,), cand.n_models)
    masks: dict = {}
    init = (_linear_start(data.train, cfg) if cand.f_depth == 1 and cand.cell == "additive"
            else _masked_start(sizes, masks))
    kw = {"callback": cb, "eval_every": 100, "batch": cand.batch, "deadline": cap.deadline,
          "after_backward": lambda model: mask_grads(model, masks)}

    def polish(model, val: TaskData):     # more steps at a lower rate, scored on ``val``
        # all steps run, so ``val`` is checked once, at the end (checks on the way decide nothing)
        return train_ensemble(task, cfg, cand.n_models, train=data.train, val=val,
                              max_steps=POLISH_STEPS, lr=1e-3, seed=seed,
                              init=_copy_from(model), stop_when_solved=False,
                              **{**kw, "eval_every": 0})
    try:
        res = train_ensemble(task, cfg, cand.n_models, train=data.train, val=data.val,
                             max_steps=cand.max_steps, seed=seed, init=init,
                             stop_rule=_prefer_small(sizes), **kw)
        steps, seconds = res.steps, res.seconds
        cap.hit |= res.budget_exhausted
        if not res.solved and max(res.val_accuracy) >= NEAR_MISS and not cap.passed():
            res = polish(res.model, data.val)
            steps, seconds = steps + res.steps, seconds + res.seconds
            cap.hit |= res.budget_exhausted
        kept = _confirm(res, data, sizes) if res.solved else None
        if kept is not None and kept[1] < 1.0 and not cap.passed():
            res = polish(res.model, data.confirm)
            steps, seconds = steps + res.steps, seconds + res.seconds
            cap.hit |= res.budget_exhausted
            kept = _confirm(res, data, sizes) if res.solved else None
    except TrainingDiverged as e:
        row.update(steps=0, seconds=0.0, val_acc=0.0, test_acc=0.0, status="diverged",
                   reason=str(e))
        return row, None, cfg, 0.0
    best, confirmed = kept if kept is not None else (res.best, 0.0)
    net = shrink(res.model.member(best), sizes[best])
    acc = float(sequence_accuracy(net.core, data.test)[0])
    if confirmed >= 1.0 and 0.999 <= acc < 1.0 and not cap.passed():
        # a rare miss on the test set: polish against it, then score on a brand-new set
        res = polish(res.model, data.test)
        steps, seconds = steps + res.steps, seconds + res.seconds
        cap.hit |= res.budget_exhausted
        best = int(torch.argmax(torch.tensor(res.val_accuracy)))
        net = shrink(res.model.member(best), sizes[best])
        acc = float(sequence_accuracy(net.core, data.fresh())[0])
    cfg = net.cfg
    row.update(hidden=cfg.hidden, chosen=cfg.describe(), steps=steps, seconds=round(seconds, 2),
               val_acc=float(max(res.val_accuracy)),
               confirm_acc=confirmed, test_acc=acc,
               status="budget exhausted" if cap.hit else "solved" if acc >= 1.0 else "unsolved")
    return row, net, cfg, acc


def _confirm(res, data, sizes: list[int]) -> tuple[int, float]:
    """The member to keep: among those perfect on the held-out batch, the smallest hidden size
    that is also perfect on the confirmation set, else the best on the confirmation set."""
    perfect = [i for i, v in enumerate(res.val_accuracy) if v >= 1.0]
    acc = torch.zeros(len(sizes))                                          # [E]
    if perfect:                   # only these can be kept: score them alone, as one ensemble
        acc[perfect] = sequence_accuracy(res.model.members(perfect), data.confirm)
    order = sorted(range(len(sizes)), key=lambda i: (-float(acc[i] >= 1.0), sizes[i], -acc[i]))
    return order[0], float(acc[order[0]])


def _prefer_small(sizes: list[int]):
    """Stop once a member of the smallest size is perfect; if only larger members are, keep
    training a while longer (half the steps so far, at least 300) to give smaller ones a chance."""
    first: list[int] = []

    def rule(step: int, acc: torch.Tensor) -> bool:
        solved = [sizes[i] for i in range(len(sizes)) if acc[i] >= 1.0]
        if not solved:
            return False
        first.append(step)
        return min(solved) == min(sizes) or step >= first[0] + max(300, first[0] // 2)
    return rule


def _masked_start(sizes: list[int], masks: dict):
    """Zero the weights of the state units each member does not have (and remember the masks)."""
    def init(model) -> None:
        masks.update(state_masks(model, sizes))
        apply_masks(model, masks)
    return init


def _copy_from(model):
    def init(new) -> None:
        new.load_state_dict(model.state_dict())
    return init


def _linear_start(train: TaskData, cfg: RNNConfig):
    """Member 0 starts from the Ho–Kalman realization of the least-squares impulse response."""
    def init(model) -> None:
        try:
            parts = realize(fit_impulse(features(train, cfg)), cfg.hidden)
            load_realization(model, 0, parts)
        except (np.linalg.LinAlgError, ValueError):
            pass                     # no closed form: member 0 trains from its random start
    return init


def _finish(task, found, tried, run: Run | None, seconds, cap: _Cap) -> SearchResult:
    if found is None:
        diverged = [row["reason"] for row in tried if row.get("status") == "diverged"]
        reason = (f"every architecture tried diverged (NaN/inf loss); first: {diverged[0]}"
                  if diverged and not cap.hit else
                  "budget exhausted before any architecture was trained; raise or drop "
                  "--budget-seconds")
        if run is not None:
            runs.finish_run(run, "failed", reason=reason)
        if diverged and not cap.hit:
            raise TrainingDiverged(reason)
        raise ValueError(f"{task.name}: {reason}")
    net, cfg, acc = found          # acc: on 10,000 fresh sequences never used for selection
    result = SearchResult(task.name, net, cfg, acc, acc >= 1.0, seconds, cfg.n_params(),
                          tried, run.dir if run else None, budget_exhausted=cap.hit,
                          budget_seconds=cap.seconds, run_id=run.id if run else None)
    if run is not None:
        _write_run(result, run)
    return result


def _write_run(r: SearchResult, run: Run) -> None:
    save_checkpoint(r.network, run)
    run.save_result(r.record())
    status = "done" if r.solved and not r.budget_exhausted else "failed"
    reason = (exhausted_reason(r.budget_seconds) if r.budget_exhausted else "" if r.solved
              else f"no architecture in the plan reached 100% (best {r.accuracy:.4f})")
    runs.finish_run(run, status, reason, accuracy=r.accuracy, hidden=r.config.hidden,
                    parameters=r.parameters, seconds=r.seconds)


def _bar(task: SequenceTask, total: int, progress: bool):
    from tqdm.auto import tqdm
    return tqdm(total=total, desc=task.name, unit="arch", disable=not progress, leave=False)

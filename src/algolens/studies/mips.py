"""MIPS: train an RNN on a sequence task, distil it into a Python program, verify the program.

    >>> from algolens.studies import mips
    >>> res = mips.run("Parity_All")                         # doctest: +SKIP
    >>> print(res.program_source); res.verification.accuracy  # doctest: +SKIP

The distiller (``distill``) is a chain of checked passes -- collect hidden states, integer
recurrence (linear nets), window (definite memory: a shift register + output formula), state
machine (behaviour clustering, else BFS quantisation), formula search, simplify + lattice formulas
(counters), histogram (symbol counts, order-invariant nets), table -- each recorded with its
fidelity and reason; the first program verified at L and 2L wins. It reads the network (weights,
hidden states, outputs) and the input alphabet, never the task's labels; labels only train the
network and verify the program. ``network=`` accepts any torch RNN with the adapter of
``algolens.analysis.rnn.adapter`` (bring your own network).

Two studies on the contract live here. ``train`` (``Train``): one architecture search per run,
config ``TrainConfig(task, budget_seconds)``, typed result ``SearchSummary``, its network loaded
through the store (``train/checkpoint.py``). ``mips`` (``MIPS``): config ``MIPSConfig(task,
budget_seconds, retrain)``, the seed of the run; training it reuses the latest solved search of
the task's definition in the store (or searches anew), distils and verifies; the run keeps
program.py, fsm.json and the typed ``MIPSRecord`` (result.json), and links to its network's
search run by id (``run.linked("network")``). Both run ids of a point hash its config, seed and
the task's fingerprint. ``algolens mips --all`` is the ``mips`` study's points through the one
sweep (``mips_benchmark.py``).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..analysis.rnn import (
    EXHAUSTED,
    ClusterFSM,
    Collection,
    CountFormulas,
    FormulaSearch,
    FSMExtractor,
    IntegerRecurrence,
    LatticeFormulas,
    PassRecord,
    SnapRecurrence,
    StateCollector,
    WindowFormulas,
    check_adapter,
    input_names,
    recollect,
)
from ..codegen import ProgramInfo, Verification, verify_source
from ..codegen.python import render_program
from ..codegen.ir import SymbolicProgram, size
from ..codegen.build import from_counts, from_formulas, from_machine, from_recurrence
from ..perf import fast_cpu
from ..store import Run, RunStore
from ..tasks import get as get_task
from ..tasks.spec import SequenceTask
from ..train.search import SearchSummary, exhausted_reason
from ..typed import to_json
from .registry import Study, param

N_10X = 200                    # task-verification sequences at 10x the training length


@dataclass
class PassSummary:
    """One distiller pass as the run keeps it."""

    name: str
    ok: bool
    fidelity: float | None
    reason: str
    seconds: float


@dataclass
class MIPSRecord:
    """The typed result of a mips run (its ``result.json``): one row of the benchmark table.

    Accuracies are the program's on the task at 1x, 2x, 10x the training length; ``fidelity``
    and ``network_accuracy_at`` are keyed "1x", "2x", "10x"; ``network_run`` is the id of the
    search run whose network was distilled (None: a network given by the caller)."""

    task: str
    solved: bool
    form: str | None
    program: str | None
    accuracy: float | None = None
    accuracy_2x: float | None = None
    accuracy_10x: float | None = None
    verdict: str | None = None
    fidelity: dict[str, float | None] | None = None
    network_accuracy_at: dict[str, float | None] | None = None
    departures: list[Any] | None = None
    largest_formula: int | None = None
    hidden: int | None = None
    network: str = ""
    network_accuracy: float | None = None
    train_seconds: float = 0.0
    distill_seconds: float = 0.0
    failed_pass: str | None = None
    reason: str = ""
    network_run: str | None = None
    passes: list[PassSummary] = field(default_factory=list)
    budget_exhausted: bool = False      # the network search's --budget-seconds cap bit


@dataclass
class MIPSResult:
    """Everything one task produced, the network and verification objects included;
    ``record()`` is what the run keeps, ``to_dict()`` its JSON (plus the run's folder)."""

    task: str
    solved: bool
    form: str | None
    program_source: str | None
    verification: Verification | None
    network: Any = None
    network_desc: str = ""
    hidden: int | None = None
    train_seconds: float = 0.0
    distill_seconds: float = 0.0
    passes: list[PassRecord] = field(default_factory=list)
    failed_pass: str | None = None
    reason: str = ""
    run_dir: str | None = None
    network_accuracy: float | None = None
    network_run: str | None = None      # id of the search run the network came from
    run_id: str | None = None           # the mips run this result was saved as
    budget_exhausted: bool = False      # the network search's safety cap bit (best so far)

    def record(self) -> MIPSRecord:
        v = self.verification
        chosen = next((p.extra.get("largest_formula") for p in self.passes
                       if p.extra.get("chosen")), None)
        return MIPSRecord(
            self.task, bool(self.solved), self.form, self.program_source,
            v.accuracy if v else None, v.accuracy_2x if v else None,
            v.accuracy_10x if v else None, v.verdict if v else None,
            {f"{k}x": f for k, f in v.fidelity} if v else None,
            {f"{k}x": a for k, a in v.network_accuracy} if v else None,
            [list(d) for d in v.departures] if v else None, chosen, self.hidden,
            self.network_desc, self.network_accuracy, round(self.train_seconds, 2),
            round(self.distill_seconds, 2), self.failed_pass, self.reason, self.network_run,
            [PassSummary(p.name, p.ok, p.fidelity, p.reason, round(p.seconds, 2))
             for p in self.passes], self.budget_exhausted)

    def to_dict(self) -> dict:
        return {**to_json(self.record()), "run_dir": self.run_dir}


# ---------------------------------------------------------------------- distillation
def _examples(states: Collection, k: int = 3) -> tuple:
    """The first k collected check sequences with the network's outputs (for the self-check)."""
    conv = lambda v: tuple(int(u) for u in v) if np.ndim(v) else int(v)   # noqa: E731
    xs, ys = states.check.xs[:k], states.check.y[:k]
    return tuple(([conv(v) for v in x], [conv(v) for v in y]) for x, y in zip(xs, ys))


def _timed(passes: list[PassRecord], name: str, fn):
    """Run one pass and record it; a pass whose safety cap blew fails as "budget exhausted"."""
    t0 = time.monotonic()
    try:
        est = fn()
    except Exception as e:       # a pass that crashes is a failed pass with its reason
        passes.append(PassRecord(name, False, None, f"{type(e).__name__}: {e}",
                                 time.monotonic() - t0))
        return None
    exhausted = bool(getattr(est, "budget_exhausted_", False))
    report = getattr(est, "report_", "")
    if exhausted and EXHAUSTED not in report:
        report = f"{EXHAUSTED}: {report}"
    passes.append(PassRecord(name, not exhausted, getattr(est, "fidelity_", None), report,
                             time.monotonic() - t0))
    return None if exhausted else est


def _fit_pass(passes: list[PassRecord], name: str, fit, found):
    """Run one pass; return its estimator if ``found(est)``, else record the pass as failed."""
    est = _timed(passes, name, fit)
    if est is not None and not found(est):
        passes[-1].ok = False
        return None
    return est


def _network_sets(states: Collection) -> tuple:
    """The network's own outputs on its check sequences at L, 2L, 10L (for fidelity)."""
    return tuple((k, h.xs, h.y) for k, h in states.fidelity_sets())


def _try_program(passes, name, program, task, states: Collection
                 ) -> tuple[str, Verification, PassRecord] | None:
    """Render once; measure fidelity to the network (L, 2L, 10L) and correctness for the task
    (L, 2L, 10L) separately. The pass succeeds when its program is faithful to the network at
    L or correct for the task at L. The source gets the summary in its docstring (the body is
    not rendered again)."""
    rendered = render_program(program)
    ver = verify_source(rendered.source(program.info), task, n_10x=N_10X,
                        network=_network_sets(states))
    rec = passes[-1]
    rec.ok = not ver.error and (ver.faithful or ver.passed)
    rec.extra["verification"] = ver.summary()
    rec.extra["verdict"] = ver.verdict
    if isinstance(program, SymbolicProgram):
        rec.extra["largest_formula"] = max(
            (size(e) for e in program.updates + program.outputs), default=0)
    if not rec.ok:
        rec.reason += f"; program neither faithful nor correct: {ver.summary()}"
        return None
    return rendered.source(replace(program.info, verification=ver.summary())), ver, rec


def _rank(ver: Verification) -> tuple:
    """Faithful to the network first, correct for the task second, then agreement at 2L."""
    return (ver.faithful, ver.passed and ver.accuracy_2x == 1.0,
            ver.fidelity_at(2) == 1.0, ver.fidelity_at(1) or 0.0, ver.accuracy_2x)


def distill(net, task: SequenceTask, network_desc: str = "", linear: bool | None = None,
            time_cap: float = 120.0,
            ) -> tuple[str | None, str | None, Verification | None, list[PassRecord]]:
    """Network -> (form, source, verification, passes); source None when every pass failed.

    The network's hidden states and outputs are collected once (``StateCollector``) and handed
    to every pass. Candidates are chosen by agreement with the network, not by the task: passes
    run in order and the first program faithful to the network at L that also agrees at 2L (or
    is correct for the task at L and 2L: it generalises where the network may not) wins. Others
    (e.g. a counter truncated into a finite machine) are held while the later passes try; the
    best by ``_rank`` is returned (earlier wins ties). Correctness for the task is a separate
    measurement in the verification: an imperfect network yields its faithful program, labelled
    "faithful, not correct", with the inputs where it departs from the task.
    Every search is bounded by work, so the result is a function of the network;
    ``time_cap`` (seconds per pass) is only a safety cap: a pass it stops fails with the reason
    "budget exhausted".
    """
    check_adapter(net)
    task = get_task(task)
    passes: list[PassRecord] = []
    names = input_names(task)
    held: list[tuple] = []                        # verified at L, not at 2L: (2x acc, result)

    def accept(form: str, got) -> tuple | None:
        if not got:
            return None
        ver = got[1]
        if ver.faithful and (ver.fidelity_at(2) == 1.0 or
                             (ver.passed and ver.accuracy_2x == 1.0)):
            got[2].extra["chosen"] = True
            return form, got[0], ver, passes
        held.append((_rank(ver), -len(held), got[2], (form, got[0], ver, passes)))
        return None

    collector = _timed(passes, "collect", lambda: StateCollector().fit(net, task))
    if collector is None:                         # the network does not run on the task's inputs
        return None, None, None, passes
    states = collector.collection_
    info = ProgramInfo(task.name, network_desc, examples=_examples(states))
    hidden = int(states.h0.shape[-1])
    order = 2 * hidden + 1                        # Cayley-Hamilton: p, q <= H suffice
    rec = _fit_pass(passes, "integer_recurrence",
                    lambda: IntegerRecurrence(max_order=order).fit(net, task, states),
                    lambda e: e.recurrence_ is not None)
    if rec is not None:
        prog = from_recurrence(rec.recurrence_, names, _with(info, "integer linear recurrence "
                                                             "fitted to the network's outputs"))
        if done := accept("symbolic", _try_program(passes, "integer_recurrence", prog, task,
                                                      states)):
            return done
    win = _fit_pass(passes, "window",
                    lambda: WindowFormulas(time_cap=time_cap).fit(net, task, states),
                    lambda e: e.formulas_ is not None)
    if win is not None:
        prog = from_formulas(win.formulas_, _with(
            info, f"definite memory: the state is a function of the last {win.k_} input(s); "
                  f"output by {win.method_}"))
        if done := accept("symbolic", _try_program(passes, "window", prog, task,
                                                      states)):
            return done
    fsm = _fit_pass(passes, "state_machine", lambda: _state_machine(net, task, states),
                    lambda e: e.machine_ is not None and e.fidelity_ == 1.0)
    if fsm is not None:
        passes[-1].extra["machine"] = fsm.machine_          # saved as fsm.json (for reports)
        form = _fit_pass(passes, "formula_search",
                         lambda: FormulaSearch(time_cap=time_cap).fit(fsm.machine_, task),
                         lambda e: e.formulas_ is not None)
        if form is not None:
            prog = from_formulas(form.formulas_, _with(
                info, f"{fsm.machine_.n_states}-state machine, formulas on the "
                      f"'{form.formulas_.labelling}' labelling"))
            if done := accept("symbolic", _try_program(passes, "formula_search", prog, task,
                                                      states)):
                return done
    if done := accept("symbolic", _counter(net, task, info, passes, states, time_cap)):
        return done
    if done := accept("symbolic", _histogram(net, task, info, passes, states, time_cap)):
        return done
    if done := accept("symbolic", _prefix(net, task, info, passes, states)):
        return done
    if fsm is not None:
        passes.append(PassRecord("table", True, fsm.fidelity_, fsm.report_))
        prog = from_machine(fsm.machine_, names, _with(info, f"{fsm.machine_.n_states}-state "
                                                             "Mealy machine (transition table)"))
        if done := accept("table", _try_program(passes, "table", prog, task, states)):
            return done
    if held:
        best = max(held, key=lambda h: h[:2])
        best[2].extra["chosen"] = True
        return best[3]
    return None, None, None, passes


def _state_machine(net, task: SequenceTask, states: Collection):
    """Behaviour-clustered machine (closed, reproduces the network) else the BFS quantiser."""
    est = ClusterFSM().fit(net, task, states)
    if est.machine_ is not None:
        return est
    return FSMExtractor(tols=(0.05, 0.02), max_states=800).fit(net, task, states)  # bounded


def _counter(net, task: SequenceTask, info: ProgramInfo, passes: list[PassRecord],
             states: Collection, time_cap: float):
    """Simplify (snap an affine recurrence), then integer lattice coordinates + formulas."""
    snap = _fit_pass(passes, "simplify", lambda: SnapRecurrence().fit(net, task, states),
                     lambda e: e.network_ is not None)
    src = net if snap is None else snap.network_
    src_states = states if snap is None else recollect(src, states)
    lat = _fit_pass(passes, "lattice_formulas",
                    lambda: LatticeFormulas(time_cap=time_cap).fit(src, task, src_states),
                    lambda e: e.formulas_ is not None)
    if lat is None:
        return None
    passes[-1].extra["fidelity_2x"] = lat.fidelity_2x_
    k = lat.lattice_.basis_.shape[0]
    prog = from_formulas(lat.formulas_, _with(
        info, f"{k}-d integer lattice of hidden states"
              f"{' after snapping the recurrence' if src is not net else ''}, "
              "formulas for the integer coordinates"))
    return _try_program(passes, "lattice_formulas", prog, task, states)


def _histogram(net, task: SequenceTask, info: ProgramInfo, passes: list[PassRecord],
               states: Collection, time_cap: float):
    """Order-invariant networks: one counter per symbol, output a formula of the counts."""
    est = _fit_pass(passes, "histogram",
                    lambda: CountFormulas(time_cap=time_cap).fit(net, task, states),
                    lambda e: e.model_ is not None)
    if est is None:
        return None
    passes[-1].extra["fidelity_2x"] = est.fidelity_2x_
    prog = from_counts(est.model_, _with(
        info, "the network's output depends only on the symbol counts (order-invariant on "
              "permuted inputs); one counter per symbol, output formula of the counts"))
    return _try_program(passes, "histogram", prog, task, states)


def _prefix(net, task: SequenceTask, info: ProgramInfo, passes: list[PassRecord],
            states: Collection):
    """Networks whose state is a code of the whole prefix: the output as a list formula."""
    from ..analysis.rnn.prefix import PrefixFormulas
    from ..codegen.ir import ListProgram
    est = _fit_pass(passes, "prefix", lambda: PrefixFormulas().fit(net, task, states),
                    lambda e: e.formula_ is not None)
    if est is None:
        return None
    prog = ListProgram(input_names(task), est.formula_, _with(
        info, "the hidden state determines the whole prefix (an injective code); the output "
              "is a formula of the prefix list"))
    return _try_program(passes, "prefix", prog, task, states)


def _with(info: ProgramInfo, method: str) -> ProgramInfo:
    return replace(info, method=method)


def distil_module(task: str | SequenceTask, rnn: torch.nn.Module, readout, symbols=None,
                  encode=None, **run_kw) -> MIPSResult:
    """Distil your own ``torch.nn.RNN`` / ``GRU`` / ``LSTM`` (or cell) + readout module in one
    call: ``mips.distil_module("Parity_Last2", gru, head, symbols=[0, 1])``. ``symbols``: the
    inputs are one-hot over the alphabet; ``encode``: your own input encoding; ``run_kw`` go to
    ``run`` (e.g. ``write=False``)."""
    from ..analysis.rnn.torch_adapters import TorchRNN
    net = TorchRNN(rnn, readout, symbols=symbols, encode=encode)
    return run(task, network=net, **run_kw)


# ---------------------------------------------------------------------- training
@dataclass
class Network:
    """The network a mips run distils and where it came from."""

    net: Any
    desc: str
    seconds: float = 0.0                  # its search's seconds (0: given by the caller)
    run_id: str | None = None             # its search run in the store
    accuracy: float | None = None         # its accuracy on fresh sequences
    budget_exhausted: bool = False        # its search was cut short by the safety cap


def obtain_network(task: SequenceTask, budget_seconds: float | None, store: RunStore, seed: int,
                   progress: bool, reuse: bool = True) -> Network:
    """Reuse the latest solved search of this task definition in ``store``, or search anew."""
    from ..train.runs import find_run
    from ..train.search import search

    rec = find_run(store, task.name, task.fingerprint()) if reuse else None
    if rec is not None:
        run = store.open(rec.id)
        net = TRAIN.load_model(run)
        return Network(net, net.cfg.describe(), float(rec.metrics.get("seconds") or 0.0),
                       run.id, rec.metrics.get("accuracy"))
    res = search(task, budget_seconds=budget_seconds, seed=seed, out=store, progress=progress)
    return Network(res.network, res.network.cfg.describe(), res.seconds, res.run_id,
                   res.accuracy, res.budget_exhausted)


def as_store(out: RunStore | str | Path) -> RunStore:
    """``out`` as a run store: a ``RunStore``, or the root folder of one (``--out``)."""
    return out if isinstance(out, RunStore) else RunStore(out)


# ---------------------------------------------------------------------- orchestrator
@fast_cpu(threads=1)    # small nets run fastest on one thread; the caller's count is restored
def run(task: str | SequenceTask, network=None, budget_seconds: float | None = None,
        out: RunStore | str | Path = "runs", seed: int = 0, progress: bool = False,
        reuse: bool = True, write: bool = True) -> MIPSResult:
    """Train (or reuse, or take ``network``), distil, verify; with ``write`` the result is a
    run of study ``mips`` in the store ``out`` (program.py, result.json, a link to the
    network's search run)."""
    task = get_task(task)
    store = as_store(out)
    got = (obtain_network(task, budget_seconds, store, seed, progress, reuse) if network is None
           else Network(check_adapter(network), type(network).__name__))
    t0 = time.monotonic()
    with torch.no_grad():
        form, src, ver, passes = distill(got.net, task, got.desc)
    hidden = int(got.net.initial_state(1).shape[-1])
    failed = next((p for p in reversed(passes) if not p.ok), None) if src is None else None
    solved = src is not None and ver is not None and ver.passed
    reason = failed.reason if failed else ""
    if src is not None and not solved and ver is not None:    # a faithful program, not correct
        reason = f"{getattr(ver, 'verdict', 'not correct')}: {ver.summary()}"
    if got.budget_exhausted and not solved:     # the cause comes first: the net is unfinished
        reason = f"{exhausted_reason(budget_seconds)}; then {reason}"
    res = MIPSResult(task.name, solved, form, src, ver, got.net, got.desc, hidden, got.seconds,
                     time.monotonic() - t0, passes, failed.name if failed else None, reason,
                     None, got.accuracy, got.run_id, budget_exhausted=got.budget_exhausted)
    if write:
        save(res, store, seed, MIPSConfig(task.name, budget_seconds, not reuse),
             fingerprint=task.fingerprint())
    return res


def save(res: MIPSResult, out: RunStore | str | Path, seed: int | None = None,
         config: MIPSConfig | None = None, *, run_id: str | None = None,
         fingerprint: str | None = None) -> Run:
    """One run of study ``mips`` in the store: config, a link to the network's search run,
    program.py, fsm.json and the typed result; solved -> done, else failed with the pass that
    stopped it. ``run_id``: a deterministic id (a sweep point), written again if it exists;
    ``fingerprint``: the task's (default: the registered task's of that name)."""
    config = config or MIPSConfig(res.task)
    if fingerprint is None:
        fingerprint = get_task(res.task).fingerprint()
    with as_store(out).create("mips", res.task, config, seed=seed, run_id=run_id,
                              exist_ok=run_id is not None, fingerprint=fingerprint) as run:
        res.run_dir, res.run_id = str(run.dir), run.id
        if res.network_run:
            run.link("network", res.network_run)
        if res.program_source:
            run.write_text("program.py", res.program_source)
        machine = next((p.extra["machine"] for p in res.passes if "machine" in p.extra), None)
        if machine is not None:
            run.write_json("fsm.json", machine)              # drawn by `algolens report`
        record = res.record()
        run.save_result(record)
        run.finish(None, status="done" if res.solved else "failed", reason=_not_solved(record),
                   key_metrics=_key_metrics(record))
    return run


def _not_solved(r: MIPSRecord) -> str:
    if r.solved:
        return ""
    return f"not solved: {r.failed_pass}: {r.reason}" if r.failed_pass else \
        f"not solved: {r.reason}"


def _key_metrics(r: MIPSRecord) -> dict[str, Any]:
    return {"solved": r.solved, "form": r.form, "accuracy": r.accuracy,
            "accuracy_2x": r.accuracy_2x, "hidden": r.hidden}


# ---------------------------------------------------------------------- the studies
DEMO_TASKS = ("Parity_Last3", "Sum_Last3", "Add_Mod_3", "Binary_Addition", "Newton_Gravity")


@dataclass(frozen=True)
class MIPSConfig:
    """What a mips run is asked: the task (a point of the benchmark) and how to get its net."""

    task: str = param("Parity_Last3", "the sequence task (`algolens tasks` lists them)")
    budget_seconds: float | None = param(
        None, "wall-clock safety cap of the network search (none: limits are counted in steps)")
    retrain: bool = param(False, "search a new network even if the store holds a solved one "
                                 "for this task definition")

    def __post_init__(self) -> None:
        _check_budget(self)


@dataclass(frozen=True)
class TrainConfig:
    """What an RNN architecture search is asked."""

    task: str = param("Parity_Last3", "the sequence task (`algolens tasks` lists them)")
    budget_seconds: float | None = param(
        None, "wall-clock safety cap (none: the search's limits are counted in steps)")

    def __post_init__(self) -> None:
        _check_budget(self)


def _check_budget(config: Any) -> None:
    """A cap must be > 0; kept as a float, so that 10 and 10.0 are one point (one run id)."""
    b = config.budget_seconds
    if b is not None and (isinstance(b, bool) or not isinstance(b, (int, float)) or not b > 0):
        raise ValueError(f"--budget-seconds must be > 0 (or left out: no cap), got {b}")
    if b is not None:
        object.__setattr__(config, "budget_seconds", float(b))


def _task_run_id(study: Study, config: Any, seed: int) -> str:
    """``<task>-s<seed>-<hash>``, the hash over the config, the seed and the task's definition
    (its fingerprint): an edited task file is a new point, not a finished one. ``config`` may
    also be its JSON (``algolens sweep`` names its points from the JSON it sends)."""
    data = to_json(config)
    task = get_task(data["task"]).name
    body = json.dumps({"study": study.name, "seed": seed, **data,
                       "fingerprint": get_task(task).fingerprint()}, sort_keys=True)
    return f"{task}-s{seed}-{hashlib.sha256(body.encode()).hexdigest()[:8]}"


def _older(run: Run, redo: str) -> ValueError:
    """Why a run has no typed result to read, and what to run."""
    why = (run.record.reason if run.record is not None and run.record.reason else
           "it was made by an older algolens or did not finish")
    return ValueError(f"run {run.id} has no result.json ({why}); re-run `{redo}`")


class MIPS(Study[MIPSConfig, MIPSRecord]):
    """RNN -> verified program: a run distils the network of a ``train`` run (linked by id)."""

    name = "mips"
    summary = "MIPS: RNN -> verified Python program for sequence tasks (Michaud et al. 2024)"
    config, result = MIPSConfig, MIPSRecord
    presets = {"demo": MIPSConfig()}
    demo_order = 10

    def read_config(self, data: Mapping[str, Any]) -> MIPSConfig:
        # runs made before the contract also wrote the network's description and folder
        return super().read_config({k: v for k, v in data.items()
                                    if k not in ("network", "network_run")})

    def key(self, config: MIPSConfig) -> str:
        return config.task

    def run_id(self, config: MIPSConfig, seed: int) -> str:
        return _task_run_id(self, config, seed)

    def train(self, config: MIPSConfig, seed: int, store: RunStore, *,
              run_id: str | None = None, progress: bool = True) -> Run:
        res = run(config.task, budget_seconds=config.budget_seconds, out=store, seed=seed,
                  progress=progress, reuse=not config.retrain, write=False)
        return save(res, store, seed, config, run_id=run_id)

    def analyze(self, run: Run, *, force: bool = False) -> MIPSRecord:
        """The run's verified (or failed) program: distillation is its training step; a program
        of a network that is not correct is labelled by its verdict, never passed off."""
        found = run.result
        if found is None:
            raise _older(run, f"algolens mips {run.key}")
        return found

    def load_model(self, run: Run) -> Any:
        """The network the run distilled (its linked ``train`` run)."""
        return TRAIN.load_model(run.linked("network"))

    def trained(self, result: MIPSRecord) -> bool:
        return bool(result.solved)

    def summary_row(self, run: Run, result: MIPSRecord | None) -> dict[str, Any]:
        row: dict[str, Any] = {"run": run.id, "seed": run.seed, "task": run.key}
        if result is not None:
            row.update(solved=result.solved, form=result.form, accuracy=result.accuracy,
                       accuracy_2x=result.accuracy_2x, hidden=result.hidden,
                       failed_pass=result.failed_pass)
        return row

    def summary_line(self, run: Run, result: MIPSRecord | None) -> str:
        if result is None:
            return f"{run.key}: not distilled"
        return (f"{result.task}: solved={result.solved} form={result.form} "
                f"acc={result.accuracy} acc_2x={result.accuracy_2x}")

    def report_section(self, rep: Any, run: Run, result: MIPSRecord | None) -> bool:
        return False          # drawn by report/sections/mips.py (state machines are plots)

    def demo_points(self) -> list[tuple[MIPSConfig, int]]:
        return [(MIPSConfig(task=name), 0) for name in DEMO_TASKS]

    def demo_lines(self, pairs: list[tuple[Run, MIPSRecord | None]]) -> list[str]:
        solved = sum(bool(res and res.solved) for _, res in pairs)
        return [f"MIPS: {solved}/{len(pairs)} tasks solved with verified programs"]

    def demo_section(self, rep: Any, pairs: list[tuple[Run, MIPSRecord | None]]) -> None:
        rep.add_heading("RNN → program (MIPS)")
        rep.add_text(
            "For each task the architecture search trains the smallest RNN that is 100% correct, "
            "the distiller reads the network (never the labels) into a state machine and "
            "formulas, and the emitted standalone program is verified on 10,000 fresh sequences "
            "and on 2,000 sequences of twice the training length.")
        rep.add_table([_demo_row(res) for _, res in pairs if res is not None],
                      caption="Verification is exact match at every position.")


def _demo_row(r: MIPSRecord) -> dict[str, Any]:
    return {"task": r.task, "solved": r.solved, "form": r.form or "-", "network": r.network,
            "accuracy": r.accuracy, "accuracy 2x": r.accuracy_2x,
            "train s": round(r.train_seconds, 1), "distil s": round(r.distill_seconds, 1),
            "failed pass": r.failed_pass or ""}


class Train(Study[TrainConfig, SearchSummary]):
    """The RNN architecture search: one run per search, its network the smallest that solves
    the task (``algolens train``; ``mips`` runs link to these)."""

    name = "train"
    summary = "The RNN architecture search: the smallest RNN that solves a task"
    config, result = TrainConfig, SearchSummary
    presets = {"parity": TrainConfig()}

    def read_config(self, data: Mapping[str, Any]) -> TrainConfig:
        # runs made before model.json kept the network's config in config.json
        return super().read_config({k: v for k, v in data.items()
                                    if k not in ("format", "model", "shapes")})

    def key(self, config: TrainConfig) -> str:
        return config.task

    def run_id(self, config: TrainConfig, seed: int) -> str:
        return _task_run_id(self, config, seed)

    def train(self, config: TrainConfig, seed: int, store: RunStore, *,
              run_id: str | None = None, progress: bool = True) -> Run:
        from ..train.search import search
        res = search(config.task, budget_seconds=config.budget_seconds, seed=seed, out=store,
                     progress=progress, threads=None, run_id=run_id)
        return store.open(res.run_id)

    def analyze(self, run: Run, *, force: bool = False) -> SearchSummary:
        found = run.result
        if found is None:
            raise _older(run, f"algolens train {run.key}")
        return found

    def load_model(self, run: Run) -> Any:
        from ..train.checkpoint import load_checkpoint
        return load_checkpoint(run)

    def trained(self, result: SearchSummary) -> bool:
        return bool(result.solved)

    def summary_row(self, run: Run, result: SearchSummary | None) -> dict[str, Any]:
        row: dict[str, Any] = {"run": run.id, "seed": run.seed, "task": run.key}
        if result is not None:
            row.update(solved=result.solved, accuracy=result.accuracy,
                       architecture=result.architecture, parameters=result.parameters)
        return row


MIPS_STUDY, TRAIN = MIPS(), Train()
STUDIES = (MIPS_STUDY, TRAIN)

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
"""

from __future__ import annotations

import time
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
from ..tasks import get as get_task
from ..tasks.spec import SequenceTask

N_10X = 200                    # task-verification sequences at 10x the training length


@dataclass
class MIPSResult:
    """Everything one task produced; ``to_dict()`` is the JSON record."""

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

    def to_dict(self) -> dict:
        v = self.verification
        return {"task": self.task, "solved": self.solved, "form": self.form,
                "program": self.program_source,
                "accuracy": v.accuracy if v else None, "accuracy_2x": v.accuracy_2x if v else None,
                "accuracy_10x": v.accuracy_10x if v else None,
                "verdict": v.verdict if v else None,
                "fidelity": {f"{k}x": f for k, f in v.fidelity} if v else None,
                "network_accuracy_at": {f"{k}x": a for k, a in v.network_accuracy} if v else None,
                "departures": [list(d) for d in v.departures] if v else None,
                "largest_formula": next((p.extra.get("largest_formula") for p in self.passes
                                         if p.extra.get("chosen")), None),
                "hidden": self.hidden, "network": self.network_desc,
                "network_accuracy": self.network_accuracy,
                "train_seconds": round(self.train_seconds, 2),
                "distill_seconds": round(self.distill_seconds, 2),
                "failed_pass": self.failed_pass, "reason": self.reason, "run_dir": self.run_dir,
                "passes": [{"name": p.name, "ok": p.ok, "fidelity": p.fidelity,
                            "reason": p.reason, "seconds": round(p.seconds, 2)}
                           for p in self.passes]}


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
def obtain_network(task: SequenceTask, budget_seconds: float | None, out: str | Path, seed: int,
                   progress: bool, reuse: bool = True) -> dict:
    """Reuse a trained run or train one: {'network', 'desc', 'seconds', 'run_dir', 'accuracy'}."""
    from ..train.runs import find_run, load_run
    from ..train.search import search

    run_dir = find_run(task.name, root=str(out), fingerprint=task.fingerprint()) if reuse else None
    if run_dir is not None:
        net, meta = load_run(run_dir)
        return {"network": net, "desc": net.cfg.describe(), "run_dir": str(run_dir),
                "seconds": float(meta.get("seconds", 0.0)), "accuracy": meta.get("accuracy")}
    res = search(task, budget_seconds=budget_seconds, seed=seed, out=str(out), progress=progress)
    return {"network": res.network, "desc": res.network.cfg.describe(), "seconds": res.seconds,
            "run_dir": str(res.run_dir) if res.run_dir else None, "accuracy": res.accuracy}


# ---------------------------------------------------------------------- orchestrator
@fast_cpu(threads=1)    # small nets run fastest on one thread; the caller's count is restored
def run(task: str | SequenceTask, network=None, budget_seconds: float | None = None,
        out: str | Path = "runs", seed: int = 0, progress: bool = False, reuse: bool = True,
        write: bool = True) -> MIPSResult:
    """Train (or reuse, or take ``network``), distil, verify, and write program.py + mips.json."""
    task = get_task(task)
    if network is None:
        got = obtain_network(task, budget_seconds, out, seed, progress, reuse)
    else:
        got = {"network": check_adapter(network), "desc": type(network).__name__,
               "seconds": 0.0, "run_dir": None, "accuracy": None}
    net = got["network"]
    t0 = time.monotonic()
    with torch.no_grad():
        form, src, ver, passes = distill(net, task, got["desc"])
    hidden = int(net.initial_state(1).shape[-1])
    failed = next((p for p in reversed(passes) if not p.ok), None) if src is None else None
    solved = src is not None and ver is not None and ver.passed
    reason = failed.reason if failed else ""
    if src is not None and not solved and ver is not None:    # a faithful program, not correct
        reason = f"{getattr(ver, 'verdict', 'not correct')}: {ver.summary()}"
    res = MIPSResult(task.name, solved, form, src, ver, net, got["desc"], hidden, got["seconds"],
                     time.monotonic() - t0, passes, failed.name if failed else None, reason,
                     got["run_dir"], got["accuracy"])
    if write:
        save(res, out, seed)
    return res



def save(res: MIPSResult, out: str | Path, seed: int | None = None) -> None:
    """One run of study ``mips`` in the store: config (task, the network's training run),
    program.py, mips.json; solved -> done, else failed with the pass that stopped it."""
    from ..store import RunStore
    network_run = res.run_dir
    config = {"task": res.task, "network": res.network_desc, "network_run":
              Path(network_run).name if network_run else None}
    with RunStore(out).create("mips", res.task, config, seed=seed) as run:
        res.run_dir = str(run.dir)
        if res.program_source:
            run.write_text("program.py", res.program_source)
        v = res.verification
        key = {"solved": res.solved, "form": res.form, "accuracy": v.accuracy if v else None,
               "accuracy_2x": v.accuracy_2x if v else None, "hidden": res.hidden}
        reason = "" if res.solved else (f"not solved: {res.failed_pass}: {res.reason}"
                                        if res.failed_pass else f"not solved: {res.reason}")
        run.write_json("mips.json", {**res.to_dict(), "network_run": network_run})
        machine = next((p.extra["machine"] for p in res.passes if "machine" in p.extra), None)
        if machine is not None:
            run.write_json("fsm.json", machine)              # drawn by `algolens report`
        run.finish(None, status="done" if res.solved else "failed", reason=reason,
                   key_metrics=key)


# ---------------------------------------------------------------------- benchmark
def task_fingerprint(task: SequenceTask) -> str:
    """``task.fingerprint()``: an edited task file is a different point, not a finished one."""
    return task.fingerprint()


def _point(task: SequenceTask, budget_seconds: float | None, seed: int) -> dict:
    """What makes two benchmark results of a task the same result (the search is a function of
    the task and seed; a safety cap, when set, is part of the point because it can bite)."""
    return {"fingerprint": task_fingerprint(task), "seed": int(seed),
            "budget_seconds": None if budget_seconds is None else float(budget_seconds)}


def _run_one(args: tuple) -> dict:
    """The executor's unit of work: one task, one torch thread (restored afterwards)."""
    name, budget, out, seed = args
    return run(name, budget_seconds=budget, out=out, seed=seed).to_dict()   # one thread, scoped


def _crashed(name: str, reason: str) -> dict:
    """The record of a task whose run raised: one broken task must not stop the benchmark."""
    return {"task": name, "solved": False, "form": None, "program": None, "accuracy": None,
            "accuracy_2x": None, "failed_pass": "run", "reason": reason}


def finished_record(folder: str | Path, task: str, point: dict) -> dict | None:
    """The stored benchmark record of ``task`` in ``folder`` if it was run for the same point
    (task definition, seed, budget) and did not crash, else None."""
    rec = _stored_records(Path(folder)).get(task)
    if rec is None or rec.get("point") != point or rec.get("failed_pass") == "run":
        return None
    return rec


def run_all(names: list[str] | None = None, jobs: int = 1, budget_seconds: float | None = None,
            out: str | Path = "runs", seed: int = 0, progress: bool = True,
            executor: str = "local", task_files=(), resume: bool = True) -> list[dict]:
    """Run the benchmark (default: the 62 tasks) on ``executor`` (``"local"`` with ``jobs``
    processes, or ``"dask://host:port"``); return one JSON record per task, in ``names`` order.

    Records merge by task name into ``out/mips/benchmark.{json,md}`` as each task finishes; with
    ``resume`` a task already recorded there for the same definition, seed and budget is not
    run again. ``task_files`` (paths or ``TaskSource``) travel to every worker as source text.
    """
    from ..executor import TaskSource, run_items
    from ..tasks import benchmark_names

    if names is not None and not names:
        raise ValueError("no task names given; pass --tasks NAME[,NAME...] or leave it out for "
                         "all 62 benchmark tasks")
    if budget_seconds is not None and not budget_seconds > 0:
        raise ValueError(f"--budget-seconds must be > 0 (or left out: no cap), got "
                         f"{budget_seconds}")
    names = list(dict.fromkeys(names or benchmark_names()))
    points = {n: _point(get_task(n), budget_seconds, seed) for n in names}  # fails fast on typos
    folder = Path(out) / "mips"
    results = {n: r for n in names
               if resume and (r := finished_record(folder, n, points[n])) is not None}
    todo = [(n, (n, budget_seconds, str(out), seed)) for n in _costliest_first(names)
            if n not in results]
    sources = tuple(f if isinstance(f, TaskSource) else TaskSource.read(f) for f in task_files)
    for name, rec in run_items(_run_one, todo, executor, jobs, task_sources=sources,
                               failed=_crashed, progress=progress, desc="mips", unit="task"):
        results[name] = {**rec, "point": points[name]}
        write_benchmark([results[name]], folder)
    return [results[n] for n in names]


def _costliest_first(names: list[str]) -> list[str]:
    """``names`` in the order to start them: a user task (no cost on record) first, then the
    benchmark tasks by their recorded cost, largest first (``mips_costs.COSTS``), so that the
    last task to finish does not leave the other workers idle. Only the start order changes,
    never a result; the returned records keep the order of ``names``."""
    from .mips_costs import COSTS

    return sorted(names, key=lambda n: -COSTS.get(n, float("inf")))


def benchmark_markdown(results: list[dict]) -> str:
    """The benchmark table beside the paper's MIPS and GPT-4 columns: the program's accuracy on
    the task at 1x, 2x, 10x the training length, the network's own accuracy at those lengths,
    the program's agreement with the network (fidelity) and the verdict."""
    from .mips_paper import paper_columns
    fmt = lambda v: "" if v is None else f"{v:.4f}"        # noqa: E731
    at = lambda r, key: "/".join(fmt((r.get(key) or {}).get(k)) for k in ("1x", "2x", "10x"))  # noqa: E731,E501
    rows = ["| Task | solved | form | acc | acc 2x | acc 10x | net acc 1x/2x/10x | fidelity "
            "1x/2x/10x | verdict | max formula | hidden | train s | distil s | failed pass "
            "| paper MIPS | GPT-4 |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        gpt, paper = paper_columns(r["task"])
        rows.append(f"| {r['task']} | {int(bool(r['solved']))} | {r.get('form') or ''} | "
                    f"{fmt(r.get('accuracy'))} | {fmt(r.get('accuracy_2x'))} | "
                    f"{fmt(r.get('accuracy_10x'))} | {at(r, 'network_accuracy_at')} | "
                    f"{at(r, 'fidelity')} | {r.get('verdict') or ''} | "
                    f"{r.get('largest_formula') or ''} | "
                    f"{r.get('hidden') or ''} | {r.get('train_seconds', '')} | "
                    f"{r.get('distill_seconds', '')} | {r.get('failed_pass') or ''} | "
                    f"{'' if paper is None else paper} | {'' if gpt is None else gpt} |")
    solved = sum(bool(r["solved"]) for r in results)
    sym = sum(bool(r["solved"]) and r.get("form") == "symbolic" for r in results)
    exact10 = sum(bool(r["solved"]) and r.get("accuracy_10x") == 1.0 for r in results)
    rows.append(f"\nsolved {solved}/{len(results)} ({sym} symbolic, {exact10} exact at 10x); "
                f"paper MIPS {sum(paper_columns(r['task'])[1] or 0 for r in results)}, GPT-4 "
                f"{sum(paper_columns(r['task'])[0] or 0 for r in results)} on these tasks")
    return "\n".join(rows)


def write_benchmark(results: list[dict], folder: str | Path) -> tuple[Path, Path]:
    """Merge ``results`` by task name into ``folder/benchmark.json`` and rewrite the Markdown
    table from every record there (benchmark order, then user tasks by name)."""
    from ..io import atomic_write_json, atomic_write_text
    folder = Path(folder)
    merged = {**_stored_records(folder), **{r["task"]: r for r in results}}
    rows = [merged[n] for n in _table_order(merged)]
    md = atomic_write_text(folder / "benchmark.md", benchmark_markdown(rows) + "\n")
    js = atomic_write_json(folder / "benchmark.json", rows)
    return md, js


def _stored_records(folder: Path) -> dict[str, dict]:
    """{task: record} from ``folder/benchmark.json`` (empty if absent or unreadable)."""
    from ..io import read_json
    path = folder / "benchmark.json"
    if not path.is_file():
        return {}
    try:
        rows = read_json(path)
    except ValueError:
        return {}
    return {r["task"]: r for r in rows if isinstance(r, dict) and "task" in r} \
        if isinstance(rows, list) else {}


def _table_order(records: dict[str, dict]) -> list[str]:
    from ..tasks import benchmark_names
    bench = [n for n in benchmark_names() if n in records]
    return bench + sorted(set(records) - set(bench))


# ---------------------------------------------------------------------- registry
from ..train.runs import load_run as _load_rnn_run  # noqa: E402  (used by this module's studies)
from .registry import Study  # noqa: E402


def load_mips_run(run_dir: str | Path) -> tuple[Any, dict]:
    """A distilled run (``runs/mips/<run-id>/``): the network it was read from (None if that
    training run is gone or there was none) and its mips.json record."""
    from ..io import read_json
    run_dir = Path(run_dir)
    if not (run_dir / "mips.json").is_file():
        raise ValueError(f"{run_dir} has no mips.json; pass a run directory that "
                         "`algolens mips TASK` wrote (runs/mips/<run-id>)")
    record = read_json(run_dir / "mips.json")
    net_dir = record.get("network_run")
    net = _load_rnn_run(net_dir)[0] if net_dir and Path(net_dir).is_dir() else None
    return net, record


STUDIES = (
    Study("mips", "MIPS: RNN -> verified Python program for sequence tasks (Michaud et al. 2024)",
          load_run=load_mips_run),
    Study("train", "The RNN architecture search: the smallest RNN that solves a task",
          load_run=_load_rnn_run),
)

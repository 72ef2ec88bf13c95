"""MIPS runs: the verified program beside the state machine it implements, and every pass.

The machine comes from ``fsm.json`` when the distiller saved one; otherwise (``recompute``) it is
extracted again from the network the run distilled (``network_run`` in config.json), with the
distiller's own ladder: behaviour clustering, else the BFS quantiser.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..fsm_plot import MAX_DRAWN_STATES, plot_machine
from ..html import Link, Report
from . import section
from .generic import notes
from .view import Context, RunView


@section("mips")
def render(rep: Report, run: RunView, ctx: Context) -> None:
    notes(rep, run)
    rec = run.json("mips.json") or {}
    rep.add_metrics({"solved": rec.get("solved", run.key_metrics.get("solved")),
                     "form": rec.get("form"), "accuracy": rec.get("accuracy"),
                     "accuracy at 2L": rec.get("accuracy_2x"), "hidden": rec.get("hidden"),
                     "network": rec.get("network") or run.config.get("network"),
                     "network accuracy": rec.get("network_accuracy"),
                     "distil s": rec.get("distill_seconds")})
    if rec and not rec.get("solved"):
        rep.add_note(f"**Not solved**: the pass `{rec.get('failed_pass')}` stopped it: "
                     f"{rec.get('reason', '')}")
    net_run = run.config.get("network_run")
    if net_run:
        where = Link(net_run, f"#r-{net_run}") if net_run in ctx.runs else net_run
        rep.add_table([{"trained network (study train)": where}], sortable=False)
    program = _program(run, rec)
    machine, caption = machine_for(run, rec, ctx)
    fig = _figure(machine, caption)
    if program:
        rep.add_code(program, beside=fig, caption=caption if fig is not None else None)
    elif fig is not None:
        rep.add_figure(fig, caption=caption)
    if fig is None and caption:
        rep.add_text(f"State machine: {caption}")
    passes = rec.get("passes") or []
    if passes:
        cols = ("name", "ok", "fidelity", "reason", "seconds")
        rep.add_table([{c: p.get(c) for c in cols} for p in passes],
                      caption="distiller passes, in order (the first program verified at L and "
                              "2L wins)")


def _program(run: RunView, rec: dict) -> str | None:
    path = run.dir / "program.py"
    if path.is_file():
        return path.read_text(encoding="utf-8")
    return rec.get("program")


def _figure(machine: dict | None, caption: str):
    if machine is None or len(machine.get("next", [])) > MAX_DRAWN_STATES:
        return None
    return plot_machine(machine)


def machine_for(run: RunView, rec: dict, ctx: Context) -> tuple[dict | None, str]:
    """(the machine as JSON, where it came from / why there is none)."""
    saved = run.json("fsm.json")
    if isinstance(saved, dict) and "next" in saved:
        return saved, f"{len(saved['next'])}-state machine saved by the distiller (fsm.json)"
    if not ctx.recompute:
        return None, ""
    net_dir = network_dir(run, rec)
    if net_dir is None:
        return None, "no saved machine and no trained network to extract one from"
    return extract_machine(net_dir, run.config.get("task") or run.key)


def network_dir(run: RunView, rec: dict) -> Path | None:
    """The trained network's run folder: by name beside this store, else mips.json's path."""
    name = run.config.get("network_run")
    candidates = [run.store_root() / "train" / name] if name else []
    if rec.get("network_run"):
        candidates.append(Path(rec["network_run"]))
    return next((c for c in candidates if (c / "config.json").is_file()), None)


def extract_machine(net_dir: Path, task_name: str) -> tuple[dict | None, str]:
    """The distiller's state-machine pass, re-run on the saved network (seconds)."""
    import torch

    from ...analysis.rnn import ClusterFSM, FSMExtractor
    from ...store import jsonable
    from ...tasks import get as get_task
    from ...train.runs import load_run

    task = get_task(task_name)
    net, _ = load_run(net_dir)
    with torch.no_grad():
        est: Any = ClusterFSM().fit(net, task)
        if est.machine_ is None:                      # the same ladder as the distiller
            est = FSMExtractor(tols=(0.05, 0.02), max_states=800).fit(net, task)
    if est.machine_ is None:
        return None, f"no state machine: {est.report_}"
    return jsonable(est.machine_), f"extracted again from the network for this report: {est.report_}"

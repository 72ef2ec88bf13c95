"""MIPS runs: the verified program beside the state machine it implements, and every pass.

Read from the run's typed result (``MIPSRecord``, result.json) through the store. The machine
comes from ``fsm.json`` when the distiller saved one; otherwise (``recompute``) it is extracted
again from the network the run distilled -- its linked ``train`` run, opened by id -- with the
distiller's own ladder: behaviour clustering, else the BFS quantiser.
"""

from __future__ import annotations

from typing import Any

from ..fsm_plot import MAX_DRAWN_STATES, plot_machine
from ..html import Link, Report
from . import section
from .generic import notes
from .generic import render as generic_render
from .view import Context, RunView


@section("mips")
def render(rep: Report, view: RunView, ctx: Context) -> None:
    from ...store import open_run
    notes(rep, view)
    run = open_run(view.dir)
    rec = run.result
    if rec is None:
        rep.add_note(f"Run {run.id} has no result.json: it was made by an older algolens or did "
                     f"not finish; re-run `algolens mips {run.key}`. Its files as they are:")
        generic_render(rep, view, ctx)
        return
    rep.add_metrics({"solved": rec.solved, "form": rec.form, "accuracy": rec.accuracy,
                     "accuracy at 2L": rec.accuracy_2x, "hidden": rec.hidden,
                     "network": rec.network, "network accuracy": rec.network_accuracy,
                     "distil s": rec.distill_seconds})
    if not rec.solved:
        rep.add_note(f"**Not solved**: the pass `{rec.failed_pass}` stopped it: {rec.reason}")
    net_run = run.links.get("network")
    if net_run:
        where = Link(net_run, f"#r-{net_run}") if net_run in ctx.runs else net_run
        rep.add_table([{"trained network (study train)": where}], sortable=False)
    program = (run.artefact("program.py").read_text(encoding="utf-8")
               if (run.dir / "program.py").is_file() else rec.program)
    machine, caption = machine_for(run, ctx)
    fig = _figure(machine)
    if program:
        rep.add_code(program, beside=fig, caption=caption if fig is not None else None)
    elif fig is not None:
        rep.add_figure(fig, caption=caption)
    if fig is None and caption:
        rep.add_text(f"State machine: {caption}")
    if rec.passes:
        rep.add_table([{"name": p.name, "ok": p.ok, "fidelity": p.fidelity, "reason": p.reason,
                        "seconds": p.seconds} for p in rec.passes],
                      caption="distiller passes, in order (the first program verified at L and "
                              "2L wins)")


def _figure(machine: dict | None):
    if machine is None or len(machine.get("next", [])) > MAX_DRAWN_STATES:
        return None
    return plot_machine(machine)


def machine_for(run: Any, ctx: Context) -> tuple[dict | None, str]:
    """(the machine as JSON, where it came from / why there is none) for a mips ``Run``."""
    from ...io import read_json
    if (run.dir / "fsm.json").is_file():
        saved = read_json(run.artefact("fsm.json"))
        if isinstance(saved, dict) and "next" in saved:
            return saved, f"{len(saved['next'])}-state machine saved by the distiller (fsm.json)"
    if not ctx.recompute:
        return None, ""
    if "network" not in run.links:
        return None, "no saved machine and no trained network to extract one from"
    return extract_machine(run.load_model(), run.config.task)


def extract_machine(net: Any, task_name: str) -> tuple[dict | None, str]:
    """The distiller's state-machine pass, re-run on the saved network (seconds)."""
    import torch

    from ...analysis.rnn import ClusterFSM, FSMExtractor
    from ...store import jsonable
    from ...tasks import get as get_task

    task = get_task(task_name)
    with torch.no_grad():
        est: Any = ClusterFSM().fit(net, task)
        if est.machine_ is None:                      # the same ladder as the distiller
            est = FSMExtractor(tols=(0.05, 0.02), max_states=800).fit(net, task)
    if est.machine_ is None:
        return None, f"no state machine: {est.report_}"
    return jsonable(est.machine_), f"extracted again from the network for this report: {est.report_}"

"""RNN architecture-search runs (study ``train``): the result and every architecture tried,
read from the run's typed result (``SearchSummary``) -- or, for a search that has not finished,
its resume state (progress.json) -- through the store."""

from __future__ import annotations

from matplotlib.figure import Figure

from ..html import Report
from . import section
from .generic import notes
from .view import Context, RunView


@section("train")
def render(rep: Report, view: RunView, ctx: Context) -> None:
    from ...io import read_json
    from ...store import open_run
    from ...train.runs import PROGRESS
    notes(rep, view)
    run = open_run(view.dir)
    res = run.result
    if res is not None:
        rep.add_metrics({"solved": res.solved, "accuracy": res.accuracy,
                         "architecture": res.architecture, "hidden_size": res.hidden_size,
                         "parameters": res.parameters, "n_test": res.n_test,
                         "seconds": res.seconds})
        tried = res.tried
    else:
        rep.add_metrics(view.key_metrics)
        tried = (read_json(run.artefact(PROGRESS)).get("tried", [])
                 if (run.dir / PROGRESS).is_file() else [])
    if tried:
        rep.add_figure(search_figure(tried), caption="architectures tried: parameters vs test "
                                                     "accuracy (the search keeps the smallest "
                                                     "one that is 100% correct)")
        rep.add_table([{k: t.get(k) for k in ("config", "status", "hidden", "parameters",
                                              "steps", "val_acc", "test_acc", "confirm_acc",
                                              "seconds")} for t in tried],
                      caption="architecture search")


def search_figure(tried: list[dict]) -> Figure:
    fig = Figure(figsize=(5.5, 3.2))
    ax = fig.subplots()
    for t in tried:
        ok = t.get("status") == "solved"
        ax.scatter(t.get("parameters") or 0, t.get("test_acc") or 0, s=30,
                   c="tab:green" if ok else "tab:red", marker="o" if ok else "x")
        ax.annotate(str(t.get("config", "")), (t.get("parameters") or 0, t.get("test_acc") or 0),
                    fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel("parameters")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(-0.05, 1.1)
    fig.tight_layout()
    return fig

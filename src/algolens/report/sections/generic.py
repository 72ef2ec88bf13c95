"""The fallback section for any study: key metrics, config, every PNG, the tables in metrics.json.

Also the building blocks the study renderers share (``config_table``, ``png_figures``,
``history_figure``), so a new study's renderer is a few lines of what is special about it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from ..html import Report
from .view import Context, RunView

MAX_ROWS = 60                  # a longer list is cut (the page says how many were left out)
_HIDDEN_CONFIG = {"study", "key", "run_id", "seed"}


def render(rep: Report, run: RunView, ctx: Context) -> None:
    """Whatever the run folder holds, shown plainly."""
    notes(rep, run)
    cards = run.key_metrics or (scalars(run.metrics) if isinstance(run.metrics, Mapping) else {})
    if cards:
        rep.add_metrics(cards)
    config_table(rep, run)
    figs = png_figures(run.pngs())
    if figs:
        rep.add_figures(figs)
    if run.metrics is not None:
        metrics_blocks(rep, run.metrics, "metrics.json")


def notes(rep: Report, run: RunView) -> None:
    for p in run.problems:
        rep.add_note(p)


def scalars(d: Mapping[str, Any]) -> dict[str, Any]:
    """The top-level numbers, strings and booleans of a dict (short strings only)."""
    return {k: v for k, v in d.items()
            if isinstance(v, (int, float, bool)) or (isinstance(v, str) and len(v) <= 40)}


def flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"model": {"p": 7}} -> {"model.p": 7}; lists as compact JSON."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        name = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(flatten(v, name + "."))
        elif isinstance(v, (list, tuple)):
            s = json.dumps(v)
            out[name] = s if len(s) <= 80 else s[:77] + "..."
        else:
            out[name] = v
    return out


def config_table(rep: Report, run: RunView, caption: str = "config.json") -> None:
    flat = {k: v for k, v in flatten(run.config).items() if k not in _HIDDEN_CONFIG}
    if flat:
        rep.add_table([{"setting": k, "value": v} for k, v in flat.items()], caption=caption,
                      sortable=False)


def png_figures(paths: list[Path]) -> list[tuple[bytes, str]]:
    """(PNG bytes, file name) for each readable PNG file."""
    out = []
    for p in paths:
        data = p.read_bytes()
        if data[:8] == b"\x89PNG\r\n\x1a\n":
            out.append((data, p.name))
    return out


def metrics_blocks(rep: Report, metrics: Any, where: str) -> None:
    """Tables for lists of records, a key/value table for nested dicts, a plot for histories."""
    if isinstance(metrics, list):
        _records(rep, metrics, where)
        return
    if not isinstance(metrics, Mapping):
        return
    for k, v in metrics.items():
        if isinstance(v, list) and v and all(isinstance(r, Mapping) for r in v):
            _records(rep, v, f"{where}: {k}")
        elif isinstance(v, Mapping) and _is_history(v):
            rep.add_figure(history_figure(v), caption=f"{where}: {k}")
        elif isinstance(v, Mapping) and v:
            rows = [{"name": a, "value": b} for a, b in flatten(v).items()]
            rep.add_table(rows[:MAX_ROWS], caption=f"{where}: {k}", sortable=False)


def _records(rep: Report, rows: list, caption: str) -> None:
    rows = [{k: (json.dumps(v)[:80] if isinstance(v, (list, dict)) else v) for k, v in r.items()}
            for r in rows if isinstance(r, Mapping)]
    more = f" (first {MAX_ROWS} of {len(rows)})" if len(rows) > MAX_ROWS else ""
    rep.add_table(rows[:MAX_ROWS], caption=caption + more)


def _is_history(d: Mapping[str, Any]) -> bool:
    """A dict of equal-length numeric lists (a training history), at least two points."""
    lens = {len(v) for v in d.values() if isinstance(v, list)}
    return len(lens) == 1 and min(lens) >= 2 and all(
        isinstance(v, list) and all(isinstance(u, (int, float)) or u is None for u in v)
        for v in d.values())


def history_figure(h: Mapping[str, list]) -> Figure:
    """Loss curves (log scale) left, accuracies right, against ``step`` (else the index)."""
    x = h.get("step") or list(range(len(next(iter(h.values())))))
    fig = Figure(figsize=(9, 3.2))
    loss_ax, acc_ax = fig.subplots(1, 2)
    for name, ys in h.items():
        if name == "step":
            continue
        ax = acc_ax if "acc" in name else loss_ax
        pts = [(a, b) for a, b in zip(x, ys) if b is not None]
        ax.plot([a for a, _ in pts], [b for _, b in pts], label=name)
    for ax, ylabel in ((loss_ax, "loss"), (acc_ax, "accuracy")):
        ax.set_xlabel("step")
        ax.set_ylabel(ylabel)
        if ax.lines:
            ax.legend(fontsize=8)
    if loss_ax.lines and all(min(line.get_ydata()) > 0 for line in loss_ax.lines):
        loss_ax.set_yscale("log")
    fig.tight_layout()
    return fig

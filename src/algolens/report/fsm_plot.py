"""Draw a Mealy machine (the distiller's state machine) as a graph with matplotlib alone.

No graphviz binary: states sit on a circle (the start state at the top, then in BFS order from
it, so that paths read clockwise), each edge is a curved arrow labelled ``input/output`` (all
inputs that take the same transition share one arrow), self-loops point away from the centre.
Edges the extractor had to snap (``exact`` False: the network's state left every known cluster)
are dashed. The machine is the JSON form of ``analysis.rnn.fsm.MealyMachine`` (``fsm.json``):
``{"symbols", "initial", "next" [S][K], "out" [S][K], "exact" [S][K]}``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch

MAX_DRAWN_STATES = 40          # beyond this a drawing is a hairball; the table says more
_R = 0.13                      # node radius in data units (the circle of states has radius 1)


def fmt_symbol(v: Any) -> str:
    """``1`` -> "1", ``[1, 0]`` -> "10" (single digits) or "(12,3)"."""
    if isinstance(v, (list, tuple)):
        parts = [fmt_symbol(u) for u in v]
        return "".join(parts) if all(len(p) == 1 for p in parts) else "(" + ",".join(parts) + ")"
    return str(v)


def bfs_order(nxt: Sequence[Sequence[int]], start: int) -> list[int]:
    """States reachable from ``start`` in breadth-first order, then any others."""
    order, seen = [start], {start}
    for s in order:
        for t in nxt[s]:
            if int(t) not in seen:
                seen.add(int(t))
                order.append(int(t))
    return order + [s for s in range(len(nxt)) if s not in seen]


def _edges(m: Mapping[str, Any]) -> dict[tuple[int, int], list[str]]:
    """(from, to) -> ["in/out", ...], one arrow per pair of states."""
    edges: dict[tuple[int, int], list[str]] = defaultdict(list)
    exact = m.get("exact")
    for s, row in enumerate(m["next"]):
        for k, t in enumerate(row):
            lab = f"{fmt_symbol(m['symbols'][k])}/{fmt_symbol(m['out'][s][k])}"
            if exact is not None and not exact[s][k]:
                lab += "*"
            edges[(s, int(t))].append(lab)
    return edges


def _label(labels: list[str]) -> str:
    shown = labels if len(labels) <= 4 else labels[:3] + [f"+{len(labels) - 3} more"]
    return "\n".join(shown)


def plot_machine(m: Mapping[str, Any], title: str = "") -> Figure:
    """The machine as a Figure (caller embeds it); raises ValueError for a huge machine."""
    n = len(m["next"])
    if n > MAX_DRAWN_STATES:
        raise ValueError(f"{n} states: too many to draw (limit {MAX_DRAWN_STATES})")
    start = int(m.get("initial", 0))
    order = bfs_order(m["next"], start)
    pos = {s: _place(i, n) for i, s in enumerate(order)}
    size = 2.6 if n == 1 else min(4.0 + 0.35 * n, 9.0)
    fig = Figure(figsize=(size, size))
    ax = fig.subplots()
    nodes = {s: Circle(pos[s], _R, fc="#d8f0d8" if s == start else "#eef3fb", ec="#333", lw=1.4,
                       zorder=3) for s in range(n)}
    for (s, t), labels in _edges(m).items():
        dashed = all(lab.endswith("*") for lab in labels)
        _arrow(ax, pos, nodes, s, t, _label(labels), dashed)
    for s, c in nodes.items():
        ax.add_patch(c)
        ax.text(*pos[s], str(s), ha="center", va="center", fontsize=10, zorder=4)
    sx, sy = pos[start]
    ax.annotate("start", (sx - _R * 0.9, sy + _R * 0.5), (sx - 0.5, sy + 0.25), fontsize=9,
                arrowprops={"arrowstyle": "-|>", "color": "#1a7f37"}, color="#1a7f37", zorder=4)
    lim = 0.75 if n == 1 else 1.6
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title or f"{n}-state machine (edges: input/output)", fontsize=10)
    return fig


def _place(i: int, n: int) -> tuple[float, float]:
    if n == 1:
        return (0.0, 0.0)
    a = math.pi / 2 - 2 * math.pi * i / n            # clockwise from the top
    return (math.cos(a), math.sin(a))


def _arrow(ax, pos, nodes, s: int, t: int, label: str, dashed: bool) -> None:
    style = {"arrowstyle": "-|>", "mutation_scale": 12, "lw": 1.1, "color": "#444",
             "linestyle": "--" if dashed else "-", "zorder": 2}
    x, y = pos[s]
    if s == t:                                        # loop on the side away from the centre
        a = math.atan2(y, x) if (x, y) != (0.0, 0.0) else math.pi / 2
        p1 = (x + _R * math.cos(a - 0.6), y + _R * math.sin(a - 0.6))
        p2 = (x + _R * math.cos(a + 0.6), y + _R * math.sin(a + 0.6))
        ax.add_patch(FancyArrowPatch(p1, p2, connectionstyle="arc3,rad=2.4", **style))
        lx, ly = x + 2.9 * _R * math.cos(a), y + 2.9 * _R * math.sin(a)
    else:
        (x2, y2), rad = pos[t], 0.18
        ax.add_patch(FancyArrowPatch((x, y), (x2, y2), connectionstyle=f"arc3,rad={rad}",
                                     patchA=nodes[s], patchB=nodes[t], **style))
        # the quadratic Bezier's midpoint: half-way to arc3's control point
        lx, ly = (x + x2) / 2 + 0.5 * rad * (y2 - y), (y + y2) / 2 - 0.5 * rad * (x2 - x)
    ax.text(lx, ly, label, fontsize=7, ha="center", va="center", zorder=5,
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85})

"""Matplotlib without touching the process-wide backend: an Agg canvas per figure."""

from __future__ import annotations

import io

import numpy as np


def subplots(rows: int, cols: int, size: tuple[float, float]):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size)
    FigureCanvasAgg(fig)
    axes = np.asarray(fig.subplots(rows, cols), dtype=object).reshape(rows, cols)
    return fig, axes


def figure_bytes(fig) -> bytes:
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


def heatmap(ax, Z: np.ndarray, N: np.ndarray, values: np.ndarray, title: str, cmap: str = "RdBu_r") -> None:
    """Values on the (N, Z) chart of nuclides."""
    grid = np.full((Z.max() + 1, N.max() + 1), np.nan)
    grid[Z, N] = values
    lim = np.nanpercentile(np.abs(values), 99) or 1.0
    im = ax.imshow(
        grid,
        origin="lower",
        cmap=cmap,
        vmin=-lim if cmap == "RdBu_r" else None,
        vmax=lim if cmap == "RdBu_r" else None,
        aspect="auto",
        interpolation="nearest",
    )
    ax.set(title=title, xlabel="N", ylabel="Z")
    ax.figure.colorbar(im, ax=ax)

"""Figures for the Clock/Pizza and progress-measure analyses; each function returns a Figure.

Figures are built with ``matplotlib.figure.Figure`` (no pyplot, no global state, no backend
switch): they render headless (Agg) with ``fig.savefig``.

- ``plot_embedding_circles``: PC1 vs PC2 and PC3 vs PC4 of W_E, points labelled by token.
- ``plot_logit_table``: the correct logit in (a+b, a−b) coordinates (Pizza: vertical stripes).
- ``plot_gradient_symmetricity``: per-triple cos-similarities of ∂Q/∂E_a and ∂Q/∂E_b.
- ``plot_phase_diagram``: α vs width or α vs a metric, coloured by verdict, with the
  logistic-regression boundary from ``logistic_boundary``.
- ``plot_progress``: progress measures over steps with the phases shaded.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure

VERDICT_COLOURS = {"Pizza": "tab:orange", "Clock": "tab:blue", "hybrid": "tab:purple",
                   "non-circular": "tab:gray"}


def plot_embedding_circles(W_E: np.ndarray, pairs=((0, 1), (2, 3))) -> Figure:
    """Scatter of PC pairs of the centred embedding ``[p, d]`` with each point's token."""
    from .fourier import embedding_pca
    _, scores, _, S = embedding_pca(np.asarray(W_E, dtype=np.float64))
    evr = S ** 2 / (S ** 2).sum()
    pairs = [pr for pr in pairs if max(pr) < scores.shape[1]]
    fig = Figure(figsize=(4.2 * len(pairs), 4))
    axes = fig.subplots(1, len(pairs), squeeze=False)
    for ax, (i, j) in zip(axes[0], pairs):
        ax.scatter(scores[:, i], scores[:, j], c=np.arange(len(scores)), cmap="twilight", s=18)
        for t, (x, y) in enumerate(scores[:, [i, j]]):
            ax.annotate(str(t), (x, y), fontsize=7, xytext=(2, 2), textcoords="offset points")
        ax.set_xlabel(f"PC{i + 1} ({evr[i]:.0%})")
        ax.set_ylabel(f"PC{j + 1} ({evr[j]:.0%})")
        ax.set_aspect("equal", adjustable="datalim")
    fig.suptitle("Embedding PCs (labels = tokens)")
    fig.tight_layout()
    return fig


def plot_logit_table(table: np.ndarray, title: str = "correct logit") -> Figure:
    """Heat map of L[i, j] (rows a+b, columns a−b, both mod p) from ``logit_table``."""
    fig = Figure(figsize=(5, 4.4))
    ax = fig.subplots()
    im = ax.imshow(table, origin="lower", cmap="viridis", aspect="auto")
    ax.set_xlabel("a − b (mod p)")
    ax.set_ylabel("a + b (mod p)")
    ax.set_title(title)
    fig.colorbar(im, ax=ax)
    fig.tight_layout()
    return fig


def plot_gradient_symmetricity(per_triple: np.ndarray, threshold: float = 0.98) -> Figure:
    """Per-triple cos-similarities, sorted, with their mean s_g and the Pizza threshold."""
    vals = np.asarray(per_triple, dtype=np.float64)
    fig = Figure(figsize=(5, 3.6))
    ax = fig.subplots()
    ax.scatter(np.arange(len(vals)), np.sort(vals), s=10)
    ax.axhline(vals.mean(), color="k", label=f"s_g = {vals.mean():.3f}")
    ax.axhline(threshold, color="tab:orange", ls="--", label=f"threshold {threshold}")
    ax.set_xlabel("triple (sorted)")
    ax.set_ylabel("cos(∂Q/∂E_a, ∂Q/∂E_b)")
    ax.set_ylim(-1.05, 1.05)
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def logistic_boundary(alphas, labels, C: float = 100.0) -> tuple[float, float, float]:
    """Fit P(Clock | α) by logistic regression → (coef, intercept, α where P = ½).

    ``labels``: 1/True/"Clock" for Clock, 0/False/"Pizza" for Pizza (other verdicts are an
    error: filter them out first). ``C`` is sklearn's inverse regularisation (large = nearly none).
    """
    from sklearn.linear_model import LogisticRegression
    x = np.asarray(alphas, dtype=np.float64).reshape(-1, 1)
    y = np.array([_binary(v) for v in labels])
    if len(x) != len(y):
        raise ValueError(f"{len(x)} alphas but {len(y)} labels")
    if len(set(y.tolist())) < 2:
        raise ValueError("logistic_boundary needs both Clock and Pizza runs")
    clf = LogisticRegression(C=C).fit(x, y)
    coef, intercept = float(clf.coef_[0, 0]), float(clf.intercept_[0])
    return coef, intercept, (-intercept / coef if coef else float("nan"))


def _binary(v) -> int:
    if isinstance(v, str):
        if v not in ("Clock", "Pizza"):
            raise ValueError(f"label {v!r} is neither 'Clock' nor 'Pizza'; drop such runs first")
        return int(v == "Clock")
    return int(bool(v))


def plot_phase_diagram(runs: list[dict], y: str = "width") -> Figure:
    """Runs (dicts with alpha, verdict and ``y``: width, s_g or q) coloured by verdict.

    For y = "width" (log scale) the boundary is a logistic fit on (α, log width); otherwise a
    vertical line at the transition α of ``logistic_boundary`` on Clock/Pizza runs.
    """
    missing = [i for i, r in enumerate(runs) if "alpha" not in r or y not in r or "verdict" not in r]
    if missing:
        raise ValueError(f"runs {missing[:5]} lack 'alpha', 'verdict' or '{y}'")
    fig = Figure(figsize=(5.5, 4))
    ax = fig.subplots()
    # uncounted (non-circular, hybrid) runs first and faint, so they never hide a verdict
    order = sorted(VERDICT_COLOURS.items(), key=lambda kv: kv[0] in ("Clock", "Pizza"))
    for verdict, colour in order:
        pts = [(r["alpha"], r[y]) for r in runs if r["verdict"] == verdict]
        if pts:
            faint = verdict not in ("Clock", "Pizza")
            ax.scatter(*zip(*pts), c=colour, s=12 if faint else 18, alpha=0.35 if faint else 0.9,
                       label=verdict)
    cp = [r for r in runs if r["verdict"] in ("Clock", "Pizza")]
    if len({r["verdict"] for r in cp}) == 2:
        _draw_boundary(ax, cp, y)
    ax.set_xlabel("attention rate α")
    ax.set_ylabel(y)
    if y == "width":
        ax.set_yscale("log")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _draw_boundary(ax, runs: list[dict], y: str) -> None:
    if y != "width":
        _, _, a_t = logistic_boundary([r["alpha"] for r in runs], [r["verdict"] for r in runs])
        ax.axvline(a_t, color="k", ls="--", label=f"boundary α = {a_t:.2f}")
        return
    from sklearn.linear_model import LogisticRegression
    X = np.array([[r["alpha"], math.log(r["width"])] for r in runs])
    yv = np.array([r["verdict"] == "Clock" for r in runs], dtype=int)
    clf = LogisticRegression(C=100.0).fit(X, yv)
    (wa, ww), b = clf.coef_[0], clf.intercept_[0]
    widths = np.exp(np.linspace(X[:, 1].min(), X[:, 1].max(), 50))
    if wa:
        ax.plot(-(b + ww * np.log(widths)) / wa, widths, "k--", label="logistic boundary")


def plot_progress(table: list[dict], phases=None, xscale: str = "linear") -> Figure:
    """Progress measures against step: losses, Gini coefficients, weight norm; phases shaded
    and labelled. ``xscale="log"`` spreads out the first few hundred steps."""
    steps = np.array([max(r["step"], 1) if xscale == "log" else r["step"] for r in table])
    fig = Figure(figsize=(14, 3.8))
    axes = fig.subplots(1, 3)
    for key in ("train_loss", "test_loss", "restricted_loss", "excluded_loss"):
        if key in table[0]:
            axes[0].plot(steps, [r[key] for r in table], label=key.replace("_", " "))
    axes[0].set_yscale("log")
    axes[0].set_ylabel("loss")
    for key in ("gini_embed", "gini_neuron_logit"):
        axes[1].plot(steps, [r[key] for r in table], label=key.replace("_", " "))
    axes[1].set_ylabel("Gini of Fourier norms")
    axes[2].plot(steps, [r["weight_norm_sq"] for r in table], label="Σ w²")
    axes[2].set_ylabel("sum of squared weights")
    for ax in axes:
        ax.set_xscale(xscale)
        ax.set_xlabel("step")
        _shade(ax, phases, xscale == "log", labels=ax is axes[2])
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def _shade(ax, phases, log: bool = False, labels: bool = False) -> None:
    if phases is None:
        return
    spans = {"memorisation": "tab:red", "circuit_formation": "tab:green", "cleanup": "tab:blue"}
    lo = 1 if log else -np.inf
    for name, colour in spans.items():
        span = getattr(phases, name)
        if span is not None:
            ax.axvspan(max(span[0], lo), max(span[1], lo), color=colour, alpha=0.12,
                       label=name.replace("_", " ") if labels else None)

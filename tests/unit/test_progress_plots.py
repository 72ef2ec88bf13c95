"""Plots of analysis.transformer.plots (each returns a Figure) and the logistic phase boundary."""

import io
import math

import numpy as np
import pytest
from matplotlib.figure import Figure

from algolens.analysis.transformer import plots
from algolens.analysis.transformer.progress import Phases


def test_logistic_boundary_recovers_the_transition_alpha():
    rng = np.random.default_rng(0)
    alphas = rng.uniform(0, 1, 400)
    labels = ["Clock" if a > 0.6 else "Pizza" for a in alphas]
    coef, _intercept, a_t = plots.logistic_boundary(alphas, labels)
    assert coef > 0 and a_t == pytest.approx(0.6, abs=0.03)
    _, _, a_t2 = plots.logistic_boundary(alphas, [a > 0.6 for a in alphas])
    assert a_t2 == pytest.approx(a_t)


def test_logistic_boundary_rejects_bad_labels():
    with pytest.raises(ValueError, match="neither"):
        plots.logistic_boundary([0.1, 0.9], ["Pizza", "hybrid"])
    with pytest.raises(ValueError, match="both"):
        plots.logistic_boundary([0.1, 0.9], ["Pizza", "Pizza"])


def _runs(n=60):
    rng = np.random.default_rng(1)
    out = []
    for _ in range(n):
        a, w = rng.uniform(0, 1), float(2 ** rng.integers(5, 10))
        verdict = "Clock" if a > 0.4 + 0.05 * math.log2(w / 32) else "Pizza"
        out.append({"alpha": a, "width": w, "s_g": 0.3 if verdict == "Clock" else 0.99,
                    "q": 0.8 if verdict == "Clock" else 0.2, "verdict": verdict})
    out.append({"alpha": 0.5, "width": 128.0, "s_g": 0.99, "q": 0.7, "verdict": "hybrid"})
    return out


@pytest.mark.parametrize("y", ["width", "s_g", "q"])
def test_phase_diagram(y):
    fig = plots.plot_phase_diagram(_runs(), y=y)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_ylabel() == y and len(ax.lines) == 1        # the boundary line
    with pytest.raises(ValueError, match="lack"):
        plots.plot_phase_diagram([{"alpha": 0.1}], y=y)


def test_embedding_table_and_symmetricity_plots():
    p = 11
    j = np.arange(p)
    W = np.stack([np.cos(2 * np.pi * 3 * j / p), np.sin(2 * np.pi * 3 * j / p),
                  0.5 * np.cos(2 * np.pi * 5 * j / p), 0.5 * np.sin(2 * np.pi * 5 * j / p)], 1)
    fig = plots.plot_embedding_circles(W)
    assert len(fig.axes) == 2 and fig.axes[0].get_xlabel().startswith("PC1")
    assert len(fig.axes[0].texts) == p                         # one label per token
    assert isinstance(plots.plot_logit_table(np.random.default_rng(0).normal(size=(p, p))), Figure)
    fig = plots.plot_gradient_symmetricity(np.linspace(0.5, 1, 100))
    assert "s_g = 0.750" in [t.get_text() for t in fig.axes[0].get_legend().get_texts()]


def test_progress_plot_shades_the_phases():
    table = [{"step": s, "train_loss": 1 / (s + 1), "test_loss": 2.0, "restricted_loss": 1.5,
              "excluded_loss": 2.5, "gini_embed": 0.2, "gini_neuron_logit": 0.3,
              "weight_norm_sq": 100.0 - s / 10} for s in (0, 10, 100, 1000)]
    phases = Phases((0, 10), (10, 100), (100, 1000), "rule")
    fig = plots.plot_progress(table, phases)
    assert len(fig.axes) == 3
    assert len(fig.axes[0].patches) == 3 and fig.axes[0].get_xscale() == "linear"
    labels = [t.get_text() for t in fig.axes[2].get_legend().get_texts()]
    assert labels[-3:] == ["memorisation", "circuit formation", "cleanup"]
    assert plots.plot_progress(table, phases, xscale="log").axes[0].get_xscale() == "log"
    buf = io.BytesIO()
    fig.savefig(buf, format="png")                             # renders headless
    assert buf.getvalue()[:4] == b"\x89PNG"

"""The sparse-parity training figure: visible metrics beside the hidden-progress measures.

Built with ``matplotlib.figure.Figure`` (no pyplot, no global state, no backend switch); render it
headless with ``fig.savefig``. Three panels share the step axis:

1. test accuracy (left axis) and mean train loss (right axis): the plateau near 50%, the jump;
2. the Fourier coefficient of the unit-norm output on S vs the largest one on other k-subsets;
3. the share of first-layer weight energy on S (plain, and weighted by each unit's output
   weight), with the uninformed level k/n.

A dotted vertical line marks the first evaluation at >= 99% test accuracy, when there is one.
"""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.figure import Figure

from .parity import ProgressPoint

SOLVED_ACC = 0.99


def plot_sparse_parity_progress(history: Sequence[ProgressPoint], k: int, n: int,
                                title: str = "", solved_acc: float = SOLVED_ACC) -> Figure:
    """The three-panel figure of one training run's ``history`` (see the module docstring)."""
    if not history:
        raise ValueError("history is empty; train with eval_every <= steps to record points")
    steps = [p.step for p in history]
    fig = Figure(figsize=(6.4, 7.2), layout="constrained")
    ax_acc, ax_fourier, ax_share = fig.subplots(3, 1, sharex=True)
    _accuracy_panel(ax_acc, history, steps)
    _fourier_panel(ax_fourier, history, steps)
    _share_panel(ax_share, history, steps, k / n)
    solved = next((p.step for p in history if p.test_acc >= solved_acc), None)
    if solved is not None:
        for ax in (ax_acc, ax_fourier, ax_share):
            ax.axvline(solved, color="gray", linestyle=":", linewidth=1)
    ax_share.set_xlabel("step (SGD updates)")
    fig.suptitle(title or f"sparse parity, n = {n}, k = {k}")
    return fig


def _accuracy_panel(ax, history: Sequence[ProgressPoint], steps: list[int]) -> None:
    ax.plot(steps, [p.test_acc for p in history], color="tab:blue", label="test accuracy")
    ax.axhline(0.5, color="tab:blue", linestyle="--", linewidth=0.8, alpha=0.5)
    ax.set_ylim(0.4, 1.02)
    ax.set_ylabel("test accuracy", color="tab:blue")
    loss_ax = ax.twinx()
    loss_ax.plot(steps, [p.train_loss for p in history], color="tab:red", label="train loss")
    loss_ax.set_ylabel("train loss", color="tab:red")
    loss_ax.set_ylim(bottom=0)


def _fourier_panel(ax, history: Sequence[ProgressPoint], steps: list[int]) -> None:
    ax.plot(steps, [p.fourier_on_support for p in history], color="tab:green",
            label="on S")
    ax.plot(steps, [p.max_fourier_off_support for p in history], color="tab:gray",
            label="max |.| on other k-subsets")
    ax.axhline(0.0, color="black", linewidth=0.5)
    ax.set_ylabel("Fourier coefficient\n(unit-norm output)")
    ax.legend(loc="upper left", fontsize=8)


def _share_panel(ax, history: Sequence[ProgressPoint], steps: list[int],
                 uninformed: float) -> None:
    ax.plot(steps, [p.support_weight_share for p in history], color="tab:purple",
            label="|W_in|² share on S")
    ax.plot(steps, [p.support_output_share for p in history], color="tab:orange",
            label="share weighted by |W_out|")
    ax.axhline(uninformed, color="tab:purple", linestyle="--", linewidth=0.8, alpha=0.6,
               label="k/n (uninformed)")
    ax.set_ylabel("weight share on S")
    ax.legend(loc="upper left", fontsize=8)

"""Read-outs of a sparse-parity network: its support, its Fourier coefficients, a verification.

In the ±1 coding the label is the character χ_S(x) = Π_{i∈S} (1 - 2 x_i) = 1 - 2y, and any
function f: {0,1}^n -> R has Fourier coefficients f̂(T) = E_x[f(x) χ_T(x)] (x uniform). For the
network's ±1 output (+1 = label 0), f̂(S) = 2·accuracy - 1, so it moves only when accuracy does.
Hidden progress (Barak et al. 2022) shows up instead in

- the coefficient on S of the network's *real-valued* output scaled to unit norm (``unit_output``:
  -logit / rms(logit), so Σ_T f̂(T)² = 1 by Parseval), against the largest such coefficient on
  random other k-subsets (the noise floor, about 1/√m for m samples);
- the share of first-layer weight energy on the support, Σ_{i∈S} |W_in[i]|² / Σ_i |W_in[i]|²
  (k/n at an uninformed init, near 1 once the network ignores the other bits).

``SupportExtractor`` reads S from the per-input weight norms of the first layer and states a
confidence (the gap to the next input); ``verify`` checks that the network computes the parity
of those bits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ..tasks.sparse_parity import all_inputs

BoolFn = Callable[[np.ndarray], np.ndarray]       # x [m, n] uint8 -> f(x) [m] real


@dataclass(frozen=True)
class ProgressMeasures:
    """Hidden-progress measures of one network at one moment (see the module docstring)."""

    fourier_on_support: float         # unit-output coefficient on S
    max_fourier_off_support: float    # largest |coefficient| over random other k-subsets
    support_weight_share: float       # share of |W_in|² on the rows of S (k/n uninformed)
    support_output_share: float       # the same share with each unit weighted by |W_out|


@dataclass(frozen=True)
class ProgressPoint:
    """One evaluation during training: the visible metrics and the hidden-progress measures."""

    step: int
    train_loss: float
    test_acc: float
    fourier_on_support: float
    max_fourier_off_support: float
    support_weight_share: float
    support_output_share: float


@dataclass(frozen=True)
class ParityVerification:
    """How often the network agrees with the parity of the support, and on which inputs."""

    support: tuple[int, ...]
    agreement: float          # fraction of inputs where the prediction equals the parity
    n_inputs: int
    exhaustive: bool          # True: all 2^n inputs; False: n_inputs uniform samples


# ---------------------------------------------------------------- the support
class SupportExtractor:
    """Estimator: the support = the k inputs with the largest first-layer weight mass.

    ``weighting="output"`` (default) scores input i by |W_in[i, :] ⊙ W_out|, each hidden unit's
    weight from i scaled by that unit's weight into the logit, so units the output ignores do
    not count; ``"none"`` scores by the plain per-input norm |W_in[i, :]|. Measured at the
    first 100%-accuracy evaluation (n = 20 and 40, k = 3, no weight decay): gap 14-40 with
    "output", 1.4-2.0 with "none" (the off-support rows keep their init); about 1.01 at init.

    ``fit(model, n)`` sets ``scores_`` ([n] per-input scores), ``support_`` (sorted tuple),
    ``k_`` (given, or chosen as the largest ratio between consecutive sorted scores when
    ``k=None``) and ``gap_`` = k-th largest / (k+1)-th largest score (inf when k = n or the
    (k+1)-th is 0), the confidence: about 1 at init, large once the network reads only S.
    """

    def __init__(self, k: int | None = None, weighting: str = "output") -> None:
        self.k = k
        self.weighting = weighting

    def fit(self, model: torch.nn.Module, n: int) -> SupportExtractor:
        self.scores_ = self._scores(model, n)                               # [n]
        desc = np.sort(self.scores_)[::-1]                                  # [n] descending
        self.k_ = self._choose_k(desc, n)
        order = np.argsort(-self.scores_, kind="stable")
        self.support_ = tuple(sorted(int(i) for i in order[:self.k_]))
        self.gap_ = _ratio(desc, self.k_)
        return self

    def _scores(self, model: torch.nn.Module, n: int) -> np.ndarray:
        W = _first_layer(model, n)                                          # [n, width]
        if self.weighting == "none":
            return np.linalg.norm(W, axis=1)
        if self.weighting != "output":
            raise ValueError(f"unknown weighting {self.weighting!r}; use 'output' or 'none'")
        W_out = getattr(model, "W_out", None)
        if W_out is None or tuple(W_out.shape) != (W.shape[1],):
            raise ValueError(f"{type(model).__name__} has no W_out [width = {W.shape[1]}]; "
                             "pass weighting='none' to score by W_in alone")
        return np.linalg.norm(W * np.abs(W_out.detach().double().cpu().numpy()), axis=1)

    def _choose_k(self, desc: np.ndarray, n: int) -> int:
        if self.k is not None:
            if not 1 <= self.k <= n:
                raise ValueError(f"k = {self.k} must be in [1, n = {n}]; or pass k=None to "
                                 "choose it by the largest gap")
            return int(self.k)
        if n == 1:
            return 1
        return 1 + int(np.argmax([_ratio(desc, j) for j in range(1, n)]))


def _ratio(desc: np.ndarray, k: int) -> float:
    """desc[k-1] / desc[k] for scores sorted descending; inf past the end or over a zero."""
    if k >= len(desc) or desc[k] == 0:
        return float("inf")
    return float(desc[k - 1] / desc[k])


def _first_layer(model: torch.nn.Module, n: int) -> np.ndarray:
    W = getattr(model, "W_in", None)
    if W is None or W.ndim != 2:
        raise ValueError(f"{type(model).__name__} has no 2-d W_in [n_in, width]; pass a "
                         "ParityMLP (models.mlp)")
    if W.shape[0] != n:
        raise ValueError(f"the model reads {W.shape[0]} inputs but n = {n}; pass the task's n")
    return W.detach().double().cpu().numpy()


def support_weight_share(model: torch.nn.Module, support: tuple[int, ...], n: int,
                         weighting: str = "none") -> float:
    """Σ_{i∈S} s_i² / Σ_i s_i² for the per-input scores s of ``SupportExtractor(weighting=...)``
    (``"none"``: |W_in[i]|; ``"output"``: |W_in[i] ⊙ W_out|, units the logit ignores do not
    count): k/n for an uninformed init, -> 1 as S takes over. The output-weighted share rises
    through the plateau (n = 40, seed 0: 0.072 -> 0.257 while accuracy is still 0.505), the plain
    one barely (0.077 -> 0.090)."""
    energy = SupportExtractor(weighting=weighting)._scores(model, n) ** 2  # [n]
    return float(energy[list(support)].sum() / energy.sum())


# ---------------------------------------------------------------- Fourier coefficients
def character(x: np.ndarray, support: tuple[int, ...]) -> np.ndarray:
    """χ_S(x) = Π_{i∈S} (1 - 2 x_i) for ``x [m, n]`` in {0,1}: ``[m]`` float64 in {±1}."""
    return 1.0 - 2.0 * (x[:, list(support)].astype(np.int64).sum(axis=1) % 2)


def logits(model: torch.nn.Module, x: np.ndarray, batch: int = 8192) -> np.ndarray:
    """The model's logits on ``x [m, n]`` (0/1), in batches, without gradients: ``[m]``."""
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out.append(model(torch.from_numpy(np.ascontiguousarray(x[i:i + batch]))).double())
    return torch.cat(out).numpy() if out else np.zeros(0)


def pm_output(model: torch.nn.Module) -> BoolFn:
    """The network's ±1 output in the character's convention: +1 for label 0, -1 for label 1."""
    return lambda x: 1.0 - 2.0 * (logits(model, x) > 0)


def unit_output(model: torch.nn.Module) -> BoolFn:
    """-logit / rms(logit): the real-valued output with unit norm (sign as in ``pm_output``)."""
    def f(x: np.ndarray) -> np.ndarray:
        z = logits(model, x)
        return -z / max(float(np.sqrt(np.mean(z ** 2))), 1e-30)
    return f


def fourier_coefficient(fn: BoolFn, support: tuple[int, ...], n: int, m: int,
                        rng: np.random.Generator) -> float:
    """E_x[fn(x) χ_S(x)] estimated on ``m`` uniform inputs (standard error ≤ max|fn| / √m)."""
    x = rng.integers(0, 2, size=(m, n), dtype=np.uint8)                    # [m, n]
    return float(np.mean(fn(x) * character(x, support)))


def random_subsets(n: int, k: int, count: int, avoid: tuple[int, ...],
                   rng: np.random.Generator) -> list[tuple[int, ...]]:
    """``count`` random k-subsets of range(n) other than ``avoid`` (fewer if there are fewer)."""
    seen, out = {tuple(avoid)}, []
    for _ in range(50 * count):
        if len(out) == count:
            break
        t = tuple(sorted(int(i) for i in rng.choice(n, size=k, replace=False)))
        if t not in seen:
            seen.add(t)
            out.append(t)
    return out


def progress_measures(model: torch.nn.Module, support: tuple[int, ...], n: int,
                      rng: np.random.Generator, m: int = 4096,
                      n_other: int = 16) -> ProgressMeasures:
    """The hidden-progress measures, all coefficients from one sample of ``m`` inputs.

    Pass a generator seeded the same way at every evaluation so that the inputs and the
    ``n_other`` comparison subsets stay fixed and the curves are smooth over training.
    """
    x = rng.integers(0, 2, size=(m, n), dtype=np.uint8)                    # [m, n]
    f = unit_output(model)(x)                                               # [m]
    others = random_subsets(n, len(support), n_other, support, rng)
    off = [abs(float(np.mean(f * character(x, t)))) for t in others]
    return ProgressMeasures(float(np.mean(f * character(x, support))), max(off, default=0.0),
                            support_weight_share(model, support, n),
                            support_weight_share(model, support, n, weighting="output"))


# ---------------------------------------------------------------- verification
def verify(model: torch.nn.Module, support: tuple[int, ...], n: int, m: int,
           rng: np.random.Generator, exhaustive_up_to: int = 16) -> ParityVerification:
    """Does the network compute the parity of ``support``? Exhaustive over all 2^n inputs when
    n <= ``exhaustive_up_to``, otherwise on ``m`` fresh uniform inputs from ``rng``."""
    exhaustive = n <= exhaustive_up_to
    if not exhaustive and m < 1:
        raise ValueError(f"m = {m} samples cannot verify n = {n} bits; pass m >= 1 (e.g. 10_000)")
    x = all_inputs(n) if exhaustive else rng.integers(0, 2, size=(m, n), dtype=np.uint8)
    support = tuple(int(i) for i in support)
    pred = logits(model, x) > 0                                             # [m] label 1?
    parity = character(x, support) < 0                                      # [m] label 1?
    return ParityVerification(support, float(np.mean(pred == parity)), len(x), exhaustive)

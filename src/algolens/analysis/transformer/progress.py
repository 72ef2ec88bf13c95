"""Grokking progress measures (Nanda et al., ICLR 2023) over a list of checkpoints.

A modular-addition transformer that uses the Fourier multiplication algorithm writes its logits
as Σ_k α_k cos(w_k(a+b−c)) for a few key frequencies k. For each output class c the logits, as a
function of (a, b), then live in span{1, cos w_k(a+b), sin w_k(a+b)}. The measures:

- restricted loss: keep only those directions for the key frequencies plus the mean (all data);
- excluded loss: remove exactly those directions (training data): rises while the circuit forms;
- Gini coefficients of the Fourier-component norms of W_E and of the neuron-logit map W_U·W_out;
- the sum of squared weights (weight decay's target; it falls during cleanup).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ...tasks.table import modular_addition
from .fourier import all_logits, fourier_basis, frequency_norms, gini, model_shape

# --------------------------------------------------------------------------- logit projections


def _apb_directions(p: int, k: int) -> np.ndarray:
    """Unit vectors cos(w_k(a+b)), sin(w_k(a+b)) over the (a, b) grid → ``[2, p*p]``."""
    a, b = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    s = (2 * math.pi * k / p * (a + b)).ravel()
    dirs = np.stack([np.cos(s), np.sin(s)])
    return dirs / np.linalg.norm(dirs, axis=1, keepdims=True)


def key_component(logits: np.ndarray, key_freqs) -> np.ndarray:
    """The part of ``[a, b, c]`` logits along cos/sin(w_k(a+b)), k in ``key_freqs``, per class c."""
    p = logits.shape[0]
    flat = logits.reshape(p * p, p)                                 # [(a,b), c]
    out = np.zeros_like(flat)
    for k in sorted({int(k) for k in key_freqs}):
        if not 1 <= k <= (p - 1) // 2:
            raise ValueError(f"key frequency {k} out of range 1..{(p - 1) // 2} for p={p}")
        D = _apb_directions(p, k)                                   # [2, p²]
        out += D.T @ (D @ flat)
    return out.reshape(logits.shape)


def restricted_logits(logits: np.ndarray, key_freqs) -> np.ndarray:
    """Mean over (a, b) per class plus the key-frequency (a+b) component."""
    return logits.mean(axis=(0, 1), keepdims=True) + key_component(logits, key_freqs)


def excluded_logits(logits: np.ndarray, key_freqs) -> np.ndarray:
    """The logits with exactly the key-frequency (a+b) directions removed."""
    return logits - key_component(logits, key_freqs)


def cross_entropy(logits: np.ndarray, idx=None) -> float:
    """Mean CE (float64 log-softmax) of ``[a, b, c]`` logits on (a+b) mod p at flat indices a·p+b."""
    p = logits.shape[0]
    flat = logits.reshape(p * p, p).astype(np.float64)
    labels = _labels(p)
    if idx is not None:
        idx = np.asarray(idx, dtype=np.int64)
        flat, labels = flat[idx], labels[idx]
    m = flat.max(1, keepdims=True)
    logz = (m + np.log(np.exp(flat - m).sum(1, keepdims=True)))[:, 0]
    return float((logz - flat[np.arange(len(flat)), labels]).mean())


def _labels(p: int) -> np.ndarray:
    """(a + b) mod p at flat index a·p + b: the table task's target column."""
    return modular_addition(p).columns()["c"]


def _accuracy(logits: np.ndarray, idx) -> float:
    p = logits.shape[0]
    pred = logits.reshape(p * p, p).argmax(1)
    labels = _labels(p)
    idx = np.asarray(idx, dtype=np.int64)
    return float((pred[idx] == labels[idx]).mean())


# --------------------------------------------------------------------------- frequencies


@dataclass(frozen=True)
class FrequencyProfile:
    """Where a model's Fourier energy sits, per frequency k = 1..⌊(p−1)/2⌋ (index k−1)."""

    logit_energy: np.ndarray        # fraction of centred logit variance along cos/sin w_k(a+b)
    embed_norms: np.ndarray         # ‖cos_k·W_E‖ and ‖sin_k·W_E‖ combined
    neuron_logit_norms: np.ndarray  # same for the neuron-logit map W_L = (W_out·W_U)ᵀ [p, d_mlp]
    key: tuple[int, ...]            # the selected key frequencies
    rule: str


def neuron_logit_map(model: torch.nn.Module) -> np.ndarray:
    """W_L = (W_out · W_U)ᵀ of the last block → ``[p, d_mlp]``: how each neuron moves each logit."""
    mlp = model.blocks[-1].mlp
    W_L = mlp.W_out.detach().double() @ model.W_U.detach().double()   # [d_mlp, p]
    return W_L.T.cpu().numpy()


def logit_energy(logits: np.ndarray) -> np.ndarray:
    """Fraction of the centred ``[a, b, c]`` logits' variance along cos/sin(w_k(a+b)), per k."""
    p = logits.shape[0]
    centred = logits - logits.mean(axis=(0, 1), keepdims=True)
    total = float((centred ** 2).sum()) or 1.0
    return np.array([(key_component(logits, [k]) ** 2).sum() / total
                     for k in range(1, (p - 1) // 2 + 1)])


def select_key(energy: np.ndarray, rel_threshold: float = 0.1) -> tuple[int, ...]:
    """Frequencies (1-based) whose energy is at least ``rel_threshold`` × the largest."""
    if energy.max() <= 0:
        return ()
    return tuple(int(k) + 1 for k in np.flatnonzero(energy >= rel_threshold * energy.max()))


def sufficient_key(logits: np.ndarray, energy: np.ndarray) -> tuple[int, ...]:
    """The fewest frequencies, taken in order of logit energy, that explain the logits.

    Frequencies are added in order of ``energy`` until the restricted loss on all pairs (mean
    plus those frequencies' (a+b) directions) is no higher than the model's own loss on all
    pairs, as it is for a grokked model (Nanda et al.: the restricted loss ends below the full
    loss). If no prefix gets there, the shortest prefix within 1% of the lowest restricted loss.
    """
    order = [int(k) + 1 for k in np.argsort(-energy, kind="stable") if energy[k] > 0]
    if not order:
        return ()
    full = cross_entropy(logits)
    mean = logits.mean(axis=(0, 1), keepdims=True)
    comp = np.zeros_like(logits)
    losses = []
    for i, k in enumerate(order):
        comp += key_component(logits, [k])
        losses.append(cross_entropy(mean + comp))
        if losses[-1] <= full * (1 + 1e-9) + 1e-12:   # tolerance: float rounding only
            return tuple(sorted(order[: i + 1]))
    best = min(losses)
    n = next(i for i, v in enumerate(losses) if v <= best + 0.01 * abs(best))
    return tuple(sorted(order[: n + 1]))


KEY_RULE_SUFFICIENT = ("key frequencies: the fewest frequencies, in order of their share of the "
                       "centred last-position logit variance along cos/sin(w_k(a+b)), whose "
                       "restricted loss on all pairs is no higher than the model's own loss")


def frequency_profile(model: torch.nn.Module, rel_threshold: float | None = None
                      ) -> FrequencyProfile:
    """Energy per frequency of the logits, W_E and W_L, and the key frequencies.

    Key frequencies: by default ``sufficient_key`` (the fewest that explain the logits); with
    ``rel_threshold`` those whose logit energy is at least that fraction of the largest.
    """
    p = model_shape(model).p
    n = (p - 1) // 2
    logits = all_logits(model)
    energy = logit_energy(logits)
    F, _ = fourier_basis(p)
    W_E = model.W_E.detach().double().cpu().numpy()[:p]
    embed = frequency_norms(F, W_E)[1 : n + 1]
    nl = frequency_norms(F, neuron_logit_map(model))[1 : n + 1]
    if rel_threshold is None:
        return FrequencyProfile(energy, embed, nl, sufficient_key(logits, energy),
                                KEY_RULE_SUFFICIENT)
    rule = (f"key frequencies: fraction of centred last-position logit variance along "
            f"cos/sin(w_k(a+b)) >= {rel_threshold} x the largest such fraction")
    return FrequencyProfile(energy, embed, nl, select_key(energy, rel_threshold), rule)


def key_frequencies(model: torch.nn.Module, rel_threshold: float | None = None) -> tuple[int, ...]:
    """The frequencies the last-position logits are made of (see ``frequency_profile``)."""
    return frequency_profile(model, rel_threshold).key


# --------------------------------------------------------------------------- weights


def fourier_ginis(model: torch.nn.Module) -> tuple[float, float]:
    """Gini of the p Fourier-component norms of W_E and of W_L = (W_out·W_U)ᵀ (Nanda et al.)."""
    p = model_shape(model).p
    F, _ = fourier_basis(p)
    W_E = model.W_E.detach().double().cpu().numpy()[:p]
    embed = np.linalg.norm(F @ W_E, axis=1)                         # [p]
    nl = np.linalg.norm(F @ neuron_logit_map(model), axis=1)        # [p]
    return gini(embed), gini(nl)


def weight_norm_sq(model: torch.nn.Module) -> float:
    """Sum of squared weights over all parameters."""
    return float(sum((w.detach().double() ** 2).sum() for w in model.parameters()))


# --------------------------------------------------------------------------- phases


@dataclass(frozen=True)
class Phases:
    """Step ranges of the three phases (None when a phase is not reached) and the rule used."""

    memorisation: tuple[int, int] | None
    circuit_formation: tuple[int, int] | None
    cleanup: tuple[int, int] | None
    rule: str


PHASE_RULE = ("memorisation ends at the first step with train accuracy >= {mem_acc}; after the "
              "peak of log(test loss) that follows, cleanup starts when log(test loss) has fallen "
              "{start:.0%} of the way from that peak to its final value and ends when it has "
              "fallen {end:.0%}; circuit formation lies between memorisation and cleanup. No "
              "cleanup is reported when the test loss falls by less than a factor {min_drop}.")


def locate_phases(table: list[dict], mem_acc: float = 0.99, start: float = 0.2,
                  end: float = 0.9, min_drop: float = 2.0) -> Phases:
    """Phases from the curves in ``table`` (rows with step, train_acc, test_loss)."""
    rule = PHASE_RULE.format(mem_acc=mem_acc, start=start, end=end, min_drop=min_drop)
    steps = [r["step"] for r in table]
    mem = next((i for i, r in enumerate(table) if r["train_acc"] >= mem_acc), None)
    if mem is None:
        return Phases(None, None, None, rule)
    memorisation = (steps[0], steps[mem])
    log_test = np.log(np.maximum([r["test_loss"] for r in table], 1e-300))
    peak = mem + int(np.argmax(log_test[mem:]))
    hi, lo = log_test[peak], log_test[-1]
    if hi - lo < math.log(min_drop):
        return Phases(memorisation, (steps[mem], steps[-1]), None, rule)
    after = log_test[peak:]
    i_start = peak + int(np.argmax(after <= hi - start * (hi - lo)))
    i_end = peak + int(np.argmax(after <= hi - end * (hi - lo)))
    return Phases(memorisation, (steps[mem], steps[i_start]), (steps[i_start], steps[i_end]), rule)


# --------------------------------------------------------------------------- estimator


class ProgressMeasures:
    """Progress measures for each checkpoint and the phases they imply.

    ``fit(checkpoints, train_idx, test_idx, curves=None)``: checkpoints is a list of (step,
    model); indices are flat pair indices a·p + b. Key frequencies default to those of the final
    checkpoint (``sufficient_key``). Phases come from ``curves`` (rows with step, train_acc,
    test_loss, e.g. the denser training history) when given, else from the checkpoint table.
    Attributes: ``table_`` (one dict per step: train/test loss and accuracy, restricted_loss
    (all pairs), excluded_loss (train), gini_embed, gini_neuron_logit, weight_norm_sq),
    ``key_freqs_``, ``profile_`` (final model's ``FrequencyProfile``), ``phases_``.
    """

    def __init__(self, key_freqs=None, rel_threshold: float | None = None) -> None:
        self.key_freqs = key_freqs
        self.rel_threshold = rel_threshold

    def fit(self, checkpoints, train_idx, test_idx, curves: list[dict] | None = None
            ) -> ProgressMeasures:
        if not checkpoints:
            raise ValueError("no checkpoints: pass a non-empty list of (step, model)")
        checkpoints = sorted(checkpoints, key=lambda sm: sm[0])
        p = model_shape(checkpoints[-1][1]).p
        train_idx, test_idx = _check_idx(train_idx, p), _check_idx(test_idx, p)
        self.profile_ = frequency_profile(checkpoints[-1][1], self.rel_threshold)
        keys = self.profile_.key if self.key_freqs is None else self.key_freqs
        self.key_freqs_ = tuple(sorted(int(k) for k in keys))
        self.table_ = [self._row(step, m, train_idx, test_idx) for step, m in checkpoints]
        self.phases_ = locate_phases(curves if curves else self.table_)
        return self

    def _row(self, step: int, model, train_idx, test_idx) -> dict:
        logits = all_logits(model)
        g_embed, g_nl = fourier_ginis(model)
        return {
            "step": int(step),
            "train_loss": cross_entropy(logits, train_idx),
            "test_loss": cross_entropy(logits, test_idx),
            "train_acc": _accuracy(logits, train_idx),
            "test_acc": _accuracy(logits, test_idx),
            "restricted_loss": cross_entropy(restricted_logits(logits, self.key_freqs_)),
            "excluded_loss": cross_entropy(excluded_logits(logits, self.key_freqs_), train_idx),
            "gini_embed": g_embed,
            "gini_neuron_logit": g_nl,
            "weight_norm_sq": weight_norm_sq(model),
        }


def _check_idx(idx, p: int) -> np.ndarray:
    idx = np.asarray(idx, dtype=np.int64).ravel()
    if idx.size == 0 or idx.min() < 0 or idx.max() >= p * p:
        raise ValueError(f"indices must be non-empty flat pair indices a*p+b in [0, {p * p})")
    return idx

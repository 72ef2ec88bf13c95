"""Clock or Pizza? The metrics of Zhong et al. (2023) as estimators (spec: specs/clock_pizza.md).

- ``GradientSymmetricity``: s_g, mean cos-similarity of ∂Q_abc/∂E_a and ∂Q_abc/∂E_b (Pizza ≈ 1).
- ``DistanceIrrelevance``: q, how little the correct logit depends on a−b (Pizza low, Clock high).
- ``Circularity``: c, how exactly the top embedding PCs are circles of one frequency.
- ``CircleIsolation``: keep one PC pair of W_E, find its frequency, score its logits against
  the Clock, Pizza and accompanying-pizza formulas.
- ``ClockPizzaClassifier``: the spec's rule on top of these, with every number behind the label.

Each estimator follows ``fit(model) -> self``; results live in trailing-underscore attributes.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass

import numpy as np
import torch

from ...tasks.table import modular_addition_target
from .fourier import (
    all_logits,
    embedding_pca,
    fourier_basis,
    frequency_norms,
    mod_inverse,
    model_shape,
    token_embedding,
)

# The spec's reference values (released checkpoints, recomputed independently).
REFERENCE = {
    "Model A (Pizza, α=0)": {"s_g": 0.9937, "q": 0.1717, "q_max_incorrect": 0.222,
                             "circularity": 0.9978},
    "Model B (Clock, α=1)": {"s_g": 0.3336, "q": 0.8483, "q_max_incorrect": 0.885,
                             "circularity": 0.9989},
}


# --------------------------------------------------------------------------- s_g


def symmetricity_triples(p: int, n: int = 100, seed: int = 42) -> list[tuple[int, int, int]]:
    """The spec's S: all p³ (a, b, c) in lexicographic order, shuffled by Random(seed), first n."""
    triples = list(itertools.product(range(p), repeat=3))
    random.Random(seed).shuffle(triples)
    return triples[:n]


class GradientSymmetricity:
    """s_g = mean over S of cos_sim(∂Q_abc/∂E_a, ∂Q_abc/∂E_b).

    Q_abc is the raw last-position logit of class c on [a, b]; E_a, E_b are the ``hook_embed``
    activations (token embeddings before positions are added) at positions 0 and 1.
    Attributes: ``symmetricity_``, ``per_triple_`` [n], ``triples_`` [n, 3].
    """

    def __init__(self, n_triples: int = 100, seed: int = 42) -> None:
        self.n_triples = n_triples
        self.seed = seed

    def fit(self, model: torch.nn.Module) -> GradientSymmetricity:
        shape = model_shape(model)
        if self.n_triples < 1:
            raise ValueError(f"n_triples must be >= 1, got {self.n_triples}")
        triples = torch.tensor(symmetricity_triples(shape.p, self.n_triples, self.seed))
        tokens = triples[:, :2]
        if shape.eq_token:
            tokens = torch.cat([tokens, torch.full((len(tokens), 1), shape.p)], 1)
        grads = _embed_grads(model, tokens, triples[:, 2])          # [n, n_ctx, d]
        cos = torch.nn.functional.cosine_similarity(grads[:, 0], grads[:, 1], dim=-1)
        self.triples_ = triples.numpy()
        self.per_triple_ = cos.double().cpu().numpy()
        self.symmetricity_ = float(self.per_triple_.mean())
        return self


def _embed_grads(model: torch.nn.Module, tokens: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """∂ logit[i, c_i] / ∂ hook_embed[i] for each row i (rows do not interact) → [n, n_ctx, d]."""
    leaf: dict[str, torch.Tensor] = {}

    def capture(act: torch.Tensor, hook) -> torch.Tensor:
        leaf["e"] = act.detach().requires_grad_(True)
        return leaf["e"]

    device = model.W_E.device
    with torch.enable_grad(), model.hooks([("hook_embed", capture)]):
        out = model(tokens.to(device), last_only=True)
        out = out[:, -1] if out.dim() == 3 else out                 # [n, p]
        q = out.gather(1, c.to(device)[:, None]).sum()
        (grad,) = torch.autograd.grad(q, leaf["e"])
    return grad.detach()


# --------------------------------------------------------------------------- q


def logit_table(logits: np.ndarray, kind: str = "correct") -> np.ndarray:
    """L[i, j] = logit for a+b ≡ i, a−b ≡ j (mod p); ``logits`` is ``[a, b, c]``.

    kind "correct": the correct-class logit; "max_incorrect": the largest incorrect logit (what
    the paper's released sweep CSVs used). Needs p odd (then (i, j) ↔ (a, b) is a bijection).
    """
    p = logits.shape[0]
    if logits.shape != (p, p, p):
        raise ValueError(f"logits must be [p, p, p] (a, b, c), got {logits.shape}")
    if p % 2 == 0:
        raise ValueError(f"distance irrelevance needs an odd modulus (a±b ↔ (a, b)), got p={p}")
    a, b = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    c = modular_addition_target(a, b, p)
    if kind == "correct":
        value = logits[a, b, c]
    elif kind == "max_incorrect":
        masked = logits.copy()
        masked[a, b, c] = -np.inf
        value = masked.max(-1)
    else:
        raise ValueError(f"kind must be 'correct' or 'max_incorrect', got {kind!r}")
    table = np.empty((p, p))
    table[c, (a - b) % p] = value
    return table


def distance_irrelevance(table: np.ndarray) -> float:
    """q = mean_j std_i L[i, j] / std(L) (population std); NaN when L is constant."""
    total = table.std()
    if total == 0:
        return float("nan")
    return float(table.std(axis=0).mean() / total)


class DistanceIrrelevance:
    """q: near 0 when the correct logit depends only on a−b (Pizza), near 1 when not (Clock).

    Attributes: ``q_``, ``table_`` [p, p] (rows a+b, columns a−b), ``column_std_`` [p].
    """

    def __init__(self, kind: str = "correct") -> None:
        self.kind = kind

    def fit(self, model: torch.nn.Module) -> DistanceIrrelevance:
        self.table_ = logit_table(all_logits(model), self.kind)
        self.column_std_ = self.table_.std(axis=0)
        self.q_ = distance_irrelevance(self.table_)
        return self


# --------------------------------------------------------------------------- circularity


def circle_score(v: np.ndarray) -> tuple[float, int]:
    """max_k (2/(p·Σv²))·|Σ_j v_j e^{2πijk/p}|² over k = 1..p−1, clipped to [0, 1], and its k.

    k is folded to min(k, p−k) (k and p−k are the same circle traversed backwards).
    """
    p = len(v)
    energy = float((v ** 2).sum())
    if energy == 0:
        return 0.0, 0
    power = np.abs(np.fft.fft(v)[1:]) ** 2 * 2 / (p * energy)     # k = 1..p-1
    k = int(np.argmax(power)) + 1
    return float(np.clip(power[k - 1], 0.0, 1.0)), min(k, p - k)


# The paper's cuts (Zhong et al. 2023): Pizza if q < Q_PIZZA; Clock if s_g < SG_SYMMETRIC (and
# q >= Q_PIZZA); only runs with circularity >= CIRCULAR count.
Q_PIZZA = 0.6
SG_SYMMETRIC = 0.98
CIRCULAR = 0.995


class Circularity:
    """c = mean circle score of the first ``n_pcs`` PCs of the centred embedding W_E[:p].

    Attributes: ``circularity_``, ``per_pc_``, ``frequencies_``, ``explained_variance_ratio_``,
    ``is_circular_`` (c ≥ ``threshold``, 0.995 in the paper).
    """

    def __init__(self, n_pcs: int = 4, threshold: float = CIRCULAR) -> None:
        self.n_pcs = n_pcs
        self.threshold = threshold

    def fit(self, model: torch.nn.Module) -> Circularity:
        return self.fit_embedding(token_embedding(model))

    def fit_embedding(self, W_E: np.ndarray) -> Circularity:
        """Same as ``fit`` on a bare ``[p, d]`` embedding matrix."""
        _, scores, _, S = embedding_pca(np.asarray(W_E, dtype=np.float64))
        if scores.shape[1] < self.n_pcs:
            raise ValueError(f"the embedding has only {scores.shape[1]} PCs; "
                             f"use n_pcs <= {scores.shape[1]}")
        res = [circle_score(scores[:, i]) for i in range(self.n_pcs)]
        self.per_pc_ = np.array([r[0] for r in res])
        self.frequencies_ = np.array([r[1] for r in res])
        self.explained_variance_ratio_ = (S ** 2 / (S ** 2).sum())[: self.n_pcs]
        self.circularity_ = float(self.per_pc_.mean())
        self.is_circular_ = self.circularity_ >= self.threshold
        return self


# --------------------------------------------------------------------------- circle isolation


@dataclass(frozen=True)
class CircleResult:
    """One isolated PC pair: its step, frequency, accuracy and formula fidelities."""

    label: str                  # what was kept: "PC1-2" (basis "pca") or "freq 7" ("fourier")
    delta: int                  # most common token step between angle-adjacent points
    delta_agreement: float      # fraction of adjacent pairs with exactly that step (1 = clean)
    k: int                      # δ⁻¹ mod p (orientation as found; p−k is the same circle)
    frequency: int              # min(k, p−k)
    accuracy: float             # accuracy on all p² pairs with only this circle kept
    fve_clock: float            # FVE of the circle's logits by Q_clock (both z-scored)
    fve_pizza: float            # ... by Q_pizza
    fve_accompanying: float     # ... by the accompanying pizza A_c (embedding frequency 2·k')


def circle_step(points: np.ndarray) -> tuple[int, float]:
    """Token step δ between angle-adjacent points of ``[p, 2]`` and the fraction that agree."""
    p = len(points)
    order = np.argsort(np.arctan2(points[:, 1], points[:, 0]))
    steps = (np.roll(order, -1) - order) % p                        # includes the wrap-around
    values, counts = np.unique(steps, return_counts=True)
    best = int(np.argmax(counts))
    return int(values[best]), float(counts[best] / p)


def formula_logits(p: int, k: int) -> dict[str, np.ndarray]:
    """Q_clock, Q_pizza and A_c as ``[a, b, c]`` arrays for frequency k (w = 2πk/p).

    A_c = −(cos wc, sin wc)·½(cos 2wa + cos 2wb, sin 2wa + sin 2wb) is written for an embedding
    circle of frequency k: its output frequency is k·2⁻¹ mod p, so w_out = 2π(k·2⁻¹ mod p)/p.
    """
    a, b, c = np.meshgrid(np.arange(p), np.arange(p), np.arange(p), indexing="ij")
    w = 2 * math.pi * k / p
    clock = np.cos(w * (a + b - c))
    pizza = np.abs(np.cos(w * (a - b) / 2)) * clock
    w_out = 2 * math.pi * (k * mod_inverse(2, p) % p) / p if p % 2 else w / 2
    acc = -0.5 * (np.cos(w * a - w_out * c) + np.cos(w * b - w_out * c))
    return {"clock": clock, "pizza": pizza, "accompanying": acc}


def fve(logits: np.ndarray, formula: np.ndarray) -> float:
    """Fraction of variance explained with both z-scored and no fitted scale: 1 − mean((z_L − z_Q)²).

    Equals 2·corr − 1; 1 for a perfect match, negative for an anti-correlated formula.
    """
    zl = (logits - logits.mean()) / logits.std()
    zq = (formula - formula.mean()) / formula.std()
    return float(1 - ((zl - zq) ** 2).mean())


def accuracy(logits: np.ndarray) -> float:
    """Accuracy of ``[a, b, c]`` logits on (a + b) mod p."""
    p = logits.shape[0]
    a, b = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    return float((logits.argmax(-1) == modular_addition_target(a, b, p)).mean())


class CircleIsolation:
    """Keep one PC pair of W_E (others zeroed, mean added back) and study that circle alone.

    ``basis="pca"`` (the paper's method) isolates PC pairs 1-2, 3-4, ...; when two frequencies
    carry almost equal variance PCA mixes them and a pair is no clean circle (low
    ``delta_agreement``). ``basis="fourier"`` instead keeps the token-space Fourier component of
    one frequency (cos k, sin k over tokens), for the ``n_circles`` frequencies with the largest
    embedding norm, which is a clean circle by construction.
    Attributes: ``circles_`` (list of ``CircleResult``), ``accuracy_by_pcs_`` ({"1-4": acc, ...}
    for each set in ``pc_sets``, 1-based inclusive PC ranges), ``full_accuracy_``.
    """

    def __init__(self, n_circles: int = 3,
                 pc_sets: tuple[tuple[int, int], ...] = ((1, 4), (1, 6), (7, 12)),
                 basis: str = "pca") -> None:
        self.n_circles = n_circles
        self.pc_sets = pc_sets
        self.basis = basis

    def fit(self, model: torch.nn.Module) -> CircleIsolation:
        if self.basis not in ("pca", "fourier"):
            raise ValueError(f"basis must be 'pca' or 'fourier', got {self.basis!r}")
        p = model_shape(model).p
        W_E = token_embedding(model)
        mean, scores, Vt, _ = embedding_pca(W_E)
        n_pc = scores.shape[1]
        keep = lambda idx: mean + scores[:, idx] @ Vt[idx]          # [p, d]
        self.full_accuracy_ = accuracy(all_logits(model))
        if self.basis == "pca":
            parts = [(f"PC{2 * i + 1}-{2 * i + 2}", keep([2 * i, 2 * i + 1]),
                      scores[:, [2 * i, 2 * i + 1]]) for i in range(min(self.n_circles, n_pc // 2))]
        else:
            parts = _fourier_parts(W_E, self.n_circles)
        self.circles_ = [_circle_result(p, label, points, all_logits(model, W))
                         for label, W, points in parts]
        self.accuracy_by_pcs_ = {}
        for lo, hi in self.pc_sets:
            if lo < 1 or hi < lo:
                raise ValueError(f"PC ranges are 1-based and inclusive, got ({lo}, {hi})")
            idx = list(range(lo - 1, min(hi, n_pc)))
            if idx:
                self.accuracy_by_pcs_[f"{lo}-{hi}"] = accuracy(all_logits(model, keep(idx)))
        return self


def _fourier_parts(W_E: np.ndarray, n: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(label, mean + frequency-k component of W_E, its 2-D circle) for the n strongest k."""
    p = len(W_E)
    F, _ = fourier_basis(p)
    centred = W_E - W_E.mean(0)
    norms = frequency_norms(F, centred)[1:(p - 1) // 2 + 1]          # k = 1..(p-1)/2
    parts = []
    for k in np.argsort(-norms)[:n] + 1:
        rows = F[[2 * k - 1, 2 * k]]                                  # cos k, sin k over tokens
        part = rows.T @ (rows @ centred)                              # [p, d]
        _, pts, _, _ = embedding_pca(part)
        parts.append((f"freq {k}", W_E.mean(0) + part, pts[:, :2]))
    return parts


def _circle_result(p: int, label: str, points: np.ndarray, logits: np.ndarray) -> CircleResult:
    delta, agree = circle_step(points)
    try:
        k = mod_inverse(delta, p)
    except ValueError:
        k = 0                                                       # p not prime: no frequency
    forms = formula_logits(p, k) if k else {}
    score = lambda name: fve(logits, forms[name]) if k and logits.std() > 0 else float("nan")
    return CircleResult(label=label, delta=delta, delta_agreement=agree, k=k,
                        frequency=min(k, p - k), accuracy=accuracy(logits),
                        fve_clock=score("clock"), fve_pizza=score("pizza"),
                        fve_accompanying=score("accompanying"))


# --------------------------------------------------------------------------- verdict


def classify(s_g: float, q: float, circularity: float, q_threshold: float = Q_PIZZA,
             sg_threshold: float = SG_SYMMETRIC, circ_threshold: float = CIRCULAR) -> str:
    """The spec's rule: non-circular if c < 0.995; else Pizza if q < 0.6; Clock if s_g < 0.98
    (and q ≥ 0.6); "hybrid" when q ≥ 0.6 but s_g ≥ 0.98 (the two signals disagree)."""
    if not circularity >= circ_threshold:
        return "non-circular"
    if q < q_threshold:
        return "Pizza"
    if s_g < sg_threshold:
        return "Clock"
    return "hybrid"


class ClockPizzaClassifier:
    """Verdict in {"Pizza", "Clock", "non-circular", "hybrid"} plus every number behind it.

    Attributes: ``verdict_``, ``metrics_`` (s_g, q, q_max_incorrect, circularity, per-PC
    circularity and frequencies), ``notes_`` (signals that disagree with the verdict), and for
    plots ``per_triple_`` (gradient cosine per triple) and ``logit_table_`` (correct logit, rows
    a+b, columns a−b).
    """

    def __init__(self, n_triples: int = 100, seed: int = 42, q_threshold: float = Q_PIZZA,
                 sg_threshold: float = SG_SYMMETRIC, circ_threshold: float = CIRCULAR) -> None:
        self.n_triples = n_triples
        self.seed = seed
        self.q_threshold = q_threshold
        self.sg_threshold = sg_threshold
        self.circ_threshold = circ_threshold

    def fit(self, model: torch.nn.Module) -> ClockPizzaClassifier:
        sg = GradientSymmetricity(self.n_triples, self.seed).fit(model)
        circ = Circularity(threshold=self.circ_threshold).fit(model)
        logits = all_logits(model)
        self.per_triple_ = sg.per_triple_
        self.logit_table_ = logit_table(logits, "correct")
        self.metrics_ = {
            "s_g": sg.symmetricity_,
            "q": distance_irrelevance(self.logit_table_),
            "q_max_incorrect": distance_irrelevance(logit_table(logits, "max_incorrect")),
            "circularity": circ.circularity_,
            "circularity_per_pc": circ.per_pc_.tolist(),
            "frequencies": circ.frequencies_.tolist(),
            "accuracy": accuracy(logits),
        }
        m = self.metrics_
        self.verdict_ = classify(m["s_g"], m["q"], m["circularity"], self.q_threshold,
                                 self.sg_threshold, self.circ_threshold)
        self.notes_ = self._notes()
        return self

    def _notes(self) -> list[str]:
        m, notes = self.metrics_, []
        pizza_q, sym = m["q"] < self.q_threshold, m["s_g"] >= self.sg_threshold
        if pizza_q and not sym:
            notes.append(f"q < {self.q_threshold} (Pizza) but s_g = {m['s_g']:.3f} < "
                         f"{self.sg_threshold} (asymmetric gradients, Clock-like)")
        if not pizza_q and sym:
            notes.append(f"q ≥ {self.q_threshold} (Clock) but s_g ≥ {self.sg_threshold} (Pizza)")
        if m["accuracy"] < 1.0:
            notes.append(f"accuracy {m['accuracy']:.3f} < 1: the paper discards such runs")
        return notes

    def summary(self) -> str:
        """A table of this model's metrics beside the spec's Model A / Model B values."""
        keys = ["s_g", "q", "q_max_incorrect", "circularity"]
        names = ["this model"] + list(REFERENCE)
        rows = [f"{'metric':<16}" + "".join(f"{n:>22}" for n in names)]
        for k in keys:
            vals = [self.metrics_[k]] + [REFERENCE[n][k] for n in REFERENCE]
            rows.append(f"{k:<16}" + "".join(f"{v:>22.4f}" for v in vals))
        freqs = ", ".join(str(f) for f in self.metrics_["frequencies"])
        rows.append(f"PC frequencies: {freqs}; accuracy {self.metrics_['accuracy']:.4f}")
        rows.append(f"verdict: {self.verdict_} (Pizza if q < {self.q_threshold}; Clock if "
                    f"s_g < {self.sg_threshold} and q ≥ {self.q_threshold}; non-circular if "
                    f"c < {self.circ_threshold})")
        rows += [f"note: {n}" for n in self.notes_]
        return "\n".join(rows)

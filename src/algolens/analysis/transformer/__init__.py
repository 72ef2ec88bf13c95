"""Transformer analyses for modular addition: Fourier tools, Clock-vs-Pizza metrics, progress
measures (plots live in ``.plots`` and import matplotlib only when used)."""

from .clock_pizza import (
    REFERENCE,
    CircleIsolation,
    CircleResult,
    Circularity,
    ClockPizzaClassifier,
    DistanceIrrelevance,
    GradientSymmetricity,
    classify,
    distance_irrelevance,
    logit_table,
    symmetricity_triples,
)
from .fourier import all_logits, all_pair_tokens, fourier_basis, frequency_norms, gini
from .progress import (
    FrequencyProfile,
    Phases,
    ProgressMeasures,
    excluded_logits,
    frequency_profile,
    key_frequencies,
    locate_phases,
    restricted_logits,
)

__all__ = [
    "REFERENCE",
    "CircleIsolation",
    "CircleResult",
    "Circularity",
    "ClockPizzaClassifier",
    "DistanceIrrelevance",
    "FrequencyProfile",
    "GradientSymmetricity",
    "Phases",
    "ProgressMeasures",
    "all_logits",
    "all_pair_tokens",
    "classify",
    "distance_irrelevance",
    "excluded_logits",
    "fourier_basis",
    "frequency_norms",
    "frequency_profile",
    "gini",
    "key_frequencies",
    "locate_phases",
    "logit_table",
    "restricted_logits",
    "symmetricity_triples",
]

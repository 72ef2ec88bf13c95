"""The sequence-to-sequence task spec: outputs of another length than the input.

A ``Seq2SeqTask`` maps a list of input symbols (ints) to a list of output symbols (ints) of any
length, e.g. binary successor ``[1, 1, 0] -> [0, 0, 1]`` or a tree traversal. Inputs are drawn by
a sampler that takes a *size* (number of bits, number of tree nodes): a split is a range of sizes,
so "in distribution" and "out of distribution" (longer numbers, bigger trees) are two ranges.
``feature`` names the quantity accuracy is stratified by (trailing ones k, tree depth), and the
sampler's ``rare`` flag draws the rare cases (long carry chains, deep trees) that the oversampling
remedy adds to training.

Rows are ragged, so data are lists of lists (no fixed array layout as for sequence tasks).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .spec import TaskError, _NAME_RE, _is_int

Seq2SeqReference = Callable[[list], list]
#: sampler(rng, size, rare) -> one input row; ``rare`` asks for a rare case of that size
Seq2SeqSampler = Callable[[np.random.Generator, int, bool], list]
Feature = Callable[[list], int]
SPLITS = ("train", "test", "ood", "rare")
SHORTCUTS = ("read-table", "attention-vote")     # the read-outs ``studies.recursion`` knows


@dataclass(frozen=True)
class Split:
    """A range of sampler sizes, inclusive: ``Split(1, 12)`` = sizes 1..12, uniformly; a
    fraction ``rare`` of the rows are rare cases (``Split(1, 12, rare=1.0)``: only rare ones)."""

    lo: int
    hi: int
    rare: float = 0.0

    def __post_init__(self) -> None:
        if not (_is_int(self.lo) and _is_int(self.hi)) or not 0 <= self.lo <= self.hi:
            raise TaskError(f"a split is a size range lo <= hi (both >= 0), got "
                            f"({self.lo!r}, {self.hi!r}); e.g. Split(1, 12)")
        if not 0.0 <= self.rare <= 1.0:
            raise TaskError(f"Split.rare is a fraction in [0, 1], got {self.rare!r}")


@dataclass(frozen=True)
class Seq2SeqTask:
    """One sequence-to-sequence task.

    Example (Successor): x = [1, 1, 0, 1] (11, LSB first) -> y = [0, 0, 1, 1] (12).

    Args:
        name: unique name, letters/digits/underscores.
        input_alphabet: allowed input ints.
        output_alphabet: allowed output ints.
        reference: pure function, input list -> output list (any length).
        sampler: ``(rng, size, rare) -> input list``.
        train: the in-distribution size range; ``ood`` the out-of-distribution one.
        feature: ``input list -> int``, the quantity accuracy is stratified by.
        feature_name: its name in reports ("k", "depth").
        size_name: what a size counts ("bits", "nodes").
        max_input_len: longest input row any split produces (the model's context).
        max_output_len: longest output row any split produces.
        description: one line for ``algolens tasks``.
        shortcut: which shortcut read-out describes a model of the task: "read-table"
            (attention reads per output step + a rule table) or "attention-vote" (prefix
            trees: layer-0 attention on label slots as votes; needs NODE/LEAF tokens).
    """

    name: str
    input_alphabet: tuple[int, ...]
    output_alphabet: tuple[int, ...]
    reference: Seq2SeqReference
    sampler: Seq2SeqSampler
    train: Split
    ood: Split
    feature: Feature
    feature_name: str = "feature"
    size_name: str = "size"
    max_input_len: int = 0
    max_output_len: int = 0
    description: str = ""
    shortcut: str = "read-table"
    kind: str = field(default="seq2seq", init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME_RE.match(self.name):
            raise TaskError(f"task name {self.name!r} is not valid; use letters, digits, '_' or "
                            "'-', starting with a letter")
        for what in ("input_alphabet", "output_alphabet"):
            vals = getattr(self, what)
            if not vals or not all(_is_int(v) for v in vals) or len(set(vals)) != len(vals):
                raise TaskError(f"task {self.name!r}: {what} must be a non-empty list of distinct "
                                f"ints, got {vals!r}")
            object.__setattr__(self, what, tuple(sorted(int(v) for v in vals)))
        for what in ("reference", "sampler", "feature"):
            if not callable(getattr(self, what)):
                raise TaskError(f"task {self.name!r}: {what} must be a function")
        for what in ("train", "ood"):
            if not isinstance(getattr(self, what), Split):
                raise TaskError(f"task {self.name!r}: {what} must be a Split(lo, hi)")
        if self.shortcut not in SHORTCUTS:
            raise TaskError(f"task {self.name!r}: shortcut must be one of {list(SHORTCUTS)}, "
                            f"got {self.shortcut!r}")

    def __hash__(self) -> int:
        return hash((self.name, self.input_alphabet, self.output_alphabet))

    # --------------------------------------------------- facts the `algolens tasks` listing reads
    @property
    def channels(self) -> tuple[tuple[int, ...], ...]:
        return (self.input_alphabet,)

    n_channels = 1
    output_dim = 1

    @property
    def length(self) -> int:
        """The longest in-distribution size (for listings)."""
        return self.train.hi

    # ----------------------------------------------------------------- data
    def split(self, name: str) -> Split:
        """'train'/'test': in distribution; 'ood': out of distribution; 'rare': in-distribution
        sizes, rare cases only (long carry chains, deep trees)."""
        if name not in SPLITS:
            raise TaskError(f"unknown split {name!r}; use one of {list(SPLITS)}: 'train'/'test' "
                            "(in distribution), 'ood' (out of distribution), 'rare' (in-"
                            "distribution sizes, rare cases only)")
        if name == "rare":
            return Split(self.train.lo, self.train.hi, rare=1.0)
        return self.ood if name == "ood" else self.train

    def sample(self, n: int, rng: np.random.Generator | int | None = None,
               split: str | Split = "train", oversample: float = 0.0) -> list[list[int]]:
        """``n`` input rows with sizes uniform over the split; a fraction ``oversample`` of them
        are rare cases (long carry chains, deep trees) drawn by the sampler's ``rare`` flag."""
        if not 0.0 <= oversample <= 1.0:
            raise TaskError(f"oversample must be a fraction in [0, 1], got {oversample}")
        rng = np.random.default_rng(rng)
        sp = split if isinstance(split, Split) else self.split(split)
        sizes = rng.integers(sp.lo, sp.hi + 1, size=n)
        rare = rng.random(n) < max(oversample, sp.rare)
        return [[int(v) for v in self.sampler(rng, int(s), bool(r))] for s, r in zip(sizes, rare)]

    def targets(self, xs: list[list[int]]) -> list[list[int]]:
        return [[int(v) for v in self.reference(list(x))] for x in xs]

    def features(self, xs: list[list[int]]) -> np.ndarray:
        return np.asarray([int(self.feature(list(x))) for x in xs], dtype=np.int64)

    def example(self, seed: int = 0) -> tuple[list, list]:
        x = self.sample(1, np.random.default_rng(seed))[0]
        return x, list(self.reference(list(x)))

    def check_input(self, x: list[int]) -> None:
        """Raise TaskError if a user-given row has symbols outside the input alphabet."""
        bad = [v for v in x if v not in self.input_alphabet]
        if bad:
            raise TaskError(f"task {self.name!r}: symbol {bad[0]!r} is not in the input alphabet "
                            f"{list(self.input_alphabet)}")

    # ----------------------------------------------------------------- validation
    def validate(self, n: int = 32, seed: int = 0) -> Seq2SeqTask:
        """Sample both splits (and rare rows), run the reference, check alphabets and lengths."""
        rng = np.random.default_rng(seed)
        for split in ("train", "ood"):
            for over in (0.0, 1.0):
                try:
                    xs = self.sample(n, rng, split, over)
                except Exception as e:  # a user sampler can fail in any way
                    raise TaskError(f"task {self.name!r}: the sampler failed: {e!r}") from e
                for x in xs:
                    self.check_input(x)
                    self._check_row(x)
        return self

    def _check_row(self, x: list[int]) -> None:
        try:
            y = self.reference(list(x))
        except Exception as e:
            raise TaskError(f"task {self.name!r}: reference failed on {x}: {e!r}") from e
        if not isinstance(y, (list, tuple)) or any(v not in self.output_alphabet for v in y):
            raise TaskError(f"task {self.name!r}: reference returned {y!r} for {x}; it must "
                            f"return a list of symbols from {list(self.output_alphabet)}")
        if self.max_input_len and len(x) > self.max_input_len or \
                self.max_output_len and len(y) > self.max_output_len:
            raise TaskError(f"task {self.name!r}: row {x} -> {y} is longer than max_input_len="
                            f"{self.max_input_len} / max_output_len={self.max_output_len}")
        if list(self.reference(list(x))) != list(y):
            raise TaskError(f"task {self.name!r}: reference gave two different answers for {x}; "
                            "it must be a pure function of its input")

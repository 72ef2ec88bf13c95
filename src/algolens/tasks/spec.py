"""The sequence-task spec: a small frozen description plus a pure reference function.

A task maps an input sequence x_0..x_{L-1} to an output sequence y_0..y_{L-1} of the same length.
Inputs are ints (one channel) or tuples of ints (several channels, e.g. the (a_t, b_t) pairs of
Binary_Addition); outputs are ints, or tuples of ints when ``output_dim > 1``.

Arrays used for training and verification have a fixed layout:
  inputs  ``[n, length]`` (one channel) or ``[n, length, channels]``
  outputs ``[n, length]`` (output_dim 1) or ``[n, length, output_dim]``
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Reference = Callable[[list], list]
Sampler = Callable[[int, np.random.Generator, int], np.ndarray]

_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]*$")


class TaskError(ValueError):
    """A task definition or a task lookup is wrong; the message says what and how to fix it."""


_SEQ = (list, tuple, range, np.ndarray)


def _normalise_alphabet(name: str, alphabet: Any) -> tuple[tuple[int, ...], ...]:
    """Return one tuple of allowed ints per channel, validating as we go."""
    if isinstance(alphabet, (set, frozenset)):
        alphabet = sorted(alphabet, key=repr)
    if not isinstance(alphabet, _SEQ):
        raise TaskError(
            f"task {name!r}: alphabet must be a list of allowed ints (one channel) or a list of "
            f"such lists (one per channel), got {type(alphabet).__name__} {alphabet!r}; "
            "e.g. alphabet=[0, 1] or alphabet=[[0, 1], [0, 1]]"
        )
    if len(alphabet) == 0:
        raise TaskError(
            f"task {name!r}: alphabet is empty; give a list of allowed ints (one channel) "
            "or a list of such lists (one per channel), e.g. alphabet=[0, 1]"
        )
    multi = [isinstance(a, _SEQ) for a in alphabet]
    if any(multi) and not all(multi):
        raise TaskError(
            f"task {name!r}: alphabet {list(alphabet)!r} mixes ints and lists; give either a list "
            "of ints (one channel) or a list of lists (one per channel)"
        )
    channels = alphabet if all(multi) else [alphabet]
    return tuple(_normalise_channel(name, c, chan) for c, chan in enumerate(channels))


def _normalise_channel(name: str, c: int, chan: Any) -> tuple[int, ...]:
    vals = list(chan)
    if not vals:
        raise TaskError(f"task {name!r}: alphabet of channel {c} is empty; list its allowed ints")
    for v in vals:
        if not _is_int(v):
            raise TaskError(
                f"task {name!r}: alphabet value {v!r} in channel {c} is not an int; "
                "alphabets are lists of ints"
            )
    if len(set(vals)) != len(vals):
        raise TaskError(f"task {name!r}: alphabet of channel {c} repeats a value: {vals}")
    return tuple(sorted(int(v) for v in vals))


@dataclass(frozen=True)
class SequenceTask:
    """One sequence task.

    Example (Parity_Last2): x = [1, 0, 0, 1] -> y = [1, 1, 0, 1].

    Args:
        name: unique name, letters/digits/underscores.
        alphabet: allowed ints (one channel) or a list of such lists (one per channel).
        length: the training sequence length L.
        reference: pure function, list of inputs -> list of outputs of the same length.
        description: one line for ``algolens tasks``.
        sampler: optional ``(n, rng, length) -> array`` for non-uniform inputs; the default samples
            every position uniformly and independently from the alphabet.
        output_dim: 1 for int outputs, D for D-tuples of ints.
    """

    name: str
    alphabet: Any
    length: int
    reference: Reference
    description: str = ""
    sampler: Sampler | None = None
    output_dim: int = 1
    channels: tuple[tuple[int, ...], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME_RE.match(self.name):
            raise TaskError(
                f"task name {self.name!r} is not valid; use letters, digits, '_' or '-', "
                "starting with a letter"
            )
        object.__setattr__(self, "channels", _normalise_alphabet(self.name, self.alphabet))
        if isinstance(self.length, bool) or not isinstance(self.length, (int, np.integer)) \
                or self.length < 1:
            raise TaskError(f"task {self.name!r}: length must be a positive int, got {self.length!r}")
        if not callable(self.reference):
            raise TaskError(f"task {self.name!r}: reference must be a function list -> list")
        if not _is_int(self.output_dim) or self.output_dim < 1:
            raise TaskError(f"task {self.name!r}: output_dim must be a positive int, "
                            f"got {self.output_dim!r}")

    def __hash__(self) -> int:
        # the alphabet may be a list, so the dataclass hash would fail; tasks are keyed by name
        return hash((self.name, self.channels, self.length, self.output_dim))

    # ----------------------------------------------------------------- shape facts
    @property
    def n_channels(self) -> int:
        return len(self.channels)

    @property
    def symbols(self) -> list:
        """Every possible input symbol: ints, or tuples for multi-channel tasks."""
        if self.n_channels == 1:
            return list(self.channels[0])
        grids = np.meshgrid(*self.channels, indexing="ij")
        return [tuple(int(v) for v in row) for row in np.stack([g.ravel() for g in grids], 1)]

    # ----------------------------------------------------------------- data
    def sample(self, n: int, rng: np.random.Generator | int | None = None,
               length: int | None = None) -> np.ndarray:
        """Sample ``n`` input sequences: ``[n, L]`` or ``[n, L, channels]`` int64."""
        rng = np.random.default_rng(rng)
        length = self.length if length is None else int(length)
        if self.sampler is not None:
            xs = np.asarray(self.sampler(int(n), rng, length), dtype=np.int64)
        else:
            cols = [np.asarray(ch)[rng.integers(0, len(ch), size=(n, length))]
                    for ch in self.channels]
            xs = cols[0] if self.n_channels == 1 else np.stack(cols, axis=-1)
        return xs.astype(np.int64)

    def fingerprint(self) -> str:
        """A hash of what defines the task: name, alphabet, length and the reference's outputs
        on fixed inputs. An edited task file with the same name is a different task, so a run
        trained on the old definition is never reused for it."""
        xs = self.sample(64, rng=20_240_601)
        ys = self.targets(xs)
        h = hashlib.sha256(repr((self.name, self.channels, self.length, self.output_dim)).encode())
        h.update(np.ascontiguousarray(xs, dtype=np.int64).tobytes())
        h.update(np.ascontiguousarray(ys, dtype=np.int64).tobytes())
        return h.hexdigest()[:16]

    def targets(self, xs: np.ndarray) -> np.ndarray:
        """Apply the reference to every row of an input array (layout in the module docstring)."""
        xs = np.asarray(xs)
        if xs.ndim >= 2 and len(xs) > 2 * _n_sequences(self.channels, xs.shape[1]):
            # many repeats (short sequences of small alphabets): call the reference once per
            # distinct sequence -- it is a function of the sequence, so the outputs are the same
            flat = xs.reshape(len(xs), -1)
            uniq, inverse = np.unique(flat, axis=0, return_inverse=True)
            ys = self.targets(uniq.reshape((len(uniq),) + xs.shape[1:]))
            return ys[inverse.reshape(-1)]
        rows = [self.reference(self._row_to_list(row)) for row in xs]
        ys = np.asarray(rows, dtype=np.int64)
        want = xs.shape[:2] if self.output_dim == 1 else xs.shape[:2] + (self.output_dim,)
        if ys.shape != want:
            raise TaskError(
                f"task {self.name!r}: reference returned outputs of shape {ys.shape[1:]} for "
                f"inputs of length {xs.shape[1]}; it must return one output per input"
            )
        return ys

    def _row_to_list(self, row: np.ndarray) -> list:
        """One input row as the reference takes it: Python ints, or tuples of them per step."""
        row = np.asarray(row).tolist()                  # one C call, not one int() per element
        return row if self.n_channels == 1 else [tuple(step) for step in row]

    def example(self, seed: int = 0) -> tuple[list, list]:
        """One (inputs, outputs) row as plain lists, for display."""
        xs = self.sample(1, np.random.default_rng(seed))[0]
        inp = self._row_to_list(xs)
        return inp, list(self.reference(inp))

    # ----------------------------------------------------------------- validation
    def validate(self, n: int = 32, seed: int = 0) -> SequenceTask:
        """Run the reference on sampled rows and check lengths and types; raise TaskError if wrong."""
        rng = np.random.default_rng(seed)
        for length in (self.length, 2 * self.length):
            try:
                xs = self.sample(n, rng, length)
            except Exception as e:  # a user sampler can fail in any way
                raise TaskError(f"task {self.name!r}: the sampler failed: {e!r}") from e
            want = (n, length) if self.n_channels == 1 else (n, length, self.n_channels)
            if xs.shape != want:
                raise TaskError(f"task {self.name!r}: sampler returned shape {xs.shape}, "
                                f"expected {want}")
            self._check_in_alphabet(xs)
            for row in xs:
                self._check_row(self._row_to_list(row))
        return self

    def _check_in_alphabet(self, xs: np.ndarray) -> None:
        cols = [xs] if self.n_channels == 1 else [xs[..., c] for c in range(self.n_channels)]
        for c, (col, chan) in enumerate(zip(cols, self.channels)):
            bad = col[~np.isin(col, chan)]
            if bad.size:
                raise TaskError(f"task {self.name!r}: the sampler produced {int(bad[0])} in "
                                f"channel {c}, which is not in the alphabet {list(chan)}")

    def _check_row(self, inp: list) -> None:
        try:
            out = self.reference(list(inp))
        except Exception as e:
            raise TaskError(f"task {self.name!r}: reference failed on {inp}: {e!r}") from e
        if not isinstance(out, (list, tuple)):
            raise TaskError(
                f"task {self.name!r}: reference returned a {type(out).__name__}; it must return "
                "a list with one output per input (wrap the result in list(...))"
            )
        if len(out) != len(inp):
            got = len(out)
            raise TaskError(
                f"task {self.name!r}: reference returned {got} outputs for {len(inp)} inputs; "
                "it must return a list with one output per input"
            )
        for v in out:
            if not _is_output(v, self.output_dim):
                kind = "an int" if self.output_dim == 1 else f"a tuple of {self.output_dim} ints"
                raise TaskError(
                    f"task {self.name!r}: reference returned {v!r}, but each output must be {kind} "
                    f"(set output_dim for tuple outputs)"
                )
            if not _in_int64(v):
                raise TaskError(
                    f"task {self.name!r}: reference returned {v!r} for {inp}, beyond int64 "
                    f"({INT64[0]} .. {INT64[1]}); outputs are stored as int64: reduce them "
                    "(e.g. modulo a number) or shorten the sequences"
                )
        if list(self.reference(list(inp))) != list(out):
            raise TaskError(f"task {self.name!r}: reference gave two different answers for {inp}; "
                            "it must be a pure function of its input (no randomness or state)")


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


INT64 = (-(2 ** 63), 2 ** 63 - 1)     # outputs are stored and compared as int64 arrays


def _is_output(v: Any, dim: int) -> bool:
    if dim == 1:
        return _is_int(v)
    return isinstance(v, (tuple, list)) and len(v) == dim and all(_is_int(u) for u in v)


def _in_int64(v: Any) -> bool:
    vals = v if isinstance(v, (tuple, list)) else [v]
    return all(INT64[0] <= int(u) <= INT64[1] for u in vals)


def as_list(xs: Sequence) -> list:
    """Small helper for references: numpy rows to plain Python values."""
    return [tuple(int(u) for u in v) if isinstance(v, (tuple, list, np.ndarray)) else int(v)
            for v in xs]


def _n_sequences(channels: tuple, length: int) -> int:
    """How many distinct input sequences of ``length`` the alphabets allow."""
    return math.prod(len(ch) for ch in channels) ** length

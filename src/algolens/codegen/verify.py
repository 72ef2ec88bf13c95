"""Verify a generated program by running it: exact match against the task's reference.

The program's source is executed in a fresh namespace (no access to algolens), and ``f`` is
called on fresh sequences of the training length and of twice that length.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..tasks.spec import SequenceTask


@dataclass(frozen=True)
class Verification:
    """Fractions of sequences reproduced exactly at every position."""

    accuracy: float          # n sequences at the training length
    accuracy_2x: float       # n_2x sequences at twice the length
    n: int
    n_2x: int
    length: int
    first_mismatch: tuple | None = None     # (inputs, expected, got) of the first failure
    error: str = ""

    @property
    def passed(self) -> bool:
        return self.accuracy == 1.0 and not self.error

    def summary(self) -> str:
        if self.error:
            return f"failed to run: {self.error}"
        return (f"{self.accuracy:.2%} of {self.n} sequences of length {self.length} and "
                f"{self.accuracy_2x:.2%} of {self.n_2x} of length {2 * self.length} match the "
                "task reference exactly")


def load_program(source: str):
    """Exec ``source`` in a fresh namespace and return its ``f``."""
    ns: dict = {"__name__": "algolens_program"}
    exec(compile(source, "<program>", "exec"), ns)
    if not callable(ns.get("f")):
        raise ValueError("the program defines no function f(xs)")
    return ns["f"]


def _fraction_exact(fn, task: SequenceTask, xs: np.ndarray) -> tuple[float, tuple | None]:
    ys = task.targets(xs)
    ok, first = 0, None
    for row, want in zip(xs, ys):
        inp = task._row_to_list(row)
        exp = [tuple(int(u) for u in v) for v in want] if want.ndim == 2 else \
            [int(v) for v in want]
        got = fn(inp)
        if got == exp:
            ok += 1
        elif first is None:
            first = (inp, exp, got)
    return ok / len(xs), first


def verify_source(source: str, task: SequenceTask, n: int = 10_000, n_2x: int = 2_000,
                  seed: int = 12345) -> Verification:
    """Run the program on fresh sequences (seeded, independent of training data)."""
    rng = np.random.default_rng(seed)
    try:
        fn = load_program(source)
        acc, first = _fraction_exact(fn, task, task.sample(n, rng, task.length))
        acc2, first2 = _fraction_exact(fn, task, task.sample(n_2x, rng, 2 * task.length))
    except Exception as e:        # a broken program is a failed verification, not a crash
        return Verification(0.0, 0.0, n, n_2x, task.length, None, f"{type(e).__name__}: {e}")
    return Verification(acc, acc2, n, n_2x, task.length, first or first2)

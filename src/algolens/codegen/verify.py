"""Verify a generated program by running it: against the network, then against the task.

The program's source is executed in a fresh namespace (no access to algolens), and ``f`` is
called on fresh sequences of 1x, 2x and 10x the training length. Two separate measurements:

- fidelity: the fraction of sequences on which the program gives the *network's* outputs (the
  distiller's collected check sequences at L, 2L, 10L) -- what the network computes;
- correctness: the fraction on which it gives the *task's* outputs -- whether that is the task.

A program faithful to an imperfect network is "faithful, not correct"; ``departures`` lists
inputs where it (and so the network) departs from the task.
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
    accuracy_10x: float | None = None       # n_10x sequences at 10x the length
    n_10x: int = 0
    fidelity: tuple = ()          # ((k, fraction equal to the network's outputs at kL), ...)
    network_accuracy: tuple = ()  # ((k, the network's own accuracy on the task at kL), ...)
    departures: tuple = ()        # ((inputs, task outputs, program outputs), ...) from the
                                  # network's check sequences: where program and task differ

    @property
    def passed(self) -> bool:
        """Correct for the task at the training length (the benchmark's criterion)."""
        return self.accuracy == 1.0 and not self.error

    def fidelity_at(self, k: int) -> float | None:
        return dict(self.fidelity).get(k)

    @property
    def faithful(self) -> bool:
        """Gives the network's outputs on every check sequence of the training length."""
        return self.fidelity_at(1) == 1.0 and not self.error

    @property
    def verdict(self) -> str:
        correct = self.passed               # the benchmark's criterion; 2x/10x are reported apart
        if not self.fidelity:
            return "correct" if correct else "not correct"
        return {(True, True): "faithful and correct", (True, False): "faithful, not correct",
                (False, True): "correct, not faithful", (False, False): "neither faithful nor "
                "correct"}[(self.faithful, correct)]

    def summary(self) -> str:
        if self.error:
            return f"failed to run: {self.error}"
        s = (f"{self.accuracy:.2%} of {self.n} sequences of length {self.length} and "
             f"{self.accuracy_2x:.2%} of {self.n_2x} of length {2 * self.length}")
        if self.accuracy_10x is not None:
            s += f" and {self.accuracy_10x:.2%} of {self.n_10x} of length {10 * self.length}"
        s += " match the task reference exactly"
        if self.fidelity:
            s += ("; agrees with the network on " + ", ".join(
                f"{f:.2%} at {k}x" for k, f in self.fidelity) + f" ({self.verdict})")
        return s


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


def _rows(ys: np.ndarray) -> list:
    return [[tuple(int(u) for u in v) for v in row] if ys.ndim == 3 else [int(v) for v in row]
            for row in ys]


def _fidelity(fn, task: SequenceTask, network: tuple, n_departures: int
              ) -> tuple[tuple, tuple, tuple]:
    """Agreement with the network's outputs, the network's own accuracy, and departures of the
    program from the task, on the network's check sets ``((k, xs, ys), ...)``."""
    fid, net_acc, dep = [], [], []
    for k, xs, ys in network:
        want = _rows(task.targets(xs))
        net = _rows(np.asarray(ys))
        got = [fn(task._row_to_list(r)) for r in xs]
        fid.append((k, float(np.mean([g == y for g, y in zip(got, net)]))))
        net_acc.append((k, float(np.mean([y == w for y, w in zip(net, want)]))))
        dep += [(task._row_to_list(r), w, g) for r, w, g in zip(xs, want, got) if g != w]
    return tuple(fid), tuple(net_acc), tuple(dep[:n_departures])


def verify_source(source: str, task: SequenceTask, n: int = 10_000, n_2x: int = 2_000,
                  seed: int = 12345, n_10x: int = 0, network: tuple = (),
                  n_departures: int = 5) -> Verification:
    """Run the program on fresh sequences (seeded, independent of training data) against the
    task at L, 2L (and 10L with ``n_10x``), and against the network's outputs ``network`` =
    ``((k, inputs at kL, the network's rounded outputs), ...)`` when given."""
    rng = np.random.default_rng(seed)
    try:
        fn = load_program(source)
        acc, first = _fraction_exact(fn, task, task.sample(n, rng, task.length))
        acc2, first2 = _fraction_exact(fn, task, task.sample(n_2x, rng, 2 * task.length))
        acc10 = _fraction_exact(fn, task, task.sample(n_10x, rng, 10 * task.length))[0] \
            if n_10x else None
        fid, net_acc, dep = _fidelity(fn, task, network, n_departures)
    except Exception as e:        # a broken program is a failed verification, not a crash
        return Verification(0.0, 0.0, n, n_2x, task.length, None, f"{type(e).__name__}: {e}")
    return Verification(acc, acc2, n, n_2x, task.length, first or first2, "", acc10, n_10x,
                        fid, net_acc, dep)

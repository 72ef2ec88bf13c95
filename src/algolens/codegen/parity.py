"""Emit a sparse-parity program: a standalone, standard-library-only Python module.

The module defines ``f(bits)`` (a list or tuple of n ints 0/1 -> the parity 0/1 of the support
bits), the constants ``N`` and ``SUPPORT``, embedded ``_EXAMPLES`` and ``_self_check()``; its
docstring says n, the support and where the program came from. Importing it does nothing
else; running it as a script runs the self-check. Built from a tiny IR (``ParityProgram``) so the
text is a deterministic function of (n, support, info, examples).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..tasks.sparse_parity import SparseParityTask
from .python import docstring_block

Example = tuple[tuple[int, ...], int]        # (bits, output)


@dataclass(frozen=True)
class ParityProgram:
    """The IR: y = (Σ_{i∈support} bits[i]) mod 2 over n bits, with its provenance and examples."""

    n: int
    support: tuple[int, ...]
    info: str
    examples: tuple[Example, ...]


def parity_program(support: Sequence[int], n: int, info: str,
                   examples: Sequence[Example] | None = None) -> str:
    """Python source of the parity of ``support`` over ``n`` bits (deterministic text).

    ``info`` says where the support came from (network, verification); it goes in the docstring.
    ``examples`` (bits, output) pairs, e.g. produced by the network, are embedded for the
    self-check; by default a fixed handful computed from the rule itself.
    """
    task = SparseParityTask(n, len(support), tuple(support))     # validates n and the support
    ex = tuple(_examples(task)) if examples is None else tuple(_check_example(task, e)
                                                               for e in examples)
    return render(ParityProgram(task.n, task.support, info, ex))


def _examples(task: SparseParityTask) -> list[Example]:
    """All zeros, all ones, each support bit alone, and four fixed pseudo-random inputs."""
    x = [np.zeros(task.n, np.uint8), np.ones(task.n, np.uint8)]
    for i in task.support:
        one = np.zeros(task.n, np.uint8)
        one[i] = 1
        x.append(one)
    x += list(np.random.default_rng(0).integers(0, 2, size=(4, task.n), dtype=np.uint8))
    return [(tuple(int(b) for b in row), int(task.label(row))) for row in x]


def _check_example(task: SparseParityTask, e: Example) -> Example:
    bits, y = tuple(int(b) for b in e[0]), int(e[1])
    if len(bits) != task.n or set(bits) - {0, 1} or y not in (0, 1):
        raise ValueError(f"example {e!r} must be ({task.n} bits 0/1, output 0/1)")
    return bits, y


def render(p: ParityProgram) -> str:
    """The module source of ``p``."""
    return "\n\n\n".join([_docstring(p) + "\n\nN = " + str(p.n) + f"\nSUPPORT = {p.support!r}",
                          _body(p), _self_check(p)]) + "\n"


def _docstring(p: ParityProgram) -> str:
    bits = ", ".join(str(i) for i in p.support)
    lines = [f"Parity of {len(p.support)} of {p.n} bits: a program read from a network by algolens "
             "(sparse parity).", "",
             f"n: {p.n} input bits, indexed 0..{p.n - 1}", f"Support: bits {bits}",
             f"Source: {p.info}", "",
             f"Entry point: f(bits) maps a list or tuple of {p.n} ints 0/1 to the parity (0 or "
             f"1) of bits {bits}: 1 when an odd number of them are 1.",
             "Standard library only; importing this module has no side effects."]
    return docstring_block(lines)


def _body(p: ParityProgram) -> str:
    expr = " + ".join(f"bits[{i}]" for i in p.support)
    return "\n".join([
        "def f(bits):",
        '    """The parity (0 or 1) of the support bits of ``bits`` (N ints 0/1)."""',
        "    if len(bits) != N:",
        '        raise ValueError(f"f takes {N} bits, got {len(bits)}")',
        f"    return ({expr}) % 2"])


def _self_check(p: ParityProgram) -> str:
    rows = "".join(f"    ({list(bits)!r}, {y}),\n" for bits, y in p.examples)
    return "\n".join([
        "# (bits, output) pairs the program must reproduce",
        f"_EXAMPLES = [\n{rows}]", "", "",
        "def _self_check() -> bool:",
        '    """Check f against the embedded examples; raise AssertionError on a mismatch."""',
        "    for bits, y in _EXAMPLES:",
        "        got = f(bits)",
        '        assert got == y, f"f({bits}) = {got}, expected {y}"',
        "    return True", "", "",
        'if __name__ == "__main__":',
        "    _self_check()",
        '    print("self-check passed")'])

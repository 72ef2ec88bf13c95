"""Table tasks: a dataset with named inputs and targets and seeded splits.

The third kind of task beside sequence tasks (MIPS) and sequence-to-sequence tasks (recursion):
modular addition as the p x p table of (a, b) -> (a + b) mod p, the nuclear mass table as
(Z, N) -> binding energy and the quantities derived from it. A study trains on a table task's
rows; what a row means is written here once, not in each study::

    >>> task = modular_addition(5)
    >>> task.columns()["c"][:6].tolist()          # (a, b) = (0,0) (0,1) ... (1,0)
    [0, 1, 2, 3, 4, 1]
    >>> train, test = task.split(0.8, seed=0)      # disjoint row indices, fixed by the seed

``properties`` declares what analyses may rely on (``{"modular": True, "p": 59}``), so an
analysis is chosen by a declared property, never by a task's name. This module imports no torch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from .spec import TaskError


@dataclass(frozen=True, eq=False)
class TableTask:
    """A named table: ``build() -> {column: 1-D array}`` (pure, called once and cached)."""

    name: str
    inputs: tuple[str, ...]
    targets: tuple[str, ...]
    build: Callable[[], Mapping[str, np.ndarray]]
    description: str = ""
    properties: Mapping[str, Any] = field(default_factory=dict)

    @cached_property
    def _columns(self) -> dict[str, np.ndarray]:
        cols = {k: np.asarray(v) for k, v in self.build().items()}
        missing = [c for c in (*self.inputs, *self.targets) if c not in cols]
        if missing:
            raise TaskError(f"table task {self.name!r}: build() gave no column(s) {missing}; "
                            f"it gave {sorted(cols)}")
        lengths = {len(v) for v in cols.values()}
        if len(lengths) != 1:
            raise TaskError(f"table task {self.name!r}: columns of different lengths {lengths}")
        return cols

    def columns(self) -> dict[str, np.ndarray]:
        """Every column (inputs, targets and any extra ones the builder adds)."""
        return dict(self._columns)

    def __len__(self) -> int:
        return len(next(iter(self._columns.values())))

    def split(self, train_frac: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """(train rows, test rows): a seeded permutation cut at ``train_frac``."""
        if not 0.0 < train_frac < 1.0:
            raise TaskError(f"train fraction must be in (0, 1), got {train_frac}")
        perm = np.random.default_rng(seed).permutation(len(self))
        cut = int(round(train_frac * len(self)))
        return np.sort(perm[:cut]), np.sort(perm[cut:])

    def validate(self) -> None:
        """Build the table once (so a broken builder fails at registration)."""
        if not self.inputs or not self.targets:
            raise TaskError(f"table task {self.name!r} needs at least one input and one target")
        _ = self._columns


def modular_addition_target(a, b, p: int):
    """(a + b) mod p: the one place the modular-addition label is written (arrays or tensors)."""
    return (a + b) % p


def modular_addition(p: int) -> TableTask:
    """The p x p table of (a, b) -> c = (a + b) mod p, row ``a * p + b``."""
    if not isinstance(p, int) or p < 2:
        raise TaskError(f"modular addition needs an integer p >= 2, got {p!r}")

    def build() -> dict[str, np.ndarray]:
        a, b = np.divmod(np.arange(p * p), p)
        return {"a": a, "b": b, "c": modular_addition_target(a, b, p)}

    return TableTask(f"ModAdd_p{p}", ("a", "b"), ("c",), build,
                     f"(a + b) mod {p} over all {p * p} pairs", {"modular": True, "p": p})


TABLE_TASKS = tuple(modular_addition(p) for p in (31, 59, 113))

"""Nuclear masses as a table task: rows (Z, N, task) -> target, splits, and physics features.

A row is one measured quantity of one nuclide, e.g. ``(26, 30, "Sn") -> 11197.06 keV``. Every
quantity except the binding energy is a *difference* of binding energies of neighbouring nuclides
(Sn(Z, N) = B(Z, N) − B(Z, N−1)), so holding out a nuclide means holding out every row that
involves it; ``involved(task, Z, N)`` lists those nuclides and ``split`` uses it.

    >>> ds = dataset(load(2020))
    >>> ds.tasks[:3]
    ('binding', 'Sn', 'Sp')
    >>> sp = split(ds, seed=0)                  # 10% of measured nuclides with A >= 8 held out
    >>> bool(sp.heldout_nuclides.size > 200)
    True

The mass tables are table tasks of the task registry (``AME2020``, ``AME2016``): named inputs Z
and N, one target column per quantity (NaN where AME has no measured value), and seeded splits
that hold out whole nuclides; a study reads its data through them::

    >>> from algolens import tasks
    >>> ame = tasks.get("AME2020", kind="table")
    >>> ame.dataset(("binding",)).tasks, ame.holdout(ame.dataset(("binding",)), 0).seed
    (('binding',), 0)

Pure numpy, no torch (tasks layer).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .nuclear_data import MAGIC, Column, NuclideTable, load  # noqa: F401  (load: doctest)
from .table import TableTask

# task -> nuclides (dZ, dN) whose masses enter it, relative to the row's nuclide
TASK_INVOLVES: dict[str, tuple[tuple[int, int], ...]] = {
    "binding": ((0, 0),),
    "Sn": ((0, 0), (0, -1)),
    "Sp": ((0, 0), (-1, 0)),
    "S2n": ((0, 0), (0, -2)),
    "S2p": ((0, 0), (-2, 0)),
    "Qa": ((0, 0), (-2, -2)),        # alpha decay (Z, N) -> (Z-2, N-2) + 4He
    "Qbm": ((0, 0), (1, -1)),        # beta-minus (Z, N) -> (Z+1, N-1)
    "D2n": ((0, 0), (0, -1), (0, -2)),   # Sn(Z, N) − Sn(Z, N−1): odd-even staggering in N
    "D2p": ((0, 0), (-1, 0), (-2, 0)),   # Sp(Z, N) − Sp(Z−1, N): odd-even staggering in Z
}
# each task as a linear combination of binding energies: task = sum_k c_k * B(Z+dZ_k, N+dN_k) + const
TASK_COMBINATION: dict[str, tuple[tuple[int, int, float], ...]] = {
    "binding": ((0, 0, 1.0),),
    "Sn": ((0, 0, 1.0), (0, -1, -1.0)),
    "Sp": ((0, 0, 1.0), (-1, 0, -1.0)),
    "S2n": ((0, 0, 1.0), (0, -2, -1.0)),
    "S2p": ((0, 0, 1.0), (-2, 0, -1.0)),
    "Qa": ((-2, -2, 1.0), (0, 0, -1.0)),          # + B(4He), added as a constant
    "Qbm": ((1, -1, 1.0), (0, 0, -1.0)),          # + Δ(n) − Δ(1H)
    "D2n": ((0, 0, 1.0), (0, -1, -2.0), (0, -2, 1.0)),
    "D2p": ((0, 0, 1.0), (-1, 0, -2.0), (-2, 0, 1.0)),
}
# tasks not in the AME files, derived here from the binding energies (``task_column``): the second
# differences of B along N and along Z, ≈ ±2Δ (the pairing gap, 1–3 MeV) with the sign of the
# parity of N (Z) — the three-point odd-even mass difference up to a factor (−1)^N / 2
DERIVED_TASKS = ("D2n", "D2p")
DEFAULT_TASKS = ("binding", "Sn", "Sp", "S2n", "S2p", "Qa", "Qbm")
B_HE4 = 28295.662378          # keV, AME2020
DELTA_N_MINUS_H = 8071.31806 - 7288.971064


def task_constant(task: str) -> float:
    """Constant term of ``TASK_COMBINATION``: Qα adds B(⁴He), Qβ− adds Δ(n) − Δ(¹H)."""
    return {"Qa": B_HE4, "Qbm": DELTA_N_MINUS_H}.get(task, 0.0)


@dataclass(frozen=True)
class NuclearDataset:
    """Measured rows of one AME table: ``target[i]`` is ``tasks[task[i]]`` of nuclide (Z[i], N[i])."""

    year: int
    tasks: tuple[str, ...]
    Z: np.ndarray            # [rows] int
    N: np.ndarray            # [rows] int
    task: np.ndarray         # [rows] int index into tasks
    target: np.ndarray       # [rows] float64, keV
    unc: np.ndarray          # [rows] float64, keV
    table: NuclideTable

    def __len__(self) -> int:
        return len(self.Z)

    def rows_of(self, task: str) -> np.ndarray:
        return np.flatnonzero(self.task == self.tasks.index(task))


def task_column(table: NuclideTable, task: str) -> Column:
    """The ``task`` column of ``table``: read from the AME files, or for ``DERIVED_TASKS`` the
    combination ``TASK_COMBINATION`` of binding energies (measured only where every binding energy
    in it is; uncertainties added in quadrature, correlations ignored)."""
    if task not in DERIVED_TASKS:
        return table[task]
    b = table["binding"]
    n = len(table)
    value = np.full(n, task_constant(task))
    var = np.zeros(n)
    calc = np.ones(n, bool)
    est = np.zeros(n, bool)
    for dz, dn, c in TASK_COMBINATION[task]:
        j = np.array([table._index.get((int(z) + dz, int(nn) + dn), -1) for z, nn in zip(table.Z, table.N)])
        ok = j >= 0
        jj = np.where(ok, j, 0)
        calc &= ok & b.calculable[jj]
        est |= ok & b.estimated[jj]
        value += c * np.where(ok, b.value[jj], np.nan)
        var += c**2 * np.where(ok, b.unc[jj], np.nan) ** 2
    return Column(value=np.where(calc, value, np.nan), unc=np.where(calc, np.sqrt(var), np.nan),
                  estimated=est & calc, calculable=calc)


def dataset(table: NuclideTable, tasks: tuple[str, ...] = DEFAULT_TASKS, min_A: int = 1) -> NuclearDataset:
    """Rows of every *measured* value (not '#', not '*') of the given tasks, nuclides with A >= min_A."""
    unknown = [t for t in tasks if t not in TASK_INVOLVES]
    if unknown:
        raise ValueError(f"unknown nuclear task(s) {unknown}; choose from {list(TASK_INVOLVES)}")
    parts = []
    for k, t in enumerate(tasks):
        col = task_column(table, t)
        ok = col.calculable & ~col.estimated & (table.A >= min_A) & np.isfinite(col.value)
        i = np.flatnonzero(ok)
        parts.append((table.Z[i], table.N[i], np.full(len(i), k), col.value[i], col.unc[i]))
    Z, N, task, target, unc = (np.concatenate(x) for x in zip(*parts))
    return NuclearDataset(year=table.year, tasks=tuple(tasks), Z=Z, N=N, task=task, target=target,
                          unc=unc, table=table)


def involved(task: str, Z: int, N: int) -> list[tuple[int, int]]:
    """Nuclides whose masses a ``task`` row of (Z, N) depends on."""
    return [(Z + dz, N + dn) for dz, dn in TASK_INVOLVES[task]]


@dataclass(frozen=True)
class NuclearSplit:
    """Row masks of a split where held-out nuclides have *none* of their rows in training."""

    seed: int
    heldout_nuclides: np.ndarray    # [k, 2] (Z, N)
    train: np.ndarray               # [rows] bool
    test: np.ndarray                # [rows] bool: binding rows of held-out nuclides


def rows_touching(ds: NuclearDataset, nuclides: set[tuple[int, int]]) -> np.ndarray:
    """Mask of rows that involve any of ``nuclides``."""
    out = np.zeros(len(ds), bool)
    for i, (z, n, t) in enumerate(zip(ds.Z, ds.N, ds.task)):
        out[i] = any(nu in nuclides for nu in involved(ds.tasks[t], int(z), int(n)))
    return out


def split(ds: NuclearDataset, seed: int, frac: float = 0.1, min_A: int = 8) -> NuclearSplit:
    """Hold out a random ``frac`` of measured nuclides with A >= ``min_A`` (whole nuclides)."""
    if not 0.0 < frac < 1.0:
        raise ValueError(f"frac must be in (0, 1), got {frac}")
    b = ds.rows_of("binding") if "binding" in ds.tasks else None
    if b is None:
        raise ValueError("the dataset needs the 'binding' task to hold out nuclides")
    cand = b[(ds.Z[b] + ds.N[b]) >= min_A]
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(cand, size=int(round(frac * len(cand))), replace=False))
    held = {(int(ds.Z[i]), int(ds.N[i])) for i in pick}
    touch = rows_touching(ds, held)
    test = np.zeros(len(ds), bool)
    test[pick] = True
    return NuclearSplit(seed=seed, heldout_nuclides=np.array(sorted(held), int).reshape(-1, 2),
                        train=~touch, test=test)


def split_by_nuclides(ds: NuclearDataset, train_nuclides: set[tuple[int, int]],
                      test_nuclides: set[tuple[int, int]], seed: int = 0) -> NuclearSplit:
    """A split from explicit nuclide sets: train rows involve only ``train_nuclides``."""
    allowed = train_nuclides - test_nuclides
    train = np.array([all(nu in allowed for nu in involved(ds.tasks[t], int(z), int(n)))
                      for z, n, t in zip(ds.Z, ds.N, ds.task)], bool)
    b = ds.rows_of("binding")
    test = np.zeros(len(ds), bool)
    test[b[[(int(z), int(n)) in test_nuclides for z, n in zip(ds.Z[b], ds.N[b])]]] = True
    return NuclearSplit(seed=seed, heldout_nuclides=np.array(sorted(test_nuclides), int).reshape(-1, 2),
                        train=train, test=test)


def discovery_split(tasks: tuple[str, ...] = DEFAULT_TASKS,
                    min_A: int = 8) -> tuple[NuclearDataset, NuclearSplit]:
    """Train on nuclides measured in AME2016 (AME2020 values), test on those first measured in 2020."""
    return _discovery(load(2020), load(2016), tasks, min_A)


def _discovery(new_table: NuclideTable, old_table: NuclideTable, tasks: tuple[str, ...],
               min_A: int) -> tuple[NuclearDataset, NuclearSplit]:
    ds = dataset(new_table, tasks)
    m_old = {(int(z), int(n)) for z, n, m in zip(old_table.Z, old_table.N, old_table.measured) if m}
    m_new = {(int(z), int(n)) for z, n, m in zip(new_table.Z, new_table.N, new_table.measured) if m}
    new = {(z, n) for z, n in m_new - m_old if z + n >= min_A}
    return ds, split_by_nuclides(ds, m_old & m_new, new)


# ---- the mass tables as table tasks of the registry -----------------------------------------

TARGETS = tuple(TASK_INVOLVES)      # binding energy and the quantities derived from it


@dataclass(frozen=True, eq=False)
class AMETableTask(TableTask):
    """One AME evaluation as a table task: a row per nuclide, inputs Z and N, a column per
    quantity of ``TARGETS`` (keV; NaN where the value is estimated or absent). ``dataset`` and
    ``holdout`` give the rows (Z, N, quantity) -> value a model trains on and the seeded split
    that holds out whole nuclides; ``split`` is that split on the table's own rows."""

    year: int = 2020

    def table(self) -> NuclideTable:
        """The parsed evaluation (parsed once per process)."""
        return load(self.year)

    def dataset(self, tasks: tuple[str, ...] = DEFAULT_TASKS, min_A: int = 1) -> NuclearDataset:
        """The measured rows of ``tasks`` (see ``dataset``)."""
        return dataset(self.table(), tasks, min_A)

    def holdout(self, ds: NuclearDataset, seed: int, frac: float = 0.1) -> NuclearSplit:
        """10% (``frac``) of the measured nuclides with A >= 8 held out, fixed by ``seed``."""
        return split(ds, seed, frac)

    def discovery(self, tasks: tuple[str, ...], older: AMETableTask,
                  min_A: int = 8) -> tuple[NuclearDataset, NuclearSplit]:
        """Rows of ``tasks``: train on the nuclides ``older`` measured already, test on those
        measured first in this evaluation (A >= ``min_A``)."""
        return _discovery(self.table(), older.table(), tasks, min_A)

    def split(self, train_frac: float = 0.9, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """(train rows, test rows) of the table: nuclides with a measured binding energy, the
        test rows being the nuclides ``holdout`` holds out with ``frac = 1 - train_frac``."""
        ds = self.dataset(("binding",))
        held = {tuple(x) for x in self.holdout(ds, seed, 1.0 - train_frac).heldout_nuclides}
        t = self.table()
        keys = [(int(z), int(n)) for z, n in zip(t.Z, t.N)]
        rows = np.array([t.index(z, n) for z, n in zip(ds.Z, ds.N)])
        test = np.array(sorted(i for i in rows if keys[i] in held), int)
        return np.setdiff1d(rows, test), test


def ame_task(year: int) -> AMETableTask:
    """The registry's ``AME<year>`` table task."""

    def build() -> dict[str, np.ndarray]:
        t = load(year)
        cols: dict[str, np.ndarray] = {"Z": t.Z, "N": t.N, "A": t.A, "measured": t.measured}
        for q in TARGETS:
            c = task_column(t, q)
            ok = c.calculable & ~c.estimated
            cols[q], cols[f"{q}_unc"] = np.where(ok, c.value, np.nan), np.where(ok, c.unc, np.nan)
        return cols

    return AMETableTask(f"AME{year}", ("Z", "N"), TARGETS, build,
                        f"AME{year} atomic masses: (Z, N) -> binding energy and the separation "
                        "energies, Q values and odd-even staggering derived from it (keV)",
                        {"nuclear": True, "year": year, "units": "keV"}, year=year)


NUCLEAR_TABLE_TASKS = (ame_task(2020), ame_task(2016))

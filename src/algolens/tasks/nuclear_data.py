"""The AME atomic mass evaluation (2020 and 2016), parsed by our own fixed-width reader.

The three files of an evaluation are Fortran records whose column layout is stated in each
file's header (``format : a1,i3,i5,...``). We turn that format string into column slices and
read every data line with it, so a shifted or truncated line is an error, not a silent misread.
``#`` in place of the decimal point marks an *estimated* (non-experimental) value; ``*`` marks a
quantity that is *not calculable*. The result is one row per nuclide:

    >>> t = load(2020)
    >>> r = t.row(26, 30)                   # 56Fe
    >>> round(r["binding_per_A"], 1), r["element"]
    (8790.4, 'Fe')

Energies are in keV. Total binding is derived from the mass excess,
B = Z·Δ(¹H) + N·Δ(n) − Δ, which is exact to the file's precision (A·(B/A) loses digits).
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

DELTA_H = 7288.971064    # keV, mass excess of 1H (AME2020)
DELTA_N = 8071.31806     # keV, mass excess of the neutron (AME2020)
MAGIC = (2, 8, 20, 28, 50, 82, 126)

_FILES = {
    2020: ("mass.mas20.gz", "rct1.mas20.gz", "rct2.mas20.gz"),
    2016: ("mass16.txt.gz", "rct1-16.txt.gz", "rct2-16.txt.gz"),
}
_MASS_FORMAT = {
    # The mass.mas20 header says "f15.5,f11.5" for B/A and its uncertainty, but the data lines
    # are laid out as "f13.5,1x,f10.5,1x" (the B- label starts in column 80); we follow the data.
    2020: "a1,i3,i5,i5,i5,1x,a3,a4,1x,f14.6,f12.6,f13.5,1x,f10.5,1x,a2,f13.5,f11.5,1x,i3,1x,f13.6,f12.6",
    2016: "a1,i3,i5,i5,i5,1x,a3,a4,1x,f13.5,f11.5,f11.3,f9.3,1x,a2,f11.3,f9.3,1x,i3,1x,f12.5,f11.5",
}
_RCT_FORMAT = {2020: "a1,i3,1x,a3,i3,1x,6(f12.4,f10.4)", 2016: "a1,i3,1x,a3,i3,1x,6(f10.2,f8.2)"}
_MASS_FIELDS = ("cc", "N-Z", "N", "Z", "A", "element", "origin", "mass_excess", "mass_excess_unc",
                "binding_per_A", "binding_per_A_unc", "beta_label", "Qbm", "Qbm_unc", "mass_int",
                "atomic_mass", "atomic_mass_unc")
RCT1_QUANTITIES = ("S2n", "S2p", "Qa", "Q2bm", "Qep", "Qbmn")
RCT2_QUANTITIES = ("Sn", "Sp", "Q4bm", "Qda", "Qpa", "Qna")
QUANTITIES = ("binding", "binding_per_A", "mass_excess", "Qbm") + RCT1_QUANTITIES + RCT2_QUANTITIES


class AMEFormatError(ValueError):
    """A line of an AME file does not match the file's fixed-width format."""


@dataclass(frozen=True)
class Column:
    """One quantity for every nuclide: value and uncertainty (keV; NaN where absent)."""

    value: np.ndarray           # [n_nuclides] float64
    unc: np.ndarray             # [n_nuclides] float64
    estimated: np.ndarray       # [n_nuclides] bool: '#' in the file (systematics, not measured)
    calculable: np.ndarray      # [n_nuclides] bool: False where the file has '*' or nothing


@dataclass(frozen=True)
class NuclideTable:
    """One row per nuclide of one evaluation; quantities in ``columns`` (see ``QUANTITIES``)."""

    year: int
    Z: np.ndarray               # [n] int
    N: np.ndarray               # [n] int
    element: tuple[str, ...]
    origin: tuple[str, ...]
    columns: dict[str, Column]
    _index: dict[tuple[int, int], int] = field(repr=False, compare=False)

    @property
    def A(self) -> np.ndarray:
        return self.Z + self.N

    @property
    def measured(self) -> np.ndarray:
        """Nuclides whose mass is experimental (not '#')."""
        return self.columns["mass_excess"].calculable & ~self.columns["mass_excess"].estimated

    def __len__(self) -> int:
        return len(self.Z)

    def __getitem__(self, quantity: str) -> Column:
        if quantity not in self.columns:
            raise KeyError(f"unknown quantity {quantity!r}; choose from {list(self.columns)}")
        return self.columns[quantity]

    def index(self, Z: int, N: int) -> int:
        """Row of nuclide (Z, N); KeyError naming it when the table lacks it."""
        try:
            return self._index[(int(Z), int(N))]
        except KeyError:
            raise KeyError(f"no nuclide Z={Z}, N={N} in AME{self.year}") from None

    def row(self, Z: int, N: int) -> dict:
        """All values of one nuclide as a plain record (for printing and quick checks)."""
        i = self.index(Z, N)
        rec = {"Z": int(self.Z[i]), "N": int(self.N[i]), "A": int(self.A[i]),
               "element": self.element[i], "origin": self.origin[i]}
        for q, col in self.columns.items():
            rec[q] = float(col.value[i])
            rec[q + "_unc"] = float(col.unc[i])
            rec[q + "_estimated"] = bool(col.estimated[i])
        return rec


# ---- fixed-width reading -------------------------------------------------------------------

def fortran_slices(fmt: str) -> list[tuple[int, int, str]]:
    """Column slices ``(start, stop, kind)`` of a Fortran format (a, i, f, x, n(...) groups)."""
    out: list[tuple[int, int, str]] = []
    pos = 0
    for rep, group, item in re.findall(r"(\d*)\(([^)]*)\)|([^,()]+)", fmt.replace(" ", "")):
        items = group.split(",") * int(rep) if group else [item]
        for it in items:
            m = re.fullmatch(r"(\d*)([aifx])(\d*)(?:\.\d+)?", it)
            if not m:
                raise ValueError(f"cannot read Fortran format item {it!r} in {fmt!r}")
            count, kind, width = m.groups()
            if kind == "x":
                pos += int(count or 1)
                continue
            out.append((pos, pos + int(width), kind))
            pos += int(width)
    return out


def _number(text: str) -> tuple[float, bool, bool]:
    """(value, estimated, calculable) of one numeric field."""
    s = text.strip()
    if s in ("", "*"):
        return np.nan, False, False
    est = "#" in s
    return float(s.replace("#", ".")), est, True


def _parse_line(line: str, slices, names, where: str) -> dict:
    width = slices[-1][1]
    if len(line) > width + 1:
        raise AMEFormatError(f"{where}: line is {len(line)} characters, longer than the "
                             f"format's {width}; the file is not in the expected AME layout")
    line = line.ljust(width)
    rec: dict = {}
    for (a, b, kind), name in zip(slices, names):
        text = line[a:b]
        try:
            if kind == "a":
                rec[name] = text.strip()
            elif kind == "i":
                rec[name] = int(text) if text.strip() else None
            else:
                rec[name] = _number(text)
        except ValueError:
            raise AMEFormatError(f"{where}: field {name!r} in columns {a + 1}-{b} is {text!r}, "
                                 "not a number ('#' marks estimates, '*' not calculable); "
                                 "the line is shifted or corrupt") from None
    return rec


def _data_lines(lines: list[str], header_prefix: str, source: str):
    """Yield ``(line_no, line)`` for data lines: after each header line, skipping blank/units.

    A page feed ('1' in column 1) that is not a table header ends the tables (rct2.mas20 has a
    program log after them).
    """
    started = False
    for k, line in enumerate(lines, 1):
        line = line.rstrip("\r\n")
        if line.startswith(header_prefix):
            started = True
            continue
        if started and line.startswith("1"):
            break
        if not started or not line.strip() or "(keV)" in line:
            continue
        yield k, line
    if not started:
        raise AMEFormatError(f"{source}: no table header starting {header_prefix!r}; "
                             "is this an AME mass.mas / rct file?")


def parse_mass(lines: list[str], year: int, source: str = "mass file") -> list[dict]:
    """Records of a ``mass.mas`` file (one per nuclide)."""
    slices = fortran_slices(_MASS_FORMAT[year])
    recs = []
    for k, line in _data_lines(lines, "1N-Z", source):
        rec = _parse_line(line, slices, _MASS_FIELDS, f"{source} line {k}")
        if rec["Z"] is None or rec["N"] is None or rec["A"] != rec["Z"] + rec["N"]:
            raise AMEFormatError(f"{source} line {k}: Z={rec['Z']}, N={rec['N']}, A={rec['A']} "
                                 "do not satisfy A = Z + N; the line is shifted or corrupt")
        recs.append(rec)
    return recs


def parse_rct(lines: list[str], year: int, names: tuple[str, ...], source: str = "rct file"):
    """Records of a ``rct1``/``rct2`` file: {(Z, N): {quantity: (value, est, calculable)}}."""
    slices = fortran_slices(_RCT_FORMAT[year])
    fields = ["cc", "A", "element", "Z"] + [f"{q}{s}" for q in names for s in ("", "_unc")]
    out = {}
    for k, line in _data_lines(lines, "1 A  elt", source):
        rec = _parse_line(line, slices, fields, f"{source} line {k}")
        if rec["A"] is None or rec["Z"] is None:
            raise AMEFormatError(f"{source} line {k}: A or Z missing; the line is shifted or corrupt")
        out[(rec["Z"], rec["A"] - rec["Z"])] = rec
    return out


# ---- assembling the table -------------------------------------------------------------------

def _read_packaged(name: str) -> list[str]:
    ref = resources.files("algolens.tasks") / "data" / "ame" / name
    with ref.open("rb") as f:
        return gzip.decompress(f.read()).decode("ascii").splitlines()


def _column(vals: list[tuple[float, bool, bool]], uncs: list[tuple[float, bool, bool]]) -> Column:
    v = np.array([x[0] for x in vals], float)
    return Column(value=v, unc=np.array([u[0] for u in uncs], float),
                  estimated=np.array([x[1] for x in vals], bool),
                  calculable=np.array([x[2] for x in vals], bool))


def build_table(year: int, mass_lines, rct1_lines, rct2_lines) -> NuclideTable:
    """Join the three files of one evaluation into a ``NuclideTable``."""
    mass = parse_mass(mass_lines, year, f"AME{year} mass file")
    rcts = [parse_rct(rct1_lines, year, RCT1_QUANTITIES, f"AME{year} rct1 file"),
            parse_rct(rct2_lines, year, RCT2_QUANTITIES, f"AME{year} rct2 file")]
    Z = np.array([r["Z"] for r in mass], int)
    N = np.array([r["N"] for r in mass], int)
    cols = {"mass_excess": _column([r["mass_excess"] for r in mass], [r["mass_excess_unc"] for r in mass]),
            "binding_per_A": _column([r["binding_per_A"] for r in mass],
                                     [r["binding_per_A_unc"] for r in mass]),
            "Qbm": _column([r["Qbm"] for r in mass], [r["Qbm_unc"] for r in mass])}
    me = cols["mass_excess"]
    cols["binding"] = Column(value=Z * DELTA_H + N * DELTA_N - me.value, unc=me.unc.copy(),
                             estimated=me.estimated.copy(), calculable=me.calculable.copy())
    missing = (np.nan, False, False)
    for rct, names in zip(rcts, (RCT1_QUANTITIES, RCT2_QUANTITIES)):
        for q in names:
            got = [rct.get((z, n), {}) for z, n in zip(Z, N)]
            cols[q] = _column([g.get(q, missing) for g in got], [g.get(q + "_unc", missing) for g in got])
    cols = {q: cols[q] for q in QUANTITIES}
    index = {(int(z), int(n)): i for i, (z, n) in enumerate(zip(Z, N))}
    return NuclideTable(year=year, Z=Z, N=N, element=tuple(r["element"] for r in mass),
                        origin=tuple(r["origin"] for r in mass), columns=cols, _index=index)


_CACHE: dict[int, NuclideTable] = {}


def load(year: int = 2020) -> NuclideTable:
    """The AME table of ``year`` (2020 or 2016) shipped with algolens; parsed once per process."""
    if year not in _FILES:
        raise ValueError(f"no AME{year} shipped; choose year=2020 or year=2016")
    if year not in _CACHE:
        _CACHE[year] = build_table(year, *(_read_packaged(f) for f in _FILES[year]))
    return _CACHE[year]


def load_files(year: int, mass: str | Path, rct1: str | Path, rct2: str | Path) -> NuclideTable:
    """Parse AME files from disk (plain text or .gz), e.g. to check a newer copy."""
    def read(p: str | Path) -> list[str]:
        p = Path(p)
        if not p.is_file():
            raise FileNotFoundError(f"{p} does not exist; pass the path of an AME {year} file")
        data = p.read_bytes()
        return (gzip.decompress(data) if p.suffix == ".gz" else data).decode("ascii").splitlines()
    if year not in _MASS_FORMAT:
        raise ValueError(f"unknown AME layout {year}; choose 2020 or 2016")
    return build_table(year, read(mass), read(rct1), read(rct2))

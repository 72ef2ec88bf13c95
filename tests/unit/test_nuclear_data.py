"""The AME parser against values read off the files by hand, counts, flags, and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from algolens.nuclear import data
from algolens.tasks import nuclear_data as nd


@pytest.fixture(scope="module")
def t20():
    return data.load(2020)


# (Z, N, quantity, value as printed in the file, tolerance)
HAND_CHECKED = [
    (26, 30, "mass_excess", -60607.163, 1e-6),        # 56Fe, mass.mas20
    (26, 30, "binding_per_A", 8790.3563, 1e-6),
    (26, 30, "Qbm", -4566.6455, 1e-6),
    (26, 30, "Sn", 11197.0596, 1e-6),                 # rct2.mas20
    (28, 34, "binding_per_A", 8794.5555, 1e-6),       # 62Ni
    (2, 2, "binding_per_A", 7073.9156, 1e-6),         # 4He
    (2, 2, "Qa", 0.0, 1e-9),                          # rct1.mas20
    (82, 126, "binding_per_A", 7867.4530, 1e-6),      # 208Pb
    (82, 126, "Qa", 516.7129, 1e-6),
    (6, 7, "Sp", 17533.3596, 1e-6),                   # 13C, rct2.mas20
]


@pytest.mark.parametrize("Z,N,q,value,tol", HAND_CHECKED, ids=lambda v: str(v))
def test_hand_checked_values(t20, Z, N, q, value, tol):
    assert abs(t20.row(Z, N)[q] - value) <= tol


def test_counts_and_ranges(t20):
    assert len(t20) == 3558
    assert int(t20.measured.sum()) == 2550
    assert int(t20["mass_excess"].estimated.sum()) == 1008
    assert t20.Z.max() == 118 and t20.N.max() == 177
    assert len(data.load(2016)) == 3436


def test_total_binding_matches_per_nucleon(t20):
    b = t20["binding"].value
    per = t20["binding_per_A"].value * t20.A
    ok = t20.A > 1
    # B/A is printed with 4 decimals (estimated ones as integers), so A*(B/A) is good to ~A*1 keV
    assert np.all(np.abs(b[ok] - per[ok]) <= 0.6 * t20.A[ok] + 1e-6)
    assert abs(t20.row(2, 2)["binding"] - 28295.662) < 0.01


def test_62ni_has_the_largest_binding_per_nucleon(t20):
    i = int(np.nanargmax(t20["binding_per_A"].value))
    assert (t20.Z[i], t20.N[i]) == (28, 34)


def test_flags(t20):
    li3 = t20.row(3, 0)                     # 3Li: "28667#  2000#"
    assert li3["mass_excess_estimated"] and li3["mass_excess"] == pytest.approx(28667.0)
    assert li3["mass_excess_unc"] == pytest.approx(2000.0)
    h1 = t20.index(1, 0)                    # 1H: B- energy is '*'
    assert not t20["Qbm"].calculable[h1] and np.isnan(t20["Qbm"].value[h1])
    assert not t20.row(26, 30)["binding_estimated"]


def test_separation_energies_agree_with_mass_differences(t20):
    """Sn(Z,N) = B(Z,N) - B(Z,N-1): checks that the rct files are joined to the right rows."""
    b = {(z, n): v for z, n, v in zip(t20.Z, t20.N, t20["binding"].value)}
    sn = t20["Sn"]
    checked = 0
    for i, (z, n) in enumerate(zip(t20.Z, t20.N)):
        if sn.calculable[i] and not sn.estimated[i] and (z, n - 1) in b and n > 1:
            assert abs(sn.value[i] - (b[(z, n)] - b[(z, n - 1)])) < 0.02
            checked += 1
    assert checked > 2000


def test_malformed_line_is_a_clear_error():
    lines = nd._read_packaged("mass.mas20.gz")
    k = next(i for i, l in enumerate(lines) if " 56 Fe" in l)
    bad = list(lines)
    bad[k] = bad[k][:40] + "x" + bad[k][41:]          # corrupt the mass excess
    with pytest.raises(nd.AMEFormatError, match=rf"line {k + 1}.*mass_excess"):
        nd.parse_mass(bad, 2020)
    with pytest.raises(nd.AMEFormatError, match="no table header"):
        nd.parse_mass(["just some text"], 2020)


def test_unknown_year_and_quantity(t20):
    with pytest.raises(ValueError, match="year=2020"):
        data.load(1999)
    with pytest.raises(KeyError, match="unknown quantity"):
        t20["radius"]
    with pytest.raises(KeyError, match="Z=200"):
        t20.index(200, 1)

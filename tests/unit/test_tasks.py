"""The 62 MIPS benchmark tasks against hand-computed rows from ../shared/specs/mips.md.

Every expected output below was worked out by hand from the spec table (never by running the
code under test); the comment next to a row shows the working where it is not obvious.
"""

from __future__ import annotations

import numpy as np
import pytest

from algolens import tasks

SPEC_NAMES = [
    "Binary_Addition", "Base_3_Addition", "Base_4_Addition", "Base_5_Addition",
    "Base_6_Addition", "Base_7_Addition", "Bitwise_Xor", "Bitwise_Or", "Bitwise_And",
    "Bitwise_Not", "Parity_Last2", "Parity_Last3", "Parity_Last4", "Parity_All", "Parity_Zeros",
    "Evens_Counter", "Sum_All", "Sum_Last2", "Sum_Last3", "Sum_Last4", "Sum_Last5", "Sum_Last6",
    "Sum_Last7", "Current_Number", "Prev1", "Prev2", "Prev3", "Prev4", "Prev5",
    "Previous_Equals_Current", "Diff_Last2", "Abs_Diff", "Abs_Current", "Diff_Abs_Values",
    "Min_Seen", "Max_Seen", "Majority_0_1", "Majority_0_2", "Majority_0_3", "Evens_Detector",
    "Perfect_Square_Detector", "Bit_Palindrome", "Balanced_Parenthesis", "Parity_Bits_Mod2",
    "Alternating_Last3", "Alternating_Last4", "Bit_Shift_Right", "Bit_Dot_Prod_Mod2", "Div_3",
    "Div_5", "Div_7", "Add_Mod_3", "Add_Mod_4", "Add_Mod_5", "Add_Mod_6", "Add_Mod_7",
    "Add_Mod_8", "Dithering", "Newton_Freebody", "Newton_Gravity", "Newton_Spring",
    "Newton_Magnetic",
]


def pairs(a: list[int], b: list[int]) -> list[tuple[int, int]]:
    """Two channels (a_t, b_t) as the list of per-step tuples that references take."""
    return list(zip(a, b))


# (task, id, inputs, expected outputs); at least one row per task, two for most.
CASES = [
    # base-k addition, LSB first, final carry dropped
    ("Binary_Addition", "11+13", pairs([1, 1, 0, 1], [1, 0, 1, 1]), [0, 0, 0, 1]),  # 24=00011
    ("Binary_Addition", "no-carry", pairs([0, 1, 0], [0, 0, 1]), [0, 1, 1]),
    ("Base_3_Addition", "17+19", pairs([2, 2, 1], [1, 0, 2]), [0, 0, 1]),  # 36 = 1100_3
    ("Base_3_Addition", "zeros", pairs([0, 0], [0, 0]), [0, 0]),
    ("Base_4_Addition", "carry-chain", pairs([3, 3, 0], [1, 2, 0]), [0, 2, 1]),
    ("Base_4_Addition", "no-carry", pairs([1, 2], [2, 1]), [3, 3]),
    ("Base_5_Addition", "carry-chain", pairs([4, 4, 2], [4, 0, 2]), [3, 0, 0]),
    ("Base_6_Addition", "carry", pairs([5, 1, 0], [5, 4, 0]), [4, 0, 1]),
    ("Base_6_Addition", "max-digits", pairs([5, 5], [5, 5]), [4, 5]),  # 10->4 c1; 11->5 c1
    ("Base_7_Addition", "final-carry-dropped", pairs([6, 6, 3], [1, 0, 3]), [0, 0, 0]),
    ("Base_7_Addition", "no-carry", pairs([3, 2], [2, 2]), [5, 4]),
    # bitwise maps on (a_t, b_t)
    ("Bitwise_Xor", "truth-table", pairs([0, 0, 1, 1], [0, 1, 0, 1]), [0, 1, 1, 0]),
    ("Bitwise_Or", "truth-table", pairs([0, 0, 1, 1], [0, 1, 0, 1]), [0, 1, 1, 1]),
    ("Bitwise_And", "truth-table", pairs([0, 0, 1, 1], [0, 1, 0, 1]), [0, 0, 0, 1]),
    ("Bitwise_Not", "mixed", [0, 1, 1, 0], [1, 0, 0, 1]),
    ("Bitwise_Not", "ones", [1, 1], [0, 0]),
    # parities
    ("Parity_Last2", "mixed", [1, 0, 0, 1, 1], [1, 1, 0, 1, 0]),
    ("Parity_Last2", "t0-uses-zero", [1], [1]),
    ("Parity_Last3", "mixed", [1, 1, 0, 1, 0, 0], [1, 0, 0, 0, 1, 1]),
    ("Parity_Last3", "ones", [1, 1, 1, 1], [1, 0, 1, 1]),
    ("Parity_Last4", "mixed", [1, 0, 1, 1, 1, 0], [1, 1, 0, 1, 1, 1]),
    ("Parity_Last4", "ones", [1, 1, 1, 1, 1], [1, 0, 1, 0, 0]),
    ("Parity_All", "mixed", [1, 0, 1, 1, 0], [1, 1, 0, 1, 1]),
    ("Parity_All", "zeros", [0, 0, 0], [0, 0, 0]),
    ("Parity_Zeros", "mixed", [1, 0, 0, 1, 0], [0, 1, 0, 0, 1]),
    ("Parity_Zeros", "zeros", [0, 0, 0], [1, 0, 1]),
    # counting and sums
    ("Evens_Counter", "mixed", [2, 3, 4, 0, 7, 8], [1, 1, 2, 3, 3, 4]),
    ("Evens_Counter", "odds", [1, 9, 5], [0, 0, 0]),
    ("Sum_All", "mixed", [5, 10, 99, 0], [5, 15, 114, 114]),
    ("Sum_All", "max", [99, 99, 99], [99, 198, 297]),
    ("Sum_Last2", "mixed", [5, 10, 99, 0], [5, 15, 109, 99]),
    ("Sum_Last3", "mixed", [5, 10, 99, 0, 1], [5, 15, 114, 109, 100]),
    ("Sum_Last4", "ramp", [1, 2, 3, 4, 5, 6], [1, 3, 6, 10, 14, 18]),
    ("Sum_Last5", "ramp", [1, 2, 3, 4, 5, 6, 7], [1, 3, 6, 10, 15, 20, 25]),
    ("Sum_Last6", "ramp", [1, 2, 3, 4, 5, 6, 7, 8], [1, 3, 6, 10, 15, 21, 27, 33]),
    ("Sum_Last7", "ramp", list(range(1, 10)), [1, 3, 6, 10, 15, 21, 28, 35, 42]),
    ("Sum_Last7", "single", [50], [50]),
    ("Current_Number", "mixed", [7, 0, 99], [7, 0, 99]),
    # delays, zero before the start
    ("Prev1", "mixed", [7, 8, 9], [0, 7, 8]),
    ("Prev2", "mixed", [7, 8, 9, 10], [0, 0, 7, 8]),
    ("Prev3", "ramp", [1, 2, 3, 4, 5], [0, 0, 0, 1, 2]),
    ("Prev4", "ramp", [1, 2, 3, 4, 5, 6], [0, 0, 0, 0, 1, 2]),
    ("Prev5", "ramp", [1, 2, 3, 4, 5, 6, 7], [0, 0, 0, 0, 0, 1, 2]),
    ("Prev5", "short", [9, 9], [0, 0]),
    # comparisons and differences; t = 0 compares against x_{-1} = 0
    ("Previous_Equals_Current", "x0-is-zero", [0, 0, 3, 3, 5], [1, 1, 0, 1, 0]),
    ("Previous_Equals_Current", "x0-nonzero", [7, 7], [0, 1]),
    ("Diff_Last2", "mixed", [5, -3, 10, 10], [5, -8, 13, 0]),
    ("Diff_Last2", "extremes", [-100, 99], [-100, 199]),
    ("Abs_Diff", "mixed", [-5, 3, 3, -100], [5, 8, 0, 103]),
    ("Abs_Diff", "t0-abs", [-7], [7]),
    ("Abs_Current", "mixed", [-100, 0, 99, -1], [100, 0, 99, 1]),
    ("Diff_Abs_Values", "mixed", [-5, 3, -7, 7], [5, -2, 4, 0]),
    ("Diff_Abs_Values", "t0-abs", [0, -1], [0, 1]),
    ("Min_Seen", "mixed", [5, 7, 3, 9, 0], [5, 5, 3, 3, 0]),
    ("Min_Seen", "rising", [1, 2, 9], [1, 1, 1]),
    ("Max_Seen", "mixed", [5, 2, 7, 9, 1], [5, 5, 7, 9, 9]),
    ("Max_Seen", "zeros", [0, 0], [0, 0]),
    # majority: ties to the smaller value, only seen values count
    ("Majority_0_1", "ties", [1, 0, 0, 1, 1], [1, 0, 0, 0, 1]),
    ("Majority_0_1", "ones", [1, 1], [1, 1]),
    ("Majority_0_2", "ties", [2, 1, 1, 2, 0, 2], [2, 1, 1, 1, 1, 2]),
    ("Majority_0_2", "unseen-zero-ignored", [2], [2]),
    ("Majority_0_3", "ties", [3, 2, 3, 2, 1, 1, 1], [3, 2, 3, 2, 2, 1, 1]),
    ("Majority_0_3", "unseen-ignored", [3, 3, 1], [3, 3, 3]),
    # detectors
    ("Evens_Detector", "mixed", [0, 1, 2, 9, 8], [1, 0, 1, 0, 1]),
    ("Perfect_Square_Detector", "all-squares-and-some",
     [0, 1, 2, 4, 9, 16, 15, 19, 3], [1, 1, 0, 1, 1, 1, 0, 0, 0]),
    ("Bit_Palindrome", "mixed", [1, 0, 1, 1, 0, 1], [1, 0, 1, 0, 0, 1]),
    ("Bit_Palindrome", "zeros", [0, 0, 0], [1, 1, 1]),
    # 0 = "(", 1 = ")"
    ("Balanced_Parenthesis", "balanced", [0, 1, 0, 0, 1, 1], [0, 1, 0, 0, 0, 1]),
    ("Balanced_Parenthesis", "negative-at-start", [1, 0, 0, 1], [0, 0, 0, 0]),
    ("Balanced_Parenthesis", "negative-then-zero", [0, 1, 1, 0, 0, 1], [0, 1, 0, 0, 0, 0]),
    ("Parity_Bits_Mod2", "inputs-ignored", [1, 1, 1, 1, 0], [0, 1, 0, 1, 0]),
    ("Parity_Bits_Mod2", "zeros", [0, 0, 0], [0, 1, 0]),
    # alternating windows, zero-padded before t = 0
    ("Alternating_Last3", "mixed", [1, 0, 1, 1, 0, 1, 0], [0, 1, 1, 0, 0, 1, 1]),
    ("Alternating_Last3", "padding-makes-010", [1, 0], [0, 1]),
    ("Alternating_Last4", "mixed", [1, 0, 1, 0, 0, 1, 0, 1], [0, 0, 1, 1, 0, 0, 0, 1]),
    ("Alternating_Last4", "padding-makes-0101", [1, 0, 1], [0, 0, 1]),
    ("Bit_Shift_Right", "mixed", [1, 1, 0, 1], [0, 1, 1, 0]),
    ("Bit_Dot_Prod_Mod2", "mixed", pairs([1, 1, 1, 0, 1], [1, 0, 1, 1, 1]), [1, 1, 0, 0, 1]),
    # long division MSB first, quotient bit emitted one step late (y_0 = 0, y_t = q_{t-1})
    ("Div_3", "25", [1, 1, 0, 0, 1], [0, 0, 1, 0, 0]),  # q = 01000 (8)
    ("Div_3", "15", [1, 1, 1, 1], [0, 0, 1, 0]),  # q = 0101 (5)
    ("Div_3", "first-bit-delayed", [1, 1], [0, 0]),  # q = 01: the 1 only appears at t = 2
    ("Div_5", "23", [1, 0, 1, 1, 1], [0, 0, 0, 1, 0]),  # q = 00100 (4)
    ("Div_5", "63", [1, 1, 1, 1, 1, 1], [0, 0, 0, 1, 1, 0]),  # q = 001100 (12)
    ("Div_7", "119", [1, 1, 1, 0, 1, 1, 1], [0, 0, 0, 1, 0, 0, 0]),  # q = 0010001 (17)
    ("Div_7", "14", [1, 1, 1, 0], [0, 0, 0, 1]),  # q = 0010 (2)
    # running sums mod k
    ("Add_Mod_3", "mixed", [2, 2, 1, 0, 2], [2, 1, 2, 2, 1]),
    ("Add_Mod_4", "mixed", [3, 3, 2, 1], [3, 2, 0, 1]),
    ("Add_Mod_5", "mixed", [4, 4, 4, 3], [4, 3, 2, 0]),
    ("Add_Mod_6", "mixed", [5, 5, 2, 0, 1], [5, 4, 0, 0, 1]),
    ("Add_Mod_7", "mixed", [6, 6, 3, 0], [6, 5, 1, 1]),
    ("Add_Mod_8", "mixed", [7, 7, 2, 5], [7, 6, 0, 5]),
    # dithering: floor(S_t/15) - floor(S_{t-1}/15)
    ("Dithering", "mixed", [10, 10, 10, 0, 15, 1, 4], [0, 1, 1, 0, 1, 0, 0]),
    ("Dithering", "full-brightness", [15, 15], [1, 1]),
    ("Dithering", "threshold", [14, 1], [0, 1]),
    # Newton: v += a; p += v; y = p
    ("Newton_Freebody", "mixed", [1, 0, 0, 2], [1, 2, 3, 6]),
    ("Newton_Freebody", "extremes", [-10, 10], [-10, -10]),
    ("Newton_Gravity", "mixed", [1, 1, 0, 3], [0, 0, -1, 0]),
    ("Newton_Gravity", "free-fall", [0, 0, 0], [-1, -3, -6]),
    ("Newton_Spring", "kick", [1, 0, 0, 0], [1, 1, 0, -1]),
    ("Newton_Magnetic", "kick-x", pairs([1, 0, 0], [0, 0, 0]), [(1, 0), (2, 1), (2, 3)]),
    ("Newton_Magnetic", "kick-y", pairs([0, 0], [2, 0]), [(0, 2), (-2, 4)]),
]


def _norm(ys: list) -> list:
    """Outputs as ints or tuples of ints, so tuple and list outputs compare equal."""
    return [tuple(int(u) for u in y) if isinstance(y, (tuple, list)) else int(y) for y in ys]


@pytest.mark.parametrize(("name", "xs", "ys"), [pytest.param(n, x, y, id=f"{n}-{i}")
                                                for n, i, x, y in CASES])
def test_reference_matches_hand_computed_row(name: str, xs: list, ys: list) -> None:
    assert _norm(tasks.get(name).reference(list(xs))) == _norm(ys)


@pytest.mark.parametrize(("name", "xs", "ys"), [pytest.param(n, x, y, id=f"{n}-{i}")
                                                for n, i, x, y in CASES])
def test_targets_of_hand_row(name: str, xs: list, ys: list) -> None:
    """The array path (targets) agrees with the hand rows, in the documented layout."""
    task = tasks.get(name)
    out = task.targets(np.asarray([xs], dtype=np.int64))
    assert out.dtype == np.int64
    assert out.tolist() == [[list(y) if isinstance(y, tuple) else y for y in ys]]


def test_every_benchmark_task_has_a_hand_row() -> None:
    assert {c[0] for c in CASES} == set(SPEC_NAMES)


def test_names_are_the_spec_table_in_order() -> None:
    assert len(SPEC_NAMES) == 62
    assert tasks.benchmark_names() == SPEC_NAMES
    assert tasks.names()[:62] == SPEC_NAMES


# ------------------------------------------------------------------ alphabets and lengths
def _alphabet(name: str) -> tuple:
    bits, ints, pm, forces = (0, 1), tuple(range(100)), tuple(range(-100, 100)), tuple(range(-10, 11))
    two = {"Binary_Addition": 2, "Bitwise_Xor": 2, "Bitwise_Or": 2, "Bitwise_And": 2,
           "Bit_Dot_Prod_Mod2": 2}
    if name in two:
        return (bits, bits)
    if name.startswith("Base_"):
        k = int(name.split("_")[1])
        return (tuple(range(k)), tuple(range(k)))
    if name == "Newton_Magnetic":
        return (forces, forces)
    if name.startswith("Newton_"):
        return (forces,)
    if name.startswith("Add_Mod_"):
        return (tuple(range(int(name[-1]))),)
    if name.startswith("Majority_0_"):
        return (tuple(range(int(name[-1]) + 1)),)
    if name.startswith(("Sum_", "Prev")) and name != "Previous_Equals_Current" \
            or name == "Current_Number":
        return (ints,)
    if name in ("Diff_Last2", "Abs_Diff", "Abs_Current", "Diff_Abs_Values"):
        return (pm,)
    digits = {"Evens_Counter": 10, "Min_Seen": 10, "Max_Seen": 10, "Evens_Detector": 10,
              "Previous_Equals_Current": 8, "Perfect_Square_Detector": 20, "Dithering": 16}
    if name in digits:
        return (tuple(range(digits[name])),)
    return (bits,)


@pytest.mark.parametrize("name", SPEC_NAMES)
def test_alphabet_length_and_output_dim(name: str) -> None:
    task = tasks.get(name)
    assert task.channels == _alphabet(name)
    assert task.n_channels == len(_alphabet(name))
    long = {"Prev5", "Sum_Last5", "Sum_Last6", "Sum_Last7"}
    assert task.length == (20 if name in long else 10)
    assert task.output_dim == (2 if name == "Newton_Magnetic" else 1)
    assert task.description


def test_max_seen_uses_digits_not_0_99() -> None:
    assert tasks.get("Max_Seen").channels == (tuple(range(10)),)


# ------------------------------------------------------------------ sampling
@pytest.mark.parametrize("name", SPEC_NAMES)
def test_sample_shape_dtype_alphabet_and_reproducibility(name: str) -> None:
    task = tasks.get(name)
    xs = task.sample(16, np.random.default_rng(123))
    want = (16, task.length) if task.n_channels == 1 else (16, task.length, task.n_channels)
    assert xs.shape == want and xs.dtype == np.int64
    cols = [xs] if task.n_channels == 1 else [xs[..., c] for c in range(task.n_channels)]
    for col, chan in zip(cols, task.channels):
        assert np.isin(col, chan).all()
    again = task.sample(16, np.random.default_rng(123))
    np.testing.assert_array_equal(xs, again)
    other = task.sample(16, np.random.default_rng(124))
    assert not np.array_equal(xs, other)
    assert task.sample(3, 0, length=7).shape[:2] == (3, 7)


@pytest.mark.parametrize("name", SPEC_NAMES)
def test_targets_equal_reference_row_by_row(name: str) -> None:
    task = tasks.get(name)
    xs = task.sample(8, np.random.default_rng(7))
    ys = task.targets(xs)
    want = (8, task.length) if task.output_dim == 1 else (8, task.length, task.output_dim)
    assert ys.shape == want and ys.dtype == np.int64
    for row_x, row_y in zip(xs, ys):
        inp = row_x.tolist() if task.n_channels == 1 else [tuple(v) for v in row_x.tolist()]
        assert _norm(task.reference(inp)) == _norm(row_y.tolist())


def test_uniform_sampler_covers_the_alphabet() -> None:
    xs = tasks.get("Perfect_Square_Detector").sample(200, np.random.default_rng(0))
    counts = np.bincount(xs.ravel(), minlength=20)
    assert counts.min() > 0.5 * counts.mean()  # 2000 draws, 100 expected per value


def test_example_is_a_consistent_row() -> None:
    task = tasks.get("Newton_Magnetic")
    inp, out = task.example(seed=3)
    assert len(inp) == len(out) == 10
    assert all(isinstance(v, tuple) and len(v) == 2 for v in inp)
    assert _norm(out) == _norm(task.reference(inp))


# ------------------------------------------------------------------ Bit_Palindrome's sampler
def _longest_palindromic_prefix(row: list[int]) -> int:
    return max(m for m in range(1, len(row) + 1) if row[:m] == row[:m][::-1])


def test_bit_palindrome_rows_start_with_a_palindrome() -> None:
    task = tasks.get("Bit_Palindrome")
    xs = task.sample(3000, np.random.default_rng(0))
    assert set(np.unique(xs)) <= {0, 1}
    ys = task.targets(xs)
    assert (ys[:, 0] == 1).all()
    # every row starts with a palindrome of length >= 2: some y_t with t >= 1 is 1
    assert ys[:, 1:].max(axis=1).min() == 1
    longest = np.array([_longest_palindromic_prefix(r) for r in xs.tolist()])
    assert set(longest) <= set(range(2, 11))
    # for uniform bits about half the rows would have no palindromic prefix beyond x_0
    # a whole-row palindrome: m = 10 (1/9) plus chance otherwise (~1/9 * 8/9 * small), vs 1/32
    # for uniform bits
    full = (longest == 10).mean()
    assert 0.09 < full < 0.2, full
    # every palindrome length 2..10 occurs
    assert set(longest) == set(range(2, 11))
    # bits are still balanced overall
    assert abs(xs.mean() - 0.5) < 0.03


def test_bit_palindrome_sampler_handles_short_lengths() -> None:
    task = tasks.get("Bit_Palindrome")
    assert task.sample(5, 0, length=1).shape == (5, 1)
    two = task.sample(50, 0, length=2)
    assert (two[:, 0] == two[:, 1]).all()

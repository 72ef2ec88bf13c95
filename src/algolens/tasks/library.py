"""The 62 sequence tasks of the MIPS benchmark (Michaud et al. 2024), as pure references.

Definitions follow ../shared/specs/mips.md exactly. Values before t = 0 count as 0 unless stated.
Each reference takes the list of inputs and returns the list of outputs.
"""

from __future__ import annotations

import numpy as np

from .spec import SequenceTask

BITS = [0, 1]
INTS_0_99 = list(range(100))
INTS_PM100 = list(range(-100, 100))
FORCES = list(range(-10, 11))


def _lag(xs: list, t: int, k: int) -> int:
    """x_{t-k}, zero before the start."""
    return xs[t - k] if t - k >= 0 else 0


# ---------------------------------------------------------------- per-step maps and windows
def _base_addition(k: int):
    def ref(xs):
        carry, ys = 0, []
        for a, b in xs:
            s = a + b + carry
            ys.append(s % k)
            carry = s // k
        return ys
    ref.__doc__ = f"Base-{k} addition of two LSB-first numbers, final carry dropped."
    return ref


def _sum_last(k: int):
    def ref(xs):       # x_t + ... + x_{t-k+1}, zeros before the start
        return [sum(xs[max(0, t - k + 1) : t + 1]) for t in range(len(xs))]
    return ref


def _prev(k: int):
    def ref(xs):
        return [_lag(xs, t, k) for t in range(len(xs))]
    return ref


def _parity_last(k: int):
    def ref(xs):
        return [sum(xs[max(0, t - k + 1) : t + 1]) % 2 for t in range(len(xs))]
    return ref


def _alternating(k: int):
    pats = {tuple((i + s) % 2 for i in range(k)) for s in (0, 1)}

    def ref(xs):
        return [int(tuple(_lag(xs, t, j) for j in range(k - 1, -1, -1)) in pats)
                for t in range(len(xs))]
    return ref


# ---------------------------------------------------------------- running aggregates
def _cumulative(step, init=0):
    """A running state s_t = step(s_{t-1}, x_t) whose output is the state."""
    def ref(xs):
        s, ys = init, []
        for x in xs:
            s = step(s, x)
            ys.append(s)
        return ys
    return ref


def _add_mod(k: int):
    return _cumulative(lambda s, x: (s + x) % k)


def _majority(k: int):
    def ref(xs):
        counts, ys = [0] * k, []
        for x in xs:
            counts[x] += 1
            ys.append(max(range(k), key=lambda v: (counts[v], -v)))
        return ys
    return ref


def _div(k: int):
    def ref(xs):
        r, ys, q_prev = 0, [], 0
        for x in xs:
            ys.append(q_prev)          # the benchmark emits the quotient bit one step late
            v = 2 * r + x
            q_prev, r = v // k, v % k
        return ys
    return ref


def _min_seen(xs):
    return [min(xs[: t + 1]) for t in range(len(xs))]


def _max_seen(xs):
    return [max(xs[: t + 1]) for t in range(len(xs))]


def _balanced_parenthesis(xs):
    bal, broken, ys = 0, False, []
    for x in xs:
        bal += 1 if x == 0 else -1
        broken = broken or bal < 0
        ys.append(int(bal == 0 and not broken))
    return ys


def _bit_palindrome(xs):
    return [int(xs[: t + 1] == xs[: t + 1][::-1]) for t in range(len(xs))]


def _palindrome_sampler(n: int, rng: np.random.Generator, length: int) -> np.ndarray:
    """A random palindrome of uniform length 2..L, followed by random bits."""
    out = rng.integers(0, 2, size=(n, length))
    if length < 2:                     # no room for a palindrome of length >= 2
        return out
    for i, m in enumerate(rng.integers(2, length + 1, size=n)):
        half = out[i, : (m + 1) // 2]
        out[i, :m] = np.concatenate([half, half[: m // 2][::-1]])
    return out


def _dithering(xs):
    s, ys = 0, []
    for x in xs:
        ys.append((s + x) // 15 - s // 15)
        s += x
    return ys


def _newton(accel):
    """Position of a body: v += a(x, p, v); p += v. Used by the 1-D Newton tasks."""
    def ref(xs):
        p = v = 0
        ys = []
        for x in xs:
            v += accel(x, p)
            p += v
            ys.append(p)
        return ys
    return ref


def _newton_magnetic(xs):
    px = py = vx = vy = 0
    ys = []
    for fx, fy in xs:
        ax, ay = fx - vy, fy + vx      # a = F + (-v_y, v_x), previous velocity
        vx, vy = vx + ax, vy + ay
        px, py = px + vx, py + vy
        ys.append((px, py))
    return ys


# ---------------------------------------------------------------- the table
def _t(name, alphabet, reference, description, length=10, **kw) -> SequenceTask:
    return SequenceTask(name=name, alphabet=alphabet, length=length, reference=reference,
                        description=description, **kw)


def _build() -> list[SequenceTask]:
    two_bits = [BITS, BITS]
    tasks = [_t("Binary_Addition", two_bits, _base_addition(2),
                "sum bits of two LSB-first binary numbers with carry")]
    for k in range(3, 8):
        digits = list(range(k))
        tasks.append(_t(f"Base_{k}_Addition", [digits, digits], _base_addition(k),
                        f"digits of the sum of two LSB-first base-{k} numbers"))
    tasks += [
        _t("Bitwise_Xor", two_bits, lambda xs: [a ^ b for a, b in xs], "a_t XOR b_t"),
        _t("Bitwise_Or", two_bits, lambda xs: [a | b for a, b in xs], "a_t OR b_t"),
        _t("Bitwise_And", two_bits, lambda xs: [a & b for a, b in xs], "a_t AND b_t"),
        _t("Bitwise_Not", BITS, lambda xs: [1 - x for x in xs], "1 - x_t"),
    ]
    for k in (2, 3, 4):
        tasks.append(_t(f"Parity_Last{k}", BITS, _parity_last(k),
                        f"parity of the last {k} bits"))
    tasks += [
        _t("Parity_All", BITS, _cumulative(lambda s, x: s ^ x), "parity of all bits so far"),
        _t("Parity_Zeros", BITS, _cumulative(lambda s, x: s ^ (1 - x)),
           "parity of the number of zeros so far"),
        _t("Evens_Counter", list(range(10)), _cumulative(lambda s, x: s + (x % 2 == 0)),
           "number of even digits so far"),
        _t("Sum_All", INTS_0_99, _cumulative(lambda s, x: s + x), "sum of all inputs so far"),
    ]
    for k in range(2, 8):
        tasks.append(_t(f"Sum_Last{k}", INTS_0_99, _sum_last(k), f"sum of the last {k} inputs",
                        length=20 if k >= 5 else 10))
    tasks.append(_t("Current_Number", INTS_0_99, lambda xs: list(xs), "x_t"))
    for k in range(1, 6):
        tasks.append(_t(f"Prev{k}", INTS_0_99, _prev(k), f"x_(t-{k}), 0 before the start",
                        length=20 if k == 5 else 10))
    tasks += [
        _t("Previous_Equals_Current", list(range(8)),
           lambda xs: [int(x == _lag(xs, t, 1)) for t, x in enumerate(xs)],
           "[x_t == x_(t-1)], with x_(-1) = 0"),
        _t("Diff_Last2", INTS_PM100, lambda xs: [x - _lag(xs, t, 1) for t, x in enumerate(xs)],
           "x_t - x_(t-1)"),
        _t("Abs_Diff", INTS_PM100,
           lambda xs: [abs(x - _lag(xs, t, 1)) for t, x in enumerate(xs)], "|x_t - x_(t-1)|"),
        _t("Abs_Current", INTS_PM100, lambda xs: [abs(x) for x in xs], "|x_t|"),
        _t("Diff_Abs_Values", INTS_PM100,
           lambda xs: [abs(x) - abs(_lag(xs, t, 1)) for t, x in enumerate(xs)],
           "|x_t| - |x_(t-1)|"),
        _t("Min_Seen", list(range(10)), _min_seen, "minimum digit seen so far"),
        _t("Max_Seen", list(range(10)), _max_seen, "maximum digit seen so far"),
    ]
    for k in (1, 2, 3):
        tasks.append(_t(f"Majority_0_{k}", list(range(k + 1)), _majority(k + 1),
                        f"most frequent value in 0..{k} so far, ties to the smaller"))
    tasks += [
        _t("Evens_Detector", list(range(10)), lambda xs: [int(x % 2 == 0) for x in xs],
           "[x_t is even]"),
        _t("Perfect_Square_Detector", list(range(20)),
           lambda xs: [int(x in (0, 1, 4, 9, 16)) for x in xs], "[x_t is a perfect square]"),
        _t("Bit_Palindrome", BITS, _bit_palindrome, "[x_0..x_t is a palindrome]",
           sampler=_palindrome_sampler),
        _t("Balanced_Parenthesis", BITS, _balanced_parenthesis,
           "[brackets so far balanced, never negative] with 0='(' and 1=')'"),
        _t("Parity_Bits_Mod2", BITS, lambda xs: [t % 2 for t in range(len(xs))],
           "t mod 2 (inputs ignored)"),
        _t("Alternating_Last3", BITS, _alternating(3), "[last 3 bits are 010 or 101]"),
        _t("Alternating_Last4", BITS, _alternating(4), "[last 4 bits are 0101 or 1010]"),
        _t("Bit_Shift_Right", BITS, _prev(1), "x_(t-1), 0 at the start"),
        _t("Bit_Dot_Prod_Mod2", two_bits, _cumulative(lambda s, x: s ^ (x[0] & x[1])),
           "running dot product of a and b, mod 2"),
    ]
    for k in (3, 5, 7):
        tasks.append(_t(f"Div_{k}", BITS, _div(k),
                        f"quotient bits of an MSB-first number divided by {k}, one step late"))
    for k in range(3, 9):
        tasks.append(_t(f"Add_Mod_{k}", list(range(k)), _add_mod(k), f"running sum mod {k}"))
    tasks += [
        _t("Dithering", list(range(16)), _dithering,
           "floor(S_t/15) - floor(S_(t-1)/15) for the running sum S"),
        _t("Newton_Freebody", FORCES, _newton(lambda x, p: x),
           "position under force x_t (cumsum of cumsum)"),
        _t("Newton_Gravity", FORCES, _newton(lambda x, p: x - 1),
           "position under force x_t and gravity -1"),
        _t("Newton_Spring", FORCES, _newton(lambda x, p: x - p),
           "position under force x_t and spring -p"),
        _t("Newton_Magnetic", [FORCES, FORCES], _newton_magnetic,
           "2-D position under force F_t and a magnetic field", output_dim=2),
    ]
    return tasks


BENCHMARK_TASKS: tuple[SequenceTask, ...] = tuple(_build())

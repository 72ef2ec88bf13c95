"""Sparse parity (Barak et al. 2022): the parity of k secret bits out of n uniform bits.

    x ∈ {0,1}^n uniform,  S ⊂ {0..n-1} with |S| = k fixed by a seed,  y = Σ_{i∈S} x_i mod 2.

Statistically easy (about n·log n samples pin S down) but hard for gradient methods: every
correlation of order < k between the inputs and the label is zero, so the only signal is the
k-th order Fourier coefficient χ_S(x) = Π_{i∈S} (1 - 2 x_i) = 1 - 2y. Pure numpy, no torch;
randomness comes from a passed-in ``numpy.random.Generator`` or seed, never global state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_N = 64            # the study is sized for n <= 64 (the paper's runs use n = 50)
MAX_EXHAUSTIVE = 24   # all_inputs: 2^24 rows x n bytes is already ~0.4 GB at n = 24


@dataclass(frozen=True)
class SparseParityTask:
    """The (n, k)-sparse parity with a fixed support (sorted, distinct indices in [0, n)).

    Example (n = 6, support (1, 3, 4)): x = [0, 1, 0, 1, 1, 0] -> y = (1 + 1 + 1) mod 2 = 1;
    x = [1, 1, 1, 1, 0, 0] -> y = (1 + 1 + 0) mod 2 = 0.
    """

    n: int
    k: int
    support: tuple[int, ...]

    def __post_init__(self) -> None:
        _check_nk(self.n, self.k)
        s = tuple(int(i) for i in self.support)
        object.__setattr__(self, "support", s)
        if len(s) != self.k:
            raise ValueError(f"support {s} has {len(s)} indices but k = {self.k}; give exactly "
                             "k indices or use SparseParityTask.from_seed(n, k, seed)")
        if list(s) != sorted(set(s)):
            raise ValueError(f"support {s} must be sorted and distinct; pass {tuple(sorted(set(s)))}")
        if s[0] < 0 or s[-1] >= self.n:
            raise ValueError(f"support {s} has an index outside [0, {self.n}); indices are "
                             f"0-based input positions, so use values 0..{self.n - 1}")

    @classmethod
    def from_seed(cls, n: int, k: int, seed: int) -> SparseParityTask:
        """The task whose support is k distinct indices drawn by ``default_rng(seed)``, sorted."""
        _check_nk(n, k)
        rng = np.random.default_rng(seed)
        return cls(n, k, tuple(sorted(int(i) for i in rng.choice(n, size=k, replace=False))))

    def label(self, x: np.ndarray) -> np.ndarray:
        """Parity of ``x [..., n]`` (0/1) on the support: ``[...]`` uint8 in {0, 1}."""
        x = np.asarray(x)
        if x.shape[-1:] != (self.n,):
            raise ValueError(f"x has shape {x.shape}; the last axis must be the n = {self.n} bits")
        return (x[..., list(self.support)].astype(np.int64).sum(-1) % 2).astype(np.uint8)

    def sample(self, m: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``m`` uniform inputs and their labels: ``x [m, n]`` uint8 in {0,1}, ``y [m]`` uint8."""
        if m < 0:
            raise ValueError(f"m must be >= 0, got {m}")
        x = rng.integers(0, 2, size=(m, self.n), dtype=np.uint8)          # [m, n]
        return x, self.label(x)


def all_inputs(n: int) -> np.ndarray:
    """Every input of n bits, ``[2^n, n]`` uint8, row r = the binary digits of r (bit 0 first)."""
    if not 1 <= n <= MAX_EXHAUSTIVE:
        raise ValueError(f"all_inputs(n={n}) would enumerate 2^{n} inputs; n must be in "
                         f"[1, {MAX_EXHAUSTIVE}]; sample inputs instead for larger n")
    r = np.arange(2 ** n, dtype=np.int64)[:, None]                        # [2^n, 1]
    return ((r >> np.arange(n)) & 1).astype(np.uint8)                     # [2^n, n]


def _check_nk(n: int, k: int) -> None:
    if not 1 <= n <= MAX_N:
        raise ValueError(f"n = {n} input bits is outside [1, {MAX_N}]; choose n in that range "
                         f"(the paper's experiments use n = 50)")
    if not 1 <= k <= n:
        raise ValueError(f"k = {k} support bits must be in [1, n = {n}]; e.g. k = 3 "
                         "(training time grows like n^k)")

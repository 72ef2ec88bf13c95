"""Performance switches for small models on a CPU, scoped so library calls leave no trace.

Three process-wide settings make a large difference for the tiny networks trained here:

- **threads** (``torch.set_num_threads``): a step of a small model is a few short kernels, so
  extra threads only add synchronisation; on a busy 2-core machine one thread is 20-200x faster
  than torch's default (issue 11). The CLI sets ``--threads`` (default 1) for the whole process.
- **flush denormals** (``torch.set_flush_denormal``): late in training, float32 softmax tails and
  tiny gradients become subnormal numbers, which x86 CPUs process ~100x slower. Flushing them to
  zero changes nothing that matters when the loss is computed in float64.
- **keep freed memory** (glibc ``mallopt``): keeps freed blocks up to 32 MiB in the process
  instead of returning them to the OS, so each step's large temporaries do not page-fault in
  again. It cannot be undone, so the library never calls it; the ``algolens`` command does, once,
  at its entry (``cli.main``), and so do the executor's own pool workers.

The library uses ``fast_cpu(...)``, a context manager that sets what it is given and restores the
previous values on exit, so a user's notebook keeps its own settings::

    with fast_cpu(threads=1, flush_denormal=True):
        train(...)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

# torch is imported inside the functions that use it: ``keep_freed_memory`` runs at the entry of
# every ``algolens`` command, and ``algolens tasks`` should not pay for importing torch.


def denormals_flushed() -> bool:
    """Whether this thread flushes subnormal floats to zero (torch has no getter: we compute)."""
    import torch
    tiny = torch.tensor([1e-39], dtype=torch.float32)       # subnormal in float32
    return bool((tiny * 2).item() == 0.0)


@contextmanager
def fast_cpu(threads: int | None = None, flush_denormal: bool | None = None) -> Iterator[None]:
    """Set torch's thread count and/or flush-denormal mode inside the block, then restore both.

    ``None`` leaves a setting as it is. Raises ``ValueError`` for ``threads < 1``.
    """
    import torch
    if threads is not None and threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    old_threads, old_flush = torch.get_num_threads(), denormals_flushed()
    try:
        if threads is not None and threads != old_threads:
            torch.set_num_threads(threads)
        if flush_denormal is not None:
            torch.set_flush_denormal(flush_denormal)
        yield
    finally:
        if torch.get_num_threads() != old_threads:
            torch.set_num_threads(old_threads)
        if flush_denormal is not None:
            torch.set_flush_denormal(old_flush)


_ALLOCATOR_TUNED = False


def keep_freed_memory() -> None:
    """Ask glibc malloc to keep freed blocks up to 32 MiB instead of returning them to the OS.

    Each modular-training step allocates several [p², d_mlp] tensors; with the default thresholds
    every one is a fresh mmap whose pages fault in (measured: ~6.9k page faults and ~30% of a
    step's CPU time at p = 59; MIPS RNN rows 3-12% faster per step). Process-wide and permanent
    (there is no undo), so only the command's entry (``cli.main``) and the executor's own pool
    workers call it; call it yourself to opt in. A no-op where glibc is absent.
    """
    global _ALLOCATOR_TUNED
    if _ALLOCATOR_TUNED:
        return
    _ALLOCATOR_TUNED = True
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 32 << 20)    # M_MMAP_THRESHOLD
        libc.mallopt(-1, 256 << 20)   # M_TRIM_THRESHOLD
    except (OSError, AttributeError):
        pass

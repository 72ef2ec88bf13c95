"""Benchmark: the formula search before/after goal-directed composition (issue 12.1).

    python benchmarks/bench_formula_search.py

Each problem is a target on a small finite domain (a state machine's (state, input) points).
"before" is the bottom-up search alone (run with an older algolens on PYTHONPATH it prints that
version's search as "main") with the given constants (max size 7, as the distiller ran
it); "after" adds constants from the data and the composition step (sizes up to 15). Printed per
problem: the formula found, its size, the work (candidates; evaluations of the composition) and
seconds (wall-clock, only indicative on a shared machine).
"""

from __future__ import annotations

import time

import numpy as np

import inspect

from algolens.analysis.rnn.integer_sr import IntegerSR
from algolens.codegen.python import render


def problems() -> dict:
    s, x = (v.ravel() for v in np.meshgrid(np.arange(-1, 4), np.arange(-1, 2), indexing="ij"))
    q, b = (v.ravel() for v in np.meshgrid(np.arange(4), np.arange(3), indexing="ij"))
    env1, env2 = {"s": s, "x": x}, {"s": q, "x": b}
    return {
        "clip(2s - x, -1, 3)": (env1, np.clip(2 * s - x, -1, 3)),
        "clip(s + x - 1, 0, 2)": (env1, np.clip(s + x - 1, 0, 2)),
        "x > 0 ? s*s - x : 3 - s": (env1, np.where(x > 0, s * s - x, 3 - s)),
        "(s x + s + x) % 5": (env1, (s * x + s + x) % 5),
        "s*s + x > 3": (env1, (s * s + x > 3).astype(int)),
        "s + x == 2 ? 0 : s + 2x": (env2, np.where(q + b == 2, 0, q + 2 * b)),
        "(s (x + 1) + x) % 5 [Bilinear]": (env2, (q * (b + 1) + b) % 5),
    }


def main() -> None:
    rows = []
    for name, (env, t) in problems().items():
        new = "max_compose" in inspect.signature(IntegerSR).parameters
        for label, kw in ((("before", dict(max_compose=0, data_consts=False)), ("after", {}))
                          if new else (("main", {}),)):
            t0 = time.perf_counter()
            sr = IntegerSR(7, consts=(0, 1, 2), **kw).fit(env, {"y": t})
            sec = time.perf_counter() - t0
            e = sr.formulas_["y"]
            rows.append(f"| {name} | {label} | {render(e) if e is not None else '-'} | "
                        f"{sr.sizes_['y'] or '-'} | {sr.n_evaluated_} | {getattr(sr, 'n_composed_', 0)} | "
                        f"{sec:.2f} |")
    print("| problem | search | formula | size | candidates | composition evals | s |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()

"""Rewrite src/algolens/studies/mips_costs.py from a finished benchmark run.

    python benchmarks/mips_cost_hints.py RUN_OUT      # the --out store of `algolens mips --all`

The hints are each task's search + distillation seconds in that run, read from the store's mips
runs (the benchmark table is a view of the store). ``algolens mips --all`` starts the costliest
tasks first (longest-processing-time order), so the last task to finish does not leave the other
workers idle; the order never changes a task's result, which is a function of the task and the
seed alone.
"""

from __future__ import annotations

import sys
from pathlib import Path

TARGET = Path(__file__).resolve().parents[1] / "src" / "algolens" / "studies" / "mips_costs.py"

HEADER = '''"""Seconds each benchmark task took (search + distillation) in one from-scratch run on a
2-core machine; written by benchmarks/mips_cost_hints.py. Only the order in which
``algolens mips --all`` starts tasks uses them (costliest first); results never do."""

COSTS: dict[str, float] = {
'''


def main(path: str) -> None:
    from algolens.store import RunStore, StoreError
    from algolens.studies.mips_benchmark import benchmark_records

    if not (Path(path) / "index.db").is_file():
        sys.exit(f"{path} holds no run store (no index.db); pass the --out folder of an "
                 "`algolens mips --all` run")
    try:
        recs = benchmark_records(RunStore(path))
    except (StoreError, ValueError) as e:
        sys.exit(f"cannot read the benchmark of {path}: {e}")
    if not recs:
        sys.exit(f"{path} holds no finished mips runs; run `algolens mips --all --out {path}`")
    costs = {r["task"]: round(float(r.get("train_seconds") or 0)
                              + float(r.get("distill_seconds") or 0), 1) for r in recs}
    body = "".join(f"    {name!r}: {sec},\n" for name, sec in sorted(costs.items()))
    TARGET.write_text(HEADER + body + "}\n")
    print(f"wrote {TARGET} ({len(costs)} tasks)")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])

"""Rewrite src/algolens/studies/mips_costs.py from a finished benchmark run.

    python benchmarks/mips_cost_hints.py RUN_OUT/mips/benchmark.json

The hints are each task's search + distillation seconds in that run. ``algolens mips --all``
starts the costliest tasks first (longest-processing-time order), so the last task to finish
does not leave the other workers idle; the order never changes a task's result, which is a
function of the task and the seed alone.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

TARGET = Path(__file__).resolve().parents[1] / "src" / "algolens" / "studies" / "mips_costs.py"

HEADER = '''"""Seconds each benchmark task took (search + distillation) in one from-scratch run on a
2-core machine; written by benchmarks/mips_cost_hints.py. Only the order in which
``algolens mips --all`` starts tasks uses them (costliest first); results never do."""

COSTS: dict[str, float] = {
'''


def main(path: str) -> None:
    try:
        recs = json.loads(Path(path).read_text())        # benchmark.json: a list of records
    except (OSError, ValueError) as e:
        sys.exit(f"cannot read {path}: {e}; pass the benchmark.json of an `algolens mips --all` run")
    if not isinstance(recs, list) or not all(isinstance(r, dict) and "task" in r for r in recs):
        sys.exit(f"{path} is not a benchmark.json (a list of task records from `algolens mips`)")
    costs = {r["task"]: round(float(r.get("train_seconds") or 0)
                              + float(r.get("distill_seconds") or 0), 1) for r in recs}
    body = "".join(f"    {name!r}: {sec},\n" for name, sec in sorted(costs.items()))
    TARGET.write_text(HEADER + body + "}\n")
    print(f"wrote {TARGET} ({len(costs)} tasks)")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])

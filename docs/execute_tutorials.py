"""Execute every tutorial in docs/tutorials/ and keep its outputs.

Each ``docs/tutorials/<name>.py`` is a plain-text notebook (jupytext percent format). This script
converts it to a notebook, runs it top to bottom with nbclient (a fresh ``python3`` kernel, the
interpreter running this script, a timeout per cell) and writes ``docs/tutorials/<name>.ipynb``
with its outputs -- the build output the docs site renders (git-ignored). It prints one line per
notebook with its wall time and the kernel's CPU time, and exits 1 naming the notebook and the
failing cell if any fails::

    python docs/execute_tutorials.py                  # all of them, one after the other
    python docs/execute_tutorials.py --only grokking  # one (repeat --only for several)

Needs ``pip install jupytext nbclient ipykernel`` (in the ``docs`` extra).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TUTORIALS = HERE / "tutorials"
# appended to every notebook so the script can report the kernel's CPU time (not saved)
_CPU_PROBE = "import resource as _r; print(_r.getrusage(_r.RUSAGE_SELF).ru_utime + " \
             "_r.getrusage(_r.RUSAGE_SELF).ru_stime + _r.getrusage(_r.RUSAGE_CHILDREN).ru_utime" \
             " + _r.getrusage(_r.RUSAGE_CHILDREN).ru_stime)"


def tutorials(only: list[str] | None = None) -> list[Path]:
    """The tutorial sources, in name order; ``only`` names (with or without .py) pick some."""
    found = {p.stem: p for p in sorted(TUTORIALS.glob("*.py")) if not p.stem.startswith("_")}
    if not only:
        return list(found.values())
    names = [n[:-3] if n.endswith(".py") else n for n in only]
    bad = [n for n in names if n not in found]
    if bad:
        raise SystemExit(f"error: no tutorial {', '.join(bad)} in {TUTORIALS}; known: "
                         f"{', '.join(found)}")
    return [found[n] for n in names]


def kernel_name() -> str:
    """A kernel spec that runs this interpreter: ``python3`` when it points here, else one
    installed for this interpreter (``python -m ipykernel install --user``)."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    ksm = KernelSpecManager()
    try:
        spec = ksm.get_kernel_spec("python3")
        argv0 = spec.argv[0]
        if argv0 in ("python", "python3", "{python}") or \
                Path(argv0).resolve() == Path(sys.executable).resolve():
            return "python3"
    except NoSuchKernel:
        pass
    name = "algolens-docs"
    try:
        spec = ksm.get_kernel_spec(name)
        if Path(spec.argv[0]).resolve() == Path(sys.executable).resolve():
            return name
    except NoSuchKernel:
        pass
    from ipykernel.kernelspec import install
    install(user=True, kernel_name=name, display_name=f"Python ({sys.executable})")
    return name


def execute(path: Path, kernel: str, timeout: int) -> tuple[float, float | None]:
    """Run one tutorial; write its .ipynb beside it. (wall seconds, kernel CPU seconds)."""
    import jupytext
    import nbformat
    from nbclient import NotebookClient

    nb = jupytext.read(path)
    nb.cells.append(nbformat.v4.new_code_cell(_CPU_PROBE))
    client = NotebookClient(nb, kernel_name=kernel, timeout=timeout, allow_errors=False,
                            resources={"metadata": {"path": str(path.parent)}})
    t0 = time.perf_counter()
    try:
        client.execute()
    finally:
        wall = time.perf_counter() - t0
        probe = nb.cells.pop()
        nb.metadata.pop("widgets", None)
        nbformat.write(nb, path.with_suffix(".ipynb"))
    cpu = None
    for out in probe.get("outputs", []):
        if out.get("name") == "stdout":
            try:
                cpu = float(out["text"].strip().splitlines()[-1])
            except (ValueError, IndexError):
                pass
    return wall, cpu


def failing_cell(nb_path: Path) -> str:
    """The first cell of a written notebook whose output is an error, as a short label."""
    import nbformat
    nb = nbformat.read(nb_path, as_version=4)
    code_no = 0
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        code_no += 1
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                first = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
                return (f"cell {i} (code cell {code_no}: {first[:60]!r}): "
                        f"{out.get('ename')}: {out.get('evalue')}")
    return "no cell output shows the error (a timeout or a dead kernel)"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", action="append", metavar="NAME",
                    help="run only this tutorial (e.g. grokking); repeat for several")
    ap.add_argument("--timeout", type=int, default=600, help="seconds per cell (default 600)")
    args = ap.parse_args(argv)
    paths = tutorials(args.only)
    # the kernel inherits these: figures inline, no tqdm notice about missing widgets
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    os.environ["PYTHONWARNINGS"] = ",".join(
        w for w in (os.environ.get("PYTHONWARNINGS"), "ignore:IProgress not found") if w)
    kernel = kernel_name()
    failed = []
    for path in paths:
        try:
            wall, cpu = execute(path, kernel, args.timeout)
        except Exception as e:  # noqa: BLE001 - report every failure the same way
            from nbclient.exceptions import CellExecutionError, CellTimeoutError
            nb_path = path.with_suffix(".ipynb")
            where = failing_cell(nb_path) if nb_path.is_file() else ""
            if isinstance(e, CellTimeoutError):
                where = f"a cell ran past --timeout {args.timeout} s ({e})".splitlines()[0]
            elif not isinstance(e, CellExecutionError):
                where = f"{type(e).__name__}: {e}".splitlines()[0]
            print(f"FAILED {path.name}: {where}", flush=True)
            failed.append(path.name)
            continue
        cpu_s = f", {cpu:.0f} s CPU" if cpu is not None else ""
        print(f"ok     {path.name}: {wall:.0f} s wall{cpu_s} -> "
              f"{path.with_suffix('.ipynb').relative_to(HERE.parent)}", flush=True)
    if failed:
        print(f"error: {len(failed)} of {len(paths)} tutorial(s) failed: {', '.join(failed)}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

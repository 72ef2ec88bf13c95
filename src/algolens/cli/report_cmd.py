"""``algolens report PATH``: one self-contained HTML page for a run, a benchmark or a runs folder."""

from __future__ import annotations

from pathlib import Path

import click

from .common import echo_json, json_option
from ..io import make_writable_dir


def register(group: click.Group) -> None:
    group.add_command(report_cmd)


@click.command("report")
@click.argument("path", type=click.Path())
@click.option("--out", "out", default=None, type=click.Path(),
              help="The HTML file to write (default: PATH/report.html).")
@click.option("--max-runs", default=40, show_default=True, type=int,
              help="For a runs folder: sections for the newest N runs (the index lists all).")
@click.option("--recompute/--no-recompute", default=None,
              help="Load weights to draw evidence a run did not save (default: for a single "
                   "run and for folders of at most 10 runs).")
@json_option
def report_cmd(path: str, out: str | None, max_runs: int, recompute: bool | None,
               as_json: bool) -> None:
    """Write one self-contained HTML report (plots embedded, programs highlighted, tables
    sortable, no network needed) for a run folder, a benchmark folder or a whole runs folder.

    \b
    Examples:
      algolens report runs                          # every run: index + a section per run
      algolens report runs/mips/Add_Mod_3-1a2b3c4d  # one run: program beside its state machine
      algolens report runs/mips --out bench.html    # the benchmark after `algolens mips --all`
    """
    from ..report.build import build_report, path_kind

    path_kind(path)                                   # a bad PATH fails before anything else
    target = Path(out) if out else Path(path) / "report.html"
    check_writable(target)
    built = build_report(path, recompute=recompute, max_runs=max_runs)
    html = built.report.to_html()
    try:
        built.report.save(target)
    except OSError as e:
        raise ValueError(f"cannot write {target} ({e.strerror or e}); pass a writable --out") from e
    if as_json:
        echo_json({"report": str(target), "kind": built.kind, "runs": built.runs,
                   "bytes": len(html.encode()), "images": html.count("<img ")})
        return
    click.echo(f"wrote {target} ({built.kind}, {built.runs} run(s), "
               f"{len(html.encode()) // 1024} KiB, {html.count('<img ')} image(s))")


def check_writable(target: Path) -> None:
    """ValueError (with the fix) unless ``target`` can be written: before any work is done."""
    if target.is_dir():
        raise ValueError(f"--out {target} is a folder; pass a file name, e.g. "
                         f"{target / 'report.html'}")
    parent = target.parent if str(target.parent) else Path(".")
    if parent.exists() and not parent.is_dir():
        raise ValueError(f"--out {target}: {parent} is a file, not a folder; pass another --out")
    try:
        make_writable_dir(parent)
    except OSError as e:
        raise ValueError(f"cannot write to {parent} ({e.strerror or e}); pass a writable "
                         "--out") from e

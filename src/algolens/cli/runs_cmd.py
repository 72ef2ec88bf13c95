"""``algolens runs list|show|verify|reindex``: the run store of every study, for people."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from ..io import read_json
from ..store import STATUSES, RunRecord, RunStore
from .common import echo_json, json_option

_OUT = click.option("--out", default="runs", show_default=True, type=click.Path(file_okay=False),
                    help="The runs folder (holds index.db).")


def register(group: click.Group) -> None:
    group.add_command(runs)


@click.group()
def runs() -> None:
    """The run store: every run of every study, its status and key numbers.

    \b
    Examples:
      algolens runs list                      # a table of all runs, newest first
      algolens runs list --study mips --status done
      algolens runs show Parity_Last3-1a2b3c4d
      algolens runs verify                    # checksums, missing files, interrupted runs
    """


def _store(out: str) -> RunStore:
    if not (Path(out) / "index.db").is_file():
        raise click.UsageError(f"no run index in {out!r} (no {Path(out) / 'index.db'}); run a "
                               "study first (e.g. `algolens demo`) or pass --out")
    return RunStore(out)


@runs.command("list")
@_OUT
@click.option("--study", default=None, help="Only this study (e.g. train, mips, clock_pizza).")
@click.option("--status", default=None, type=click.Choice(STATUSES), help="Only this status.")
@json_option
def runs_list(out: str, study: str | None, status: str | None, as_json: bool) -> None:
    """List runs, newest first.

    \b
    Examples:
      algolens runs list                          # every run in ./runs
      algolens runs list --study mips --status done --out runs
      algolens runs list --json                   # one JSON object per run
    """
    if study is not None:
        from ..studies import registry
        study = registry.get(study).name          # an unknown study lists the known ones
    rows = _store(out).list(study=study, status=status)
    if as_json:
        echo_json([r.to_dict() for r in rows])
        return
    if not rows:
        click.echo("no runs" + (f" of study {study}" if study else "")
                   + (f" with status {status}" if status else ""))
        return
    table = [["run", "study", "key", "seed", "status", "created", "metrics"]]
    for r in rows:
        table.append([r.id, r.study, r.key, "" if r.seed is None else str(r.seed), r.status,
                      time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created or 0)),
                      _metrics(r) or _short(r.reason, 50)])
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]) - 1)]
    for row in table:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths)) + "  " + row[-1])
    counts = {s: sum(r.status == s for r in rows) for s in STATUSES}
    click.echo(f"\n{len(rows)} runs: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n))


@runs.command("show")
@click.argument("run")
@_OUT
@json_option
def runs_show(run: str, out: str, as_json: bool) -> None:
    """Show one run (by id or folder): index row, config, key metrics, files.

    \b
    Examples:
      algolens runs show Parity_Last3-1a2b3c4d
      algolens runs show runs/mips/Parity_Last3-1a2b3c4d --json
    """
    store = _store(out)
    rec = store.get(run)
    if not rec.dir.is_dir():
        rec.status, rec.reason = "missing", (f"its folder {rec.dir} is gone; `algolens runs "
                                             f"reindex --prune --out {out}` drops the row")
    cfg = _maybe_json(rec.dir / "config.json")
    files = sorted(p.name for p in rec.dir.iterdir()) if rec.dir.is_dir() else []
    if as_json:
        echo_json({**rec.to_dict(), "config": cfg, "files": files})
        return
    click.echo(f"run       {rec.id}\nstudy     {rec.study}\nkey       {rec.key}\n"
               f"seed      {rec.seed}\nstatus    {rec.status}"
               + (f" ({rec.reason})" if rec.reason else "") + f"\nfolder    {rec.dir}")
    if rec.sha256:
        click.echo(f"weights   sha256 {rec.sha256}")
    for k, v in rec.metrics.items():
        click.echo(f"  {k:<22} {_fmt(v)}")
    click.echo("files     " + ", ".join(files))


@runs.command("verify")
@_OUT
@json_option
def runs_verify(out: str, as_json: bool) -> None:
    """Check every run: weights against their SHA-256, missing files, interrupted runs.

    Exits 1 when a checksum does not match or a file or folder is missing.

    \b
    Examples:
      algolens runs verify                        # the store ./runs
      algolens runs verify --out copy --json
    """
    store = _store(out)
    problems = store.verify()
    bad = [p for p in problems if p.kind in ("checksum", "missing")]
    if as_json:
        echo_json({"runs": len(store.list()), "problems": [vars(p) for p in problems]})
    else:
        click.echo(f"{len(store.list())} runs checked")
        for p in problems:
            click.echo(f"  {p.kind:<12} {p.study}/{p.run_id}: {p.detail}")
        if not problems:
            click.echo("  all checksums match; no interrupted runs")
    if bad:
        sys.exit(1)


@runs.command("reindex")
@_OUT
@click.option("--prune", is_flag=True,
              help="Also drop index rows whose run folder is gone (folders are never deleted).")
@json_option
def runs_reindex(out: str, prune: bool, as_json: bool) -> None:
    """Add index rows for run folders that have none (after a copy, a move or a lost index).

    Each finished run keeps its own row (run.json), so a rebuilt index has the same rows.

    
    Example:
      cp -r runs copy && rm copy/index.db && algolens runs reindex --out copy
    """
    store = RunStore(out)
    n = store.reindex()
    if as_json:
        gone = store.prune() if prune else []
        echo_json({"added": n, "pruned": gone, "index": str(Path(out) / "index.db")})
        return
    click.echo(f"{n} run folder(s) added to {Path(out) / 'index.db'}")
    if prune:
        gone = store.prune()
        click.echo(f"{len(gone)} row(s) for missing folders dropped"
                   + (": " + ", ".join(gone) if gone else ""))


def _metrics(r: RunRecord) -> str:
    return ", ".join(f"{k}={_fmt(v)}" for k, v in list(r.metrics.items())[:6] if v is not None)


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _short(s: str, n: int) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def _maybe_json(path: Path):
    try:
        return read_json(path)
    except (FileNotFoundError, ValueError):
        return None

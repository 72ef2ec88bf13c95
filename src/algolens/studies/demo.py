"""The quick tour: every registered study once, on settings that run in minutes on a 2-core
laptop, in one self-contained HTML report.

Nothing here names a study. Each study on the contract declares its demo itself
(``Study.demo_points`` -- by default its ``demo_preset`` at seed 0 -- ``demo_lines`` and
``demo_section``); the tour runs them in ``demo_order`` through the one ``run_points`` (so a
study's threads and batching are the same as in ``train`` and ``sweep``), prints each study's
lines, and writes the report: the tour's summary on top (each study's ``demo_section``), then the
demo's runs with their evidence. A network that did not learn is labelled so by its study's one
``trained`` rule, never interpreted. Runs go into the store ``out`` (default ``runs``, the same
store every command uses, so ``algolens runs list`` finds them); the report is
``<out>/demo.html``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..typed import to_json
from .registry import Study

STUDY = Study("demo", "The quick tour: every study once, in one HTML report")
REPORT = "demo.html"


@dataclass
class DemoPart:
    """One study's part of the tour: its runs, typed results and printed lines."""

    study: str
    runs: list[Any] = field(default_factory=list)       # store.Run
    results: list[Any] = field(default_factory=list)    # the study's result dataclass
    lines: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"study": self.study, "lines": self.lines,
                "runs": [{"run": r.id, "seed": r.seed, **({"result": to_json(x)} if x is not None
                                                          else {})}
                         for r, x in zip(self.runs, self.results)]}


@dataclass
class DemoResult:
    """What the tour produced, one part per study, in demo order."""

    report_path: Path
    parts: list[DemoPart] = field(default_factory=list)
    seconds: float = 0.0

    def part(self, study: str) -> DemoPart:
        for p in self.parts:
            if p.study == study:
                return p
        raise KeyError(f"the demo ran no {study!r} part; it ran {[p.study for p in self.parts]}")

    def to_dict(self) -> dict[str, Any]:
        return {"report": str(self.report_path), "seconds": round(self.seconds, 1),
                "studies": {p.study: p.to_dict() for p in self.parts}}


Override = Mapping[str, Any] | Callable[[list], list]


def demo_studies(only: tuple[str, ...] | None = None) -> list[Study]:
    """The studies with a demo, in demo order (``only``: these names; unknown ones fail)."""
    from . import registry
    found = [s for s in registry.contract_studies().values() if s.demo_points()]
    if only:
        names = [registry.get(n).name for n in only]
        missing = [n for n in names if n not in {s.name for s in found}]
        if missing:
            raise ValueError(f"no demo for {', '.join(missing)}; studies with a demo: "
                             f"{', '.join(s.name for s in found)}")
        found = [s for s in found if s.name in names]
    return sorted(found, key=lambda s: (s.demo_order, s.name))


def parse_overrides(items: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """``("clock_pizza.steps=40", ...)`` -> ``{"clock_pizza": {"steps": 40}}`` (typed, checked)."""
    from . import registry
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        target, eq, value = item.partition("=")
        study_name, dot, fname = target.partition(".")
        if not (eq and dot and fname):
            raise ValueError(f"--set {item!r}: write STUDY.FIELD=VALUE (e.g. clock_pizza.steps=40)")
        study = registry.get(study_name)
        fields = {f.name for f in dataclasses.fields(study.config)} if study.config else set()
        fname = fname.replace("-", "_")
        if fname not in fields:
            raise ValueError(f"--set {item!r}: {study.name} has no setting {fname!r}; known: "
                             f"{', '.join(sorted(fields))}")
        out.setdefault(study.name, {})[fname] = study.parse_value(fname, value)
    return out


def run(out: str | Path = "runs", only: tuple[str, ...] | None = None,
        overrides: Mapping[str, Override] | None = None, log=print) -> DemoResult:
    """Run the tour into the store ``out`` and write ``out/demo.html``.

    ``overrides[study]``: field values applied to each of its demo configs, or a function
    that rewrites its list of (config, seed) points (tests use both to shrink the tour)."""
    from ..report.build import build_report
    from ..store import RunStore
    from . import registry

    t0 = time.monotonic()
    store = RunStore(out).check_writable()      # a bad --out fails now, not after training
    studies = demo_studies(only)
    plans = [(s, _points(s, (overrides or {}).get(s.name))) for s in studies]   # checked first
    res = DemoResult(Path(out) / REPORT)
    for study, points in plans:
        log(f"[{study.name}] {len(points)} run(s) ...")
        pairs = registry.run_points(study, points, store, progress=False)
        part = DemoPart(study.name, [r for r, _ in pairs], [x for _, x in pairs],
                        study.demo_lines(pairs))
        for line in part.lines:
            log(line)
        res.parts.append(part)
    res.seconds = time.monotonic() - t0
    ids = frozenset(r.id for p in res.parts for r in p.runs)
    built = build_report(store.root, recompute=True, title="algolens demo", run_ids=ids,
                         preface=lambda rep: _summary(rep, res, dict(studies=studies)))
    built.report.save(res.report_path)
    log(f"report written to {res.report_path}")
    return res


def _points(study: Study, override: Override | None) -> list[tuple[Any, int]]:
    points = study.demo_points()
    if override is None:
        return points
    if callable(override):
        return list(override(points))
    changed = [(dataclasses.replace(c, **override), s) for c, s in points]
    return [p for i, p in enumerate(changed) if p not in changed[:i]]     # one run per point


def _summary(rep, res: DemoResult, ctx: dict) -> None:
    """The tour's headline: each study's own demo section, in demo order."""
    rep.add_text("Small networks, opened up — every claim checked in this run "
                 f"({res.seconds:.0f} s).")
    by_name = {s.name: s for s in ctx["studies"]}
    for part in res.parts:
        by_name[part.study].demo_section(rep, list(zip(part.runs, part.results)))

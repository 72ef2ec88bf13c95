"""Per-study report sections: a registry keyed by study name, with a generic fallback.

A study plugs in its own renderer by adding a module here (``sections/<study>.py``) that
decorates a function with ``@section("<study>")``; modules in this package are found and imported
on first use, so nothing else is edited. A renderer receives the report, a ``RunView`` of one run
folder and a ``Context``; it adds blocks (the run's heading is already there). A study without a
renderer -- or one whose renderer fails on an odd run -- gets ``generic.render``: config, key
metrics, every PNG in the run folder and the tables in metrics.json.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable

from ..html import Report
from .view import Context, RunView, read_run

Renderer = Callable[[Report, RunView, Context], None]
_SECTIONS: dict[str, Renderer] = {}
_LOADED = False


def section(study: str) -> Callable[[Renderer], Renderer]:
    """Register ``fn`` as the renderer of ``study``'s runs (one per study; the last one wins)."""
    def deco(fn: Renderer) -> Renderer:
        _SECTIONS[study] = fn
        return fn
    return deco


def renderer_for(study: str) -> Renderer:
    """The study's renderer: its own ``Study.report_section`` (a study on the contract), a
    renderer registered here, or the generic one."""
    _load_plugins()
    from .generic import render
    if study in _SECTIONS:
        return _SECTIONS[study]
    from ...studies import registry
    found = registry.studies().get(study)
    if found is not None and found.contract:
        return _contract_renderer(found)
    return render


def _contract_renderer(study) -> Renderer:
    """Render a contract study's run from its typed result (``Study.report_section``)."""
    def render_typed(rep: Report, view: RunView, ctx: Context) -> None:
        from ...store import open_run
        from .generic import render
        run = open_run(view.dir)
        if not study.report_section(rep, run, run.result):
            render(rep, view, ctx)
    return render_typed


def registered() -> list[str]:
    """Studies with their own renderer."""
    _load_plugins()
    return sorted(_SECTIONS)


def _load_plugins() -> None:
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    for mod in pkgutil.iter_modules(__path__):
        if mod.name not in ("view", "generic") and not mod.name.startswith("_"):
            importlib.import_module(f"{__name__}.{mod.name}")


def render_run(rep: Report, run: RunView, ctx: Context) -> None:
    """Heading, status line and the study's section for one run."""
    rep.add_heading(f"{run.study} · {run.key or run.id}", level=ctx.level, anchor=run.id)
    status = "damaged" if run.damaged else run.status
    line = f"Run `{run.id}` · status **{status}**" + (f" · seed {run.seed}"
                                                   if run.seed is not None else "")
    rep.add_text(line + (f"\n{run.reason}" if run.reason else ""))
    if run.damaged:
        rep.add_note("This run's files changed after it wrote them (" + "; ".join(run.damaged)
                     + "): its evidence is not shown. Delete the run folder and train it again.")
        return
    try:
        renderer_for(run.study)(rep, run, ctx)
    except Exception as e:   # noqa: BLE001 - one odd run must not sink a 100-run page
        from .generic import render
        rep.add_note(f"The {run.study} section could not be drawn ({type(e).__name__}: {e}); "
                     "showing the run's files as they are.")
        render(rep, run, ctx)


__all__ = ["Context", "RunView", "read_run", "registered", "render_run", "renderer_for",
           "section"]

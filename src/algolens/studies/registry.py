"""The study registry: every study declares itself where it lives, and is found from there.

A study module in ``algolens.studies`` declares, at module level, either

    STUDY = Study("clock_pizza", "Clock vs Pizza in modular-addition transformers",
                  load_run=load_run)

or, when one module owns several studies, ``STUDIES = (Study(...), Study(...))``. ``studies()``
imports every module of the package (found with ``pkgutil``, no hand-kept list) and collects
them; so a new study is one module here plus one command module in ``algolens.cli`` (which the
CLI finds the same way), and nothing else is edited.

``Study.name`` is the folder name of its runs (``runs/<study>/<run-id>/``); ``load_run(path)``
loads one of its run directories (None when the study keeps no runs of its own).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_NOT_STUDIES = frozenset({"registry", "presets"})   # infrastructure modules of the package


@dataclass(frozen=True)
class Study:
    """One study: its name (the runs folder), a one-line summary, and how to load its runs."""

    name: str
    summary: str
    load_run: Callable[[Path], Any] | None = None


def module_names() -> list[str]:
    """Names of the study modules in ``algolens.studies`` (without importing them)."""
    from . import __path__ as pkg_path
    return sorted(m.name for m in pkgutil.iter_modules(pkg_path)
                  if not m.name.startswith("_") and m.name not in _NOT_STUDIES)


def declared(module: Any) -> tuple[Study, ...]:
    """The studies a module declares through ``STUDY`` or ``STUDIES`` (empty if none)."""
    found = tuple(getattr(module, "STUDIES", ()))
    if hasattr(module, "STUDY"):
        found = (module.STUDY, *found)
    for s in found:
        if not isinstance(s, Study):
            raise TypeError(f"{module.__name__}: STUDY/STUDIES must hold Study objects, got "
                            f"{type(s).__name__}")
    return found


def studies() -> dict[str, Study]:
    """{name: Study} over every study module (imports them; a repeated name is an error)."""
    out: dict[str, Study] = {}
    for mod_name in module_names():
        module = importlib.import_module(f"{__package__}.{mod_name}")
        for s in declared(module):
            if s.name in out:
                raise ValueError(f"two studies are named {s.name!r} (the second in "
                                 f"{module.__name__}); study names must be unique")
            out[s.name] = s
    return out


def get(name: str) -> Study:
    """One study by name; an unknown name lists the known ones."""
    found = studies()
    if name not in found:
        raise ValueError(f"unknown study {name!r}; known studies: {', '.join(sorted(found))}")
    return found[name]

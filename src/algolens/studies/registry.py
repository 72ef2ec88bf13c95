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


def load_run(path: str | Path) -> Any:
    """Load any run directory ``runs/<study>/<run-id>/``, whatever its study.

    The study comes from the run's config.json (``"study"``; older runs without it are
    recognised by their layout) and its ``Study.load_run`` does the loading. Every study's
    loader refuses weights whose SHA-256 differs from the one recorded when they were written.
    """
    from ..io import read_json
    path = Path(path)
    if not path.is_dir():
        raise ValueError(f"{path} is not a run directory; see `algolens runs list`")
    config = read_json(path / "config.json")
    study = config.get("study") if isinstance(config, dict) else None
    study = study or _legacy_study(config, path)
    loader = get(study).load_run
    if loader is None:
        raise ValueError(f"runs of study {study!r} hold no model to load ({path})")
    return loader(path)


def _legacy_study(config: Any, path: Path) -> str:
    """The study of a run written before config.json named it."""
    if isinstance(config, dict) and str(config.get("format", "")).startswith("algolens-rnn"):
        return "train"
    if isinstance(config, dict) and "model" in config and "train" in config:
        return "grokking" if path.parent.name == "grokking" else "clock_pizza"
    raise ValueError(f"{path / 'config.json'} does not say which study made the run (no "
                     "'study' key); it is not an algolens run directory")

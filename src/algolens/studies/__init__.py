"""One orchestrator per study; submodules load lazily (``algolens.studies.mips``).

Study modules are found by ``registry`` (``pkgutil``, no hand-kept list); each declares a
``STUDY`` (or ``STUDIES``), listed by ``algolens.studies.registry.studies()``.
``load_run(path)`` loads a run directory of any study (dispatching on its config.json).
"""

import importlib

from .registry import load_run, module_names

__all__ = [*module_names(), "load_run"]


def __getattr__(name: str):
    if name in module_names() or name in ("registry", "presets"):
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'algolens.studies' has no attribute {name!r}")

"""One orchestrator per study; submodules load lazily (``algolens.studies.mips``).

Study modules are found by ``registry`` (``pkgutil``, no hand-kept list); each declares a
``STUDY`` (or ``STUDIES``) on the study contract, listed by ``registry.studies()``. Runs are
read back through the store (``RunStore(root).open(run_id)``); ``load_run(path)`` is the
shortcut that gives the network of any run folder.
"""

import importlib

from .registry import load_run, module_names

__all__ = [*module_names(), "load_run"]


def __getattr__(name: str):
    if name in module_names() or name in ("registry",):
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'algolens.studies' has no attribute {name!r}")

"""One orchestrator per study; submodules load lazily (``algolens.studies.mips``)."""

import importlib

__all__ = ["mips", "clock_pizza", "grokking", "demo"]


def __getattr__(name: str):
    if name in ("mips", "mips_paper", "clock_pizza", "grokking", "demo"):
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'algolens.studies' has no attribute {name!r}")

"""AME mass tables: ``load(year)`` -> ``NuclideTable`` (re-exported from ``algolens.tasks``)."""

from ..tasks.nuclear_data import (  # noqa: F401
    MAGIC,
    QUANTITIES,
    AMEFormatError,
    Column,
    NuclideTable,
    load,
    load_files,
)

__all__ = ["MAGIC", "QUANTITIES", "AMEFormatError", "Column", "NuclideTable", "load", "load_files"]

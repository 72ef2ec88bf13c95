"""The nuclear study (re-exported from ``algolens.studies.nuclear``)."""

from ..studies.nuclear import (
    STUDY,
    NuclearConfig,
    NuclearFit,
    NuclearResult,
    NuclearRun,
    load_data,
    predict,
)

__all__ = ["STUDY", "NuclearConfig", "NuclearFit", "NuclearResult", "NuclearRun", "load_data",
           "predict"]

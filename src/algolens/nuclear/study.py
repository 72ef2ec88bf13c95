"""The nuclear study's passes (re-exported from ``algolens.studies.nuclear``)."""

from ..studies.nuclear import NuclearRun, analyze, load_run, predict, train_run

__all__ = ["NuclearRun", "analyze", "load_run", "predict", "train_run"]

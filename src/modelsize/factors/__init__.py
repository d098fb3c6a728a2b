"""Factor sweeps: vary what drives model size, train a model per setting, measure, store, fit laws.

``Sweep(factory, grid, dataset, fit=..., score=...)`` describes the experiment;
``sweep.run(jobs=2, store="sweeps.db")`` runs it (locally or on a Dask cluster with
``cluster="tcp://host:8786"``) and returns a :class:`SweepResult`, whose ``laws()`` fit growth
laws of each metric against each numeric factor. Importing this package loads no framework.
"""

from .config import FitConfig, MeasureConfig
from .datasets import Data, DatasetSpec
from .laws import LawFit, fit_law
from .results import SweepResult
from .spec import Sweep, TrialSpec
from .store import Store
from .types import TrialResult

__all__ = [
    "Data",
    "DatasetSpec",
    "FitConfig",
    "LawFit",
    "MeasureConfig",
    "Store",
    "Sweep",
    "SweepResult",
    "TrialResult",
    "TrialSpec",
    "fit_law",
]

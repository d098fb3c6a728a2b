"""The XGBoost / LightGBM backend of the shrink runner.

Models are boosters or their scikit-learn wrappers (``XGBClassifier``, ``LGBMClassifier``);
the first-rounds recipe hands back a native booster. Scores are class probabilities with one
column per class (a binary model's positive-class probability becomes two columns). The saved
model is the library's own file — XGBoost's ``.ubj`` (and ``.json``), LightGBM's ``.txt`` —
written from the booster and loaded back into a booster, plus joblib as scikit-learn users
save it.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

from ...adapters.boosting import booster, library_of
from ...core.errors import UnsupportedObjectError
from ...core.optional import require
from ..classic_common import binary_to_two_columns, class_scores, limited_threads, time_calls
from ..sklearn.backend import JoblibSaver

if TYPE_CHECKING:  # pragma: no cover
    from ...core.report import Report
    from ..base import Saver
    from ..data import Split


def require_library(model: Any) -> str:
    """``"xgboost"`` or ``"lightgbm"``; our error for anything else."""
    library = library_of(model)
    if library is None:
        raise UnsupportedObjectError(
            f"The boosting backend works on XGBoost and LightGBM models. Got {type(model).__name__}.")
    return library


def booster_scores(model: Any, X: np.ndarray, rounds: int | None = None) -> np.ndarray:
    """Class probabilities of ``model`` (first ``rounds`` boosting rounds when given)."""
    library = require_library(model)
    native = booster(model, library)
    if library == "xgboost":
        xgb = require("xgboost")
        kwargs = {"iteration_range": (0, rounds)} if rounds is not None else {}
        out = native.predict(xgb.DMatrix(np.asarray(X)), **kwargs)
        classes = getattr(model, "classes_", None)
    else:
        kwargs = {"num_iteration": rounds} if rounds is not None else {}
        out = native.predict(np.asarray(X), **kwargs)
        classes = getattr(model, "classes_", None)
    return class_scores(binary_to_two_columns(out), classes)


def total_rounds(model: Any) -> int:
    """Boosting rounds in the model (trees per class for multi-class models)."""
    library = require_library(model)
    native = booster(model, library)
    return int(native.num_boosted_rounds() if library == "xgboost" else native.current_iteration())


class NativeSaver:
    """The library's own file of the booster: XGBoost ``save_model`` (``.ubj`` / ``.json``) or
    LightGBM ``save_model`` (``.txt``), loaded back with ``Booster(model_file=…)``."""

    loads_into = "shrunk"

    def __init__(self, library: str, fmt: str) -> None:
        self.library = library
        self.fmt = fmt
        self.name = f"{library} {fmt}"
        self.suffix = f".{fmt}"

    def check(self, model: Any) -> str | None:
        if library_of(model) != self.library:
            return f"the model is not a {self.library} model"
        return None

    def save(self, model: Any, path: Any) -> None:
        booster(model, self.library).save_model(os.fspath(path))

    def load(self, path: Any, like: Any) -> Any:
        module = require(self.library)
        return module.Booster(model_file=os.fspath(path))


class BoostingBackend:
    """:class:`~modelsize.shrink.base.Backend` for XGBoost and LightGBM models."""

    name = "boosting"

    def __init__(self) -> None:
        self._threads: int | None = None
        self._library_name: str | None = None

    def can_handle(self, model: Any) -> bool:
        library = library_of(model)
        if library is not None:
            self._library_name = library
        return library is not None

    def copy(self, model: Any) -> Any:
        library = require_library(model)
        if library == "xgboost" and isinstance(model, require("xgboost").Booster):
            return model.copy()
        return copy.deepcopy(model)

    def wiped_copy(self, model: Any) -> Any:
        return None  # the native savers build a new booster from the file; nothing to fill

    def predict(self, model: Any, X: np.ndarray) -> np.ndarray:
        return booster_scores(model, X)

    def latency_ns(self, model: Any, x: np.ndarray, runs: int, warmup: int) -> dict[str, Any]:
        return time_calls(lambda: booster_scores(model, x), runs, warmup, batch=len(x), threads=self._threads,
                          mode="booster.predict")

    def measure(self, model: Any) -> "Report":
        from ...api import inspect

        return inspect(model, formats=False)

    def simulated_quantization(self, model: Any) -> dict[str, Any] | None:
        return None  # no fake-quant check for this framework

    def default_savers(self) -> tuple["Saver", ...]:
        library = self._library_name or "xgboost"
        native = (NativeSaver("xgboost", "ubj"), NativeSaver("xgboost", "json")) if library == "xgboost" \
            else (NativeSaver("lightgbm", "txt"),)
        return (*native, JoblibSaver())

    @contextmanager
    def threads(self, count: int | None) -> Iterator[None]:
        """OpenMP pools limited to ``count`` threads (threadpoolctl), restored afterwards."""
        previous, self._threads = self._threads, count
        try:
            with limited_threads(count, "limit the boosting libraries' threads"):
                yield
        finally:
            self._threads = previous

    def fit(self, model: Any, train: "Split", val: "Split | None", epochs: int, seed: int) -> dict[str, Any]:
        if isinstance(model, (require(require_library(model)).Booster)):
            raise UnsupportedObjectError("A native booster cannot be refitted here; pass the scikit-learn wrapper.")
        model.fit(train.X, train.y)
        return {"epochs_run": 1, "fitted": True}

    def train(self, model: Any, data: Any, fit: Any, seed: int) -> dict[str, Any]:
        """Train for a sweep (``modelsize.factors``): the wrapper's ``fit`` with the spec's extra keywords."""
        model.fit(data.X_train, data.y_train, **dict(fit.kwargs))
        return {}

    def predict_target(self, model: Any, X: np.ndarray, task: str) -> np.ndarray:
        """Labels (classification) or values for rows of features: the wrapper's ``predict``."""
        return np.asarray(model.predict(X))

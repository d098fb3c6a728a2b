"""The scikit-learn backend of the shrink runner: fitted estimators, saved with joblib.

* scores are ``predict_proba`` (else ``decision_function``, else one-hot ``predict``) with one
  column per class label, so the default metric is top-1 accuracy for every classifier;
* the saved model is ``joblib.dump`` (the seed article's format), listed with its
  ``compress=3`` variant; the wiped copy is the unfitted ``sklearn.base.clone`` — no learned
  number survives in it, so a reload that compares equal really came from the file;
* a recipe may hand back an :class:`~modelsize.shrink.onnx.model.OnnxModel` (float32 storage via skl2onnx):
  it is scored with onnxruntime and measured by the ONNX file reader.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

from ...core import optional
from ...core.errors import ModelStateError
from ...core.optional import require
from ..classic_common import class_scores, limited_threads, time_calls
from ..onnx.model import OnnxModel

if TYPE_CHECKING:  # pragma: no cover
    from ...core.report import Report
    from ..base import Saver
    from ..data import Split

#: joblib's documented "good compromise" compression level (the compressed file row)
JOBLIB_COMPRESS = 3


def is_estimator(model: Any) -> bool:
    """A scikit-learn estimator instance that is not an XGBoost/LightGBM wrapper (those have
    their own backend)."""
    base = optional.loaded("sklearn.base")
    if base is None or isinstance(model, type) or not isinstance(model, base.BaseEstimator):
        return False
    from ...adapters.boosting import library_of

    return library_of(model) is None


def check_fitted(recipe: str, model: Any) -> None:
    """Our error, naming the recipe, when the estimator is not fitted."""
    from ...adapters.sklearn_walk import is_fitted
    from ..base import recipe_error

    if not is_fitted(model):
        raise recipe_error(recipe, f"the {type(model).__name__} is not fitted (its size is its fitted state)",
                           "Call .fit(X, y) first, or pass --train-epochs 1 on the command line.")


def estimator_scores(model: Any, X: np.ndarray) -> np.ndarray:
    """One score column per class label (classifiers), or the predictions as a column."""
    if hasattr(model, "predict_proba"):
        try:
            return class_scores(model.predict_proba(X), getattr(model, "classes_", None))
        except AttributeError:  # e.g. SVC(probability=False) exposes the method but refuses
            pass
    if hasattr(model, "decision_function"):
        scores = np.asarray(model.decision_function(X), dtype=np.float32)
        if scores.ndim == 1:
            scores = np.stack([-scores, scores], axis=1)
        return class_scores(scores, getattr(model, "classes_", None))
    predictions = np.asarray(model.predict(X))
    classes = getattr(model, "classes_", None)
    if classes is not None and predictions.dtype.kind in "iu":
        out = np.zeros((len(predictions), int(np.max(classes)) + 1), dtype=np.float32)
        out[np.arange(len(predictions)), predictions.astype(np.int64)] = 1.0
        return out
    return predictions.astype(np.float32).reshape(len(predictions), -1)


class JoblibSaver:
    """``joblib.dump(model, path)`` (optionally compressed); reloading runs pickle, so it is
    done only for the file this run just wrote."""

    suffix = ".joblib"
    loads_into = "shrunk"

    def __init__(self, compress: int = 0) -> None:
        self.compress = compress
        self.name = "joblib" if not compress else f"joblib (compress={compress})"
        if compress:
            self.suffix = f".z{compress}.joblib"

    def check(self, model: Any) -> str | None:
        return "the model is an ONNX file, not a Python object" if isinstance(model, OnnxModel) else None

    def save(self, model: Any, path: Any) -> None:
        joblib = require("joblib", "save scikit-learn models")
        joblib.dump(model, path, compress=self.compress)

    def load(self, path: Any, like: Any) -> Any:
        joblib = require("joblib", "load scikit-learn models")
        return joblib.load(path)  # our own file, written a moment ago


class SklearnBackend:
    """:class:`~modelsize.shrink.base.Backend` for fitted scikit-learn estimators."""

    name = "sklearn"

    def __init__(self) -> None:
        self._threads: int | None = None

    def can_handle(self, model: Any) -> bool:
        return is_estimator(model)

    def copy(self, model: Any) -> Any:
        return model.fresh() if isinstance(model, OnnxModel) else copy.deepcopy(model)

    def wiped_copy(self, model: Any) -> Any:
        if isinstance(model, OnnxModel):
            return OnnxModel(b"", model.output, "wiped copy")
        from sklearn.base import clone

        return clone(model)

    def predict(self, model: Any, X: np.ndarray) -> np.ndarray:
        if isinstance(model, OnnxModel):
            return model.predict(X)
        return estimator_scores(model, X)

    def latency_ns(self, model: Any, x: np.ndarray, runs: int, warmup: int) -> dict[str, Any]:
        if isinstance(model, OnnxModel):
            return time_calls(lambda: model.run(x), runs, warmup, batch=len(x), threads=self._threads,
                              mode="onnxruntime CPU")
        call = model.predict_proba if hasattr(model, "predict_proba") else model.predict
        return time_calls(lambda: call(x), runs, warmup, batch=len(x), threads=self._threads,
                          mode=f"{getattr(call, '__name__', 'predict')}")

    def measure(self, model: Any) -> "Report":
        if isinstance(model, OnnxModel):
            return model.measure()
        from ...api import inspect

        return inspect(model, formats=False)

    def simulated_quantization(self, model: Any) -> dict[str, Any] | None:
        return None  # no fake-quant check for this framework

    def default_savers(self) -> tuple["Saver", ...]:
        return (JoblibSaver(), JoblibSaver(JOBLIB_COMPRESS))

    @contextmanager
    def threads(self, count: int | None) -> Iterator[None]:
        """BLAS/OpenMP pools limited to ``count`` threads (threadpoolctl), restored afterwards."""
        previous, self._threads = self._threads, count
        try:
            with limited_threads(count, "limit scikit-learn's threads"):
                yield
        finally:
            self._threads = previous

    def fit(self, model: Any, train: "Split", val: "Split | None", epochs: int, seed: int) -> dict[str, Any]:
        """``model.fit(train.X, train.y)`` — an estimator trains to convergence once; ``epochs``
        only asks for training."""
        if train is None or not len(train):
            raise ModelStateError("Fitting the estimator needs a training split.")
        model.fit(train.X, train.y)
        return {"epochs_run": 1, "fitted": True}

    def train(self, model: Any, data: Any, fit: Any, seed: int) -> dict[str, Any]:
        """Train for a sweep (``modelsize.factors``): ``model.fit`` with the spec's extra keywords."""
        model.fit(data.X_train, data.y_train, **dict(fit.kwargs))
        return {}

    def predict_target(self, model: Any, X: np.ndarray, task: str) -> np.ndarray:
        """Labels (classification) or values for rows of features: the estimator's ``predict``."""
        return np.asarray(model.predict(X))

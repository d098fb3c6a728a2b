"""Train and run a model the way its framework expects — through the framework's shrink backend
(``modelsize.shrink.runner.BACKENDS``, a view of :data:`modelsize.frameworks.FRAMEWORKS`), the one
training/prediction stack sweeps and shrink recipes share:

* scikit-learn (and anything with ``fit(X, y)``, XGBoost and LightGBM included): ``model.fit``
  with the spec's extra ``fit`` keywords;
* PyTorch: a small built-in loop in the model's own dtype (features are converted to it, so
  ``data.dtype`` changes what a scikit-learn model stores, not a network) — seeded shuffling,
  ``epochs``, ``batch_size``, optimizer (adam, adamw, sgd, rmsprop), cross-entropy or MSE,
  early stopping on a held-back validation split that restores the best weights;
* Keras 3: ``compile`` (when the model is not compiled yet) and ``fit``
  with ``EarlyStopping(restore_best_weights=True)`` when ``patience`` is set.

The trial seeds every framework's global generator before the model is built; this module
seeds its own shuffling from the same seed, so a trial's numbers depend on its spec only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.errors import UnsupportedObjectError
from .config import FitConfig
from .datasets import Data


@dataclass(frozen=True)
class TrainInfo:
    """What training did besides changing the weights (``None``: not applicable)."""

    epochs_run: int | None = None
    final_loss: float | None = None
    stopped_early: bool | None = None


def backend_of(model: Any) -> Any:
    """The shrink backend of ``model``'s framework; ``None`` for any other object with ``fit``
    (trained and run duck-typed, scikit-learn style). Imports no framework."""
    from ..shrink.runner import BACKENDS

    for backend_class in BACKENDS.values():
        backend = backend_class()
        if backend.can_handle(model):
            return backend
    if callable(getattr(model, "fit", None)):
        return None
    raise UnsupportedObjectError(
        f"A sweep trains scikit-learn-style estimators (with fit), PyTorch modules and Keras models. "
        f"The factory returned a {type(model).__name__}."
    )


def framework(model: Any) -> str:
    """The framework id of ``model`` (``keras``, ``pytorch``, ``boosting``, ``sklearn`` …; an
    empty string for another object with ``fit``), without importing a framework."""
    backend = backend_of(model)
    return backend.name if backend is not None else ""


def train(model: Any, data: Data, fit: FitConfig, seed: int) -> tuple[Any, TrainInfo]:
    """Train ``model`` on ``data``'s training split; returns the trained model and what happened."""
    backend = backend_of(model)
    if backend is None:
        model.fit(data.X_train, data.y_train, **dict(fit.kwargs))
        return model, TrainInfo()
    return model, TrainInfo(**backend.train(model, data, fit, seed))


def predictor(model: Any, task: str) -> Callable[[np.ndarray], np.ndarray]:
    """A function that predicts labels (classification) or values for rows of features."""
    backend = backend_of(model)
    if backend is None:
        return lambda X: np.asarray(model.predict(X))
    return lambda X: backend.predict_target(model, np.asarray(X), task)

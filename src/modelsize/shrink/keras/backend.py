"""The Keras backend of the shrink runner: Keras 3 models, and the TFLite files made from them.

* copy: ``keras.models.clone_model`` + the same weights (a model that shares no variable);
* wiped copy: the clone with every weight set to NaN, so ``load_weights`` must bring each back;
* predictions: ``model.predict`` for Keras models, the TFLite interpreter for
  :class:`~.tflite.TFLiteModel` (the shrunk side of the TFLite recipes);
* latency: ``predict_on_batch`` on one sample (Keras's compiled predict step) or one
  interpreter ``invoke``;
* saved files: ``.keras`` (``model.save``, written from a copy without optimizer state, so an
  original that was trained is not charged for its Adam slots) and ``.weights.h5``
  (``save_weights``), each reloaded and compared; TFLite results add their ``.tflite`` file.

TensorFlow fixes its thread pools when it starts, so ``threads`` applies to the TFLite
interpreters created inside it only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

from ...core import optional
from ..classic_common import time_calls
from .tflite import TFLiteModel

if TYPE_CHECKING:  # pragma: no cover
    from ...core.report import Report
    from ..base import Saver
    from ..data import Split


def is_keras_model(model: Any) -> bool:
    """A Keras 3 ``keras.Model`` (checked without importing Keras)."""
    keras = optional.loaded("keras")
    return keras is not None and hasattr(keras, "Model") and isinstance(model, keras.Model)


class KerasArchiveSaver:
    """``model.save("model.keras")`` of the model's architecture and weights (no optimizer
    state), loaded back with ``keras.saving.load_model``."""

    name = ".keras"
    suffix = ".keras"
    loads_into = "shrunk"

    def check(self, model: Any) -> str | None:
        return None if is_keras_model(model) else f"the model is a {type(model).__name__}, not a Keras model"

    def save(self, model: Any, path: Any) -> None:
        from .train import clone, quiet

        target = clone(model) if getattr(model, "compiled", False) else model
        with quiet():
            target.save(str(path))

    def load(self, path: Any, like: Any) -> Any:
        from .train import keras3, quiet

        with quiet():
            return keras3().saving.load_model(str(path), compile=False)


class WeightsH5Saver:
    """``model.save_weights("model.weights.h5")``, loaded into the wiped copy."""

    name = ".weights.h5"
    suffix = ".weights.h5"
    loads_into = "shrunk"

    def check(self, model: Any) -> str | None:
        return None if is_keras_model(model) else f"the model is a {type(model).__name__}, not a Keras model"

    def save(self, model: Any, path: Any) -> None:
        from .train import quiet

        with quiet():
            model.save_weights(str(path))

    def load(self, path: Any, like: Any) -> Any:
        from .train import quiet

        with quiet():
            like.load_weights(str(path))
        return like


class KerasBackend:
    """:class:`~modelsize.shrink.base.Backend` for Keras 3 models (TensorFlow backend for TFLite)."""

    name = "keras"

    def __init__(self) -> None:
        #: threads of the TFLite interpreters created in this run (``None``: the interpreter's default)
        self.interpreter_threads: int | None = None

    def can_handle(self, model: Any) -> bool:
        return is_keras_model(model) or isinstance(model, TFLiteModel)

    def copy(self, model: Any) -> Any:
        if isinstance(model, TFLiteModel):
            return model.fresh()
        from .train import clone

        return clone(model)

    def wiped_copy(self, model: Any) -> Any:
        if isinstance(model, TFLiteModel):
            return TFLiteModel(b"", model.mode, model.threads)
        from .train import architecture

        wiped = architecture(model)
        wiped.set_weights([np.full(w.shape, np.nan, dtype=w.dtype) if np.issubdtype(w.dtype, np.floating)
                           else np.zeros(w.shape, w.dtype) for w in model.get_weights()])
        return wiped

    def predict(self, model: Any, X: np.ndarray) -> np.ndarray:
        if isinstance(model, TFLiteModel):
            return model.predict(X)
        from .train import predict

        return predict(model, X)

    def latency_ns(self, model: Any, x: np.ndarray, runs: int, warmup: int) -> dict[str, Any]:
        if isinstance(model, TFLiteModel):
            model.interpreter(len(x))
            return time_calls(lambda: model.run(x), runs, warmup, batch=len(x), threads=model.threads,
                              mode="TFLite interpreter")
        from .train import predict_batch, quiet

        call = predict_batch(model)
        with quiet():
            return time_calls(lambda: call(x), runs, max(warmup, 1), batch=len(x), mode="keras predict_on_batch")

    def measure(self, model: Any) -> "Report":
        if isinstance(model, TFLiteModel):
            return model.measure()
        from ...api import inspect

        return inspect(model, formats=False)

    def simulated_quantization(self, model: Any) -> dict[str, Any] | None:
        return None  # no fake-quant check for this framework

    def default_savers(self) -> tuple["Saver", ...]:
        return (KerasArchiveSaver(), WeightsH5Saver())

    @contextmanager
    def threads(self, count: int | None) -> Iterator[None]:
        """TFLite interpreters created inside use ``count`` threads; TensorFlow's own pools are
        fixed at start-up and stay as they are."""
        previous, self.interpreter_threads = self.interpreter_threads, count
        try:
            yield
        finally:
            self.interpreter_threads = previous

    def fit(self, model: Any, train: "Split", val: "Split | None", epochs: int, seed: int) -> dict[str, Any]:
        from .train import fit_classifier

        return fit_classifier(model, train, val, epochs, seed)

    def train(self, model: Any, data: Any, fit: Any, seed: int) -> dict[str, Any]:
        """Train for a sweep (``modelsize.factors``) as its ``FitConfig`` says; returns
        ``epochs_run``, ``final_loss``, ``stopped_early``."""
        from .train import train_config

        return train_config(model, data, fit)

    def predict_target(self, model: Any, X: np.ndarray, task: str) -> np.ndarray:
        """Labels (classification) or values for rows of features: :meth:`predict`, decoded."""
        from ..evaluate import decode_outputs

        return decode_outputs(self.predict(model, X), task)

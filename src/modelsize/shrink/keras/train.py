"""Compiling, training and copying Keras models for the shrink recipes.

Every Keras recipe that trains (the backend's ``fit``, distillation, the tf_keras child of the
tfmot recipes) uses the same loss rule: sparse categorical cross-entropy, ``from_logits`` unless
the last layer already applies a softmax (the seed CNN ends in ``Dense(10, softmax)``), so a
model is trained on the outputs it really produces.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from ...core import optional
from ...core.errors import UnsupportedObjectError
from ...core.optional import require

if TYPE_CHECKING:  # pragma: no cover
    from ..data import Split

#: samples per Keras predict call when scoring
EVAL_BATCH = 256


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """TensorFlow's converter and Keras's export print progress to stdout (stdout is data for
    our CLI), warn about deprecations and log retracing of each new model's predict function;
    all three are silenced inside and put back afterwards."""
    tf_logger = logging.getLogger("tensorflow")
    level = tf_logger.level
    tf_logger.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        tf_logger.setLevel(level)


def keras3() -> Any:
    return require("keras", "shrink Keras models")


def ends_in_softmax(model: Any) -> bool:
    """Whether the model's last layer applies a softmax (then its outputs are probabilities)."""
    layers = getattr(model, "layers", None) or []
    if not layers:
        return False
    last = layers[-1]
    activation = getattr(last, "activation", None)
    name = getattr(activation, "__name__", str(activation))
    return "softmax" in name.lower() or type(last).__name__ == "Softmax"


def architecture(model: Any) -> Any:
    """A new, uncompiled model of the same architecture (fresh weights).

    ``keras.models.clone_model`` also compiles the clone when the model was compiled, which
    builds a second set of optimizer slots; rebuilding from the layer config (``get_config``) does not.
    Subclassed models without a config fall back to ``clone_model``.
    """
    keras = keras3()
    try:
        with quiet():
            return type(model).from_config(model.get_config())
    except (TypeError, ValueError, NotImplementedError, KeyError, AttributeError):
        return keras.models.clone_model(model)


def clone(model: Any) -> Any:
    """A new model of the same architecture with the same weights (not compiled)."""
    copy = architecture(model)
    copy.set_weights(model.get_weights())
    return copy


def compile_classifier(model: Any, lr: float = 1e-3, from_logits: bool | None = None) -> None:
    """Adam and sparse categorical cross-entropy, with accuracy."""
    keras = keras3()
    logits = (not ends_in_softmax(model)) if from_logits is None else from_logits
    model.compile(optimizer=keras.optimizers.Adam(lr),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=logits), metrics=["accuracy"])


def fit_classifier(model: Any, train: "Split", val: "Split | None", epochs: int, seed: int,
                   batch_size: int = 64, lr: float = 1e-3, callbacks: list[Any] | None = None) -> dict[str, Any]:
    """Compile (when not compiled) and fit; returns the epochs run and the last metrics."""
    keras = keras3()
    keras.utils.set_random_seed(seed)
    if getattr(model, "optimizer", None) is None or not getattr(model, "compiled", True):
        compile_classifier(model, lr)
    validation = (val.X, val.y) if val is not None and len(val) else None
    with quiet():
        history = model.fit(train.X, train.y, epochs=epochs, batch_size=batch_size, validation_data=validation,
                            verbose=0, shuffle=True, callbacks=callbacks or [])
    last = {k: float(v[-1]) for k, v in history.history.items() if v}
    return {"epochs_run": len(history.epoch), "last": last}


def predict(model: Any, X: np.ndarray, batch_size: int = EVAL_BATCH) -> np.ndarray:
    """Outputs of a Keras model on ``X`` as float32 NumPy (inference mode)."""
    with quiet():
        out = model.predict(np.asarray(X), batch_size=batch_size, verbose=0)
    return np.asarray(out, dtype=np.float32)


def predict_batch(model: Any) -> Callable[[np.ndarray], Any]:
    """A function running one batch through the compiled predict function (for timing)."""
    def call(x: np.ndarray) -> Any:
        return model.predict_on_batch(x)

    return call


# ---------------------------------------------------------------------------- sweeps


def _keras_module(model: Any) -> Any:
    for name in ("keras", "tf_keras"):
        module = optional.loaded(name)
        layer = getattr(module, "Layer", None) if module is not None else None
        if isinstance(layer, type) and isinstance(model, layer):
            return module
    raise UnsupportedObjectError(f"Not a Keras model: {type(model).__name__}.")  # pragma: no cover


def train_config(model: Any, data: Any, fit: Any) -> dict[str, Any]:
    """Train for a sweep (``modelsize.factors``): ``compile`` with its optimizer and loss when
    the model is not compiled yet, then ``fit`` with ``EarlyStopping(restore_best_weights=True)``
    when ``patience`` is set; Keras 3 or tf_keras, whichever the model belongs to."""
    keras = _keras_module(model)
    if getattr(model, "optimizer", None) is None:
        opt = {"adam": "Adam", "adamw": "AdamW", "sgd": "SGD", "rmsprop": "RMSprop"}[fit.optimizer]
        kwargs: dict[str, Any] = {"learning_rate": fit.lr}
        if fit.optimizer == "sgd":
            kwargs["momentum"] = fit.momentum
        if fit.weight_decay:
            kwargs["weight_decay"] = fit.weight_decay
        loss = fit.loss if fit.loss != "auto" else (
            "sparse_categorical_crossentropy" if data.task == "classification" else "mse")
        model.compile(optimizer=getattr(keras.optimizers, opt)(**kwargs), loss=loss)
    callbacks = []
    if fit.patience is not None:
        callbacks.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=fit.patience,
                                                       restore_best_weights=True))
    history = model.fit(
        np.asarray(data.X_train), np.asarray(data.y_train), epochs=fit.epochs, batch_size=fit.batch_size,
        verbose=0, shuffle=True, callbacks=callbacks,
        validation_split=fit.validation_fraction if fit.patience is not None else 0.0, **dict(fit.kwargs),
    )
    losses = history.history.get("loss", [])
    return {"epochs_run": len(losses), "final_loss": float(losses[-1]) if losses else None,
            "stopped_early": (len(losses) < fit.epochs) if fit.patience is not None else None}

"""Train and run a model the way its framework expects.

* scikit-learn (and anything with ``fit(X, y)``, XGBoost and LightGBM included): ``model.fit``
  with the spec's extra ``fit`` keywords;
* PyTorch: a small built-in loop in the model's own dtype (features are converted to it, so
  ``data.dtype`` changes what a scikit-learn model stores, not a network) — seeded shuffling,
  ``epochs``, ``batch_size``, optimizer (adam, adamw, sgd, rmsprop), cross-entropy or MSE,
  early stopping on a held-back validation split that restores the best weights;
* Keras (Keras 3 or tf_keras): ``compile`` (when the model is not compiled yet) and ``fit``
  with ``EarlyStopping(restore_best_weights=True)`` when ``patience`` is set.

The trial seeds every framework's global generator before the model is built; this module
seeds its own shuffling from the same seed, so a trial's numbers depend on its spec only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core import optional
from ..core.errors import UnsupportedObjectError, option_error
from .config import FitConfig
from .datasets import Data


@dataclass(frozen=True)
class TrainInfo:
    """What training did besides changing the weights (``None``: not applicable)."""

    epochs_run: int | None = None
    final_loss: float | None = None
    stopped_early: bool | None = None


def framework(model: Any) -> str:
    """``keras``, ``torch`` or ``sklearn`` (any object with ``fit``), without importing a framework."""
    for name in ("keras", "tf_keras"):
        module = optional.loaded(name)
        layer = getattr(module, "Layer", None) if module is not None else None
        if isinstance(layer, type) and isinstance(model, layer):
            return "keras"
    torch = optional.loaded("torch")
    if torch is not None and isinstance(model, torch.nn.Module):
        return "torch"
    if callable(getattr(model, "fit", None)):
        return "sklearn"
    raise UnsupportedObjectError(
        f"A sweep trains scikit-learn-style estimators (with fit), PyTorch modules and Keras models. "
        f"The factory returned a {type(model).__name__}."
    )


def train(model: Any, data: Data, fit: FitConfig, seed: int) -> tuple[Any, TrainInfo]:
    """Train ``model`` on ``data``'s training split; returns the trained model and what happened."""
    kind = framework(model)
    if kind == "torch":
        return model, _train_torch(model, data, fit, seed)
    if kind == "keras":
        return model, _train_keras(model, data, fit)
    model.fit(data.X_train, data.y_train, **dict(fit.kwargs))
    return model, TrainInfo()


def predictor(model: Any, task: str) -> Callable[[np.ndarray], np.ndarray]:
    """A function that predicts labels (classification) or values for rows of features."""
    kind = framework(model)
    if kind == "torch":
        import torch

        param = next(iter(model.parameters()), None)
        dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32

        def torch_predict(X: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                out = model(torch.tensor(np.asarray(X), dtype=dtype))
            return _decode(out.float().numpy(), task)

        return torch_predict
    if kind == "keras":

        def keras_predict(X: np.ndarray) -> np.ndarray:
            out = model(np.asarray(X), training=False)
            return _decode(np.asarray(out.numpy() if hasattr(out, "numpy") else out), task)

        return keras_predict
    return lambda X: np.asarray(model.predict(X))


def _decode(out: np.ndarray, task: str) -> np.ndarray:
    if task == "classification" and out.ndim == 2 and out.shape[1] > 1:
        return out.argmax(axis=1)
    if task == "classification":
        return (out.reshape(len(out)) > (0.5 if out.min() >= 0 else 0.0)).astype(np.int64)
    return out.reshape(len(out), -1)[:, 0] if out.ndim > 1 and out.shape[1] == 1 else out


# ---------------------------------------------------------------------------- PyTorch


def _torch_optimizer(torch: Any, params: Any, fit: FitConfig) -> Any:
    optim = torch.optim
    if fit.optimizer == "sgd":
        return optim.SGD(params, lr=fit.lr, momentum=fit.momentum, weight_decay=fit.weight_decay)
    cls = {"adam": optim.Adam, "adamw": optim.AdamW, "rmsprop": optim.RMSprop}[fit.optimizer]
    return cls(params, lr=fit.lr, weight_decay=fit.weight_decay)


def _torch_loss(torch: Any, fit: FitConfig, task: str) -> Any:
    name = fit.loss if fit.loss != "auto" else ("cross_entropy" if task == "classification" else "mse")
    losses = {"cross_entropy": torch.nn.CrossEntropyLoss, "mse": torch.nn.MSELoss, "l1": torch.nn.L1Loss,
              "huber": torch.nn.HuberLoss}
    if name not in losses:
        raise option_error("fit.loss", "'auto' or one of " + ", ".join(losses), fit.loss)
    return losses[name]()


def _train_torch(model: Any, data: Data, fit: FitConfig, seed: int) -> TrainInfo:
    import torch

    param = next(iter(model.parameters()), None)
    dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32
    X = torch.tensor(np.asarray(data.X_train), dtype=dtype)
    if data.task == "classification":
        y = torch.tensor(np.asarray(data.y_train), dtype=torch.long)
    else:
        y = torch.tensor(np.asarray(data.y_train), dtype=dtype).reshape(-1, 1)
    generator = torch.Generator().manual_seed(seed)
    X_val = y_val = None
    if fit.patience is not None and len(X) > 1:
        order = torch.randperm(len(X), generator=generator)
        n_val = min(len(X) - 1, max(1, int(round(fit.validation_fraction * len(X)))))
        X_val, y_val = X[order[:n_val]], y[order[:n_val]]
        X, y = X[order[n_val:]], y[order[n_val:]]
    optimizer = _torch_optimizer(torch, model.parameters(), fit)
    loss_fn = _torch_loss(torch, fit, data.task)
    best, best_state, bad, epochs, last, stopped = float("inf"), None, 0, 0, None, False
    for _ in range(fit.epochs):
        model.train()
        order = torch.randperm(len(X), generator=generator)
        for start in range(0, len(X), fit.batch_size):
            idx = order[start:start + fit.batch_size]
            optimizer.zero_grad()
            loss = loss_fn(model(X[idx]), y[idx])
            loss.backward()
            optimizer.step()
            last = float(loss.detach())
        epochs += 1
        if X_val is not None:
            model.eval()
            with torch.no_grad():
                val = float(loss_fn(model(X_val), y_val))
            if val < best:
                best, bad = val, 0
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                bad += 1
                if bad >= int(fit.patience or 0):
                    stopped = True
                    break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return TrainInfo(epochs_run=epochs, final_loss=last, stopped_early=stopped if X_val is not None else None)


# ---------------------------------------------------------------------------- Keras


def _keras_module(model: Any) -> Any:
    for name in ("keras", "tf_keras"):
        module = optional.loaded(name)
        layer = getattr(module, "Layer", None) if module is not None else None
        if isinstance(layer, type) and isinstance(model, layer):
            return module
    raise UnsupportedObjectError(f"Not a Keras model: {type(model).__name__}.")  # pragma: no cover


def _train_keras(model: Any, data: Data, fit: FitConfig) -> TrainInfo:
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
    return TrainInfo(epochs_run=len(losses), final_loss=float(losses[-1]) if losses else None,
                     stopped_early=(len(losses) < fit.epochs) if fit.patience is not None else None)

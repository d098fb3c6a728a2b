"""Built-in model factories whose size is driven by plain numeric arguments.

Sweeps vary constructor arguments, and a law needs a number on the x-axis: ``width=64`` is a
factor, ``hidden_layer_sizes=(64, 64)`` is not. These factories expose the usual knobs of a
network (width, depth, filters, dropout) as numbers. Arguments named ``n_features``,
``n_outputs`` and ``input_shape`` are filled by the sweep from its data.
"""

from __future__ import annotations

from typing import Any

from ..core.errors import option_error
from ..core.optional import require


def _check(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise option_error(name, f"an integer >= {low}", value)
    return value


def mlp(n_features: int, n_outputs: int, width: int = 64, depth: int = 2, dropout: float = 0.0,
        activation: str = "relu") -> Any:
    """A PyTorch MLP: ``depth`` hidden layers of ``width`` units (parameters grow as width²)."""
    torch = require("torch", "build the PyTorch MLP")
    nn = torch.nn
    _check("width", width, 1)
    _check("depth", depth, 0)
    act = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU}.get(activation)
    if act is None:
        raise option_error("activation", "one of 'relu', 'tanh', 'gelu'", activation)
    layers: list[Any] = []
    fan_in = n_features
    for _ in range(depth):
        layers += [nn.Linear(fan_in, width), act()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        fan_in = width
    layers.append(nn.Linear(fan_in, n_outputs))
    return nn.Sequential(*layers)


def cnn(input_shape: tuple[int, int], n_outputs: int, filters: int = 8, layers: int = 2, kernel: int = 3,
        pool: bool = True, dropout: float = 0.0) -> Any:
    """A small PyTorch CNN on flattened grey images: conv blocks, Flatten, one Linear.

    The conv layers' parameters depend on ``filters`` and ``kernel`` only; the Linear after
    ``Flatten`` grows with the input resolution — the point of a resolution sweep.
    """
    torch = require("torch", "build the PyTorch CNN")
    nn = torch.nn
    if input_shape is None:
        raise option_error("input_shape", "an image shape (the dataset must be digits or mnist)", input_shape)
    _check("filters", filters, 1)
    _check("layers", layers, 1)
    _check("kernel", kernel, 1)
    h, w = int(input_shape[0]), int(input_shape[1])
    blocks: list[Any] = [nn.Unflatten(1, (1, h, w))]
    channels = 1
    for _ in range(layers):
        blocks += [nn.Conv2d(channels, filters, kernel, padding=kernel // 2), nn.ReLU()]
        channels = filters
        if pool and min(h, w) >= 2:
            blocks.append(nn.MaxPool2d(2))
            h, w = h // 2, w // 2
    if dropout:
        blocks.append(nn.Dropout(dropout))
    blocks += [nn.Flatten(), nn.Linear(channels * h * w, n_outputs)]
    return nn.Sequential(*blocks)


def keras_mlp(n_features: int, n_outputs: int, width: int = 64, depth: int = 2, dropout: float = 0.0) -> Any:
    """A Keras MLP (softmax output for classification, linear for one output)."""
    keras = require("keras", "build the Keras MLP")
    _check("width", width, 1)
    _check("depth", depth, 0)
    layers: list[Any] = [keras.Input((n_features,))]
    for _ in range(depth):
        layers.append(keras.layers.Dense(width, activation="relu"))
        if dropout:
            layers.append(keras.layers.Dropout(dropout))
    layers.append(keras.layers.Dense(n_outputs, activation="softmax" if n_outputs > 1 else None))
    return keras.Sequential(layers)


def sklearn_mlp(width: int = 64, depth: int = 2, task: str = "classification", random_state: int | None = None,
                **kwargs: Any) -> Any:
    """scikit-learn's MLP with ``depth`` hidden layers of ``width`` units (other arguments passed on)."""
    nn = require("sklearn.neural_network", "build the scikit-learn MLP")
    _check("width", width, 1)
    _check("depth", depth, 1)
    cls = nn.MLPClassifier if task == "classification" else nn.MLPRegressor
    return cls(hidden_layer_sizes=(width,) * depth, random_state=random_state, **kwargs)

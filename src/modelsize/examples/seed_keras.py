"""The seed article's Keras models, built on demand (never downloaded, never trained).

Factories, usable as CLI targets (``modelsize inspect modelsize.examples.seed_keras:seed_cnn``).
Keras is imported only when a model is built; each call returns a new, built model.

=====================  =============================================================  ==========
factory                layers                                                         parameters
=====================  =============================================================  ==========
``seed_cnn``           Conv2D(32, 3×3) on 28×28×1, MaxPool, Conv2D(64, 3×3), MaxPool,  121,930
                       Flatten, Dense(64), Dense(10)
``seed_dropout_mlp``   Dense(128) on 784, Dropout(0.5), Dense(10)                      101,770
=====================  =============================================================  ==========
"""

from __future__ import annotations

from typing import Any

from ..core.optional import require


def seed_cnn() -> Any:
    """The article's small CNN for 28×28 grey images (121,930 parameters)."""
    keras = require("keras", "build the seed article's Keras models")
    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(32, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Conv2D(64, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Flatten(),
            layers.Dense(64, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ],
        name="seed_cnn",
    )


def seed_dropout_mlp() -> Any:
    """The article's Dense + Dropout model on flattened 28×28 inputs (101,770 parameters)."""
    keras = require("keras", "build the seed article's Keras models")
    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input((784,)),
            layers.Dense(128, activation="relu"),
            layers.Dropout(0.5),
            layers.Dense(10, activation="softmax"),
        ],
        name="seed_dropout_mlp",
    )

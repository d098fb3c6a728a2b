"""Accuracy (or a user's metric) on evaluation data, for any framework.

A metric is ``metric(y_true, scores) -> float`` on NumPy arrays (``scores``: the model's
outputs, one row per sample, from the backend's ``predict``); the default is top-1 accuracy.
Framework-specific prediction and timing live in each backend's subpackage
(PyTorch's in :mod:`modelsize.shrink.torch.evaluate`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.errors import OptionError
from .data import Split

if TYPE_CHECKING:  # pragma: no cover
    from .protocols import Backend, Metric

#: Samples per forward pass when scoring. Fixed and documented because dynamically quantized
#: models pick their activation scales per batch, so their outputs depend on the batching.
EVAL_BATCH = 256


def accuracy(y_true: np.ndarray, scores: np.ndarray) -> float:
    """Top-1 accuracy: the share of samples whose highest score is the true class."""
    return float(np.mean(np.argmax(scores, axis=1) == np.asarray(y_true)))


def score(backend: "Backend", model: Any, split: Split, metric: "Metric | None" = None) -> float:
    """``metric`` (default :func:`accuracy`) of ``model`` on ``split``."""
    scores = backend.predict(model, split.X)
    value = (metric or accuracy)(split.y, scores)
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not np.isfinite(value):
        raise OptionError(f"The 'metric' option must be a function returning a finite number. Got {value!r}.")
    return float(value)


def decode_outputs(out: "np.ndarray", task: str) -> "np.ndarray":
    """A network's outputs as sweep targets: class labels (argmax over columns; one column or a
    vector thresholded at 0.5 for probabilities, 0 for logits) or regression values."""
    if task == "classification" and out.ndim == 2 and out.shape[1] > 1:
        return out.argmax(axis=1)
    if task == "classification":
        return (out.reshape(len(out)) > (0.5 if out.min() >= 0 else 0.0)).astype(np.int64)
    return out.reshape(len(out), -1)[:, 0] if out.ndim > 1 and out.shape[1] == 1 else out

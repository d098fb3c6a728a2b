"""Helpers the Keras, scikit-learn, boosting and ONNX shrink backends share.

* :func:`time_calls` — batch-1 latency of any callable, in the same dict shape the PyTorch
  backend returns (``median_ns``, ``p90_ns`` …), so the renderer shows every framework alike;
* :func:`class_scores` — one score column per class label for classical classifiers, so the
  default top-1 accuracy (argmax of the scores == label) means the same thing for a forest, a
  booster and a neural network;
* :func:`choose_within_drop` — the selection rule of every "smallest model within an accuracy
  drop" search here: among candidates scoring at least ``reference − max_drop``, the smallest.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..compute.latency import percentile
from ..core.optional import require


def time_calls(call: Callable[[], Any], runs: int, warmup: int, *, batch: int = 1, threads: int | None = None,
               mode: str = "inference") -> dict[str, Any]:
    """Median / p90 / min / mean wall time of ``call()`` over ``runs`` timed calls after ``warmup``."""
    for _ in range(warmup):
        call()
    times = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        call()
        times.append(time.perf_counter_ns() - start)
    return {
        "median_ns": int(statistics.median(times)), "p90_ns": percentile(times, 90), "min_ns": min(times),
        "mean_ns": int(statistics.fmean(times)), "runs": runs, "warmup": warmup, "batch": batch,
        "threads": threads, "device": "cpu", "mode": mode,
    }


def class_scores(probabilities: np.ndarray, classes: Sequence[Any] | np.ndarray | None) -> np.ndarray:
    """Scores with column ``c`` for integer class label ``c`` (labels are 0..k-1 in our data).

    A classifier's ``predict_proba`` columns follow ``classes_``, which may skip labels (a
    training split without class 3) or be non-integers; this puts each column under its label
    so ``argmax == y`` is top-1 accuracy. Non-integer labels keep the classifier's order.
    """
    probs = np.asarray(probabilities, dtype=np.float32)
    if probs.ndim == 1:
        probs = probs[:, None]
    if classes is None:
        return probs
    labels = np.asarray(classes)
    if labels.dtype.kind not in "iu" or len(labels) != probs.shape[1] or (len(labels) and labels.min() < 0):
        return probs
    if np.array_equal(labels, np.arange(len(labels))):
        return probs
    out = np.zeros((len(probs), int(labels.max()) + 1), dtype=np.float32)
    out[:, labels.astype(np.int64)] = probs
    return out


def binary_to_two_columns(values: np.ndarray) -> np.ndarray:
    """A binary model's ``(n,)`` positive-class probabilities as ``(n, 2)`` class scores."""
    values = np.asarray(values, dtype=np.float32)
    if values.ndim == 1:
        return np.stack([1.0 - values, values], axis=1)
    return values


@dataclass(frozen=True)
class Candidate:
    """One model considered by a search: what it is, its size, and its selection score."""

    label: str
    size: int
    score: float
    params: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "bytes": self.size, "score": self.score, **self.params}


def choose_within_drop(candidates: Sequence[Candidate], reference: float, max_drop_points: float) -> Candidate | None:
    """The smallest candidate scoring at least ``reference − max_drop_points / 100`` (ties: the
    higher score), or ``None`` when none does."""
    floor = reference - max_drop_points / 100.0 - 1e-12
    ok = [c for c in candidates if c.score >= floor]
    if not ok:
        return None
    return min(ok, key=lambda c: (c.size, -c.score))


@contextmanager
def limited_threads(count: int | None, purpose: str) -> Iterator[None]:
    """BLAS/OpenMP pools limited to ``count`` threads (threadpoolctl) inside the block; ``None``: as is."""
    if count is None:
        yield
        return
    threadpoolctl = require("threadpoolctl", purpose)
    with threadpoolctl.threadpool_limits(limits=count):
        yield

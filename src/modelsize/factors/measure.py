"""Measure a trained model: the report's totals, file sizes, held-out score, latency.

Sizes come from :func:`modelsize.inspect` (one Report per trial) and the serializers in
:mod:`modelsize.serialize`, so a sweep's numbers are the numbers ``modelsize inspect`` prints.
"main" formats are the files people usually write for the framework; "all" asks the adapter
for every format it knows (ONNX and TFLite conversions included — slower).
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..core.errors import option_error
from ..core.report import Report
from ..serialize.base import CompressionOptions, FormatSize
from . import refs
from .config import MeasureConfig
from .datasets import Data
from .training import predictor


def report_of(model: Any) -> tuple[Report, Any]:
    """The model's report (no formats yet) and the adapter that made it."""
    from ..adapters.registry import adapter_for

    adapter = adapter_for(model)
    return adapter.to_report(model), adapter


def size_metrics(report: Report) -> dict[str, Any]:
    """Totals every trial records (raw integers; shared storage counted once)."""
    t = report.totals
    return {
        "params": t.params,
        "stored_bytes": t.stored_bytes,
        "param_bytes": t.param_bytes,
        "buffer_bytes": t.buffer_bytes,
        "dense_bytes": t.dense_bytes,
        "data_bytes": t.bytes_by_role.get("data", 0),
        "index_bytes": t.bytes_by_role.get("index", 0),
        "params_nnz": t.params_nnz,
    }


def main_formats(model: Any, adapter: Any, compression: CompressionOptions) -> list[FormatSize]:
    """The framework's usual files: cheap to size, the ones a user would ship."""
    from ..frameworks import hook

    main = hook(getattr(adapter, "name", ""), "main_formats")  # the framework's entry names its usual files
    if main is not None:
        return list(main(model, compression))
    return list(adapter.format_sizes(model, compression))


def format_metrics(rows: list[FormatSize]) -> dict[str, Any]:
    """``format:<label>`` and ``zstd:<label>`` per file, and the first file's as the headline numbers."""
    out: dict[str, Any] = {"serialized_bytes": None, "compressed_bytes": None}
    for row in rows:
        out[f"format:{row.format}"] = row.bytes
        packed = row.compressed.bytes if row.compressed is not None else None
        out[f"zstd:{row.format}"] = packed
        if out["serialized_bytes"] is None and row.bytes is not None:
            out["serialized_bytes"] = row.bytes
            out["compressed_bytes"] = packed
    return out


def formats(model: Any, adapter: Any, config: MeasureConfig) -> dict[str, Any]:
    if config.formats == "none":
        return {}
    compression = CompressionOptions(enabled=config.compress)
    rows = main_formats(model, adapter, compression) if config.formats == "main" else all_formats(model, adapter,
                                                                                                   compression)
    return format_metrics(rows)


def all_formats(model: Any, adapter: Any, compression: CompressionOptions) -> list[FormatSize]:
    """Every format, each written or converted (a sweep fits laws to the numbers: no estimates, even
    where ``inspect`` estimates by default, e.g. Keras's TFLite)."""
    from ..frameworks import can

    if can(getattr(adapter, "name", ""), "exact_formats"):
        return list(adapter.format_sizes(model, compression, exact=True))
    return list(adapter.format_sizes(model, compression))


# ---------------------------------------------------------------------------- score


def scorer(score: Any, task: str) -> Callable[[Any, Data], float]:
    """``score(model, data) -> float`` on the held-out split, for a score name or a user function."""
    if score is not None and (callable(score) or refs.is_ref(score)):
        fn = refs.resolve(score, "score")
        return lambda model, data: float(fn(model, data.X_test, data.y_test))
    name = score or ("accuracy" if task == "classification" else "r2")
    metric = _METRICS.get(name)
    if metric is None:
        raise option_error("score", "one of " + ", ".join(_METRICS), name)

    def apply(model: Any, data: Data) -> float:
        predicted = predictor(model, data.task)(data.X_test)
        return float(metric(np.asarray(data.y_test), np.asarray(predicted)))

    return apply


def _r2(y: np.ndarray, p: np.ndarray) -> float:
    total = float(((y - y.mean()) ** 2).sum())
    return 1.0 - float(((y - p) ** 2).sum()) / total if total else float("nan")


def _sklearn_metric(name: str, **kwargs: Any) -> Callable[[np.ndarray, np.ndarray], float]:
    def metric(y: np.ndarray, p: np.ndarray) -> float:
        from ..core.optional import require

        return float(getattr(require("sklearn.metrics", "score a trial"), name)(y, p, **kwargs))

    return metric


_METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "accuracy": lambda y, p: float(np.mean(y == p)),
    "balanced_accuracy": _sklearn_metric("balanced_accuracy_score"),
    "f1_macro": _sklearn_metric("f1_score", average="macro"),
    "r2": _r2,
    "mse": lambda y, p: float(np.mean((y - p) ** 2)),
    "rmse": lambda y, p: math.sqrt(float(np.mean((y - p) ** 2))),
    "mae": lambda y, p: float(np.mean(np.abs(y - p))),
}


# ---------------------------------------------------------------------------- latency


def latency(model: Any, data: Data, config: MeasureConfig) -> float | None:
    """Median seconds of one prediction on ``latency_batch`` held-out rows (after one warm-up call).

    Stops after ``latency_budget_s`` of timed calls so a slow model does not stall the sweep;
    the median is then over fewer calls.
    """
    if config.latency_runs == 0:
        return None
    predict = predictor(model, data.task)
    batch = np.asarray(data.X_test[: config.latency_batch])
    predict(batch)
    times: list[float] = []
    spent = 0.0
    for _ in range(config.latency_runs):
        start = time.perf_counter()
        predict(batch)
        elapsed = time.perf_counter() - start
        times.append(elapsed)
        spent += elapsed
        if spent > config.latency_budget_s:
            break
    return statistics.median(times)

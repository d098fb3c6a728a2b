"""The ONNX backend of the shrink runner: any ONNX model, run with onnxruntime on the CPU.

A model is an :class:`~.model.OnnxModel`, an ``onnx.ModelProto`` or the path of a
``.onnx`` file (read once per call; nothing in an ONNX file is executable). Measuring reads the
bytes with the ONNX file reader; the only saver is the file itself, so "reload reproduces the
outputs" checks that the bytes written are the model that was scored.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

from ...core.errors import UnsupportedObjectError
from ..classic_common import time_calls
from .model import OnnxModel, OnnxSaver, as_onnx_model

if TYPE_CHECKING:  # pragma: no cover
    from ...core.report import Report
    from ..base import Saver
    from ..data import Split


def onnx_model(obj: Any) -> OnnxModel:
    """``obj`` as an OnnxModel, or our error naming what it is."""
    model = as_onnx_model(obj)
    if model is None:
        raise UnsupportedObjectError(
            f"The ONNX shrink backend works on ONNX models (an onnx.ModelProto, the path of a .onnx file or a "
            f"modelsize OnnxModel). Got {type(obj).__module__}.{type(obj).__qualname__}.")
    return model


class OnnxBackend:
    """:class:`~modelsize.shrink.base.Backend` for ONNX models."""

    name = "onnx"

    def __init__(self) -> None:
        self._threads: int | None = None

    def can_handle(self, model: Any) -> bool:
        return as_onnx_model(model) is not None

    def copy(self, model: Any) -> OnnxModel:
        fresh = onnx_model(model).fresh()
        fresh.threads = self._threads
        return fresh

    def wiped_copy(self, model: Any) -> OnnxModel:
        """No bytes at all: loading must bring the whole model back."""
        return OnnxModel(b"", onnx_model(model).output, "wiped copy", self._threads)

    def predict(self, model: Any, X: np.ndarray) -> np.ndarray:
        return self._ready(model).predict(X)

    def latency_ns(self, model: Any, x: np.ndarray, runs: int, warmup: int) -> dict[str, Any]:
        m = self._ready(model)
        return time_calls(lambda: m.run(x), runs, warmup, batch=len(x), threads=self._threads,
                          mode="onnxruntime CPU")

    def measure(self, model: Any) -> "Report":
        return onnx_model(model).measure()

    def simulated_quantization(self, model: Any) -> dict[str, Any] | None:
        return None  # no fake-quant check for this framework

    def default_savers(self) -> tuple["Saver", ...]:
        return (OnnxSaver(),)

    @contextmanager
    def threads(self, count: int | None) -> Iterator[None]:
        """Sessions created inside use ``count`` intra-op threads (``None``: onnxruntime's default)."""
        previous, self._threads = self._threads, count
        try:
            yield
        finally:
            self._threads = previous

    def fit(self, model: Any, train: "Split", val: "Split | None", epochs: int, seed: int) -> dict[str, Any]:
        raise UnsupportedObjectError("An ONNX model cannot be trained here: train it in its framework, then export it.")

    def _ready(self, model: Any) -> OnnxModel:
        m = onnx_model(model)
        if m.threads != self._threads and m._session is None:
            m.threads = self._threads
        return m

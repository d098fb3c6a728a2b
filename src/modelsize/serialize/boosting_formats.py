"""Serialized sizes of XGBoost and LightGBM models, exact against the files the libraries write.

* XGBoost booster: ``Booster.save_raw("json" | "ubj")`` returns the bytes ``save_model`` writes
  to ``model.json`` / ``model.ubj``. A scikit-learn wrapper (``XGBClassifier``) adds its own
  attributes to the file while saving, so its files are written to a temporary folder and
  measured there.
* LightGBM: ``Booster.model_to_string()`` is the text ``save_model("model.txt")`` writes (same
  iteration selection); its UTF-8 length is the file size.
* pickle and joblib: the counting sink, as for scikit-learn estimators.
* ONNX via onnxmltools: the length of ``SerializeToString()``; models the converter cannot
  handle (categorical splits, some objectives) get ``bytes=None`` and a note.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from typing import Any

from ..core.optional import require
from .base import CompressionOptions, FormatSize
from .boosting_native import booster
from .sink import compressed_bytes
from .sklearn_formats import CONVERSION_ERRORS, joblib_size, pickle_size


def _booster(obj: Any, library: str) -> Any:
    return booster(obj, library)


def xgboost_native_sizes(obj: Any, compression: CompressionOptions) -> list[FormatSize]:
    """``model.json`` and ``model.ubj`` sizes."""
    xgb = require("xgboost", "size XGBoost models")
    rows = []
    if isinstance(obj, xgb.Booster):
        for fmt in ("json", "ubj"):
            data = bytes(obj.save_raw(fmt))
            packed = compressed_bytes(data, compression)
            rows.append(FormatSize(f"xgboost {fmt}", len(data), True, "in-memory bytes", packed))
        return rows
    with tempfile.TemporaryDirectory(prefix="modelsize-") as folder:
        for fmt in ("json", "ubj"):
            path = os.path.join(folder, f"model.{fmt}")
            obj.save_model(path)
            with open(path, "rb") as fh:
                data = fh.read()
            packed = compressed_bytes(data, compression)
            rows.append(FormatSize(f"xgboost {fmt}", len(data), True, "temporary file", packed,
                                   note="written by the scikit-learn wrapper's save_model (includes its attributes)"))
    return rows


def lightgbm_text_size(obj: Any, compression: CompressionOptions) -> FormatSize:
    """``booster.save_model("model.txt")`` size."""
    data = _booster(obj, "lightgbm").model_to_string().encode("utf-8")
    return FormatSize("lightgbm txt", len(data), True, "in-memory bytes", compressed_bytes(data, compression))


def onnx_size(obj: Any, library: str, compression: CompressionOptions) -> FormatSize:
    fmt = "onnx (onnxmltools)"
    try:
        onnxmltools = require("onnxmltools", "size ONNX exports")
        from onnxmltools.convert.common.data_types import FloatTensorType
    except ImportError as exc:
        return FormatSize(fmt, None, False, "not available", note=str(exc))
    native = _booster(obj, library)
    n_features = int(native.num_features() if library == "xgboost" else native.num_feature())
    convert = onnxmltools.convert_xgboost if library == "xgboost" else onnxmltools.convert_lightgbm
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = convert(obj, initial_types=[("input", FloatTensorType([None, n_features]))])
    except CONVERSION_ERRORS as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return FormatSize(fmt, None, False, "not convertible",
                          note=f"onnxmltools cannot convert it: {type(exc).__name__}: {first}"[:300])
    data = model.SerializeToString()
    return FormatSize(fmt, len(data), True, "in-memory bytes", compressed_bytes(data, compression),
                      note=f"input float32 [None, {n_features}]")


def format_sizes(obj: Any, library: str, compression: CompressionOptions) -> list[FormatSize]:
    """Native formats, pickle, joblib and ONNX."""
    native = xgboost_native_sizes(obj, compression) if library == "xgboost" else [lightgbm_text_size(obj, compression)]
    return [*native, pickle_size(obj, compression), joblib_size(obj, compression), onnx_size(obj, library, compression)]

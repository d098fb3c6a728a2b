"""Serialized sizes of a fitted scikit-learn estimator, computed without writing files.

* pickle (protocol 5) and ``joblib.dump`` (plain and ``compress=3``) are written into a
  :class:`~.sink.CountingSink`: the count is the file's size to the byte, because the writer is
  the same code that writes a file (``joblib.dump`` takes a file object and, for a file object
  at position 0, writes exactly what it writes to a filename — alignment padding included,
  which is why the sink keeps ``tell()``);
* skops: ``skops.io.dumps`` returns the same zip archive ``skops.io.dump`` writes;
* ONNX via skl2onnx: the length of ``SerializeToString()``, which is what ``onnx.save`` writes.
  Estimators skl2onnx cannot convert get ``bytes=None`` and a note saying why.

Compressed sizes are zstd over the full serialized stream (exact), except for
``joblib compress=3``, which is already compressed.
"""

from __future__ import annotations

import pickle
import warnings
from typing import Any

from ..core.optional import require
from .base import CompressionOptions, FormatSize
from .sink import compressed_bytes, counted

#: Pickle protocol used for the "pickle" row: 5 is Python's default since 3.8.
PICKLE_PROTOCOL = 5
#: joblib's documented "good compromise" compression level.
JOBLIB_COMPRESS = 3
#: Errors converters raise for estimators or options they do not support.
CONVERSION_ERRORS = (RuntimeError, NotImplementedError, TypeError, ValueError, KeyError, AttributeError)


def pickle_size(obj: Any, compression: CompressionOptions) -> FormatSize:
    size, packed = counted(lambda f: pickle.dump(obj, f, protocol=PICKLE_PROTOCOL), compression)
    return FormatSize(f"pickle (protocol {PICKLE_PROTOCOL})", size, True, "counting sink", packed)


def joblib_size(obj: Any, compression: CompressionOptions) -> FormatSize:
    joblib = require("joblib", "size joblib files")
    size, packed = counted(lambda f: joblib.dump(obj, f), compression)
    return FormatSize("joblib", size, True, "counting sink", packed)


def joblib_compressed_size(obj: Any) -> FormatSize:
    joblib = require("joblib", "size joblib files")
    size, _ = counted(lambda f: joblib.dump(obj, f, compress=JOBLIB_COMPRESS), CompressionOptions(enabled=False))
    return FormatSize(f"joblib (compress={JOBLIB_COMPRESS})", size, True, "counting sink",
                      note="zlib level 3 inside joblib; not compressed again")


def skops_size(obj: Any, compression: CompressionOptions) -> FormatSize:
    fmt = "skops"
    try:
        sio = require("skops.io", "size skops files")
    except ImportError as exc:
        return FormatSize(fmt, None, False, "not available", note=str(exc))
    try:
        data = sio.dumps(obj)
    except CONVERSION_ERRORS as exc:
        return FormatSize(fmt, None, False, "not available",
                          note=f"skops cannot save this estimator: {type(exc).__name__}: {exc}")
    return FormatSize(fmt, len(data), True, "in-memory bytes", compressed_bytes(data, compression))


def onnx_size(obj: Any, compression: CompressionOptions) -> FormatSize:
    fmt = "onnx (skl2onnx)"
    try:
        skl2onnx = require("skl2onnx", "size ONNX exports")
        from skl2onnx.common.data_types import FloatTensorType
    except ImportError as exc:
        return FormatSize(fmt, None, False, "not available", note=str(exc))
    n_features = getattr(obj, "n_features_in_", None)
    if not isinstance(n_features, int):
        return FormatSize(fmt, None, False, "not available",
                          note="the estimator has no integer n_features_in_, so the ONNX input shape is unknown")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = skl2onnx.convert_sklearn(obj, initial_types=[("X", FloatTensorType([None, n_features]))])
    except CONVERSION_ERRORS as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return FormatSize(fmt, None, False, "not convertible",
                          note=f"skl2onnx cannot convert it: {type(exc).__name__}: {first_line}"[:300])
    data = model.SerializeToString()
    return FormatSize(fmt, len(data), True, "in-memory bytes", compressed_bytes(data, compression),
                      note=f"input float32 [None, {n_features}]")


def format_sizes(obj: Any, compression: CompressionOptions) -> list[FormatSize]:
    """Every format a fitted estimator can be saved in, with exact sizes where possible."""
    return [
        pickle_size(obj, compression),
        joblib_size(obj, compression),
        joblib_compressed_size(obj),
        skops_size(obj, compression),
        onnx_size(obj, compression),
    ]

"""Serialized sizes of a Keras model: ``.keras``, ``.weights.h5`` and TFLite float32.

How each number is obtained, and why it is exact:

* ``.keras`` (Keras 3): Keras's own ``saving_lib.save_model`` writes the zip archive into an
  in-memory buffer; ``model.save(path)`` runs the same function on an open file. The archive is
  stored uncompressed and its only time-dependent field (``date_saved``) has a fixed width, so
  the byte count is the file's size. A zip writer seeks back to patch headers, so the buffer is
  a ``BytesIO``, not a counting sink.
* ``.weights.h5`` and tf_keras's ``.keras``: written to a temporary file that is deleted
  afterwards. HDF5 lays a file out differently in memory than on disk (an in-memory
  ``.weights.h5`` measured 216 bytes smaller than the file for the seed CNN), so only a real
  file gives the real size.
* TFLite float32, on request (``exact=True``; CLI ``--exact-formats``): the length of
  ``TFLiteConverter.convert()``'s output, which is the ``.tflite`` file's content — exact by
  construction. It needs TensorFlow (Keras 3 on the TensorFlow backend, or tf_keras); otherwise
  the size is missing with a note. Converting costs seconds to minutes (NASNetMobile: ~96 s),
  so by default the size is an estimate with its bound (:func:`tflite_estimate`), made from
  the weights without converting.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import warnings
from dataclasses import replace
from typing import Any, Callable

from ..core.optional import require
from .base import CompressedSize, CompressionOptions, FormatSize
from .sink import compressed_bytes, written_size

#: Errors TensorFlow's converter and Keras savers raise for models they cannot handle.
CONVERSION_ERRORS = (RuntimeError, NotImplementedError, TypeError, ValueError, KeyError, AttributeError, OSError)


def _quiet(call: Callable[[], Any]) -> Any:
    """Run a Keras/TF call that prints progress to stdout (stdout is data for our CLI)."""
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return call()


def _file_size(write: Callable[[str], Any], filename: str, compression: CompressionOptions) -> tuple[int, Any]:
    """Write with ``write(path)`` into a temporary folder; return (size, compressed size)."""
    with tempfile.TemporaryDirectory(prefix="modelsize-") as folder:
        path = os.path.join(folder, filename)
        _quiet(lambda: write(path))
        with open(path, "rb") as fh:
            data = fh.read()
    return len(data), compressed_bytes(data, compression)


#: A .keras archive stores its save time (metadata.json "date_saved", 19 characters), so two saves
#: of one model differ in those bytes: the file size is fixed, its compressed size can move by a
#: few bytes. This allowance covers any change of those characters.
TIMESTAMP_ALLOWANCE = 32


def _timestamped(packed: CompressedSize | None) -> CompressedSize | None:
    """The compressed size of an archive that embeds its save time: an estimate with its bound."""
    if packed is None or not packed.bytes:
        return packed
    return replace(packed, exact=False, error_bound=TIMESTAMP_ALLOWANCE / packed.bytes)


def keras_archive_size(model: Any, flavor: Any, compression: CompressionOptions) -> FormatSize:
    """Size of ``model.save("model.keras")`` (exact); its compressed size varies with the save time."""
    fmt = ".keras"
    note = "the archive embeds its save time, so its compressed size varies by a few bytes between saves"
    try:
        if flavor.name == "keras3":
            from keras.src.saving import saving_lib

            size, packed = written_size(lambda f: _quiet(lambda: saving_lib.save_model(model, f)), compression)
            return FormatSize(fmt, size, True, "in-memory buffer", _timestamped(packed), note if packed else None)
        size, packed = _file_size(model.save, "model.keras", compression)
        return FormatSize(fmt, size, True, "temporary file", _timestamped(packed), note if packed else None)
    except CONVERSION_ERRORS as exc:
        return FormatSize(fmt, None, False, "not available", note=f"saving failed: {type(exc).__name__}: {exc}"[:300])


def weights_h5_size(model: Any, compression: CompressionOptions) -> FormatSize:
    """Size of ``model.save_weights("model.weights.h5")``."""
    fmt = ".weights.h5"
    try:
        size, packed = _file_size(model.save_weights, "model.weights.h5", compression)
    except CONVERSION_ERRORS as exc:
        return FormatSize(fmt, None, False, "not available", note=f"saving failed: {type(exc).__name__}: {exc}"[:300])
    return FormatSize(fmt, size, True, "temporary file", packed)


def tflite_size(model: Any, flavor: Any, compression: CompressionOptions) -> FormatSize:
    """Size of the float32 TFLite flatbuffer (no optimizations)."""
    fmt = "tflite (float32)"
    if flavor.name == "keras3" and flavor.module.backend.backend() != "tensorflow":
        return FormatSize(fmt, None, False, "not available",
                          note=f"TFLite conversion needs the TensorFlow backend; this model runs on "
                               f"{flavor.module.backend.backend()}")
    try:
        tf = require("tensorflow", "convert to TFLite")
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
        data = _quiet(converter.convert)
    except ImportError as exc:
        return FormatSize(fmt, None, False, "not available", note=str(exc))
    except CONVERSION_ERRORS as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return FormatSize(fmt, None, False, "not convertible", note=f"{type(exc).__name__}: {first}"[:300])
    return FormatSize(fmt, len(data), True, "converter output", compressed_bytes(data, compression))


#: The float32 flatbuffer beyond its weights, at most: a fixed part (header, schema version,
#: signature, metadata, runtime version) and a part per layer (its operators, their tensors and
#: names, the shape/permutation constants a layer lowers to). Calibrated on real conversions
#: (conversions of Keras layer mixes and keras.applications models, tests/serialize): the most
#: seen was ~1 KiB fixed and ~900 bytes per layer (MultiHeadAttention and LayerNormalization
#: lower to a dozen operators each); the bound allows four times that.
TFLITE_FIXED_BOUND = 4096
TFLITE_LAYER_BOUND = 4096
#: typical graph bytes, for the point estimate: fixed and per layer
_TFLITE_FIXED_TYPICAL = 1024
_TFLITE_LAYER_TYPICAL = 384
#: layers the converter folds into the operator before them at inference (their weights may vanish)
_FOLDABLE = ("BatchNormalization",)
#: layers the default converter (builtin ops only) often rejects: said in the estimate's note
_RNN = ("LSTM", "GRU", "SimpleRNN", "RNN", "Bidirectional", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D")


def _weight_stats(model: Any) -> tuple[int, int, int, int, list[str]]:
    """(weight bytes, foldable bytes, bytes of weights equal to an earlier one, layers, RNN layer types)."""
    import numpy as np

    layers = [layer for layer in model._flatten_layers(include_self=False)]
    foldable_ids = {id(w) for layer in layers if type(layer).__name__ in _FOLDABLE for w in layer.weights}
    total = foldable = duplicate = 0
    seen_ids: set[int] = set()
    seen_values: set[tuple[Any, ...]] = set()
    for weight in model.weights:
        if id(weight) in seen_ids:
            continue
        seen_ids.add(id(weight))
        value = np.asarray(weight.numpy() if hasattr(weight, "numpy") else weight)
        nbytes = int(value.nbytes)
        total += nbytes
        key = (value.shape, value.dtype.str, hash(value.tobytes()))
        if id(weight) in foldable_ids:
            foldable += nbytes
        elif key in seen_values:
            duplicate += nbytes  # equal constants may be merged into one buffer
        seen_values.add(key)
    rnn = sorted({type(layer).__name__ for layer in layers if type(layer).__name__ in _RNN})
    return total, foldable, duplicate, len(layers), rnn


def tflite_estimate(model: Any, flavor: Any) -> FormatSize:
    """The float32 TFLite size without converting: an estimate with its bound.

    The flatbuffer holds each constant once, in float32, plus the graph. Low: the weights' bytes
    less those the converter may fold away (BatchNormalization into the convolution before it)
    or merge (weights equal in shape and value, e.g. zero biases of an untrained model). High: the
    weights plus :data:`TFLITE_FIXED_BOUND` and :data:`TFLITE_LAYER_BOUND` per layer.
    """
    fmt = "tflite (float32)"
    if flavor.name == "keras3" and flavor.module.backend.backend() != "tensorflow":
        return FormatSize(fmt, None, False, "not available",
                          note=f"TFLite conversion needs the TensorFlow backend; this model runs on "
                               f"{flavor.module.backend.backend()}")
    weights, foldable, duplicate, layers, rnn = _weight_stats(model)
    low = max(weights - foldable - duplicate, 0)
    high = weights + TFLITE_FIXED_BOUND + TFLITE_LAYER_BOUND * layers
    point = weights - (3 * foldable) // 4 + _TFLITE_FIXED_TYPICAL + _TFLITE_LAYER_TYPICAL * layers
    point = min(max(point, low), high)
    note = (f"estimated without converting: between {low:,} and {high:,} bytes (the weights, less what the "
            f"converter may fold or merge, plus at most {TFLITE_FIXED_BOUND:,} + {TFLITE_LAYER_BOUND:,} bytes "
            "per layer of graph); --exact-formats runs the converter")
    if rnn:
        note += f". The model has {', '.join(rnn)} layers, which the converter's builtin ops may reject"
    return FormatSize(fmt, point, False, "weights + graph bound", None, note, (low, high))


def format_sizes(model: Any, flavor: Any, compression: CompressionOptions, exact: bool = False) -> list[FormatSize]:
    """Every format a built Keras model is commonly saved in. TFLite is converted only when
    ``exact`` (the converter takes seconds to minutes); otherwise it is :func:`tflite_estimate`."""
    return [
        keras_archive_size(model, flavor, compression),
        weights_h5_size(model, compression),
        tflite_size(model, flavor, compression) if exact else tflite_estimate(model, flavor),
    ]

"""Keras serialized sizes equal the files Keras and TensorFlow write."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
keras = pytest.importorskip("keras")
zstd = pytest.importorskip("zstandard")

import modelsize  # noqa: E402
from modelsize.adapters.keras_tree import Flavor  # noqa: E402
from modelsize.examples.seed_keras import seed_cnn  # noqa: E402
from modelsize.serialize import keras_formats as kf  # noqa: E402
from modelsize.serialize.base import CompressionOptions  # noqa: E402
from modelsize.testing import check_report  # noqa: E402

ON = CompressionOptions()
FLAVOR = Flavor("keras3", keras)


@pytest.fixture(scope="module")
def cnn():
    model = seed_cnn()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(np.zeros((2, 28, 28, 1)), np.zeros((2,)), verbose=0)  # optimizer slots exist now
    return model


def zstd_size(data: bytes) -> int:
    """The project's reference: a zstd frame told the content size, as the zstd tool writes it."""
    cobj = zstd.ZstdCompressor(level=3).compressobj(size=len(data))
    return len(cobj.compress(data)) + len(cobj.flush())


def test_keras_archive_size_equals_model_save(cnn, tmp_path):
    predicted = kf.keras_archive_size(cnn, FLAVOR, ON)
    path = tmp_path / "model.keras"
    cnn.save(path)
    assert predicted.exact and predicted.method == "in-memory buffer"
    assert predicted.bytes == path.stat().st_size
    # metadata.json records the save time, so the compressed size is an estimate with a bound.
    packed = predicted.compressed
    assert not packed.exact and packed.error_bound == pytest.approx(kf.TIMESTAMP_ALLOWANCE / packed.bytes, rel=1e-2)
    actual = zstd_size(path.read_bytes())
    assert abs(packed.bytes - actual) <= packed.error_bound * actual + 1e-9
    # The archive holds the optimizer slots too: more than weights alone.
    assert predicted.bytes > kf.weights_h5_size(cnn, ON).bytes


def test_weights_h5_size_equals_save_weights(cnn, tmp_path):
    predicted = kf.weights_h5_size(cnn, ON)
    path = tmp_path / "model.weights.h5"
    cnn.save_weights(path)
    assert predicted.exact and predicted.bytes == path.stat().st_size
    assert predicted.compressed.bytes == zstd_size(path.read_bytes())


def test_tflite_size_is_the_converter_output(cnn, tmp_path):
    import tensorflow as tf

    predicted = kf.tflite_size(cnn, FLAVOR, ON)
    data = tf.lite.TFLiteConverter.from_keras_model(cnn).convert()
    path = tmp_path / "model.tflite"
    path.write_bytes(data)
    assert predicted.exact and predicted.bytes == path.stat().st_size
    # float32 weights dominate: about 4 bytes per parameter plus the graph.
    assert 4 * cnn.count_params() < predicted.bytes < 4 * cnn.count_params() * 1.1


def test_measuring_formats_changes_nothing_and_prints_nothing(cnn, capsys):
    before = [keras.ops.convert_to_numpy(v).copy() for v in cnn.variables]
    optimizer_before = [keras.ops.convert_to_numpy(v).copy() for v in cnn.optimizer.variables]
    rep = modelsize.inspect(cnn)
    check_report(rep)
    assert capsys.readouterr().out == ""  # stdout is data for the CLI: TF's progress must not leak
    after = [keras.ops.convert_to_numpy(v) for v in cnn.variables]
    assert all(np.array_equal(a, b) for a, b in zip(before, after)) and len(before) == len(after)
    optimizer_after = [keras.ops.convert_to_numpy(v) for v in cnn.optimizer.variables]
    assert all(np.array_equal(a, b) for a, b in zip(optimizer_before, optimizer_after))
    assert [f.format for f in rep.sections["formats"]] == [".keras", ".weights.h5", "tflite (float32)"]
    assert all(f.bytes and f.exact for f in rep.sections["formats"])

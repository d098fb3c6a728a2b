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
    archive, weights, tflite = rep.sections["formats"]
    assert archive.exact and weights.exact and archive.bytes and weights.bytes
    # TFLite is not converted by default: an estimate with its bound, said in the note.
    assert not tflite.exact and tflite.bounds is not None and tflite.compressed is None
    low, high = tflite.bounds
    assert low <= tflite.bytes <= high and "--exact-formats" in tflite.note
    assert tflite.to_dict()["bounds"] == {"low": low, "high": high}


# ---------------------------------------------------------------- TFLite: estimate by default, converted on request


def _mlp():
    L = keras.layers
    return keras.Sequential([keras.Input((20,)), L.Dense(64, activation="relu"), L.Dense(10)])


def _branches():
    """Functional: depthwise + BatchNorm (folded by the converter), a residual add, a transposed conv."""
    L = keras.layers
    inp = keras.Input((16, 16, 3))
    x = L.Conv2D(8, 3, padding="same")(inp)
    y = L.BatchNormalization()(L.DepthwiseConv2D(3, padding="same")(x))
    x = L.Conv2DTranspose(4, 2, strides=2)(L.Add()([x, y]))
    return keras.Model(inp, L.Dense(2, activation="softmax")(L.GlobalMaxPooling2D()(x)))


def _attention():
    """MultiHeadAttention and LayerNormalization: each lowers to a dozen operators (the most graph per layer)."""
    L = keras.layers
    inp = keras.Input((10, 16))
    x = L.LayerNormalization()(L.MultiHeadAttention(2, 8)(inp, inp))
    return keras.Model(inp, L.Dense(4)(x))


def _mobilenet():
    """A keras.applications model without downloaded weights (conv + BatchNorm blocks: weights folded)."""
    return keras.applications.MobileNet(alpha=0.25, weights=None, input_shape=(32, 32, 3), classes=10)


class _CountingConverter:
    """Counts ``TFLiteConverter.from_keras_model`` calls, then converts as TensorFlow does."""

    def __init__(self, monkeypatch):
        import tensorflow as tf

        self.calls = 0
        self.outputs: list[bytes] = []
        real = tf.lite.TFLiteConverter.from_keras_model

        def counted(model):
            self.calls += 1
            converter = real(model)
            convert = converter.convert
            converter.convert = lambda: self.outputs.append(convert()) or self.outputs[-1]
            return converter

        monkeypatch.setattr(tf.lite.TFLiteConverter, "from_keras_model", staticmethod(counted))


@pytest.mark.parametrize("build", [_mlp, seed_cnn, _branches, _attention, _mobilenet],
                         ids=["mlp", "seed_cnn", "branches", "attention", "mobilenet"])
def test_default_inspect_estimates_tflite_and_exact_formats_converts_inside_the_bound(build, monkeypatch):
    model = build()
    counter = _CountingConverter(monkeypatch)
    default = {f.format: f for f in modelsize.inspect(model).sections["formats"]}
    assert counter.calls == 0  # the default never runs the converter
    estimate = default["tflite (float32)"]
    assert not estimate.exact and estimate.method == "weights + graph bound"
    exact = {f.format: f for f in modelsize.inspect(model, exact_formats=True).sections["formats"]}
    assert counter.calls == 1
    converted = exact["tflite (float32)"]
    # the converter's output is the .tflite file's content (test_tflite_size_is_the_converter_output)
    assert converted.exact and converted.bounds is None and converted.bytes == len(counter.outputs[0])
    low, high = estimate.bounds
    assert low <= converted.bytes <= high, (low, converted.bytes, high)
    # the other formats are written either way, so they agree to the byte
    assert default[".weights.h5"].bytes == exact[".weights.h5"].bytes and default[".weights.h5"].exact


def test_estimate_bound_allows_for_folded_and_merged_weights():
    """An untrained model's zero biases of one shape are equal constants: the low end allows merging them."""
    L = keras.layers
    model = keras.Sequential([keras.Input((8,)), L.Dense(8), L.Dense(8), L.BatchNormalization()])
    estimate = kf.tflite_estimate(model, FLAVOR)
    weights = sum(int(np.prod(w.shape)) * 4 for w in model.weights)
    bn = 4 * 8 * 4
    low, high = estimate.bounds
    assert low == weights - bn - 8 * 4  # second zero bias merged with the first; BatchNorm folded
    assert high == weights + kf.TFLITE_FIXED_BOUND + kf.TFLITE_LAYER_BOUND * 4  # 3 layers and the InputLayer


def test_exact_formats_without_formats_is_refused():
    with pytest.raises(modelsize.OptionError, match="exact_formats"):
        modelsize.inspect(_mlp(), formats=False, exact_formats=True)


def test_sweeps_with_every_format_convert_instead_of_estimating():
    """A sweep fits laws to the sizes (``measure: {formats: all}``): TFLite converted there, never estimated."""
    from modelsize.adapters.keras import KerasAdapter
    from modelsize.factors.measure import all_formats

    rows = {r.format: r for r in all_formats(_mlp(), KerasAdapter(), CompressionOptions(enabled=False))}
    assert rows["tflite (float32)"].exact and rows["tflite (float32)"].method == "converter output"

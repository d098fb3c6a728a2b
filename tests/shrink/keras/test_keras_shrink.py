"""Keras recipes with real training: TFLite conversion scored in the interpreter, tfmot pruning and
clustering (in a tf_keras child process), Keras distillation, and the errors for bad input.

The seed CNN is trained once per module (2 epochs on MNIST-5k). Every size is checked against
the file on disk and every interpreter accuracy is recomputed here with TensorFlow's own
``tf.lite.Interpreter`` on the saved ``.tflite`` file.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")
pytest.importorskip("tensorflow_model_optimization")

from modelsize.core.errors import OptionError  # noqa: E402
from modelsize.examples.seed_keras import seed_cnn  # noqa: E402
from modelsize.shrink import RecipeError, RunOptions, parse_recipe, shrink, shrink_each  # noqa: E402
from modelsize.shrink.data import ShrinkData  # noqa: E402
from modelsize.shrink.keras.distill import KerasDistill  # noqa: E402
from modelsize.shrink.keras.tflite import TFLiteConvert, TFLiteModel  # noqa: E402
from modelsize.shrink.keras.tfmot import TfmotCluster, TfmotPrune  # noqa: E402
from modelsize.shrink.keras.train import fit_classifier  # noqa: E402

FAST = RunOptions(latency_runs=3, latency_warmup=1)


@pytest.fixture(scope="module")
def images(mnist: ShrinkData) -> ShrinkData:
    return mnist.reshaped((28, 28, 1))


@pytest.fixture(scope="module")
def cnn(images: ShrinkData):
    """The seed article's CNN (121,930 parameters) trained 2 epochs on MNIST-5k."""
    keras.utils.set_random_seed(0)
    model = seed_cnn()
    fit_classifier(model, images.train, images.val, epochs=2, seed=0)
    return model


def _file(folder: Path, suffix: str) -> Path:
    matches = [p for p in folder.rglob(f"model{suffix}")]
    assert len(matches) == 1, matches
    return matches[0]


def interpreter_accuracy(path: Path, split) -> float:
    """Accuracy of a .tflite file, computed with TensorFlow's interpreter, one sample at a time."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        interp = tf.lite.Interpreter(model_path=str(path))
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    correct = 0
    for x, y in zip(split.X, split.y):
        batch = x[None].astype(np.float32)
        if inp["dtype"] != np.float32:
            scale, zero = inp["quantization"]
            batch = np.clip(np.round(batch / scale + zero), -128, 127).astype(inp["dtype"])
        interp.set_tensor(inp["index"], batch)
        interp.invoke()
        correct += int(np.argmax(interp.get_tensor(out["index"])[0]) == y)
    return correct / len(split)


@pytest.fixture(scope="module")
def tflite_results(cnn, images, tmp_path_factory):
    folder = tmp_path_factory.mktemp("tflite")
    recipes = [TFLiteConvert(mode="float32"), TFLiteConvert(mode="int8"), TFLiteConvert(mode="float16")]
    return folder, shrink_each(cnn, recipes, images, options=RunOptions(latency_runs=3, latency_warmup=1,
                                                                         save_dir=folder))


def test_int8_tflite_is_3_5x_smaller_than_float32_tflite_and_loses_at_most_one_point(tflite_results, images):
    folder, (f32, int8, _f16) = tflite_results
    f32_file = _file(folder / "1-tflite", ".tflite")
    int8_file = _file(folder / "2-tflite", ".tflite")
    assert f32.after.file_bytes == f32_file.stat().st_size
    assert int8.after.file_bytes == int8_file.stat().st_size
    assert f32_file.stat().st_size / int8_file.stat().st_size >= 3.5

    # Accuracy measured in the interpreter, recomputed here from the files on disk.
    acc_f32 = interpreter_accuracy(f32_file, images.test)
    acc_int8 = interpreter_accuracy(int8_file, images.test)
    assert f32.after.score == pytest.approx(acc_f32)
    assert int8.after.score == pytest.approx(acc_int8)
    assert acc_f32 > 0.85
    assert acc_f32 - acc_int8 <= 0.01
    assert int8.details["float32_tflite_bytes"] == f32_file.stat().st_size
    assert int8.details["float32_tflite_score"] == pytest.approx(acc_f32)


def test_int8_file_holds_int8_weights_and_float16_file_float16_weights(tflite_results):
    folder, (_f32, int8, f16) = tflite_results
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        interp = tf.lite.Interpreter(model_path=str(_file(folder / "2-tflite", ".tflite")))
    kinds = {np.dtype(d["dtype"]).name for d in interp.get_tensor_details() if len(d["shape"]) >= 2}
    assert "int8" in kinds
    assert int8.details["tensor_types"].get("int8", 0) >= 4  # 4 kernels at least
    assert f16.details["tensor_types"].get("float16", 0) >= 4
    assert 1.8 <= f16.details["ratio_vs_float32_tflite"] <= 2.1
    # The TFLite file reloads to bit-identical interpreter outputs; the Keras formats are not written.
    assert int8.round_trips_ok
    assert [f.format for f in int8.after.files if f.bytes is not None] == ["tflite (int8)"]
    assert int8.after.primary == "tflite (int8)"


def test_tfmot_pruning_halves_kernels_and_zstd_size_is_at_most_0_65_of_the_unpruned(cnn, images, tmp_path):
    result = shrink(cnn, TfmotPrune(sparsity=0.5, epochs=1), images, options=RunOptions(
        latency=False, save_dir=tmp_path))
    # Sparsity measured on the returned Keras 3 model itself.
    kernels = [w.numpy() for w in result.model.weights if len(w.shape) >= 2]
    zeros = sum(int(np.count_nonzero(k == 0)) for k in kernels)
    assert zeros / sum(k.size for k in kernels) == pytest.approx(0.5, abs=0.005)
    # Dense storage: same file size; the compressed size of the .keras file is what shrinks.
    original = _file(tmp_path / "original", ".keras")
    pruned = _file(tmp_path / "1-tfmot-prune", ".keras")
    import zstandard

    def zstd_size(path: Path) -> int:
        """The project's convention: one zstd frame told the content size, as the zstd tool writes it."""
        data = path.read_bytes()
        cobj = zstandard.ZstdCompressor(level=3).compressobj(size=len(data))
        return len(cobj.compress(data)) + len(cobj.flush())

    assert result.before.compressed_bytes == zstd_size(original)
    assert result.after.compressed_bytes == zstd_size(pruned)
    assert zstd_size(pruned) <= 0.65 * zstd_size(original)
    assert abs(pruned.stat().st_size - original.stat().st_size) < 1024
    assert result.round_trips_ok
    assert result.after.score > 0.85


def test_tfmot_clustering_leaves_at_most_16_values_per_kernel(cnn, images):
    result = shrink(cnn, TfmotCluster(clusters=16, epochs=1), images, options=RunOptions(latency=False))
    for weight in result.model.weights:
        if len(weight.shape) >= 2:
            assert len(np.unique(weight.numpy())) <= 16
    assert result.after.compressed_bytes < 0.5 * result.before.compressed_bytes
    assert result.after.score > 0.85


def test_keras_distillation_reports_distilled_and_alone_trained_student(cnn, images):
    result = shrink(cnn, KerasDistill(width=0.25, epochs=2), images, options=FAST)
    details = result.details
    distilled, alone = details["student_distilled"], details["student_alone"]
    assert distilled["params"] == result.model.count_params() < cnn.count_params() / 4
    assert alone["params"] == distilled["params"]
    for score in (distilled["score"], alone["score"]):
        assert 0.5 < score <= 1.0  # trained students, well above chance
    # The distilled score is the student's real accuracy on the evaluation split.
    predicted = np.argmax(result.model.predict(images.test.X, verbose=0), axis=1)
    assert distilled["score"] == pytest.approx(float(np.mean(predicted == images.test.y)))
    alone_model = result.artifacts["student_alone"]
    predicted = np.argmax(alone_model.predict(images.test.X, verbose=0), axis=1)
    assert alone["score"] == pytest.approx(float(np.mean(predicted == images.test.y)))


def test_spec_strings_build_keras_recipes():
    assert parse_recipe("tflite:mode=float16") == TFLiteConvert(mode="float16")
    assert parse_recipe("tfmot-prune:sparsity=0.8,epochs=1") == TfmotPrune(sparsity=0.8, epochs=1)
    assert TFLiteConvert(mode="dynamic").describe() == "tflite dynamic"


def test_int8_without_representative_data_is_refused(cnn, images):
    only_test = ShrinkData(None, None, images.test, "test only")
    with pytest.raises(RecipeError, match="'tflite' recipe cannot be applied: full-integer .* representative"):
        shrink(cnn, TFLiteConvert(mode="int8"), only_test, options=FAST)


def test_a_non_keras_model_to_tflite_is_refused(trained_mlp, mnist):
    with pytest.raises(RecipeError, match="'tflite' recipe cannot be applied: it works on keras models and this is a "
                                          "pytorch model"):
        shrink(trained_mlp, TFLiteConvert(), mnist, options=FAST)


def test_bad_options_and_missing_evaluation_data(cnn, images):
    with pytest.raises(OptionError, match="The 'mode' option of the 'tflite' recipe must be one of"):
        shrink(cnn, TFLiteConvert(mode="int4"), images, options=FAST)
    with pytest.raises(RecipeError, match="cannot be evaluated: accuracy was asked for but there is no evaluation"):
        shrink(cnn, TFLiteConvert(mode="dynamic"), ShrinkData(images.train, None, None), options=FAST)


def test_tfmot_refuses_a_functional_model(images):
    inputs = keras.Input((28, 28, 1))
    outputs = keras.layers.Dense(10)(keras.layers.Flatten()(inputs))
    functional = keras.Model(inputs, outputs)
    with pytest.raises(RecipeError, match="'tfmot-prune' recipe cannot be applied: .*only Sequential"):
        shrink(functional, TfmotPrune(epochs=1), images, options=FAST)


def test_tflite_model_measures_through_the_file_reader(tflite_results):
    _folder, (_f32, int8, _f16) = tflite_results
    model = int8.model
    assert isinstance(model, TFLiteModel)
    report = model.measure()
    assert report.source.format == "tflite"
    assert int8.after.stored_bytes == report.totals.stored_bytes

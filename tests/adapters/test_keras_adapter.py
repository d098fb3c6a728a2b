"""Keras 3 adapter (TensorFlow backend in-process; torch backend and tf_keras in subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
keras = pytest.importorskip("keras")

import modelsize  # noqa: E402
from modelsize.adapters.keras import KerasAdapter, build_if_needed  # noqa: E402
from modelsize.adapters.registry import adapter_for  # noqa: E402
from modelsize.core.errors import ModelStateError, OptionError  # noqa: E402
from modelsize.core.tensors import Role  # noqa: E402
from modelsize.examples.seed_keras import seed_cnn, seed_dropout_mlp  # noqa: E402
from modelsize.testing import check_adapter, check_bad_input, check_report  # noqa: E402

layers = keras.layers


def report(model):
    rep = KerasAdapter().to_report(model)
    check_report(rep)
    return rep


def numel(variables) -> int:
    return sum(int(np.prod(v.shape)) for v in variables)


def snapshot(model):
    """What measuring must not change: values, trainable flags, built/compiled state, optimizer."""
    optimizer = getattr(model, "optimizer", None)
    return {
        "weights": [keras.ops.convert_to_numpy(v) for v in model.variables],
        "names": [v.path for v in model.variables],
        "trainable": [layer.trainable for layer in model._flatten_layers()],
        "built": model.built,
        "compiled": model.compiled,
        "optimizer": [keras.ops.convert_to_numpy(v) for v in optimizer.variables] if optimizer else None,
        "metrics": [keras.ops.convert_to_numpy(v) for v in model.metrics_variables],
    }


def by_path(rep):
    return {t.path: t for t in rep.root.iter_tensors()}


# --------------------------------------------------------------------------- seed models


@pytest.mark.parametrize(("make", "expected"), [(seed_cnn, 121_930), (seed_dropout_mlp, 101_770)])
def test_seed_models_match_count_params_and_the_article(make, expected):
    model = make()
    assert model.count_params() == expected
    rep = check_adapter(make, snapshot=snapshot, inspect_kwargs={"formats": False})
    assert rep.totals.params == expected == rep.totals.trainable_params
    assert rep.totals.param_bytes == 4 * expected
    assert rep.source.framework == "keras" and rep.source.details["backend"] == "tensorflow"


def test_dropout_seed_state_is_metadata_not_a_parameter():
    model = seed_dropout_mlp()
    rep = report(model)
    dropout = rep.root.find(model.layers[1].name)
    assert [t.role for t in dropout.tensors] == [Role.METADATA]
    assert rep.totals.params == 101_770


def test_layer_tree_paths_and_kinds():
    rep = report(seed_cnn())
    kinds = [c.kind for c in rep.root.children]
    assert kinds == ["InputLayer", "Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Flatten", "Dense", "Dense"]
    conv = rep.root.children[1]
    kernel = next(t for t in conv.tensors if t.name == "kernel")
    assert kernel.shape == (3, 3, 1, 32) and kernel.path == f"{conv.path}.kernel"


def test_registry_sends_keras_models_to_the_keras_adapter():
    assert adapter_for(seed_cnn()).name == "keras"
    assert adapter_for(layers.Dense(3)).name == "keras"


# --------------------------------------------------------------------------- roles


def test_batchnorm_moving_stats_are_non_trainable_parameters_and_optimizer_is_separate():
    model = keras.Sequential([keras.Input((8,)), layers.Dense(16), layers.BatchNormalization(), layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    rep = report(model)
    assert any("optimizer has not been built" in n for n in rep.notes)
    model.fit(np.zeros((4, 8)), np.zeros((4, 2)), verbose=0)
    rep = report(model)
    tensors = by_path(rep)
    bn = rep.root.find(model.layers[1].name)
    moving = [t for t in bn.tensors if t.name.startswith("moving_")]
    assert {t.role for t in moving} == {Role.PARAMETER} and {t.trainable for t in moving} == {False}
    assert rep.totals.params == model.count_params()
    assert rep.totals.non_trainable_params == numel(model.non_trainable_weights) == 32
    assert rep.totals.trainable_params == numel(model.trainable_weights)
    optimizer_bytes = sum(keras.ops.convert_to_numpy(v).nbytes for v in model.optimizer.variables)
    assert rep.totals.bytes_by_role["optimizer_state"] == optimizer_bytes
    assert all(t.role is Role.OPTIMIZER_STATE for p, t in tensors.items() if p.startswith("optimizer."))
    assert not any("optimizer has not been built" in n for n in rep.notes)


def test_frozen_layers_are_non_trainable():
    model = seed_dropout_mlp()
    model.layers[0].trainable = False
    rep = report(model)
    assert rep.totals.non_trainable_params == numel(model.layers[0].weights) == 784 * 128 + 128
    assert rep.totals.params == model.count_params()


def test_mixed_precision_variables_are_float32_and_the_report_says_so():
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        model = seed_dropout_mlp()
    finally:
        keras.config.set_dtype_policy(previous)
    rep = report(model)
    assert rep.totals.bytes_by_dtype == {"float32": 4 * 101_770, "int64": 16}
    dense = rep.root.find(model.layers[0].name)
    assert dense.attrs["dtype_policy"] == "mixed_float16"
    assert (dense.attrs["variable_dtype"], dense.attrs["compute_dtype"]) == ("float32", "float16")
    assert any("mixed precision" in n and "compute float16" in n for n in rep.notes)


def test_bfloat16_layer_stores_two_bytes_per_weight():
    model = keras.Sequential([keras.Input((10,)), layers.Dense(4, dtype="bfloat16")])
    rep = report(model)
    assert rep.totals.bytes_by_dtype == {"bfloat16": 2 * (10 * 4 + 4)}


@pytest.mark.filterwarnings("ignore:Layer .* does not have a `quantize` method")
def test_int8_quantized_dense_kernel_and_scale():
    model = seed_dropout_mlp()
    model.quantize("int8")
    rep = report(model)
    tensors = by_path(rep)
    name = model.layers[0].name
    kernel, scale = tensors[f"{name}.kernel"], tensors[f"{name}.kernel_scale"]
    assert (kernel.dtype, kernel.role, kernel.stored_bytes) == ("int8", Role.PARAMETER, 784 * 128)
    assert (scale.dtype, scale.role, scale.shape) == ("float32", Role.QUANT_SCALE, (128,))
    scales = sum(t.numel for t in tensors.values() if t.role is Role.QUANT_SCALE)
    assert rep.totals.params + scales == model.count_params()
    assert rep.root.find(name).attrs["quantization_mode"] == "int8"
    assert any("quantized (int8)" in n for n in rep.notes)


@pytest.mark.filterwarnings("ignore:Layer .* does not have a `quantize` method")
def test_int4_kernel_is_reported_packed_with_its_logical_shape():
    model = seed_dropout_mlp()
    model.quantize("int4")
    rep = report(model)
    layer = model.layers[0]
    packed = next(v for v in layer.weights if v.name == "kernel")
    kernel = by_path(rep)[f"{layer.name}.kernel"]
    assert kernel.dtype == "int4" and kernel.shape == (784, 128)
    assert kernel.stored_bytes == keras.ops.convert_to_numpy(packed).nbytes == 784 * 64
    assert kernel.meta["packed_shape"] == list(packed.shape)
    assert kernel.dense_bytes == kernel.stored_bytes  # 4 bits per value, nothing wasted


# --------------------------------------------------------------------------- structure


def test_nested_models_and_a_shared_layer_are_counted_once():
    shared = layers.Dense(8, name="shared_dense")
    left = keras.Sequential([keras.Input((4,)), shared, layers.Dense(2)], name="left")
    right = keras.Sequential([keras.Input((4,)), shared, layers.Dense(3)], name="right")
    inputs = keras.Input((4,))
    outer = keras.Model(inputs, [left(inputs), right(inputs)], name="outer")
    rep = report(outer)
    assert rep.totals.params == outer.count_params() == (4 * 8 + 8) + (8 * 2 + 2) + (8 * 3 + 3)
    assert rep.root.find("left.shared_dense") is not None and rep.root.find("right.shared_dense") is not None
    group = next(g for g in rep.totals.shared if g.owner == "left.shared_dense.kernel")
    assert group.aliases == ("right.shared_dense.kernel",)
    assert rep.totals.params_per_reference == rep.totals.params + 4 * 8 + 8


def test_a_layer_called_twice_is_listed_once():
    dense = layers.Dense(4, name="twice")
    inputs = keras.Input((4,))
    model = keras.Model(inputs, dense(dense(inputs)))
    rep = report(model)
    assert rep.totals.params == model.count_params() == 20
    assert rep.root.find("twice").attrs["calls"] == 2


# --------------------------------------------------------------------------- building


def test_unbuilt_model_is_our_error_saying_how_to_build_it():
    model = keras.Sequential([layers.Dense(128), layers.Dense(10)])
    err = check_bad_input(lambda: modelsize.inspect(model))
    assert isinstance(err, ModelStateError)
    assert "--input-shape" in str(err) and "build" in str(err)
    built = build_if_needed(model, (784,))
    assert built is model and model.built
    assert report(model).totals.params == model.count_params() == 101_770


def test_build_if_needed_checks_the_shape_and_leaves_built_models_alone():
    model = keras.Sequential([layers.Dense(3)])
    for bad in ((), (0, 3), "28,28", (2.5,), None):
        err = check_bad_input(lambda bad=bad: build_if_needed(model, bad))
        assert isinstance(err, (OptionError, ModelStateError))
    assert "'input_shape' option must be" in str(check_bad_input(lambda: build_if_needed(model, (0,))))
    cnn = seed_cnn()
    assert build_if_needed(cnn, (5,)) is cnn  # already built: the shape is not used


# --------------------------------------------------------------------------- applications


APPLICATIONS = ["ResNet50", "MobileNetV2", "DenseNet121", "EfficientNetB0"]


@pytest.fixture(scope="module", params=APPLICATIONS)
def application(request):
    return getattr(keras.applications, request.param)(weights=None)


@pytest.mark.slow
def test_applications_match_count_params(application):
    rep = report(application)
    assert rep.totals.params == application.count_params()
    assert rep.totals.trainable_params == numel(application.trainable_weights)
    assert rep.totals.non_trainable_params == numel(application.non_trainable_weights)
    # Mostly float32, plus e.g. EfficientNet's Normalization ``count`` kept as int64.
    assert rep.totals.param_bytes == sum(keras.ops.convert_to_numpy(w).nbytes for w in application.weights)


# --------------------------------------------------------------------------- other Keras flavours


def _run(code: str, **env: str) -> dict:
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **env}
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                         env=full_env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_keras3_on_the_torch_backend_is_measured_as_keras():
    pytest.importorskip("torch")
    result = _run(
        """
        import json, torch, keras, modelsize
        from modelsize.adapters.keras_tree import Flavor
        from modelsize.adapters.registry import adapter_for
        from modelsize.examples.seed_keras import seed_cnn
        from modelsize.serialize.base import CompressionOptions
        from modelsize.serialize.keras_formats import tflite_size
        from modelsize.testing import check_report
        model = seed_cnn()
        rep = modelsize.inspect(model, formats=False)
        check_report(rep)
        tflite = tflite_size(model, Flavor("keras3", keras), CompressionOptions())
        print(json.dumps({"is_module": isinstance(model, torch.nn.Module), "adapter": adapter_for(model).name,
                          "backend": rep.source.details["backend"], "params": rep.totals.params,
                          "count": model.count_params(), "tflite": tflite.bytes, "note": tflite.note}))
        """,
        KERAS_BACKEND="torch",
    )
    assert result["is_module"] and result["adapter"] == "keras" and result["backend"] == "torch"
    assert result["params"] == result["count"] == 121_930
    assert result["tflite"] is None and "TensorFlow backend" in result["note"]


@pytest.mark.slow
def test_tf_keras_legacy_models():
    result = _run(
        """
        import json, os, tempfile
        import tensorflow as tf
        import tf_keras as k
        import modelsize
        from modelsize.adapters.keras_tree import Flavor
        from modelsize.serialize.base import CompressionOptions
        from modelsize.serialize.keras_formats import keras_archive_size, weights_h5_size
        from modelsize.testing import check_report
        model = k.Sequential([k.layers.InputLayer((20,)), k.layers.Dense(16), k.layers.BatchNormalization(),
                              k.layers.Dropout(0.5), k.layers.Dense(3)])
        model.compile(optimizer="adam", loss="mse")
        model.fit(tf.zeros((4, 20)), tf.zeros((4, 3)), verbose=0)
        rep = modelsize.inspect(model, formats=False)
        check_report(rep)
        options = CompressionOptions(enabled=False)
        sizes = {".keras": keras_archive_size(model, Flavor("tf_keras", k), options).bytes,
                 ".weights.h5": weights_h5_size(model, options).bytes}
        folder = tempfile.mkdtemp()
        model.save(os.path.join(folder, "m.keras"))
        model.save_weights(os.path.join(folder, "m.weights.h5"))
        print(json.dumps({
            "framework": rep.source.framework, "params": rep.totals.params, "count": model.count_params(),
            "non_trainable": rep.totals.non_trainable_params,
            "expected_non_trainable": int(sum(w.shape.num_elements() for w in model.non_trainable_weights)),
            "optimizer_bytes": rep.totals.bytes_by_role.get("optimizer_state", 0),
            "expected_optimizer_bytes": int(sum(v.numpy().nbytes for v in model.optimizer.variables())),
            "keras": sizes[".keras"], "keras_file": os.path.getsize(os.path.join(folder, "m.keras")),
            "h5": sizes[".weights.h5"], "h5_file": os.path.getsize(os.path.join(folder, "m.weights.h5")),
        }))
        """,
        TF_USE_LEGACY_KERAS="1",
    )
    assert result["framework"] == "tf_keras"
    assert result["params"] == result["count"] == 20 * 16 + 16 + 4 * 16 + 16 * 3 + 3
    assert result["non_trainable"] == result["expected_non_trainable"] == 32
    assert result["optimizer_bytes"] == result["expected_optimizer_bytes"] > 0
    assert result["h5"] == result["h5_file"]
    # tf_keras's .keras metadata carries the save time with a fixed width: same size every time.
    assert result["keras"] == result["keras_file"]


def test_import_modelsize_does_not_import_keras_or_tensorflow():
    code = "import sys, modelsize; print(any(m in sys.modules for m in ('keras', 'tensorflow', 'tf_keras')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

"""TFLite flatbuffers from the TFLite converter, read by a bounds-checked walker (no TensorFlow)."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import modelsize
from modelsize import Role
from modelsize.formats import _tflite_schema
from modelsize.formats.tflite_file import TFLiteReader
from modelsize.testing import check_report

from formats_helpers import assert_invalid, check_file_invariants, fuzz_settings, mutations, only_our_errors

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
tf = pytest.importorskip("tensorflow")


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A float model (one kernel pruned to half zeros, one all zeros) and its full-int8 conversion."""
    folder = tmp_path_factory.mktemp("tflite")
    rng = np.random.default_rng(0)
    model = tf.keras.Sequential([
        tf.keras.Input((8,)), tf.keras.layers.Dense(16, activation="relu"), tf.keras.layers.Dense(6),
        tf.keras.layers.Dense(4, use_bias=False),
    ])
    k0 = rng.random((8, 16)).astype(np.float32)
    k0[k0 < 0.5] = 0
    model.layers[0].kernel.assign(k0)
    model.layers[0].bias.assign(rng.random(16).astype(np.float32))
    model.layers[1].bias.assign(rng.random(6).astype(np.float32))
    model.layers[2].kernel.assign(np.zeros((6, 4), np.float32))
    paths = {}
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    paths["float"] = folder / "float.tflite"
    paths["float"].write_bytes(conv.convert())
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([rng.random((1, 8)).astype(np.float32)] for _ in range(8))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    paths["int8"] = folder / "int8.tflite"
    paths["int8"].write_bytes(conv.convert())
    return paths


def _constants(path: Path) -> dict[str, dict]:
    """The interpreter's view of every constant tensor: shape, dtype, bytes, non-zeros, quantisation."""
    interp = tf.lite.Interpreter(model_path=str(path))
    interp.allocate_tensors()
    out = {}
    for d in interp.get_tensor_details():
        try:
            value = interp.get_tensor(d["index"])
        except ValueError:
            continue
        if not value.size or d["name"].startswith(("serving_default", "StatefulPartitionedCall")):
            continue
        q = d["quantization_parameters"]
        out[d["name"]] = {"shape": tuple(int(x) for x in d["shape"]), "dtype": np.dtype(d["dtype"]).name,
                          "bytes": value.nbytes, "nnz": int(np.count_nonzero(value)), "scales": len(q["scales"]),
                          "zero_points": len(q["zero_points"])}
    return out


@pytest.mark.parametrize("kind", ["float", "int8"])
def test_constants_match_the_interpreter(models: dict[str, Path], kind: str) -> None:
    path = models[kind]
    report = modelsize.inspect(path)
    check_report(report)
    check_file_invariants(report)
    weights = {r.path.split(".", 1)[1]: r for r in report.root.iter_tensors() if r.role is Role.PARAMETER}
    lib = _constants(path)
    assert set(weights) == set(lib)
    for name, want in lib.items():
        rec = weights[name]
        assert (rec.shape, rec.dtype, rec.stored_bytes, rec.nnz) == (want["shape"], want["dtype"], want["bytes"],
                                                                     want["nnz"]), name
    scales = [r for r in report.root.iter_tensors() if r.role is Role.QUANT_SCALE]
    assert sum(r.numel for r in scales) == sum(v["scales"] for v in lib.values())
    zps = [r for r in report.root.iter_tensors() if r.role is Role.QUANT_ZERO_POINT]
    assert sum(r.numel for r in zps) == sum(v["zero_points"] for v in lib.values())
    section = report.sections["tflite"]
    assert section["op_counts"]["FULLY_CONNECTED"] == 3
    if kind == "int8":
        assert section["op_counts"]["QUANTIZE"] == 1 and section["quantization_parameters"] > 0
        assert {r.dtype for r in weights.values()} >= {"int8"}
    split = report.sections["file"]["split"]
    assert sum(split.values()) == path.stat().st_size
    assert split["tensor_data"] == sum(v["bytes"] for v in lib.values())


def test_zero_buffers_and_sparsity(models: dict[str, Path]) -> None:
    report = modelsize.inspect(models["float"])
    section = report.sections["tflite"]
    assert section["zero_buffers"] == 1 and section["zero_buffer_bytes"] == 6 * 4 * 4
    assert any("only zeros" in n for n in report.notes)
    assert report.totals.sparsity is not None and report.totals.sparsity > 0


def test_schema_tables_match_tensorflow() -> None:
    from tensorflow.lite.python import schema_py_generated as schema

    ops = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    types = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    assert _tflite_schema.BUILTIN_OPERATORS == ops
    assert _tflite_schema.TENSOR_TYPES == types


def test_corrupt_files(tmp_path: Path, models: dict[str, Path]) -> None:
    raw = models["float"].read_bytes()
    bad_root = tmp_path / "root.tflite"
    bad_root.write_bytes(struct.pack("<I", 1 << 30) + raw[4:])
    assert_invalid(lambda: modelsize.inspect(bad_root), bad_root, "outside")
    cut = tmp_path / "cut.tflite"
    cut.write_bytes(raw[: len(raw) // 2])
    assert_invalid(lambda: modelsize.inspect(cut), cut)
    ident = tmp_path / "ident.tflite"
    ident.write_bytes(raw[:4] + b"XXXX" + raw[8:])
    assert_invalid(lambda: TFLiteReader().read(ident), ident, "identifier")


@fuzz_settings(150)
@given(data=st.data())
def test_fuzz_only_our_errors_escape(models: dict[str, Path], tmp_path_factory: pytest.TempPathFactory,
                                     data: st.DataObject) -> None:
    seed = models[data.draw(st.sampled_from(["float", "int8"]))].read_bytes()
    path = tmp_path_factory.getbasetemp() / "mutant.tflite"
    path.write_bytes(data.draw(mutations(seed)))
    only_our_errors(TFLiteReader().read, path)


def test_shape_constants_are_metadata_and_no_tensor_is_shared_with_itself(tmp_path: Path) -> None:
    c = tf.constant(np.arange(4, dtype=np.float32).reshape(1, 4))
    w = tf.constant(np.random.default_rng(0).random((4, 4)).astype(np.float32))

    @tf.function(input_signature=[tf.TensorSpec([1, 4], tf.float32)])
    def f(x: "tf.Tensor") -> tuple:
        y = tf.concat([c, x, c], axis=0)  # one operator reads the same constant twice
        return tf.reshape(y, [1, 12]), tf.matmul(x, w)  # reshape's target shape is an int32 constant

    conv = tf.lite.TFLiteConverter.from_concrete_functions([f.get_concrete_function()], f)
    path = tmp_path / "shapes.tflite"
    path.write_bytes(conv.convert())
    report = modelsize.inspect(path)
    check_report(report)
    check_file_invariants(report)
    recs = list(report.root.iter_tensors())
    lib = _constants(path)  # constants and (zero-filled) activations, by name
    names = {r.path.split(".", 1)[1]: r for r in recs}
    assert set(names) == {"MatMul", "concat/values_0", "arith.constant"} and set(names) <= set(lib)
    assert lib["arith.constant"]["dtype"] == "int32" and names["arith.constant"].role is Role.METADATA
    assert report.totals.params == lib["MatMul"]["shape"][0] * 4 + 4 == 20
    assert report.totals.shared == ()  # the constant concat reads twice is one reference, not shared with itself
    assert len(recs) == len({r.path for r in recs}) == 3

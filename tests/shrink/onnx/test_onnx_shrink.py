"""Quantizing any ONNX file with onnxruntime (dynamic and static int8), accuracy checked by running
both files in onnxruntime here.

The ONNX file is a real model: a 784-128-10 MLP trained on MNIST-5k with scikit-learn and
exported by skl2onnx, written to disk and given to ``shrink`` as a path.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
pytest.importorskip("skl2onnx")

from modelsize.shrink import RecipeError, RunOptions, parse_recipe, shrink, shrink_each  # noqa: E402
from modelsize.shrink.data import ShrinkData  # noqa: E402
from modelsize.shrink.onnx.model import EVAL_BATCH, OnnxModel  # noqa: E402
from modelsize.shrink.onnx.quantize import OnnxDynamicInt8, OnnxStaticInt8  # noqa: E402

FAST = RunOptions(latency_runs=3, latency_warmup=1)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def mlp_file(mnist, tmp_path_factory) -> Path:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.neural_network import MLPClassifier

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlp = MLPClassifier((128,), max_iter=15, random_state=0).fit(mnist.train.X, mnist.train.y)
        proto = convert_sklearn(mlp, initial_types=[("X", FloatTensorType([None, 784]))],
                                options={id(mlp): {"zipmap": False}})
    path = tmp_path_factory.mktemp("onnx") / "mlp.onnx"
    onnx.save(proto, str(path))
    return path


def _file(folder: Path, name: str) -> Path:
    matches = list(folder.rglob(name))
    assert len(matches) == 1, matches
    return matches[0]


def ort_accuracy(path: Path, split) -> float:
    """Accuracy with onnxruntime, in batches of EVAL_BATCH: dynamic quantization picks activation
    scales per batch, so a quantized model's outputs depend on how the data is batched."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    X = split.X.astype(np.float32)
    probabilities = np.concatenate([session.run(["probabilities"], {"X": X[i:i + EVAL_BATCH]})[0]
                                    for i in range(0, len(X), EVAL_BATCH)])
    return float(np.mean(np.argmax(probabilities, axis=1) == split.y))


def test_dynamic_and_static_int8_quantize_the_onnx_file(mlp_file, mnist, tmp_path):
    dynamic, static = shrink_each(str(mlp_file), [OnnxDynamicInt8(), OnnxStaticInt8(calibration=128)], mnist,
                                  options=RunOptions(latency_runs=3, save_dir=tmp_path))
    original = _file(tmp_path / "original", "model.onnx")
    assert original.read_bytes() == mlp_file.read_bytes()
    for index, result in ((1, dynamic), (2, static)):
        path = _file(tmp_path / f"{index}-onnx-{'dynamic' if index == 1 else 'static'}", "model.onnx")
        assert result.after.file_bytes == path.stat().st_size
        assert mlp_file.stat().st_size / path.stat().st_size >= 3.5
        # Accuracy of both files, recomputed with onnxruntime here.
        before, after = ort_accuracy(mlp_file, mnist.test), ort_accuracy(path, mnist.test)
        assert result.before.score == pytest.approx(before)
        assert result.after.score == pytest.approx(after)
        assert before > 0.85
        assert before - after <= 0.01
        assert result.round_trips_ok
    dynamic_ops = {n.op_type for n in onnx.load(str(_file(tmp_path / "1-onnx-dynamic", "model.onnx"))).graph.node}
    static_ops = {n.op_type for n in onnx.load(str(_file(tmp_path / "2-onnx-static", "model.onnx"))).graph.node}
    assert "MatMulInteger" in dynamic_ops and "MatMul" not in dynamic_ops
    assert {"QuantizeLinear", "DequantizeLinear"} <= static_ops
    int8_weights = [t for t in onnx.load(str(_file(tmp_path / "1-onnx-dynamic", "model.onnx"))).graph.initializer
                    if t.data_type == onnx.TensorProto.INT8]
    assert sum(int(np.prod(t.dims)) for t in int8_weights) >= 784 * 128


def test_a_model_with_nothing_to_quantize_is_refused(mnist):
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.tree import DecisionTreeClassifier

    tree = DecisionTreeClassifier(max_depth=4, random_state=0).fit(mnist.train.X[:500], mnist.train.y[:500])
    proto = convert_sklearn(tree, initial_types=[("X", FloatTensorType([None, 784]))],
                            options={id(tree): {"zipmap": False}})
    with pytest.raises(RecipeError, match="'onnx-dynamic' recipe cannot be applied: onnxruntime found no operator it "
                                          "can quantize in this model \\(it has: TreeEnsembleClassifier"):
        shrink(proto, OnnxDynamicInt8(), mnist, options=FAST)


def test_static_quantization_needs_calibration_data(mlp_file, mnist):
    only_test = ShrinkData(None, None, mnist.test)
    with pytest.raises(RecipeError, match="'onnx-static' recipe cannot be applied: static quantization calibrates"):
        shrink(str(mlp_file), OnnxStaticInt8(), only_test, options=FAST)


def test_spec_strings_and_model_forms(mlp_file):
    assert parse_recipe("onnx-dynamic:per_channel=true") == OnnxDynamicInt8(per_channel=True)
    assert parse_recipe("onnx-static:format=qoperator") == OnnxStaticInt8(format="qoperator")
    model = OnnxModel(mlp_file.read_bytes())
    assert model.output_name() == "probabilities"
    # int32/int64 initializers are shapes and class labels (metadata), not weights
    assert model.measure().totals.params == sum(
        int(np.prod(t.dims)) for t in onnx.load(str(mlp_file)).graph.initializer
        if t.data_type not in (onnx.TensorProto.INT32, onnx.TensorProto.INT64))

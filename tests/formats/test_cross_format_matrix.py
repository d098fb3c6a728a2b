"""One model, one count: every file format a framework writes, read back, gives the live numbers.

For each model the live adapter's params, trainable / non-trainable split and bytes per role
are the reference. Each format either matches exactly or differs in a documented way that the
test states and checks (a state dict records no ``requires_grad``; ONNX and TFLite exports
fold BatchNorm; a Keras export leaves the optimizer out). Every report also passes the file
invariants (:func:`formats_helpers.check_file_invariants`).
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelsize
from modelsize import Role
from modelsize.testing import check_report

from formats_helpers import check_file_invariants

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _numbers(report: modelsize.Report) -> dict[str, Any]:
    t = report.totals
    return {"params": t.params, "trainable": t.trainable_params, "non_trainable": t.non_trainable_params,
            "unknown": t.trainability_unknown_params, "roles": {k: v for k, v in t.bytes_by_role.items() if v}}


def _read(path: Path) -> dict[str, Any]:
    report = modelsize.inspect(path)
    check_report(report)
    check_file_invariants(report)
    return _numbers(report)


# --------------------------------------------------------------------------------------------- PyTorch


torch = pytest.importorskip("torch")


class GPT(torch.nn.Module):
    """GPT-2-like: token + position embeddings, a transformer block, a head tied to the embedding."""

    def __init__(self) -> None:
        super().__init__()
        self.wte = torch.nn.Embedding(50, 16)
        self.wpe = torch.nn.Embedding(8, 16)
        self.block = torch.nn.TransformerEncoderLayer(16, 2, 32, batch_first=True)
        self.ln = torch.nn.LayerNorm(16)
        self.head = torch.nn.Linear(16, 50, bias=False)
        self.head.weight = self.wte.weight

    def forward(self, x: Any) -> Any:
        return self.head(self.ln(self.block(self.wte(x) + self.wpe(torch.arange(x.shape[1])))))


class LSTMNet(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = torch.nn.LSTM(6, 8, num_layers=2, batch_first=True)
        self.fc = torch.nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.lstm(x)[0][:, -1])


def _torch_models() -> dict[str, tuple[Any, Any]]:
    torch.manual_seed(0)
    return {
        "mlp": (torch.nn.Sequential(torch.nn.Linear(10, 20), torch.nn.ReLU(), torch.nn.Linear(20, 5)),
                torch.randn(2, 10)),
        "cnn_bn": (torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                                       torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 3)), torch.randn(2, 3, 8, 8)),
        "lstm": (LSTMNet(), torch.randn(2, 5, 6)),
        "gpt2_tied": (GPT(), torch.randint(0, 50, (2, 8))),
    }


def _onnx_float_elements(path: Path) -> int:
    """The onnx library's count: float initializers and Constant values of the main graph, by unique name."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    seen: dict[str, int] = {}
    for init in model.graph.initializer:
        if init.data_type == onnx.TensorProto.FLOAT:
            seen[init.name] = int(np.prod(init.dims))
    for node in model.graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.TENSOR and attr.t.data_type == onnx.TensorProto.FLOAT:
                seen[f"{node.name}:{attr.name}"] = numpy_helper.to_array(attr.t).size
    return sum(seen.values())


@pytest.mark.parametrize("name", ["mlp", "cnn_bn", "lstm", "gpt2_tied"])
def test_pytorch_every_format(name: str, tmp_path: Path) -> None:
    from safetensors.torch import save_model

    model, example = _torch_models()[name]
    model.eval()
    live = _numbers(modelsize.inspect(model))
    assert live["unknown"] == 0 and live["trainable"] == live["params"]
    # the module itself, pickled, and TorchScript record requires_grad: exact
    torch.save(model, tmp_path / "full.pt")
    assert _read(tmp_path / "full.pt") == live
    script = torch.jit.script(model) if name == "lstm" else torch.jit.trace(model, example, check_trace=False)
    torch.jit.save(script, str(tmp_path / "script.pt"))
    assert _read(tmp_path / "script.pt") == live
    # state dicts (zip, legacy) and safetensors store no requires_grad: same numbers, trainability unknown
    no_grad = {**live, "trainable": 0, "unknown": live["params"]}
    torch.save(model.state_dict(), tmp_path / "sd.pt")
    assert _read(tmp_path / "sd.pt") == no_grad
    torch.save(model.state_dict(), tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    assert _read(tmp_path / "legacy.pt") == no_grad
    save_model(model, str(tmp_path / "m.safetensors"))
    assert _read(tmp_path / "m.safetensors") == no_grad
    # ONNX: the file's own weights, which the exporter may fold or copy (documented below)
    torch.onnx.export(model, (example,), str(tmp_path / "m.onnx"), dynamo=False)
    onnx_numbers = _read(tmp_path / "m.onnx")
    from modelsize.core.totals import unique_records

    floats = unique_records(modelsize.inspect(tmp_path / "m.onnx").root.iter_tensors())[0]
    assert sum(r.numel for r in floats if r.dtype == "float32") == _onnx_float_elements(tmp_path / "m.onnx")
    if name in ("mlp", "lstm"):
        assert onnx_numbers["params"] == live["params"]  # LSTM: W, R, B regrouped, same count; h0/c0 are buffers
    elif name == "cnn_bn":  # eval-mode BatchNorm folded into the conv: its weight and bias and buffers are gone
        assert onnx_numbers["params"] == live["params"] - 2 * 4 and "buffer" not in onnx_numbers["roles"]
    else:
        # The exporter unties the head: a transposed (16, 50) copy of wte feeds the head's MatMul (+800).
        # It also merges initializers with equal values: the zero biases of norm1, norm2 and ln become
        # one tensor with out_proj.bias, the all-ones weights of norm2 and ln one with norm1.weight (-5 x 16).
        assert onnx_numbers["params"] == live["params"] + 16 * 50 - 5 * 16 == 3_904


# ----------------------------------------------------------------------------------------------- Keras


def _keras_models() -> dict[str, Any]:
    keras = pytest.importorskip("keras")

    def cnn() -> Any:
        inp = keras.Input((16, 16, 3))
        x = keras.layers.Conv2D(8, 3, use_bias=False)(inp)
        x = keras.layers.BatchNormalization(scale=False)(x)
        x = keras.layers.Activation("relu")(x)
        x = keras.layers.Conv2D(8, 3)(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.GlobalAveragePooling2D()(x)
        return keras.Model(inp, keras.layers.Dense(4)(x), name="cnn_bn")

    def effnet() -> Any:
        """EfficientNet's MBConv in small: stem, depthwise conv, squeeze-excite, projection, all with BN."""
        inp = keras.Input((16, 16, 3))
        x = keras.layers.Conv2D(8, 3, strides=2, padding="same", use_bias=False)(inp)
        x = keras.layers.Activation("swish")(keras.layers.BatchNormalization()(x))
        d = keras.layers.DepthwiseConv2D(3, padding="same", use_bias=False)(x)
        d = keras.layers.Activation("swish")(keras.layers.BatchNormalization()(d))
        se = keras.layers.GlobalAveragePooling2D(keepdims=True)(d)
        se = keras.layers.Conv2D(2, 1, activation="swish")(se)
        se = keras.layers.Conv2D(8, 1, activation="sigmoid")(se)
        x = keras.layers.Conv2D(8, 1, use_bias=False)(keras.layers.Multiply()([d, se]))
        x = keras.layers.GlobalAveragePooling2D()(keras.layers.BatchNormalization()(x))
        return keras.Model(inp, keras.layers.Dense(5)(keras.layers.Dropout(0.2)(x)), name="effnet_like")

    return {"cnn_bn": cnn, "effnet_like": effnet}


@pytest.mark.parametrize("name", ["cnn_bn", "effnet_like"])
def test_keras_every_format(name: str, tmp_path: Path) -> None:
    tf = pytest.importorskip("tensorflow")
    model = _keras_models()[name]()
    model.compile("adam", "mse")
    model.optimizer.build(model.trainable_variables)  # the optimizer's slots exist, as after training
    live = _numbers(modelsize.inspect(model))
    assert live["params"] == model.count_params()
    # the live model also holds RNG seed state (metadata) that no file stores
    stored_live = {**live, "roles": {k: v for k, v in live["roles"].items() if k != "metadata"}}
    model.save(tmp_path / "m.keras")
    model.save_weights(tmp_path / "m.weights.h5")
    model.save(tmp_path / "m.h5")
    for fname in ("m.keras", "m.weights.h5", "m.h5"):
        assert _read(tmp_path / fname) == stored_live, fname
    # SavedModel export: the weights without the optimizer; the object graph is metadata
    model.export(str(tmp_path / "sm"), verbose=False)
    sm = _read(tmp_path / "sm")
    assert {k: sm[k] for k in ("params", "trainable", "non_trainable", "unknown")} == {
        k: live[k] for k in ("params", "trainable", "non_trainable", "unknown")}
    assert sm["roles"]["parameter"] == live["roles"]["parameter"] and "optimizer_state" not in sm["roles"]
    # TFLite: the converter folds BatchNorm into the convolutions (moving statistics and beta disappear)
    (tmp_path / "m.tflite").write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    tfl = _read(tmp_path / "m.tflite")
    bn = sum(int(np.prod(w.shape)) for layer in model.layers if type(layer).__name__ == "BatchNormalization"
             for w in layer.weights)
    assert tfl["params"] < live["params"] and tfl["unknown"] == tfl["params"]
    channels = sum(int(layer.moving_mean.shape[0]) for layer in model.layers
                   if type(layer).__name__ == "BatchNormalization")
    assert tfl["params"] <= live["params"] - bn + channels  # a folded BN leaves at most one bias per channel


# --------------------------------------------------------------------------------------------- sklearn


def test_sklearn_forest_pickle_and_joblib(tmp_path: Path) -> None:
    joblib = pytest.importorskip("joblib")
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(0)
    X = rng.random((60, 4))
    forest = RandomForestClassifier(5, max_depth=4, random_state=0).fit(X, (X[:, 0] > 0.5).astype(int))
    live = _numbers(modelsize.inspect(forest))
    with (tmp_path / "f.pkl").open("wb") as fh:
        pickle.dump(forest, fh)
    joblib.dump(forest, tmp_path / "f.joblib")
    # The reader applies the live adapter's scikit-learn roles statically: each Tree (global
    # sklearn.tree._tree.Tree) has its node records split into fields (threshold: parameter;
    # child pointers, feature, missing_go_to_left: index; impurity and sample counts: metadata;
    # alignment holes: other), classes_ is metadata. Exact, every role:
    assert live["params"] == 45
    for path in (tmp_path / "f.pkl", tmp_path / "f.joblib"):
        numbers = _read(path)
        assert {k: numbers[k] for k in ("params", "trainable", "non_trainable", "unknown")} == {
            k: live[k] for k in ("params", "trainable", "non_trainable", "unknown")}
        # The one documented difference, metadata only: a file reader attributes every byte of the
        # stream, so the opcodes of each object's own state (attribute names, hyper-parameters, the
        # NumPy int n_classes_, each Tree's constructor arguments) are metadata records (__state__).
        # Without those, the bytes of every role are the live ones.
        state = sum(r.stored_bytes for r in modelsize.inspect(path).root.iter_tensors()
                    if r.path.endswith("__state__"))
        assert state > 0
        assert {**numbers["roles"], "metadata": numbers["roles"]["metadata"] - state} == live["roles"]


def _fitted_tree_model(name: str) -> Any:
    """A small fitted tree model (three classes where it classifies)."""
    from sklearn import ensemble, tree

    X = np.random.default_rng(0).random((80, 4))
    y = (X[:, 0] > 0.5).astype(int) + (X[:, 1] > 0.5)
    build = {
        "DecisionTreeClassifier": lambda: tree.DecisionTreeClassifier(max_depth=4, random_state=0).fit(X, y),
        "RandomForestClassifier": lambda: ensemble.RandomForestClassifier(5, max_depth=4, random_state=0).fit(X, y),
        "ExtraTreesRegressor": lambda: ensemble.ExtraTreesRegressor(4, max_depth=4, random_state=0).fit(X, X[:, 0]),
        "GradientBoostingClassifier": lambda: ensemble.GradientBoostingClassifier(
            n_estimators=4, max_depth=2, random_state=0).fit(X, y),
        "HistGradientBoostingClassifier": lambda: ensemble.HistGradientBoostingClassifier(
            max_iter=4, random_state=0).fit(X, y),
        "IsolationForest": lambda: ensemble.IsolationForest(n_estimators=4, random_state=0).fit(X),
    }
    return build[name]()


#: Where each model's first tree sits, and the kind of that component.
_FIRST_TREE = {
    "DecisionTreeClassifier": ("tree_", "Tree"),
    "RandomForestClassifier": ("estimators_.0.tree_", "Tree"),
    "ExtraTreesRegressor": ("estimators_.0.tree_", "Tree"),
    "GradientBoostingClassifier": ("estimators_.0_0.tree_", "Tree"),
    "HistGradientBoostingClassifier": ("_predictors.0.0", "TreePredictor"),
    "IsolationForest": ("estimators_.0.tree_", "Tree"),
}


@pytest.mark.parametrize("name", list(_FIRST_TREE))
def test_sklearn_tree_models_pickle_and_joblib(name: str, tmp_path: Path) -> None:
    """Live, .pkl and .joblib: the same tensor paths, shapes, dtypes and roles, and the same params.

    A Tree's node fields and values sit right under the tree, as the live adapter names them and
    as ``Tree.threshold`` and ``Tree.value`` read them (``tree_.threshold``, ``tree_.value``); a
    TreePredictor's under ``nodes``, its attribute. NumPy int scalars (``n_classes_``) and a Tree's
    constructor arguments are plain values to both. Gradient boosting shares one generator with
    its trees (``random_state``) and ``_rng``: it appears, in both, at the first tree.
    """
    pytest.importorskip("sklearn")
    model = _fitted_tree_model(name)
    reports = _sklearn_reports(model, tmp_path)
    # protocol 2 too: it writes bytes as text and empty bytes (a predictor's empty bitsets) as bytes()
    (tmp_path / "m2.pkl").write_bytes(pickle.dumps(model, protocol=2))
    reports["m2.pkl"] = modelsize.inspect(tmp_path / "m2.pkl")
    live = _by_path(reports["live"])
    tree, kind = _FIRST_TREE[name]
    fields = ("nodes.value", "nodes.num_threshold") if kind == "TreePredictor" else ("value", "threshold")
    assert {f"{tree}.{f}" for f in fields} <= set(live)
    assert not any(".nodes." in p or p.endswith((".values", "n_classes_")) for p in live if kind == "Tree")
    for fmt, report in reports.items():
        paths = _by_path(report)
        if fmt == "m.joblib" and name == "GradientBoostingClassifier":
            # joblib pickles the estimators_ object array in a stream of its own, without the main
            # stream's memo: the generator the trees share with _rng is written in both, and the
            # file holds _rng's copy too (metadata, as where the trees hold it)
            extra = {p: v for p, v in paths.items() if p.startswith("_rng.")}
            first = f"{tree.rpartition('.')[0]}.random_state."
            assert extra == {p.replace(first, "_rng."): v for p, v in live.items() if p.startswith(first)} != {}
            paths = {p: v for p, v in paths.items() if p not in extra}
        assert paths == live, fmt
        assert report.totals.params == reports["live"].totals.params, fmt
        node = report.root.find(tree)
        assert node is not None and node.kind == kind, fmt


def _fitted_mlp(solver: str, **kwargs: Any) -> Any:
    import warnings

    from sklearn.datasets import load_iris
    from sklearn.neural_network import MLPClassifier

    X, y = load_iris(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 50 iterations do not converge: the state is what matters
        return MLPClassifier(hidden_layer_sizes=(20,), max_iter=50, random_state=0, solver=solver,
                             **kwargs).fit(X, y)


def _sklearn_reports(est: Any, tmp_path: Path) -> dict[str, modelsize.Report]:
    """The live report and those of the estimator written by pickle and by joblib."""
    joblib = pytest.importorskip("joblib")
    with (tmp_path / "m.pkl").open("wb") as fh:
        pickle.dump(est, fh)
    joblib.dump(est, tmp_path / "m.joblib")
    reports = {"live": modelsize.inspect(est)}
    for name in ("m.pkl", "m.joblib"):
        reports[name] = modelsize.inspect(tmp_path / name)
        check_report(reports[name])
        check_file_invariants(reports[name])
    return reports


def _by_path(report: modelsize.Report) -> dict[str, tuple[Any, ...]]:
    """Shape, dtype and role per tensor path; a file's ``__state__`` records (its own opcodes:
    attribute names, hyper-parameters, class references) have no live counterpart by design."""
    return {r.path: (r.shape, r.dtype, r.role.value) for r in report.root.iter_tensors()
            if not r.path.endswith("__state__")}


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_sklearn_mlp_pickle_and_joblib(solver: str, tmp_path: Path) -> None:
    """Live, .pkl and .joblib: the same tensor paths, shapes, dtypes and roles; params are the weights.

    Adam's moment estimates (``_optimizer.ms``/``vs``) and SGD's momentum ``velocities`` are
    optimizer state, and so is the best-epoch snapshot fit keeps for early stopping
    (``_best_coefs``/``_best_intercepts``): prediction reads none of them. The optimizer's floats
    (``beta_1``, ``momentum``, ``learning_rate`` …) are its configuration: metadata.
    """
    mlp = _fitted_mlp(solver, momentum=0.9)
    reports = _sklearn_reports(mlp, tmp_path)
    weights = sum(c.size for c in mlp.coefs_) + sum(i.size for i in mlp.intercepts_)
    opt = mlp._optimizer
    moments = sum(a.size for a in ([*opt.ms, *opt.vs] if solver == "adam" else opt.velocities))
    snapshot = sum(a.size for a in [*mlp._best_coefs, *mlp._best_intercepts])
    live = _by_path(reports["live"])
    assert any(p.startswith("_optimizer.") for p in live) and "loss_curve_" in live
    for name, report in reports.items():
        assert _by_path(report) == live, name
        assert report.totals.params == weights, name
        assert report.totals.numel_by_role["optimizer_state"] == moments + snapshot, name
        records = list(report.root.iter_tensors())
        in_optimizer = [r for r in records if r.path.startswith("_optimizer.")]
        assert sum(r.numel for r in in_optimizer if r.role is Role.OPTIMIZER_STATE) == moments, name
        assert {r.role for r in in_optimizer if r.shape == ()} <= {Role.METADATA}, name
        assert all("why" in r.meta for r in records if r.role is Role.OPTIMIZER_STATE), name


def test_sklearn_mlp_training_statistics_are_metadata(tmp_path: Path) -> None:
    """loss_, best_loss_, the loss curve and (with early stopping) the validation scores are metadata,
    one record each in both paths (a list of numbers is one ``object`` record, not one per epoch)."""
    for mlp in (_fitted_mlp("adam"), _fitted_mlp("adam", early_stopping=True)):
        reports = _sklearn_reports(mlp, tmp_path)
        expected = {"loss_", "best_loss_", "loss_curve_"} if not mlp.early_stopping else {
            "loss_", "loss_curve_", "validation_scores_", "best_validation_score_"}
        for name, report in reports.items():
            recs = {r.path: r for r in report.root.iter_tensors()}
            assert {p for p in expected if recs[p].role is Role.METADATA} == expected, name
            curve = recs["loss_curve_"]
            assert (curve.shape, curve.dtype) == ((len(mlp.loss_curve_),), "object"), name
            assert not any(p.startswith("loss_curve_.") for p in recs), name


# ------------------------------------------------------------------------ device formats (issue #27)

#: params the device format stores minus the live count, and why
DEVICE_DIFFERENCES: dict[tuple[str, str], tuple[int, str]] = {
    ("openvino", "cnn_bn"): (-8, "BatchNorm's gamma and beta are folded into the convolution"),
    ("coreml", "cnn_bn"): (-8, "BatchNorm's gamma and beta are folded into the convolution"),
    ("openvino", "lstm"): (-64, "each layer's two biases (b_ih + b_hh, 4 x 8) are summed into one"),
}


def _device_export(fmt: str, model: Any, example: Any, folder: Path) -> Path:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if fmt == "openvino":
            ov = pytest.importorskip("openvino")
            path = folder / "model.xml"
            ov.save_model(ov.convert_model(model, example_input=example), str(path), compress_to_fp16=False)
        elif fmt == "coreml":
            ct = pytest.importorskip("coremltools")
            path = folder / "model.mlpackage"
            ct.convert(torch.jit.trace(model, example), inputs=[ct.TensorType(shape=example.shape)],
                       convert_to="mlprogram", compute_precision=ct.precision.FLOAT32).save(str(path))
        else:
            exir = pytest.importorskip("executorch.exir")
            path = folder / "model.pte"
            path.write_bytes(exir.to_edge(torch.export.export(model, (example,))).to_executorch().buffer)
    return path


@pytest.mark.parametrize("fmt", ["openvino", "coreml", "executorch"])
@pytest.mark.parametrize("name", ["mlp", "cnn_bn", "lstm"])
def test_pytorch_device_formats(name: str, fmt: str, tmp_path: Path) -> None:
    """The same PyTorch model exported by each device format's own tool: the live params, or the stated difference.

    The exported files keep no ``requires_grad`` and no running statistics as such (BatchNorm is folded
    or its statistics become plain constants), so only parameters and float32 bytes are compared.
    """
    model, example = _torch_models()[name]
    model.eval()
    live = modelsize.inspect(model).totals.params
    report = modelsize.inspect(_device_export(fmt, model, example, tmp_path))
    check_report(report)
    check_file_invariants(report)
    diff, _why = DEVICE_DIFFERENCES.get((fmt, name), (0, "exact"))
    assert report.totals.params == live + diff
    assert report.totals.bytes_by_role["parameter"] == 4 * report.totals.params

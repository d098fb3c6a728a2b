"""The conformance kit walked over every registered reader, adapter, shrink recipe and backend.

Like scikit-learn's ``parametrize_with_checks``: the test ids come from the registries
themselves, so a new entry shows up here at once and fails until the fixture tables below give
it a small model or file. Fixtures are tiny (a 16-feature, 3-class synthetic problem; models
of a few hundred parameters) so the whole walk stays fast.
"""

from __future__ import annotations

import json
import pickle
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelsize.adapters.registry import ADAPTERS, adapter_for
from modelsize.formats.registry import READERS
from modelsize.shrink.runner import BACKENDS
from modelsize.shrink.spec import RECIPES
from modelsize.testing import check_adapter, check_backend, check_reader, check_recipe

FEATURES, CLASSES, TOKENS = 16, 3, 4


# --------------------------------------------------------------------------- small models, built once


@pytest.fixture(scope="module")
def data() -> Any:
    from modelsize.shrink.data import stratified_split

    rng = np.random.default_rng(0)
    centers = rng.normal(0, 3, (CLASSES, FEATURES))
    y = np.repeat(np.arange(CLASSES), 80)
    X = centers[y] + rng.normal(0, 1, (len(y), FEATURES))
    return stratified_split(X.astype(np.float32), y, seed=0, name="blobs")


class _Models:
    """Each framework's fixture model, built on first use (a test that needs no Keras loads none)."""

    def __init__(self, data: Any, folder: Path) -> None:
        self.data, self.folder, self._cache = data, folder, {}

    def get(self, key: str) -> Any:
        if key not in self._cache:
            self._cache[key] = getattr(self, f"_{key.replace('-', '_')}")()
        return self._cache[key]

    def _torch(self) -> Any:
        torch = pytest.importorskip("torch")
        torch.manual_seed(0)
        return torch.nn.Sequential(torch.nn.Linear(FEATURES, 32), torch.nn.ReLU(), torch.nn.Linear(32, CLASSES))

    def _encoder(self) -> Any:
        torch = pytest.importorskip("torch")

        class Encoder(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.embed = torch.nn.Linear(FEATURES // TOKENS, 16)
                layer = torch.nn.TransformerEncoderLayer(16, 4, dim_feedforward=32, dropout=0.0, batch_first=True)
                self.encoder = torch.nn.TransformerEncoder(layer, num_layers=1, enable_nested_tensor=False)
                self.fc = torch.nn.Linear(16, CLASSES)

            def forward(self, x: Any) -> Any:
                return self.fc(self.encoder(self.embed(x)).mean(dim=1))

        torch.manual_seed(0)
        return Encoder().eval()

    def _keras(self) -> Any:
        keras = pytest.importorskip("keras")
        keras.utils.set_random_seed(0)
        return keras.Sequential([keras.Input((FEATURES,)), keras.layers.Dense(8, activation="relu"),
                                 keras.layers.Dense(CLASSES, activation="softmax")])

    def _tree(self) -> Any:
        from sklearn.tree import DecisionTreeClassifier

        return DecisionTreeClassifier(max_depth=6, random_state=0).fit(self.data.train.X, self.data.train.y)

    def _forest(self) -> Any:
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(n_estimators=8, max_depth=5, random_state=0, n_jobs=1).fit(
            self.data.train.X, self.data.train.y)

    def _linear(self) -> Any:
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(max_iter=300).fit(self.data.train.X, self.data.train.y)

    def _xgb(self) -> Any:
        xgb = pytest.importorskip("xgboost")
        return xgb.XGBClassifier(n_estimators=6, max_depth=2, random_state=0, n_jobs=1).fit(
            self.data.train.X, self.data.train.y)

    def _onnx(self) -> str:
        onnx = pytest.importorskip("onnx")
        from skl2onnx import convert_sklearn
        from skl2onnx.common.data_types import FloatTensorType
        from sklearn.neural_network import MLPClassifier

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mlp = MLPClassifier((16,), max_iter=60, random_state=0).fit(self.data.train.X, self.data.train.y)
            proto = convert_sklearn(mlp, initial_types=[("X", FloatTensorType([None, FEATURES]))],
                                    options={id(mlp): {"zipmap": False}})
        path = self.folder / "mlp.onnx"
        onnx.save(proto, str(path))
        return str(path)


@pytest.fixture(scope="module")
def models(data: Any, tmp_path_factory: pytest.TempPathFactory) -> _Models:
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(limits=1):
        yield _Models(data, tmp_path_factory.mktemp("models"))


# --------------------------------------------------------------------------- readers: name -> build a small file


def _safetensors(folder: Path, name: str = "model.safetensors") -> Path:
    from safetensors.numpy import save_file

    path = folder / name
    save_file({"layer.weight": np.arange(24, dtype=np.float32).reshape(4, 6), "layer.bias": np.ones(4, np.float32)},
              str(path))
    return path


def _index(folder: Path, shard: Path, name: str) -> Path:
    path = folder / name
    path.write_text(json.dumps({"metadata": {"total_size": 112},
                                "weight_map": {"layer.weight": shard.name, "layer.bias": shard.name}}))
    return path


def _hf_folder(folder: Path, models: _Models) -> Path:
    hf = folder / "hf"
    hf.mkdir()
    (hf / "config.json").write_text(json.dumps({"architectures": ["Tiny"], "hidden_size": 6}))
    _safetensors(hf)
    return hf


def _gguf(folder: Path, models: _Models) -> Path:
    gguf = pytest.importorskip("gguf")
    path = folder / "tiny.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_tensor("w", np.ones(32, np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def _tflite(folder: Path, models: _Models) -> Path:
    from modelsize.shrink.keras.tflite import convert

    path = folder / "tiny.tflite"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path.write_bytes(convert(models.get("keras"), "float32"))
    return path


def _torch_file(folder: Path, models: _Models) -> Path:
    torch = pytest.importorskip("torch")
    path = folder / "tiny.pt"
    torch.save(models.get("torch").state_dict(), path)
    return path


def _torch_index(folder: Path, models: _Models) -> Path:
    torch = pytest.importorskip("torch")
    shard = folder / "pytorch_model-00001-of-00001.bin"
    torch.save({"layer.weight": torch.zeros(4, 6), "layer.bias": torch.ones(4)}, shard)
    return _index(folder, shard, "pytorch_model.bin.index.json")


def _keras_file(folder: Path, models: _Models) -> Path:
    path = folder / "tiny.keras"
    models.get("keras").save(path)
    return path


def _h5(folder: Path, models: _Models) -> Path:
    h5py = pytest.importorskip("h5py")
    path = folder / "tiny.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("dense/kernel", data=np.ones((6, 4), np.float32))
        f.create_dataset("dense/bias", data=np.zeros(4, np.float32))
    return path


def _safetensors_index(folder: Path, models: _Models) -> Path:
    shard = _safetensors(folder, "model-00001-of-00001.safetensors")
    return _index(folder, shard, "model.safetensors.index.json")


def _onnx_file(folder: Path, models: _Models) -> Path:
    return Path(models.get("onnx"))


def _xgboost_file(folder: Path, models: _Models) -> Path:
    path = folder / "tiny.ubj"
    models.get("xgb").save_model(path)
    return path


def _lightgbm_file(folder: Path, models: _Models) -> Path:
    lgb = pytest.importorskip("lightgbm")
    path = folder / "tiny.txt"
    train = models.data.train
    lgb.LGBMClassifier(n_estimators=3, num_leaves=4, verbose=-1).fit(train.X, train.y).booster_.save_model(path)
    return path


def _catboost_file(folder: Path, models: _Models) -> Path:
    cb = pytest.importorskip("catboost")
    path = folder / "tiny.cbm"
    train = models.data.train
    cb.CatBoostClassifier(iterations=3, depth=2, verbose=0, thread_count=1).fit(train.X, train.y).save_model(str(path))
    return path


def _pickle(folder: Path, models: _Models) -> Path:
    path = folder / "tiny.pkl"
    path.write_bytes(pickle.dumps({"coef": np.ones((3, 4)), "intercept": np.zeros(3)}, protocol=4))
    return path


def _savedmodel(folder: Path, models: _Models) -> Path:
    """A TensorFlow SavedModel folder written by TensorFlow itself: one trainable variable, one not."""
    models.get("keras")  # TensorFlow is loaded (and its logging quiet) once, with the Keras fixture
    import tensorflow as tf

    module = tf.Module()
    module.w = tf.Variable(tf.ones((4, 6)), name="w")
    module.steps = tf.Variable(0, dtype=tf.int64, trainable=False, name="steps")
    path = folder / "saved"
    tf.saved_model.save(module, str(path))
    return path


def _tfjs(folder: Path, models: _Models) -> Path:
    """A TF.js layers model as its converter writes it: model.json and one shard."""
    (folder / "group1-shard1of1.bin").write_bytes(np.ones(6 * 4 + 4, np.float32).tobytes())
    weights = [{"name": "dense/kernel", "shape": [6, 4], "dtype": "float32"},
               {"name": "dense/bias", "shape": [4], "dtype": "float32"}]
    path = folder / "model.json"
    path.write_text(json.dumps({"format": "layers-model", "modelTopology": {"class_name": "Sequential"},
                                "weightsManifest": [{"paths": ["group1-shard1of1.bin"], "weights": weights}]}))
    return path


def _npz(folder: Path, models: _Models) -> Path:
    """A NumPy archive: a float matrix and an object array (a pickle the reader judges, never loads)."""
    import numpy as np

    path = folder / "arrays.npz"
    np.savez(path, w=np.ones((4, 6), np.float32), meta=np.array([{"step": 3}], dtype=object))
    return path


def _openvino(folder: Path, models: _Models) -> Path:
    """An OpenVINO IR as its serializer writes it: one Const (weights in the .bin) feeding a MatMul."""
    (folder / "tiny.bin").write_bytes(np.ones(4 * 6, np.float32).tobytes())
    path = folder / "tiny.xml"
    path.write_text(
        '<?xml version="1.0"?>\n<net name="tiny" version="11"><layers>'
        '<layer id="0" name="x" type="Parameter" version="opset1"><data shape="1,6" element_type="f32"/></layer>'
        '<layer id="1" name="fc.weight" type="Const" version="opset1">'
        '<data element_type="f32" shape="4, 6" offset="0" size="96"/></layer>'
        '<layer id="2" name="fc" type="MatMul" version="opset1"><data transpose_a="false" transpose_b="true"/></layer>'
        '</layers><edges><edge from-layer="0" from-port="0" to-layer="2" to-port="0"/>'
        '<edge from-layer="1" from-port="0" to-layer="2" to-port="1"/></edges></net>')
    return path


def _fasttext(folder: Path, models: _Models) -> Path:
    """A fastText skipgram model laid out as FastText::saveModel writes it: 2 words, 4 buckets, dim 3."""
    import struct

    args = struct.pack("<12id", 3, 5, 1, 1, 5, 1, 2, 2, 4, 3, 6, 100, 1e-4)
    words = b"".join(w + b"\0" + struct.pack("<qb", 1, 0) for w in (b"</s>", b"hello"))
    dictionary = struct.pack("<iiiqq", 2, 2, 0, 2, -1) + words
    matrices = b"\0" + struct.pack("<qq", 6, 3) + b"\0" * 72 + b"\0" + struct.pack("<qq", 2, 3) + b"\0" * 24
    path = folder / "tiny.bin"
    path.write_bytes(struct.pack("<ii", 793712314, 12) + args + dictionary + matrices)
    return path


def _coreml(folder: Path, models: _Models) -> Path:
    """A CoreML neural network spec: one inner-product layer with float weights (Model.neuralNetwork)."""

    def varint(n: int) -> bytes:
        out = b""
        while n >= 0x80:
            out, n = out + bytes([n & 0x7F | 0x80]), n >> 7
        return out + bytes([n])

    def tagged(number: int, payload: bytes) -> bytes:  # a length-delimited protobuf field
        return varint(number << 3 | 2) + varint(len(payload)) + payload

    weights = tagged(1, np.ones(6, np.float32).tobytes())
    bias = tagged(1, np.zeros(2, np.float32).tobytes())
    layer = tagged(1, b"fc") + tagged(140, tagged(20, weights) + tagged(21, bias))
    path = folder / "tiny.mlmodel"
    path.write_bytes(b"\x08\x04" + tagged(500, tagged(1, layer)))
    return path

def _executorch(folder: Path, models: _Models) -> Path:
    """An ExecuTorch program as ExecuTorch writes it (constants in a segment after the flatbuffer)."""
    torch = pytest.importorskip("torch")
    exir = pytest.importorskip("executorch.exir")
    path = folder / "tiny.pte"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = exir.to_edge(torch.export.export(torch.nn.Linear(6, 4).eval(), (torch.randn(1, 6),)))
        path.write_bytes(program.to_executorch().buffer)
    return path


READER_FIXTURES: dict[str, Callable[[Path, _Models], Path]] = {
    "SavedModelReader": _savedmodel,
    "TFJSReader": _tfjs,
    "OpenVINOReader": _openvino,
    "FastTextReader": _fasttext,
    "CoreMLReader": _coreml,
    "ExecuTorchReader": _executorch,
    "HuggingFaceFolderReader": _hf_folder,
    "GGUFReader": _gguf,
    "TFLiteReader": _tflite,
    "TorchReader": _torch_file,
    "TorchIndexReader": _torch_index,
    "KerasReader": _keras_file,
    "H5Reader": _h5,
    "SafetensorsIndexReader": _safetensors_index,
    "SafetensorsReader": lambda folder, models: _safetensors(folder),
    "OnnxReader": _onnx_file,
    "PickleReader": _pickle,
    "XGBoostReader": _xgboost_file,
    "LightGBMReader": _lightgbm_file,
    "CatBoostReader": _catboost_file,

    "NumpyReader": _npz,
}

# --------------------------------------------------------------------------- adapters: name -> fixture model

ADAPTER_FIXTURES: dict[str, str] = {
    "keras": "keras",
    "pytorch": "torch",
    "boosting": "xgb",
    "sklearn": "forest",
}

# --------------------------------------------------------------------------- backends: name -> fixture model

BACKEND_FIXTURES: dict[str, str] = {
    "keras": "keras",
    "pytorch": "torch",
    "boosting": "xgb",
    "sklearn": "forest",
    "onnx": "onnx",
}

# --------------------------------------------------------------------------- recipes: name -> (params, model, bad)

RECIPE_FIXTURES: dict[str, tuple[dict[str, Any], str, dict[str, Any]]] = {
    "prune": ({"amount": 0.5}, "torch", {"amount": 1.5}),
    "channels": ({"ratio": 0.5}, "torch", {"ratio": 2.0}),
    "fp16": ({}, "torch", {"dtype": "int3"}),
    "bf16": ({}, "torch", {"dtype": "int3"}),
    "cast": ({"dtype": "float16"}, "torch", {"dtype": "int3"}),
    "int8-dynamic": ({}, "torch", {"engine": "bogus"}),
    "int8-static": ({"calibration": 32}, "torch", {"calibration": 0}),
    "int8-weight": ({}, "torch", {"skip": 5}),
    "int4-weight": ({"group_size": 16}, "torch", {"group_size": 0}),
    "distill": ({"epochs": 1, "baseline": False}, "torch", {"temperature": -1.0}),
    "heads": ({"ratio": 0.5}, "encoder", {"ratio": 1.5}),
    "tflite": ({"mode": "int8", "calibration": 16}, "keras", {"mode": "int3"}),
    "tflite-selective": ({"float_ops": ("FULLY_CONNECTED",), "calibration": 16}, "keras", {"calibration": 0}),
    "tfmot-prune": ({"epochs": 1, "sparsity": 0.5}, "keras", {"sparsity": 1.5}),
    "tfmot-cluster": ({"epochs": 1, "clusters": 4}, "keras", {"clusters": 0}),
    "keras-distill": ({"epochs": 1, "baseline": False}, "keras", {"alpha": 2.0}),
    "ccp": ({"alphas": 4}, "tree", {"alphas": 0}),
    "smallest-forest": ({"select": "val", "tree_fractions": (0.5,), "min_samples_leaf": (2,)}, "forest",
                        {"select": "bogus"}),
    "float32": ({}, "forest", {"target": "bogus"}),
    "select-k": ({"k": 8}, "linear", {"score_func": "bogus"}),
    "forest-distill": ({"rounds": 3, "augment": 1, "baseline": False}, "forest", {"student": "bogus"}),
    "first-rounds": ({"rounds": 3}, "xgb", {"rounds": 0}),
    "onnx-dynamic": ({}, "onnx", {"weight_type": "int3"}),
    "onnx-static": ({"calibration": 32}, "onnx", {"method": "bogus"}),
}


def _data_for(model_key: str, data: Any) -> Any:
    return data.reshaped((TOKENS, FEATURES // TOKENS)) if model_key == "encoder" else data


# --------------------------------------------------------------------------- the walk


@pytest.mark.parametrize(("registry", "fixtures"), [(READERS, READER_FIXTURES),
                                                    (ADAPTERS, ADAPTER_FIXTURES),
                                                    (BACKENDS, BACKEND_FIXTURES), (RECIPES, RECIPE_FIXTURES)],
                         ids=["readers", "adapters", "backends", "recipes"])
def test_every_registered_entry_has_a_fixture(registry: Any, fixtures: dict[str, Any]) -> None:
    missing = [name for name in registry if name not in fixtures]
    stale = [name for name in fixtures if name not in registry]
    assert not missing, f"{registry.kind} entries without a conformance fixture: {missing}"
    assert not stale, f"fixtures for {registry.kind} entries that are not registered: {stale}"


@pytest.mark.parametrize("name", list(READERS))
def test_reader_conformance(name: str, models: _Models, tmp_path: Path) -> None:
    assert name in READER_FIXTURES, f"no fixture for the {name} reader"
    path = READER_FIXTURES[name](tmp_path, models)
    report = check_reader(READERS[name], path)
    assert report.totals.tensors >= 1


#: Readers reached only through another reader's finer check: any ``.json`` that starts with ``{`` is a
#: TF.js manifest candidate (its ``weightsManifest`` may come after megabytes of topology, so only the
#: TF.js reader can say no), and the index readers' and XGBoost's files are such ``.json`` files.
FINER_CHECK_BY = {"TorchIndexReader": {"TFJSReader"}, "SafetensorsIndexReader": {"TFJSReader"}}

_NEW_MODULES = """
import importlib, json, sys
from modelsize.formats import declarations, registry
before = set(sys.modules)
if sys.argv[1] == "detect":
    taken = type(registry.reader_for(sys.argv[2])).__name__
else:
    taken = None
    for module in sys.argv[2:]:
        importlib.import_module(module)
print(json.dumps({"taken": taken, "new": sorted(set(sys.modules) - before)}))
"""


def _new_modules(mode: str, *args: str) -> dict[str, Any]:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _NEW_MODULES, mode, *args], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.mark.parametrize("name", list(READERS.specs()))
def test_detecting_each_format_imports_only_its_reader(name: str, models: _Models, tmp_path: Path) -> None:
    """In a fresh interpreter, recognising the format's file imports of ``modelsize.formats`` only what
    importing its reader's module imports (its own helpers): no other reader, unless that reader's finer
    check is the one that tells the formats apart (``FINER_CHECK_BY``, kept as short as the formats allow)."""
    from modelsize.formats.declarations import declaration

    path = READER_FIXTURES[name](tmp_path, models)
    own = READERS.spec(name).partition(":")[0]
    detected = _new_modules("detect", str(path))
    assert detected["taken"] == name
    finer = {READERS.spec(other).partition(":")[0] for other in FINER_CHECK_BY.get(name, ())}
    closure = set(_new_modules("import", own, *sorted(finer))["new"])
    formats = {m for m in detected["new"] if m.startswith("modelsize.formats.")}
    assert own in formats
    assert formats - closure == set(), f"detecting {path.name} imported more than its reader's module"
    assert finer <= formats, f"FINER_CHECK_BY[{name!r}] is stale: detecting {path.name} no longer asks them"
    assert declaration(name) is not None and declaration(name).name == READERS[name].name


@pytest.mark.parametrize("name", list(ADAPTERS))
def test_adapter_conformance(name: str, models: _Models) -> None:
    assert name in ADAPTER_FIXTURES, f"no fixture for the {name} adapter"
    model = models.get(ADAPTER_FIXTURES[name])
    assert adapter_for(model) is ADAPTERS[name], "the registry's order routes the fixture elsewhere"
    report = check_adapter(lambda: model)
    assert report.totals.params > 0


@pytest.mark.parametrize("name", list(BACKENDS))
def test_backend_conformance(name: str, models: _Models, data: Any) -> None:
    assert name in BACKEND_FIXTURES, f"no fixture for the {name} shrink backend"
    model = models.get(BACKEND_FIXTURES[name])
    backend = BACKENDS[name]()
    assert backend.name == name
    check_backend(backend, model, data.test.X[:8])


@pytest.mark.parametrize("name", list(RECIPES))
def test_recipe_conformance(name: str, models: _Models, data: Any) -> None:
    assert name in RECIPE_FIXTURES, f"no fixture for the {name!r} recipe"
    params, model_key, bad = RECIPE_FIXTURES[name]
    recipe = RECIPES[name](**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_recipe(recipe, models.get(model_key), _data_for(model_key, data), bad_params=bad)


# --------------------------------------------------------------------------- the kit catches what it should


class _JsonReader:
    """A toy reader of ``{"w": [numbers]}`` files: correct unless told to misbehave."""

    name = "toy json"

    def __init__(self, unpickle: bool = False, strict: bool = True) -> None:
        self.unpickle, self.strict = unpickle, strict

    def sniff(self, path: Path, head: bytes) -> bool:
        return path.suffix == ".json"

    def read(self, path: Path) -> Any:
        from modelsize.core.errors import InvalidFileError
        from modelsize.core.report import Report, Source
        from modelsize.core.tensors import TensorRecord
        from modelsize.core.tree import Component

        raw = path.read_bytes()
        if self.unpickle:
            pickle.loads(pickle.dumps(Path("x")))  # resolves a global: code from a file could run
        try:
            values = json.loads(raw)["w"]
        except (ValueError, KeyError, TypeError) as exc:
            if not self.strict:
                raise
            raise InvalidFileError(f"{path.name} is not a toy json file: {exc}") from exc
        record = TensorRecord(path="w", shape=(len(values),), dtype="float32")
        return Report(root=Component(name="toy", kind="Toy", path="", tensors=(record,)),
                      source=Source(framework="toy", object_type="file"))


def test_check_reader_catches_execution_and_foreign_errors(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"w": [1.0, 2.0, 3.0]}))
    assert check_reader(_JsonReader(), path).totals.params == 3
    with pytest.raises(AssertionError, match=r"executed code: \[.pickle.find_class\('pathlib', 'PosixPath'\)"):
        check_reader(_JsonReader(unpickle=True), path)
    with pytest.raises(AssertionError, match="raised JSONDecodeError, not InvalidFileError"):
        check_reader(_JsonReader(strict=False), path)

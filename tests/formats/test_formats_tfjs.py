"""TensorFlow.js ``model.json`` + shards: the manifest read, shards sized by ``stat``, never loaded.

The ``tensorflowjs`` package does not install beside our pins (it wants TensorFlow 2.19 and
NumPy 2.1), so the files here are written to the published format by :func:`write_tfjs`, which
follows tensorflowjs' ``write_weights``: a group's weights concatenated in order, cut into
4 MiB shards named ``group1-shard{i}of{n}.bin``; ``uint8``/``uint16`` affine quantization with
``scale`` and ``min``, or ``float16``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given

import modelsize
from modelsize import Role
from modelsize.formats.registry import reader_for
from modelsize.formats.tfjs_file import TFJSReader
from modelsize.testing import check_report

from formats_helpers import assert_invalid, check_file_invariants, fuzz_settings, mutations, only_our_errors

SHARD = 4 << 20


def _quantize(a: np.ndarray, dtype: str | None) -> tuple[bytes, dict[str, Any] | None]:
    if dtype is None or a.dtype != np.float32:
        return a.tobytes(), None
    if dtype == "float16":
        return a.astype("<f2").tobytes(), {"dtype": "float16", "original_dtype": "float32"}
    top = 255 if dtype == "uint8" else 65535
    lo, hi = float(a.min()), float(a.max())
    scale = (hi - lo) / top or 1.0
    q = np.round((a - lo) / scale).astype(np.uint8 if dtype == "uint8" else "<u2")
    return q.tobytes(), {"dtype": dtype, "scale": scale, "min": lo, "original_dtype": "float32"}


def write_tfjs(folder: Path, weights: dict[str, np.ndarray], *, quantize: str | None = None,
               fmt: str = "layers-model", shard: int = SHARD, topology: dict[str, Any] | None = None) -> Path:
    """A TF.js model folder as tensorflowjs writes it (one weight group); returns model.json."""
    folder.mkdir(parents=True, exist_ok=True)
    entries, data = [], b""
    for name, a in weights.items():
        raw, q = _quantize(a, quantize)
        dtype = {"float32": "float32", "int32": "int32", "bool": "bool"}[str(a.dtype)]
        entries.append({"name": name, "shape": list(a.shape), "dtype": dtype, **({"quantization": q} if q else {})})
        data += raw
    chunks = [data[i:i + shard] for i in range(0, len(data), shard)] or [b""]
    paths = [f"group1-shard{i + 1}of{len(chunks)}.bin" for i in range(len(chunks))]
    for p, c in zip(paths, chunks):
        (folder / p).write_bytes(c)
    if topology is None:
        topology = {"class_name": "Sequential", "config": {}} if fmt == "layers-model" else {"node": []}
    doc = {"format": fmt, "generatedBy": "keras v3", "convertedBy": "TensorFlow.js Converter v4.22.0",
           "modelTopology": topology, "weightsManifest": [{"paths": paths, "weights": entries}]}
    (folder / "model.json").write_text(json.dumps(doc))
    return folder / "model.json"


def _keras_model() -> Any:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8), keras.layers.BatchNormalization(),
                              keras.layers.Dense(3)])
    return model


def _keras_weights(model: Any) -> dict[str, np.ndarray]:
    """Named ``layer/weight`` as the TF.js converter names a Sequential model's weights."""
    return {"/".join(w.path.split("/")[-2:]): np.asarray(w.numpy()) for w in model.weights}


def _totals(report: modelsize.Report) -> tuple[int, ...]:
    t = report.totals
    return t.params, t.trainable_params, t.non_trainable_params, t.trainability_unknown_params, t.stored_bytes


@pytest.mark.parametrize("frozen", [False, True])
def test_keras_model_as_tfjs_gives_the_live_count(tmp_path: Path, frozen: bool) -> None:
    """The same model, live and as a TF.js layers model: same params, trainable split and bytes.

    As in Keras, BatchNorm's moving statistics are non-trainable parameters; a layer saved with
    ``trainable: false`` in the topology makes its weights non-trainable.
    """
    model = _keras_model()
    model.layers[0].trainable = not frozen
    live = modelsize.inspect(model)
    topology = json.loads(model.to_json())
    path = write_tfjs(tmp_path / "m", _keras_weights(model), topology=topology)
    non_trainable = 16 + (56 if frozen else 0)
    for target in (path, path.parent):  # the model.json or its folder
        report = modelsize.inspect(target)
        check_report(report)
        check_file_invariants(report)
        assert _totals(report) == _totals(live) == (99 + 16, 99 + 16 - non_trainable, non_trainable, 0, 4 * 115)
    assert report.source.framework == "tensorflowjs" and report.source.object_type == "layers-model"
    name = model.layers[0].name
    dense = report.root.find(name)
    assert dense is not None and [t.meta["name"] for t in dense.tensors] == [f"{name}/kernel", f"{name}/bias"]


@pytest.mark.parametrize(("quant", "width"), [("uint8", 1), ("uint16", 2), ("float16", 2)])
def test_quantized_weights_are_their_stored_bytes(tmp_path: Path, quant: str, width: int) -> None:
    rng = np.random.default_rng(0)
    weights = {"dense/kernel": rng.random((64, 32), np.float32), "dense/bias": rng.random(32, np.float32),
               "step": np.array([3], np.int32)}
    path = write_tfjs(tmp_path, weights, quantize=quant)
    report = modelsize.inspect(path)
    kernel = next(r for r in report.root.iter_tensors() if r.meta["name"] == "dense/kernel")
    assert kernel.stored_bytes == 64 * 32 * width and kernel.bits == 8 * width
    assert kernel.meta["quantization"]["dtype"] == quant
    assert report.totals.params == 64 * 32 + 32 + 1
    shards = sum(p.stat().st_size for p in tmp_path.glob("*.bin"))
    assert report.totals.stored_bytes == (64 * 32 + 32) * width + 4 == shards
    assert any(f"quantized to {quant}" in n for n in report.notes)
    assert not any("do not match" in n for n in report.notes)


def test_shards_are_sized_not_read(tmp_path: Path) -> None:
    """Several shards: their stat sizes add up; a missing shard or a wrong size is a note, not an error."""
    weights = {"emb/embeddings": np.ones((300, 1000), np.float32)}  # 1.2 MB -> 3 shards of 512 KiB
    path = write_tfjs(tmp_path, weights, shard=512 << 10)
    report = modelsize.inspect(path)
    assert report.sections["tfjs"]["groups"][0]["paths"] == [f"group1-shard{i}of3.bin" for i in (1, 2, 3)]
    assert report.sections["file"]["bytes"] == path.stat().st_size + 1_200_000
    assert report.totals.params == 300_000 and not report.notes
    (tmp_path / "group1-shard3of3.bin").unlink()
    report = modelsize.inspect(path)
    assert report.totals.params == 300_000 and any("group1-shard3of3.bin' of weight group 0 is missing" in n
                                                   for n in report.notes)
    (tmp_path / "group1-shard3of3.bin").write_bytes(b"\0" * 10)
    assert any("hold 1,048,586 bytes but the manifest's weights need 1,200,000" in n
               for n in modelsize.inspect(path).notes)


def test_graph_model_string_and_int_constants(tmp_path: Path) -> None:
    """A graph model's int32 constants are metadata; its one string weight gets the group's leftover bytes."""
    path = write_tfjs(tmp_path, {"w": np.ones((4, 4), np.float32), "shape": np.array([1, 16], np.int32)},
                      fmt="graph-model")
    doc = json.loads(path.read_text())
    doc["weightsManifest"][0]["weights"].append({"name": "vocab", "shape": [2], "dtype": "string"})
    strings = b"".join(len(s).to_bytes(4, "little") + s for s in (b"hello", b"hi"))
    with (tmp_path / "group1-shard1of1.bin").open("ab") as fh:
        fh.write(strings)
    path.write_text(json.dumps(doc))
    report = modelsize.inspect(path)
    recs = {r.meta["name"]: r for r in report.root.iter_tensors()}
    assert recs["shape"].role is Role.METADATA and recs["vocab"].role is Role.METADATA
    assert recs["vocab"].stored_bytes == len(strings) == 15
    assert report.totals.params == 16 and report.source.object_type == "graph-model"


def test_only_tfjs_manifests_are_claimed(tmp_path: Path) -> None:
    other = tmp_path / "model.json"
    other.write_text(json.dumps({"learner": {"gradient_booster": {}}, "version": [2, 1, 0]}))
    assert not TFJSReader().sniff(other, other.read_bytes()[:64])
    assert not TFJSReader().sniff(tmp_path, b"")
    path = write_tfjs(tmp_path / "m", {"w": np.ones(3, np.float32)})
    assert reader_for(path).name == reader_for(path.parent).name == "tensorflow.js"


@pytest.mark.parametrize(("change", "words"), [
    ({"paths": ["../../etc/passwd"]}, "not a relative path inside"),
    ({"weights": [{"name": "w", "shape": [-1], "dtype": "float32"}]}, "not a list of at most"),
    ({"weights": [{"name": "w", "shape": [1] * 65, "dtype": "float32"}]}, "not a list of at most"),
    ({"weights": [{"name": "w", "shape": [2], "dtype": "float128"}]}, "has dtype 'float128'"),
    ({"weights": [{"name": "w", "shape": [2], "dtype": "float32", "quantization": {"dtype": "int3"}}]},
     "has quantization"),
    ({"weights": [7]}, "without a 'name' string"),
])
def test_hostile_manifests_are_our_error(tmp_path: Path, change: dict[str, Any], words: str) -> None:
    path = write_tfjs(tmp_path, {"w": np.ones(2, np.float32)})
    doc = json.loads(path.read_text())
    doc["weightsManifest"][0].update(change)
    path.write_text(json.dumps(doc))
    assert_invalid(lambda: modelsize.inspect(path), path, words)


def test_huge_manifest_is_refused_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from modelsize.formats import tfjs_file

    path = write_tfjs(tmp_path, {"w": np.ones(2, np.float32)})
    monkeypatch.setattr(tfjs_file, "MAX_MANIFEST_BYTES", 100)
    assert_invalid(lambda: tfjs_file.read_tfjs(path), path, "above the 100-byte limit")


@fuzz_settings(150)
@given(data=mutations(json.dumps({"format": "layers-model", "weightsManifest": [
    {"paths": ["group1-shard1of1.bin"], "weights": [{"name": "d/kernel", "shape": [2, 3], "dtype": "float32",
                                                     "quantization": {"dtype": "uint8", "scale": 0.1, "min": 0}}]}
]}).encode()))
def test_mutated_manifests_fail_with_our_error(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "model.json"
    path.write_bytes(data)
    only_our_errors(lambda p: TFJSReader().read(p), path)

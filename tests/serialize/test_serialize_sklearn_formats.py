"""Serialized sizes of scikit-learn estimators equal the files the libraries write."""

from __future__ import annotations

import io
import pickle

import pytest

pytest.importorskip("sklearn")
joblib = pytest.importorskip("joblib")
zstd = pytest.importorskip("zstandard")

from sklearn.datasets import load_iris  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.neighbors import KernelDensity  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import modelsize  # noqa: E402
from modelsize.examples.seed_sklearn import seed_random_forest  # noqa: E402
from modelsize.serialize import sklearn_formats as sf  # noqa: E402
from modelsize.serialize.base import CompressionOptions  # noqa: E402
from modelsize.testing import check_report  # noqa: E402

X, Y = load_iris(return_X_y=True)
ON = CompressionOptions()


@pytest.fixture(scope="module")
def forest():
    return seed_random_forest()


@pytest.fixture(scope="module")
def pipeline():
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, Y)


def zstd_size(data: bytes, level: int = 3) -> int:
    """The project's reference: a zstd frame told the content size, as the zstd tool writes it."""
    cobj = zstd.ZstdCompressor(level=level).compressobj(size=len(data))
    return len(cobj.compress(data)) + len(cobj.flush())


def test_acceptance_seed_forest_joblib_size_equals_written_file(forest, tmp_path):
    predicted = sf.joblib_size(forest, ON)
    path = tmp_path / "forest.joblib"
    joblib.dump(forest, path)  # the seed article's way of saving it
    assert predicted.exact and predicted.bytes == path.stat().st_size
    # joblib to a file object writes the same bytes as joblib to a filename (alignment included).
    buffer = io.BytesIO()
    joblib.dump(forest, buffer)
    assert buffer.getvalue() == path.read_bytes()
    assert predicted.compressed.bytes == zstd_size(path.read_bytes())
    assert predicted.compressed.exact and predicted.compressed.method == "full stream"


def test_joblib_compressed_size_equals_written_file(forest, tmp_path):
    predicted = sf.joblib_compressed_size(forest)
    path = tmp_path / "forest.joblib"
    joblib.dump(forest, path, compress=3)
    assert predicted.bytes == path.stat().st_size
    assert predicted.compressed is None  # already zlib-compressed: not compressed again


@pytest.mark.parametrize("protocol_file", ["forest", "pipeline"])
def test_pickle_size_equals_written_file(protocol_file, request, tmp_path):
    est = request.getfixturevalue(protocol_file)
    predicted = sf.pickle_size(est, ON)
    path = tmp_path / "model.pkl"
    with path.open("wb") as fh:
        pickle.dump(est, fh, protocol=5)
    assert predicted.bytes == path.stat().st_size
    assert predicted.compressed.bytes == zstd_size(path.read_bytes())


def test_skops_size_equals_written_file(pipeline, tmp_path):
    sio = pytest.importorskip("skops.io")
    predicted = sf.skops_size(pipeline, ON)
    path = tmp_path / "model.skops"
    sio.dump(pipeline, path)
    assert predicted.exact and predicted.bytes == path.stat().st_size


def test_onnx_size_equals_saved_model_and_unconvertible_gets_a_note(pipeline, tmp_path):
    onnx = pytest.importorskip("onnx")
    skl2onnx = pytest.importorskip("skl2onnx")
    from skl2onnx.common.data_types import FloatTensorType

    predicted = sf.onnx_size(pipeline, ON)
    model = skl2onnx.convert_sklearn(pipeline, initial_types=[("X", FloatTensorType([None, 4]))])
    path = tmp_path / "model.onnx"
    onnx.save_model(model, str(path))
    assert predicted.exact and predicted.bytes == path.stat().st_size

    kde = KernelDensity().fit(X)  # skl2onnx has no converter for it
    missing = sf.onnx_size(kde, ON)
    assert missing.bytes is None and not missing.exact
    assert "skl2onnx cannot convert" in missing.note


def test_compression_off_gives_no_compressed_sizes(pipeline):
    sizes = sf.format_sizes(pipeline, CompressionOptions(enabled=False))
    assert all(s.compressed is None for s in sizes)
    assert [s.format for s in sizes] == [
        "pickle (protocol 5)", "joblib", "joblib (compress=3)", "skops", "onnx (skl2onnx)"
    ]


def test_inspect_adds_the_formats_section(pipeline):
    rep = modelsize.inspect(pipeline)
    check_report(rep)
    formats = {f.format: f for f in rep.sections["formats"]}
    assert formats["joblib"].bytes == len(_joblib_bytes(pipeline))
    # The report's stored bytes are the arrays pickle carries; pickle adds its framing on top.
    assert rep.totals.stored_bytes <= formats["pickle (protocol 5)"].bytes


def _joblib_bytes(obj) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(obj, buffer)
    return buffer.getvalue()

"""XGBoost and LightGBM serialized sizes equal the files the libraries write."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

xgb = pytest.importorskip("xgboost")
lgb = pytest.importorskip("lightgbm")
joblib = pytest.importorskip("joblib")

from sklearn.datasets import load_iris  # noqa: E402

from modelsize.serialize import boosting_formats as bf  # noqa: E402
from modelsize.serialize.base import CompressionOptions  # noqa: E402

X, Y = load_iris(return_X_y=True)
ON = CompressionOptions()


@pytest.fixture(scope="module")
def xgb_model():
    return xgb.XGBClassifier(n_estimators=5, max_depth=3, random_state=0).fit(X, Y)


@pytest.fixture(scope="module")
def lgb_model():
    return lgb.LGBMClassifier(n_estimators=5, num_leaves=8, verbose=-1, random_state=0).fit(X, Y)


def by_format(rows):
    return {r.format: r for r in rows}


@pytest.mark.parametrize("ext", ["json", "ubj"])
def test_xgboost_booster_native_sizes_equal_save_model(xgb_model, ext, tmp_path):
    booster = xgb_model.get_booster()
    predicted = by_format(bf.xgboost_native_sizes(booster, ON))[f"xgboost {ext}"]
    path = tmp_path / f"model.{ext}"
    booster.save_model(path)
    assert predicted.exact and predicted.bytes == path.stat().st_size


@pytest.mark.parametrize("ext", ["json", "ubj"])
def test_xgboost_wrapper_native_sizes_include_its_attributes(xgb_model, ext, tmp_path):
    predicted = by_format(bf.xgboost_native_sizes(xgb_model, ON))[f"xgboost {ext}"]
    path = tmp_path / f"model.{ext}"
    xgb_model.save_model(path)
    assert predicted.bytes == path.stat().st_size
    assert predicted.bytes > len(xgb_model.get_booster().save_raw(ext))  # the wrapper's attributes


def test_lightgbm_text_size_equals_save_model(lgb_model, tmp_path):
    predicted = bf.lightgbm_text_size(lgb_model, ON)
    path = tmp_path / "model.txt"
    lgb_model.booster_.save_model(path)
    assert predicted.exact and predicted.bytes == path.stat().st_size


@pytest.mark.parametrize("which", ["xgb_model", "lgb_model"])
def test_pickle_joblib_and_onnx_sizes_equal_written_files(which, request, tmp_path):
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxmltools")
    model = request.getfixturevalue(which)
    library = "xgboost" if which == "xgb_model" else "lightgbm"
    rows = by_format(bf.format_sizes(model, library, ON))
    pkl, jl = tmp_path / "m.pkl", tmp_path / "m.joblib"
    pkl.write_bytes(pickle.dumps(model, protocol=5))
    joblib.dump(model, jl)
    assert rows["pickle (protocol 5)"].bytes == pkl.stat().st_size
    assert rows["joblib"].bytes == jl.stat().st_size
    onnx_row = rows["onnx (onnxmltools)"]
    import onnxmltools
    from onnxmltools.convert.common.data_types import FloatTensorType

    convert = onnxmltools.convert_xgboost if library == "xgboost" else onnxmltools.convert_lightgbm
    path = tmp_path / "m.onnx"
    onnx.save_model(convert(model, initial_types=[("input", FloatTensorType([None, 4]))]), str(path))
    assert onnx_row.exact and onnx_row.bytes == path.stat().st_size


def test_unconvertible_model_gets_a_note_not_a_number():
    pd = pytest.importorskip("pandas")
    pytest.importorskip("onnxmltools")
    rng = np.random.RandomState(0)
    frame = pd.DataFrame({"a": rng.normal(size=100), "c": pd.Categorical(rng.randint(0, 5, 100))})
    model = xgb.XGBClassifier(n_estimators=2, enable_categorical=True, tree_method="hist")
    model.fit(frame, rng.randint(0, 2, 100))
    row = bf.onnx_size(model, "xgboost", ON)
    assert row.bytes is None and not row.exact and "onnxmltools cannot convert" in row.note

"""Keras .keras archives and legacy .h5: layer tree from the config, weights from HDF5 metadata."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import modelsize
from modelsize import Role
from modelsize.formats.keras_file import H5Reader, KerasReader
from modelsize.testing import check_report

from formats_helpers import assert_invalid, fuzz_settings, mutations, only_our_errors

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
keras = pytest.importorskip("keras")


def _model(lambda_layer: "keras.layers.Layer | None" = None) -> "keras.Model":
    inp = keras.Input((8,), name="input_layer")
    x = keras.layers.Dense(16, name="dense")(inp)
    x = keras.layers.BatchNormalization(name="bn")(x)
    if lambda_layer is not None:
        x = lambda_layer(x)
    x = keras.layers.Dropout(0.1, name="drop")(x)
    out = keras.layers.Dense(4, name="head")(x)
    model = keras.Model(inp, out, name="tiny")
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.random.rand(8, 8), np.random.rand(8, 4), verbose=0, epochs=1)
    return model


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple["keras.Model", Path, Path]:
    folder = tmp_path_factory.mktemp("keras")
    model = _model()
    model.save(folder / "tiny.keras")
    model.save(folder / "tiny.h5")
    return model, folder / "tiny.keras", folder / "tiny.h5"


def _weights(model: "keras.Model") -> dict[str, tuple]:
    return {w.path.replace("/", "."): (tuple(w.shape), np.dtype(w.dtype).name) for w in model.weights}


@pytest.mark.parametrize("which", ["keras", "h5"])
def test_weights_match_the_model(saved: tuple, which: str) -> None:
    model, keras_path, h5_path = saved
    path = keras_path if which == "keras" else h5_path
    report = modelsize.inspect(path)
    check_report(report)
    recs = {r.path: r for r in report.root.iter_tensors() if r.role is not Role.OPTIMIZER_STATE}
    assert {p: (r.shape, r.dtype) for p, r in recs.items()} == _weights(model)
    assert report.totals.params == model.count_params()  # moving statistics count, as Keras counts them
    assert report.totals.trainable_params == sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert recs["bn.moving_mean"].role is Role.PARAMETER and recs["bn.moving_mean"].trainable is False
    assert recs["bn.gamma"].trainable is True
    opt = [r for r in report.root.iter_tensors() if r.role is Role.OPTIMIZER_STATE]
    assert sorted(r.shape for r in opt) == sorted(tuple(v.shape) for v in model.optimizer.variables)
    assert [c.name for c in report.root.children][:5] == ["input_layer", "dense", "bn", "drop", "head"]
    assert report.root.find("drop").kind == "Dropout"
    assert report.root.kind == "Functional"
    assert sum(report.sections["file"]["split"].values()) == path.stat().st_size


def test_lambda_layer_is_listed_never_run(tmp_path: Path, marker: Path) -> None:
    touch = eval(f"lambda t: (__import__('pathlib').Path({str(marker)!r}).touch(), t)[1]")  # noqa: S307
    model = _model(keras.layers.Lambda(touch, name="sneaky"))
    path = tmp_path / "evil.keras"
    model.save(path)
    marker.unlink(missing_ok=True)  # building the model in this test ran the lambda; reset

    report = modelsize.inspect(path)
    check_report(report)
    assert not marker.exists()
    assert report.sections["keras"]["lambda_layers"] == ["sneaky"]
    assert report.root.find("sneaky").kind == "Lambda"
    assert any("Lambda" in n for n in report.notes)

    # control: the file really is dangerous — Keras itself runs the lambda when loading unsafely
    keras.models.load_model(path, safe_mode=False)
    assert marker.exists()
    marker.unlink()


def test_corrupt_archives(tmp_path: Path, saved: tuple) -> None:
    _, keras_path, h5_path = saved
    no_config = tmp_path / "noconf.keras"
    with zipfile.ZipFile(keras_path) as zin, zipfile.ZipFile(no_config, "w") as zout:
        for info in zin.infolist():
            if info.filename != "config.json":
                zout.writestr(info, zin.read(info))
    assert_invalid(lambda: modelsize.inspect(no_config), no_config, "config.json")
    bad_json = tmp_path / "badjson.keras"
    with zipfile.ZipFile(keras_path) as zin, zipfile.ZipFile(bad_json, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info, b"{nope" if info.filename == "config.json" else zin.read(info))
    assert_invalid(lambda: modelsize.inspect(bad_json), bad_json, "JSON")
    cut = tmp_path / "cut.h5"
    cut.write_bytes(h5_path.read_bytes()[:2000])
    assert_invalid(lambda: modelsize.inspect(cut), cut)


@fuzz_settings(80, seconds=10)
@given(data=st.data())
def test_fuzz_only_our_errors_escape(saved: tuple, tmp_path_factory: pytest.TempPathFactory,
                                     data: st.DataObject) -> None:
    _, keras_path, h5_path = saved
    which = data.draw(st.sampled_from(["keras", "h5"]))
    seed = (keras_path if which == "keras" else h5_path).read_bytes()
    path = tmp_path_factory.getbasetemp() / f"mutant.{which}"
    path.write_bytes(data.draw(mutations(seed)))
    only_our_errors((KerasReader() if which == "keras" else H5Reader()).read, path)


def _bn_model() -> "keras.Model":
    """BatchNormalization(scale=False) as in InceptionV3, center=False, a frozen layer, a trained optimizer."""
    inp = keras.Input((8, 8, 3), name="img")
    x = keras.layers.Conv2D(4, 3, use_bias=False, name="conv")(inp)
    x = keras.layers.BatchNormalization(scale=False, name="bn_noscale")(x)
    x = keras.layers.BatchNormalization(center=False, name="bn_nocenter")(x)
    x = keras.layers.Dropout(0.2, name="drop")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    out = keras.layers.Dense(3, name="head")(x)
    model = keras.Model(inp, out, name="inception_like")
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.random.rand(4, 8, 8, 3), np.random.rand(4, 3), verbose=0, epochs=1)
    return model


def test_batchnorm_scale_false_same_counts_in_every_keras_format(tmp_path: Path) -> None:
    model = _bn_model()
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    non_trainable = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    assert (model.count_params(), trainable, non_trainable) == (147, 131, 16)
    opt_bytes = sum(int(np.prod(v.shape)) * np.dtype(v.dtype).itemsize for v in model.optimizer.variables)
    paths = {"keras": tmp_path / "m.keras", "weights": tmp_path / "m.weights.h5", "h5": tmp_path / "m.h5"}
    model.save(paths["keras"])
    model.save_weights(paths["weights"])
    model.save(paths["h5"])  # legacy full model, with the optimizer's state
    live = modelsize.inspect(model).totals
    assert (live.params, live.trainable_params, live.non_trainable_params) == (147, 131, 16)
    for which, path in paths.items():
        report = modelsize.inspect(path)
        check_report(report)
        t = report.totals
        assert (t.params, t.trainable_params, t.non_trainable_params) == (147, 131, 16), which
        assert t.bytes_by_role["parameter"] == live.bytes_by_role["parameter"] == 147 * 4, which
        assert t.bytes_by_role["optimizer_state"] == opt_bytes, which
        recs = {r.path: r for r in report.root.iter_tensors()}
        assert recs["bn_noscale.moving_mean" if which != "weights" else "batch_normalization.moving_mean"].trainable \
            is False
        if which != "weights":  # named from the config: no moving mean reported as a trainable beta
            assert [n for n in recs if n.startswith("bn_noscale.")] == [
                "bn_noscale.beta", "bn_noscale.moving_mean", "bn_noscale.moving_variance"]
            assert [n for n in recs if n.startswith("bn_nocenter.")] == [
                "bn_nocenter.gamma", "bn_nocenter.moving_mean", "bn_nocenter.moving_variance"]
    weights = modelsize.inspect(paths["weights"])
    assert any("weights-only file has no model config" in n for n in weights.notes)

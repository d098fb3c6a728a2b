"""TensorFlow SavedModel folders read header-only from variables.index (no TensorFlow at read time)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import modelsize
from modelsize import InvalidFileError, Role
from modelsize.formats.savedmodel_file import SavedModelReader
from modelsize.formats.tensor_bundle import read_index, snappy_decompress
from modelsize.testing import check_report

from formats_helpers import check_file_invariants, run_limited

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple["keras.Model", Path]:
    """A Keras model with BatchNormalization(scale=False), exported as a SavedModel by Keras itself."""
    folder = tmp_path_factory.mktemp("savedmodel")
    # Explicit names: Keras numbers auto-names per process, so other tests would shift them.
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4, name="dense"),
                              keras.layers.BatchNormalization(scale=False, name="batch_normalization"),
                              keras.layers.Dense(2, name="dense_1")], name="sequential")
    model.compile("adam", "mse")
    model.fit(np.random.rand(4, 8), np.random.rand(4, 2), verbose=0)
    model.export(str(folder / "sm"), verbose=False)
    return model, folder / "sm"


def _checkpoint_view(folder: Path) -> dict[str, tuple]:
    """TensorFlow's own view of the bundle: key → (shape, dtype)."""
    reader = tf.train.load_checkpoint(str(folder / "variables" / "variables"))
    dtypes = reader.get_variable_to_dtype_map()
    return {k: (tuple(s), dtypes[k].name) for k, s in reader.get_variable_to_shape_map().items()}


def test_keras_export_gives_the_live_counts(exported: tuple) -> None:
    model, folder = exported
    report = modelsize.inspect(folder)
    check_report(report)
    check_file_invariants(report)
    t = report.totals
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert (t.params, t.trainable_params, t.non_trainable_params) == (model.count_params(), trainable, 8) == (58, 50, 8)
    assert t.bytes_by_role["parameter"] == 58 * 4
    lib = _checkpoint_view(folder)
    recs = list(report.root.iter_tensors())
    assert sorted(r.meta["checkpoint_key"] for r in recs) == sorted(lib)
    for r in recs:
        shape, dtype = lib[r.meta["checkpoint_key"]]
        if dtype != "string":
            assert (r.shape, r.dtype) == (shape, dtype)
    bn = [r for r in recs if ".batch_normalization" in r.path and not r.path.startswith("_all_variables")]
    assert sorted(r.path.rsplit(".", 1)[-1] for r in bn) == ["beta", "moving_mean", "moving_variance"]  # no gamma
    assert [r.trainable for r in bn if r.path.endswith("moving_mean")] == [False]
    assert any("saved twice" in n for n in report.notes)
    assert report.root.kind == "SavedModel"
    files = {f["path"]: f for f in report.sections["file"]["files"]}
    assert files["variables/variables.index"]["bytes"] == (folder / "variables" / "variables.index").stat().st_size


def test_optimizer_variables_are_their_own_role(tmp_path: Path) -> None:
    mod = tf.Module()
    mod.w = tf.Variable(tf.ones((3, 5)), name="w")
    mod.frozen = tf.Variable(tf.zeros(5), trainable=False, name="frozen")
    mod.step = tf.Variable(0, dtype=tf.int64, trainable=False)
    mod.optimizer = keras.optimizers.Adam()
    mod.optimizer.build([mod.w])
    tf.saved_model.save(mod, str(tmp_path / "mod"))
    report = modelsize.inspect(tmp_path / "mod")
    check_report(report)
    check_file_invariants(report)
    t = report.totals
    assert (t.params, t.trainable_params, t.non_trainable_params) == (20, 15, 5)
    opt_bytes = sum(int(np.prod(v.shape)) * np.dtype(v.dtype).itemsize for v in mod.optimizer.variables)
    assert t.bytes_by_role["optimizer_state"] == opt_bytes
    opt = sorted(r.path.rsplit(".", 1)[-1] for r in report.root.iter_tensors() if r.role is Role.OPTIMIZER_STATE)
    assert opt == ["iteration", "learning_rate", "w_0_momentum", "w_0_velocity"]
    assert {r.path: r.role for r in report.root.iter_tensors()}["Variable"] is Role.METADATA  # an int64 step counter


def test_reading_imports_no_tensorflow(exported: tuple) -> None:
    _, folder = exported
    out = run_limited(f"""
        import sys, modelsize
        r = modelsize.inspect({str(folder)!r})
        print(r.totals.params, "tensorflow" in sys.modules)
    """, limit_mib=2048)
    assert out.split() == ["58", "False"]


def test_corrupt_index_is_our_error(exported: tuple, tmp_path: Path) -> None:
    _, folder = exported
    index = (folder / "variables" / "variables.index").read_bytes()
    bad = tmp_path / "variables.index"
    bad.write_bytes(index[:-1] + b"\x00")
    with pytest.raises(InvalidFileError, match="magic number"):
        read_index(bad)
    bad.write_bytes(index[:10] + b"\xff" * 40 + index[50:])
    with pytest.raises(InvalidFileError):
        read_index(bad)
    assert SavedModelReader().sniff(folder, b"") and not SavedModelReader().sniff(tmp_path, b"")


def test_snappy_blocks() -> None:
    # literal "abcd" then a copy of 4 bytes at offset 4: "abcdabcd"
    assert snappy_decompress(bytes([8, 3 << 2]) + b"abcd" + bytes([0b000_000_01, 4]), 64) == b"abcdabcd"

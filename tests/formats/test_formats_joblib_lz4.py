"""joblib files compressed with lz4 (``joblib.dump(..., compress="lz4")``): read as a stream, like the other codecs."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

joblib = pytest.importorskip("joblib")
pytest.importorskip("lz4.frame")

import modelsize  # noqa: E402
from modelsize.core.errors import MissingDependencyError  # noqa: E402
from modelsize.core.tensors import Role  # noqa: E402
from modelsize.testing import check_report  # noqa: E402


def _obj() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {"w": rng.normal(size=(64, 32)).astype(np.float32), "b": np.arange(10, dtype=np.int64)}


def test_lz4_joblib_reads_as_the_uncompressed_file(tmp_path: Path) -> None:
    obj = _obj()
    plain, packed = tmp_path / "plain.joblib", tmp_path / "packed.joblib"
    joblib.dump(obj, plain)
    joblib.dump(obj, packed, compress="lz4")
    assert packed.read_bytes()[:4] == b"\x04\x22\x4d\x18"  # the lz4 frame magic
    rep = modelsize.inspect(packed)
    check_report(rep)
    assert rep.sections["pickle"]["compression"] == "lz4"
    recs = {r.path: r for r in rep.root.iter_tensors() if r.role is not Role.METADATA}
    assert {p: (r.shape, r.dtype, r.stored_bytes) for p, r in recs.items()} == {
        p: (a.shape, a.dtype.name, a.nbytes) for p, a in obj.items()}
    assert rep.totals.params == modelsize.inspect(plain).totals.params == 64 * 32 + 10


def test_lz4_joblib_booster_is_decoded(tmp_path: Path) -> None:
    lgb = pytest.importorskip("lightgbm")
    from sklearn.datasets import load_iris

    x, y = load_iris(return_X_y=True)
    model = lgb.LGBMClassifier(n_estimators=2, num_leaves=4, verbose=-1).fit(x, y)
    path = tmp_path / "m.joblib"
    joblib.dump(model, path, compress="lz4")
    assert modelsize.inspect(path).totals.params == modelsize.inspect(model).totals.params > 0


def test_missing_lz4_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "m.joblib"
    joblib.dump(_obj(), path, compress="lz4")
    for name in [m for m in sys.modules if m == "lz4" or m.startswith("lz4.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "lz4", None)  # import lz4 now fails as if it were not installed
    with pytest.raises(MissingDependencyError, match=r"modelsize\[sklearn\]") as info:
        modelsize.inspect(path)
    assert "lz4" in str(info.value)

"""CatBoost ``.cbm`` files read header-only, checked against CatBoost's own view of the model it wrote."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

cb = pytest.importorskip("catboost")
pd = pytest.importorskip("pandas")

from sklearn.datasets import load_iris  # noqa: E402

import modelsize  # noqa: E402
from modelsize.core.errors import InvalidFileError  # noqa: E402
from modelsize.core.tensors import Role  # noqa: E402
from modelsize.formats.registry import reader_for  # noqa: E402
from modelsize.testing import check_report  # noqa: E402

X, Y = load_iris(return_X_y=True)


def _records(rep) -> dict[str, object]:
    return {t.path: t for t in rep.root.tensors}


def _check_against_catboost(model, path: Path) -> None:
    rep = modelsize.inspect(path)
    check_report(rep)
    recs = _records(rep)
    leaves = len(model.get_leaf_values())
    float_borders = sum(len(b) for b in model.get_borders().values())
    assert recs["leaf_values"].shape == (leaves,) and recs["leaf_values"].role is Role.PARAMETER
    assert sum(t.numel for p, t in recs.items() if p.startswith("float_features.")) == float_borders
    assert rep.root.attrs["trees"]["count"] == model.tree_count_
    assert recs["tree_sizes"].shape == (model.tree_count_,)
    assert rep.sections["file"]["bytes"] == path.stat().st_size
    return rep


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_cbm_matches_catboost(tmp_path: Path, kind: str) -> None:
    if kind == "classifier":
        model = cb.CatBoostClassifier(iterations=5, depth=3, verbose=0, allow_writing_files=False, random_seed=0).fit(X, Y)
    else:
        model = cb.CatBoostRegressor(iterations=4, depth=2, verbose=0, allow_writing_files=False, random_seed=0).fit(X[:, 1:], X[:, 0])
    path = tmp_path / "model.cbm"
    model.save_model(str(path))
    assert reader_for(path).name == "catboost"
    rep = _check_against_catboost(model, path)
    leaves = len(model.get_leaf_values())
    float_borders = sum(len(b) for b in model.get_borders().values())
    assert rep.totals.params == leaves + float_borders
    depths = [int(np.log2(n)) for n in model.get_tree_leaf_counts()]
    assert rep.root.attrs["trees"]["splits"] == sum(depths) == _records(rep)["tree_splits"].numel
    assert rep.root.attrs["approx_dimension"] == (3 if kind == "classifier" else 1)


def test_cbm_with_ctr_features_sizes_its_tables(tmp_path: Path) -> None:
    rng = np.random.RandomState(0)
    cats = rng.randint(0, 20, 400).astype(str)
    frame = pd.DataFrame({"a": rng.normal(size=400), "c": cats})
    target = np.isin(cats, ["1", "3", "5", "7", "11"]).astype(int)
    model = cb.CatBoostClassifier(iterations=5, depth=3, verbose=0, allow_writing_files=False, cat_features=["c"], one_hot_max_size=2,
                                  random_seed=0).fit(frame, target)
    path = tmp_path / "ctr.cbm"
    model.save_model(str(path))
    rep = _check_against_catboost(model, path)
    recs = _records(rep)
    assert any(p.startswith("ctr_features.") for p in recs)  # CTR split borders are parameters too
    parts = recs["model_parts"]
    assert parts.role is Role.OTHER and parts.stored_bytes == rep.sections["file"]["files"][0]["split"]["model_parts"]
    assert any("CTR tables" in n for n in rep.notes)


def test_broken_cbm_is_our_error(tmp_path: Path) -> None:
    model = cb.CatBoostRegressor(iterations=2, depth=2, verbose=0, allow_writing_files=False).fit(X[:, 1:], X[:, 0])
    path = tmp_path / "m.cbm"
    model.save_model(str(path))
    data = path.read_bytes()
    cut = tmp_path / "cut.cbm"
    cut.write_bytes(data[:200])
    with pytest.raises(InvalidFileError, match="catboost"):
        modelsize.inspect(cut)
    bad = tmp_path / "bad.cbm"
    bad.write_bytes(data[:8] + b"\xff" * (len(data) - 8))
    with pytest.raises(InvalidFileError):
        modelsize.inspect(bad)


@pytest.mark.parametrize("how", ["pickle", "joblib-zlib"])
def test_pickled_catboost_reads_as_its_cbm_file(tmp_path: Path, how: str) -> None:
    """CatBoost pickles its model as .cbm bytes (``__model``): decoded by the same parser as the file."""
    import pickle

    joblib = pytest.importorskip("joblib")
    model = cb.CatBoostClassifier(iterations=4, depth=3, verbose=0, allow_writing_files=False, random_seed=0).fit(X, Y)
    cbm = tmp_path / "model.cbm"
    model.save_model(str(cbm))
    path = tmp_path / "model.pkl"
    if how == "pickle":
        path.write_bytes(pickle.dumps(model))
    else:
        joblib.dump(model, path, compress=("zlib", 3))
    rep = modelsize.inspect(path)
    check_report(rep)
    from_file = {p: (t.role, t.shape, t.dtype) for p, t in _records(modelsize.inspect(cbm)).items()}
    from_pickle = {t.path: (t.role, t.shape, t.dtype) for c in rep.root.walk() for t in c.tensors
                   if not t.path.endswith("__state__")}
    assert from_pickle == from_file
    assert rep.totals.params == len(model.get_leaf_values()) + sum(len(b) for b in model.get_borders().values())
    (booster,) = rep.sections["pickle"]["boosters"]
    assert booster["library"] == "catboost" and booster["trees"] == model.tree_count_ == 4

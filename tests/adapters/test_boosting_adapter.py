"""XGBoost and LightGBM adapter: tree statistics checked against each library's own tables."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

xgb = pytest.importorskip("xgboost")
lgb = pytest.importorskip("lightgbm")
pd = pytest.importorskip("pandas")  # trees_to_dataframe, the libraries' own node tables

from sklearn.datasets import load_iris  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import modelsize  # noqa: E402
from modelsize.adapters.boosting import BoostingAdapter  # noqa: E402
from modelsize.adapters.registry import adapter_for  # noqa: E402
from modelsize.core.errors import ModelStateError  # noqa: E402
from modelsize.core.tensors import Role  # noqa: E402
from modelsize.testing import check_adapter, check_bad_input, check_report  # noqa: E402

X, Y = load_iris(return_X_y=True)
RNG = np.random.RandomState(0)
CAT = pd.DataFrame({"a": RNG.normal(size=300), "c": pd.Categorical(RNG.randint(0, 40, 300))})
CAT_Y = (CAT.c.cat.codes % 3 == 0).astype(int)


def report(obj):
    rep = BoostingAdapter().to_report(obj)
    check_report(rep)
    return rep


def trees(rep):
    return [c for c in rep.root.walk() if c.kind in ("XGBoostTree", "LightGBMTree")]


def xgb_classifier():
    return xgb.XGBClassifier(n_estimators=6, max_depth=4, random_state=0).fit(X, Y)


def lgb_classifier():
    return lgb.LGBMClassifier(n_estimators=6, num_leaves=8, verbose=-1, random_state=0).fit(X, Y)


def _depths_from_text_dump(booster) -> list[int]:
    """XGBoost's text dump indents each node by its depth with tabs."""
    return [max(len(line) - len(line.lstrip("\t")) for line in tree.splitlines()) for tree in booster.get_dump()]


# --------------------------------------------------------------------------- XGBoost


def test_xgboost_trees_nodes_leaves_depth_match_the_library():
    model = xgb_classifier()
    rep = report(model)
    frame = model.get_booster().trees_to_dataframe()
    found = trees(rep)
    assert len(found) == frame.Tree.nunique() == 6 * 3  # rounds × classes
    assert [t.attrs["nodes"] for t in found] == frame.groupby("Tree").size().tolist()
    assert [t.attrs["leaves"] for t in found] == frame[frame.Feature == "Leaf"].groupby("Tree").size().tolist()
    assert [t.attrs["depth"] for t in found] == _depths_from_text_dump(model.get_booster())
    summary = rep.root.attrs["trees"]
    assert summary["nodes"] == len(frame) and summary["leaves"] == int((frame.Feature == "Leaf").sum())
    # One float per node: a split's threshold or a leaf's value.
    assert rep.totals.params == len(frame)
    assert rep.source.framework == "xgboost" and rep.source.details["num_class"] == 3


def test_xgboost_field_roles_and_dtypes():
    rep = report(xgb_classifier())
    first = trees(rep)[0]
    fields = {t.name: t for t in first.tensors}
    assert (fields["split_conditions"].dtype, fields["split_conditions"].role) == ("float32", Role.PARAMETER)
    assert (fields["left_children"].dtype, fields["left_children"].role) == ("int32", Role.INDEX)
    assert fields["loss_changes"].role is Role.METADATA and fields["sum_hessian"].role is Role.METADATA
    assert all(t.numel == first.attrs["nodes"] for n, t in fields.items() if not n.startswith("categories"))


def test_xgboost_categorical_splits():
    model = xgb.XGBClassifier(n_estimators=3, max_depth=3, enable_categorical=True, tree_method="hist").fit(CAT, CAT_Y)
    rep = report(model)
    frame = model.get_booster().trees_to_dataframe()
    assert rep.root.attrs["trees"]["categorical_splits"] == int(frame.Category.notna().sum()) > 0
    categories = [t for t in rep.root.iter_tensors() if t.name == "categories"]
    assert sum(t.numel for t in categories) == sum(len(c) for c in frame.Category.dropna())


def test_xgboost_booster_gblinear_and_dart():
    booster = xgb_classifier().get_booster()
    assert report(booster).totals.params == len(booster.trees_to_dataframe())
    linear = xgb.XGBClassifier(booster="gblinear", n_estimators=3).fit(X, Y)
    rep = report(linear)
    assert rep.totals.params == linear.coef_.size + linear.intercept_.size
    dart = xgb.XGBRegressor(booster="dart", n_estimators=4, max_depth=2, rate_drop=0.5, random_state=0).fit(X, X[:, 0])
    rep = report(dart)
    assert len(trees(rep)) == 4
    weight_drop = next(t for t in rep.root.tensors if t.name == "weight_drop")
    assert weight_drop.numel == 4 and weight_drop.role is Role.PARAMETER


# --------------------------------------------------------------------------- LightGBM


def test_lightgbm_trees_nodes_leaves_depth_match_the_library():
    model = lgb_classifier()
    rep = report(model)
    frame = model.booster_.trees_to_dataframe()
    found = trees(rep)
    assert len(found) == model.booster_.num_trees() == frame.tree_index.nunique()
    assert [t.attrs["nodes"] for t in found] == frame.groupby("tree_index").size().tolist()
    assert [t.attrs["leaves"] for t in found] == frame[frame.split_feature.isna()].groupby("tree_index").size().tolist()
    assert [t.attrs["depth"] for t in found] == (frame.groupby("tree_index").node_depth.max() - 1).tolist()
    assert rep.totals.params == len(frame)  # thresholds of splits + values of leaves
    leaf_values = [t for t in rep.root.iter_tensors() if t.name == "leaf_value"]
    assert {t.dtype for t in leaf_values} == {"float64"} and {t.role for t in leaf_values} == {Role.PARAMETER}


def test_lightgbm_categorical_splits():
    model = lgb.LGBMClassifier(n_estimators=3, verbose=-1, min_child_samples=3, min_data_per_group=2,
                               cat_smooth=1).fit(CAT, CAT_Y)
    rep = report(model)
    frame = model.booster_.trees_to_dataframe()
    assert rep.root.attrs["trees"]["categorical_splits"] == int((frame.decision_type == "==").sum()) > 0
    assert any(t.name == "cat_threshold" for t in rep.root.iter_tensors())


# --------------------------------------------------------------------------- contract


@pytest.mark.parametrize(
    ("make", "snapshot"),
    [
        (xgb_classifier, lambda m: bytes(m.get_booster().save_raw("json"))),
        (lgb_classifier, lambda m: m.booster_.model_to_string()),
    ],
    ids=["xgboost", "lightgbm"],
)
def test_conformance_and_no_side_effects(make, snapshot):
    rep = check_adapter(make, snapshot=snapshot, inspect_kwargs={"formats": False})
    assert rep.root.attrs["fitted"] is True


def test_registry_prefers_boosting_over_sklearn_and_pipelines_nest_it():
    model = xgb_classifier()
    assert adapter_for(model).name == "boosting"
    assert adapter_for(lgb_classifier().booster_).name == "boosting"
    pipe = make_pipeline(StandardScaler(), xgb.XGBClassifier(n_estimators=2, max_depth=2)).fit(X, Y)
    rep = modelsize.inspect(pipe, formats=False)
    check_report(rep)
    assert rep.source.framework == "sklearn"
    inner = rep.root.find("steps.xgbclassifier")
    assert inner.kind == "XGBClassifier" and inner.attrs["trees"]["count"] == 2 * 3


def test_unfitted_wrappers_are_our_error():
    for model in (xgb.XGBClassifier(), lgb.LGBMRegressor()):
        err = check_bad_input(lambda model=model: modelsize.inspect(model))
        assert isinstance(err, ModelStateError) and ".fit(" in str(err)


def test_import_modelsize_does_not_import_boosting_libraries():
    code = "import sys, modelsize; print(any(m in sys.modules for m in ('xgboost', 'lightgbm')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


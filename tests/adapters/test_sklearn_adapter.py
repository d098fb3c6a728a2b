"""scikit-learn adapter: fitted state → report, checked against the estimators' own attributes."""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("sklearn")

import scipy.sparse as sp  # noqa: E402
from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.datasets import load_iris  # noqa: E402
from sklearn.ensemble import (  # noqa: E402
    AdaBoostClassifier,
    BaggingClassifier,
    BaggingRegressor,
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
    StackingClassifier,
    VotingClassifier,
)
from sklearn.gaussian_process import GaussianProcessRegressor  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.naive_bayes import GaussianNB  # noqa: E402
from sklearn.neighbors import KernelDensity, KNeighborsClassifier  # noqa: E402
from sklearn.pipeline import FeatureUnion, Pipeline  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.svm import SVC  # noqa: E402
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor  # noqa: E402

import modelsize  # noqa: E402
from modelsize.adapters.registry import adapter_for  # noqa: E402
from modelsize.adapters.sklearn import SklearnAdapter  # noqa: E402
from modelsize.core.errors import ModelStateError  # noqa: E402
from modelsize.core.tensors import Role  # noqa: E402
from modelsize.examples.seed_sklearn import seed_random_forest  # noqa: E402
from modelsize.testing import check_adapter, check_bad_input, check_report  # noqa: E402

X, Y = load_iris(return_X_y=True)


def report(est):
    rep = SklearnAdapter().to_report(est)
    check_report(rep)
    return rep


def pickled(est) -> bytes:
    """Everything measuring must leave unchanged: the estimator's whole pickled state."""
    return pickle.dumps(est, protocol=5)


def role_bytes(rep, role: Role) -> int:
    return rep.totals.bytes_by_role.get(role.value, 0)


def components(rep, kind: str):
    return [c for c in rep.root.walk() if c.kind == kind]


# --------------------------------------------------------------------------- contract


def test_conformance_and_no_side_effects_on_the_seed_forest():
    rep = check_adapter(seed_random_forest, snapshot=pickled, inspect_kwargs={"formats": False})
    assert rep.source.framework == "sklearn"
    assert rep.source.object_type == "sklearn.ensemble._forest.RandomForestClassifier"


def test_registry_picks_the_sklearn_adapter():
    assert adapter_for(LogisticRegression(max_iter=500).fit(X, Y)).name == "sklearn"
    assert not SklearnAdapter().can_handle(LogisticRegression)  # the class, not an estimator
    assert not SklearnAdapter().can_handle(np.zeros(3))


def test_unfitted_estimator_is_our_error_and_says_to_fit():
    err = check_bad_input(lambda: modelsize.inspect(RandomForestClassifier()))
    assert isinstance(err, ModelStateError)
    assert "RandomForestClassifier" in str(err) and ".fit(" in str(err)
    err = check_bad_input(lambda: SklearnAdapter().format_sizes(Pipeline([("lr", LogisticRegression())]), None))
    assert "fitted" in str(err)


def test_import_modelsize_does_not_import_sklearn():
    code = "import sys, modelsize; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------- linear models


def test_parameters_of_a_linear_model_are_its_coefficients():
    est = LogisticRegression(max_iter=500).fit(X, Y)
    rep = report(est)
    assert rep.totals.params == est.coef_.size + est.intercept_.size
    assert rep.totals.param_bytes == est.coef_.nbytes + est.intercept_.nbytes
    classes = next(r for r in rep.root.tensors if r.path == "classes_")
    assert classes.role is Role.METADATA


def test_sparse_coefficients_are_values_plus_index_records():
    est = LogisticRegression(max_iter=500).fit(X, Y).sparsify()
    assert sp.issparse(est.coef_)
    rep = report(est)
    coef = rep.root.find("coef_")
    roles = {r.name: r.role for r in coef.tensors}
    assert roles == {"data": Role.PARAMETER, "indices": Role.INDEX, "indptr": Role.INDEX}
    assert sum(r.stored_bytes for r in coef.tensors) == (
        est.coef_.data.nbytes + est.coef_.indices.nbytes + est.coef_.indptr.nbytes
    )
    assert coef.attrs["nnz"] == est.coef_.nnz


# --------------------------------------------------------------------------- trees


def test_decision_tree_nodes_leaves_depth_and_bytes_per_field():
    est = DecisionTreeClassifier(random_state=0).fit(X, Y)
    rep = report(est)
    (tree,) = components(rep, "Tree")
    assert tree.path == "tree_"
    assert tree.attrs["nodes"] == est.tree_.node_count
    assert tree.attrs["leaves"] == est.get_n_leaves()
    assert tree.attrs["depth"] == est.get_depth()
    nodes = est.tree_.__getstate__()["nodes"]
    assert sum(r.stored_bytes for r in tree.tensors if r.name != "value") == nodes.nbytes
    value = next(r for r in tree.tensors if r.name == "value")
    assert value.stored_bytes == est.tree_.value.nbytes and value.role is Role.PARAMETER
    threshold = next(r for r in tree.tensors if r.name == "threshold")
    assert threshold.role is Role.PARAMETER and threshold.shape == (est.tree_.node_count,)
    assert next(r for r in tree.tensors if r.name == "left_child").role is Role.INDEX
    assert next(r for r in tree.tensors if r.name == "impurity").role is Role.METADATA
    assert tree.attrs["bytes_per_node"] == nodes.dtype.itemsize + est.tree_.value[0].nbytes


def test_value_array_dominates_with_many_classes_and_outputs():
    rng = np.random.RandomState(0)
    few = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, Y)
    many_y = rng.randint(0, 40, size=(300, 2))  # 40 classes × 2 outputs
    many = DecisionTreeClassifier(max_depth=3, random_state=0).fit(rng.normal(size=(300, 4)), many_y)
    (few_tree,) = components(report(few), "Tree")
    (many_tree,) = components(report(many), "Tree")
    assert few_tree.attrs["dominant"] == "node records"
    assert many_tree.attrs["dominant"] == "value"
    assert many_tree.attrs["n_outputs"] == 2 and many_tree.attrs["max_n_classes"] == 40
    assert many_tree.attrs["value_bytes_per_node"] == 2 * 40 * 8


def test_seed_forest_tree_statistics_match_sklearn():
    est = seed_random_forest()
    rep = report(est)
    trees = rep.root.attrs["trees"]
    assert trees["count"] == 100 == len(components(rep, "Tree"))
    assert trees["nodes"] == sum(t.tree_.node_count for t in est.estimators_)
    assert trees["leaves"] == sum(t.get_n_leaves() for t in est.estimators_)
    assert trees["max_depth"] == max(t.get_depth() for t in est.estimators_)
    thresholds = sum(t.tree_.node_count for t in est.estimators_)
    values = sum(t.tree_.value.size for t in est.estimators_)
    assert rep.totals.params == thresholds + values


def test_multi_output_regression_tree():
    y2 = np.c_[X[:, 0], X[:, 1] * 2]
    est = DecisionTreeRegressor(max_depth=4, random_state=0).fit(X[:, 2:], y2)
    (tree,) = components(report(est), "Tree")
    assert tree.attrs["n_outputs"] == 2 and tree.attrs["max_n_classes"] == 1


def test_gradient_boosting_object_array_of_trees():
    est = GradientBoostingClassifier(n_estimators=4, max_depth=2, random_state=0).fit(X, Y)
    rep = report(est)
    assert est.estimators_.shape == (4, 3)
    assert rep.root.attrs["trees"]["count"] == 12
    assert rep.root.find("estimators_.3_2.tree_") is not None
    assert rep.root.attrs["trees"]["nodes"] == sum(t.tree_.node_count for t in est.estimators_.ravel())


def test_hist_gradient_boosting_predictors():
    est = HistGradientBoostingClassifier(max_iter=5, random_state=0).fit(X, Y)
    rep = report(est)
    predictors = [p for row in est._predictors for p in row]
    found = components(rep, "TreePredictor")
    assert len(found) == len(predictors) == est.n_iter_ * est.n_trees_per_iteration_
    assert sum(c.attrs["nodes"] for c in found) == sum(p.nodes.shape[0] for p in predictors)
    assert sum(c.attrs["leaves"] for c in found) == sum(int(p.nodes["is_leaf"].sum()) for p in predictors)
    assert sum(r.stored_bytes for c in found for r in c.tensors if ".nodes." in r.path) == sum(
        p.nodes.nbytes for p in predictors
    )


def test_bagging_and_adaboost_find_every_tree():
    bag = BaggingRegressor(DecisionTreeRegressor(), n_estimators=5, random_state=0).fit(X, X[:, 0])
    ada = AdaBoostClassifier(n_estimators=6, random_state=0).fit(X, Y)
    assert report(bag).root.attrs["trees"]["count"] == 5
    rep = report(ada)
    assert rep.root.attrs["trees"]["count"] == len(ada.estimators_)
    weights = next(r for r in rep.root.tensors if r.path == "estimator_weights_")
    assert weights.role is Role.PARAMETER


# --------------------------------------------------------------------------- training data


def test_knn_stores_training_data_counted_once_with_its_tree():
    est = KNeighborsClassifier(algorithm="kd_tree").fit(X, Y)
    rep = report(est)
    # _fit_X and the KDTree's data are one buffer: counted once, shown as shared.
    assert role_bytes(rep, Role.DATA) == est._fit_X.nbytes + est._y.nbytes
    assert any(g.owner == "_fit_X" and "_tree.data" in g.aliases for g in rep.totals.shared)
    assert rep.root.attrs["stores_training_data"] is True
    assert any("stores training data" in n and "n_samples" in n for n in rep.notes)


@pytest.mark.parametrize(
    ("make", "attr"),
    [
        (lambda: SVC().fit(X, Y), "support_vectors_"),
        (lambda: GaussianProcessRegressor().fit(X[:40], X[:40, 0]), "X_train_"),
        (lambda: KernelDensity().fit(X), "tree_"),
    ],
    ids=["svc", "gaussian_process", "kernel_density"],
)
def test_estimators_that_keep_training_samples_say_so(make, attr):
    est = make()
    rep = report(est)
    assert rep.root.attrs["stores_training_data"] is True
    value = getattr(est, attr)
    data = value if isinstance(value, np.ndarray) else np.asarray(value.get_arrays()[0])
    assert role_bytes(rep, Role.DATA) >= data.nbytes
    assert any("grows with n_samples" in n for n in rep.notes)


def test_many_estimators_keeping_data_share_one_note():
    est = BaggingClassifier(KNeighborsClassifier(), n_estimators=4, random_state=0).fit(X, Y)
    rep = report(est)
    expected = sum(e._fit_X.nbytes + e._y.nbytes for e in est.estimators_)
    assert rep.notes == (
        f"4 KNeighborsClassifier estimators (first: estimators_.0) store training data ({expected} bytes): "
        "size grows with n_samples.",
    )
    assert rep.root.attrs["stores_training_data"] is True
    assert "training_data_bytes" not in rep.root.attrs  # the ensemble itself keeps none


def test_training_data_grows_with_n_samples_but_parameters_do_not():
    rng = np.random.RandomState(0)
    small = SVC(kernel="linear").fit(rng.normal(size=(50, 4)), rng.randint(0, 2, 50))
    large = SVC(kernel="linear").fit(rng.normal(size=(500, 4)), rng.randint(0, 2, 500))
    assert role_bytes(report(large), Role.DATA) > 5 * role_bytes(report(small), Role.DATA)


def test_sparse_support_vectors_keep_index_role_for_indices():
    est = SVC().fit(sp.csr_matrix(X), Y)
    sv = report(est).root.find("support_vectors_")
    roles = {r.name: r.role for r in sv.tensors}
    assert roles == {"data": Role.DATA, "indices": Role.INDEX, "indptr": Role.INDEX}


# --------------------------------------------------------------------------- composition


def test_pipeline_steps_are_named_children():
    est = Pipeline([("scale", StandardScaler()), ("pca", PCA(2)), ("clf", LogisticRegression(max_iter=500))]).fit(X, Y)
    rep = report(est)
    scale, pca, clf = (rep.root.find(f"steps.{n}") for n in ("scale", "pca", "clf"))
    assert (scale.kind, pca.kind, clf.kind) == ("StandardScaler", "PCA", "LogisticRegression")
    mean = next(r for r in scale.tensors if r.name == "mean_")
    assert mean.numel == 4 and mean.role is Role.PARAMETER
    assert report(est.named_steps["clf"]).totals.params == rep.subtotals(clf).params


def test_column_transformer_and_feature_union():
    ct = ColumnTransformer([("a", StandardScaler(), [0, 1]), ("b", PCA(1), [2, 3])]).fit(X)
    rep = report(ct)
    assert rep.root.find("transformers_.a").kind == "StandardScaler"
    assert rep.root.find("transformers_.b").kind == "PCA"
    fu = FeatureUnion([("pca", PCA(2)), ("scale", StandardScaler())]).fit(X)
    rep = report(fu)
    assert rep.root.find("transformer_list.pca").kind == "PCA"
    assert rep.totals.params == report(fu.transformer_list[0][1]).totals.params + report(
        fu.transformer_list[1][1]
    ).totals.params


def test_stacking_counts_each_fitted_estimator_once():
    est = StackingClassifier(
        [("nb", GaussianNB()), ("tree", DecisionTreeClassifier(random_state=0))],
        final_estimator=LogisticRegression(max_iter=500),
        cv=2,
    ).fit(X, Y)
    rep = report(est)
    refs = [c for c in rep.root.walk() if "same_as" in c.attrs]
    assert {c.attrs["same_as"] for c in refs} == {"estimators_.0", "estimators_.1"}
    expected = sum(report(e).totals.params for e in (*est.estimators_, est.final_estimator_))
    assert rep.totals.params == expected


def test_voting_and_grid_search_best_estimator():
    vote = VotingClassifier([("nb", GaussianNB()), ("knn", KNeighborsClassifier())]).fit(X, Y)
    rep = report(vote)
    assert rep.root.attrs["stores_training_data"] is True  # through the k-NN member
    grid = GridSearchCV(DecisionTreeClassifier(random_state=0), {"max_depth": [2, 3]}, cv=2).fit(X, Y)
    rep = report(grid)
    best = rep.root.find("best_estimator_")
    assert best.kind == "DecisionTreeClassifier"
    tree = grid.best_estimator_.tree_
    assert rep.totals.params == tree.node_count + tree.value.size
    cv = rep.root.find("cv_results_")
    assert cv is not None and all(r.role is Role.METADATA for r in cv.iter_tensors())
    assert rep.root.find("estimator") is None  # the unfitted template holds nothing learned


def test_a_float_array_named_as_configuration_is_metadata_and_said_so() -> None:
    """A custom estimator keeping learned weights under a public name without the trailing underscore:
    scikit-learn's naming rule (which a saved file is read by) makes it metadata, and a note says so,
    so a 0 in the parameter count is never silent."""
    from sklearn.base import BaseEstimator, ClassifierMixin

    class Custom(ClassifierMixin, BaseEstimator):
        def __init__(self, alpha: float = 1.0) -> None:
            self.alpha = alpha

        def fit(self, X, y):  # noqa: ANN001, ANN201
            self.weights = np.ones(X.shape[1])
            self.bias_ = 0.5
            self.classes_ = np.unique(y)
            return self

    report = modelsize.inspect(Custom().fit(np.zeros((4, 3)), [0, 1, 0, 1]), formats=False)
    roles = {r.path: r.role for r in report.root.iter_tensors()}
    assert roles["weights"] is Role.METADATA and roles["bias_"] is Role.PARAMETER
    assert report.totals.params == 1  # bias_ alone
    assert any(n.startswith("weights: float arrays named as configuration") for n in report.notes)

"""Shrinking scikit-learn trees and forests: cost-complexity pruning, and the smallest forest
within an accuracy drop.

A fitted tree's size is its node count (each node: a 64-byte record plus one float64 per
class in ``tree_.value``), and a forest's is the sum over its trees — so the levers are fewer
nodes (pruning, leaf and depth limits) and fewer trees. Each recipe searches its lever on held-
out data and keeps the smallest model (exact ``joblib.dump`` bytes, counted without writing a
file) whose score is at most ``max_drop`` points below the original's:

* ``ccp`` — minimal cost-complexity pruning (``ccp_alpha``), α candidates taken from the
  pruning path of the training data, each refit and scored on the validation split;
* ``smallest-forest`` — the first *k* trees of the fitted forest (a sub-forest needs no refit:
  trees are independent and their average is the forest's prediction), and the same after a
  refit with leaf or depth limits. Selection is on the validation split, or (``select="cv"``,
  the default) by k-fold cross-validation on training + validation data, where the original
  settings are cross-validated the same way — a 180-sample validation split moves by 0.56
  points per sample, which is the size of the drop being controlled.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ...core.optional import require
from ..base import RecipeBase, ShrinkContext, Shrunk, check_choice, check_int, check_number, recipe_error, \
    recipe_option_error
from ..classic_common import Candidate, choose_within_drop
from ..data import Split
from ..evaluate import accuracy
from .backend import check_fitted, estimator_scores

FOREST_TYPES = ("RandomForestClassifier", "RandomForestRegressor", "ExtraTreesClassifier", "ExtraTreesRegressor")


def joblib_bytes(model: Any) -> int:
    """Exact size of ``joblib.dump(model, path)`` (counted, no file written)."""
    from ...serialize.base import CompressionOptions
    from ...serialize.sklearn_formats import joblib_size

    size = joblib_size(model, CompressionOptions(enabled=False)).bytes
    assert size is not None
    return size


def node_count(model: Any) -> int:
    """Nodes of a tree, or of all trees of a forest or a boosted ensemble (a 2-D array of trees)."""
    if hasattr(model, "tree_"):
        return int(model.tree_.node_count)
    trees = np.asarray(getattr(model, "estimators_", []), dtype=object).ravel()
    return int(sum(t.tree_.node_count for t in trees))


def metric_of(context: ShrinkContext) -> Any:
    return context.metric or accuracy


def split_or_error(recipe: str, context: ShrinkContext, *names: str) -> tuple[Split, ...]:
    """The named splits of the run's data; our error naming the first one missing."""
    data = context.data
    out = []
    for name in names:
        split = getattr(data, name, None) if data is not None else None
        if split is None or not len(split):
            what = {"train": "training", "val": "validation"}.get(name, name)
            raise recipe_error(recipe, f"it refits and selects on held-out data, and the run has no {what} split",
                               "Pass data with training and validation splits (the built-in datasets have both).")
        out.append(split)
    return tuple(out)


def _check_drop(recipe: str, value: Any) -> float:
    return check_number(recipe, "max_drop", value, 0, 100)


# --------------------------------------------------------------------------- cost-complexity pruning


@dataclass
class CostComplexityPrune(RecipeBase):
    """Minimal cost-complexity pruning with α chosen on the validation split.

    ``max_drop``: largest validation score drop allowed, in points. ``alphas``: candidate α
    values, spread over the quantiles of the training data's pruning path.
    """

    max_drop: float = 1.0
    alphas: int = 12

    name: ClassVar[str] = "ccp"
    framework: ClassVar[str] = "sklearn"

    def apply(self, model: Any, context: ShrinkContext) -> Shrunk:
        max_drop = _check_drop(self.name, self.max_drop)
        count = check_int(self.name, "alphas", self.alphas, 1)
        if "ccp_alpha" not in model.get_params(deep=False):
            raise recipe_error(self.name, f"{type(model).__name__} has no ccp_alpha parameter",
                               "Cost-complexity pruning applies to decision trees, random forests, extra trees "
                               "and gradient boosting.")
        check_fitted(self.name, model)
        train, val = split_or_error(self.name, context, "train", "val")
        from sklearn.base import clone

        metric = metric_of(context)
        reference = float(metric(val.y, estimator_scores(model, val.X)))
        path_alphas = _path_alphas(model, train)
        candidates = [0.0, *np.quantile(path_alphas, np.linspace(0.0, 1.0, count + 2)[1:-1])] \
            if len(path_alphas) else [0.0]
        found: list[tuple[Candidate, Any]] = []
        for alpha in sorted({float(a) for a in candidates}):
            refit = clone(model).set_params(ccp_alpha=alpha).fit(train.X, train.y)
            score = float(metric(val.y, estimator_scores(refit, val.X)))
            found.append((Candidate(f"ccp_alpha={alpha:.3g}", joblib_bytes(refit), score,
                                    {"ccp_alpha": alpha, "nodes": node_count(refit)}), refit))
        best = choose_within_drop([c for c, _ in found], reference, max_drop)
        if best is None:
            top = max(c.score for c, _ in found)
            raise recipe_error(self.name, f"no α keeps the validation score within {max_drop:g} points of the "
                                          f"original's {reference:.4f} (best refit: {top:.4f})",
                               "Raise max_drop, or check that the model was trained on this data.")
        chosen = next(m for c, m in found if c is best)
        details = {"selected_on": "validation", "reference_score": reference, "max_drop_points": max_drop,
                   "chosen": best.to_dict(), "nodes_before": node_count(model), "nodes_after": node_count(chosen),
                   "candidates": [c.to_dict() for c, _ in found]}
        note = (f"ccp_alpha={best.params['ccp_alpha']:.3g}: {node_count(model):,} → {node_count(chosen):,} nodes, "
                f"validation {reference:.4f} → {best.score:.4f}.")
        return Shrunk(chosen, details=details, notes=(note,))


#: the criteria a single tree takes (an ensemble's own may be another, or "deprecated")
TREE_CRITERIA = {"DecisionTreeClassifier": {"gini", "entropy", "log_loss"},
                 "DecisionTreeRegressor": {"squared_error", "absolute_error", "poisson"}}


def _path_alphas(model: Any, train: Split) -> np.ndarray:
    """Effective α values of the pruning path (the last one prunes to the root: left out)."""
    from sklearn.base import clone, is_classifier
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    if hasattr(model, "cost_complexity_pruning_path"):
        tree = clone(model)
    else:  # ensembles: a single tree with the ensemble's criterion
        cls = DecisionTreeClassifier if is_classifier(model) else DecisionTreeRegressor
        params = model.get_params(deep=False)
        criterion = params.get("criterion")
        allowed = TREE_CRITERIA[cls.__name__]
        if criterion == "friedman_mse":  # gradient boosting's regression trees: the squared error they refine
            criterion = "squared_error"
        if criterion not in allowed:  # e.g. GradientBoosting's criterion="deprecated" (scikit-learn 1.9)
            criterion = "gini" if is_classifier(model) else "squared_error"
        tree = cls(criterion=criterion, random_state=params.get("random_state"))
    path = tree.cost_complexity_pruning_path(train.X, train.y)
    alphas = np.asarray(path.ccp_alphas, dtype=np.float64)[:-1]
    return alphas[alphas > 0]


# --------------------------------------------------------------------------- smallest forest


def sub_forest(forest: Any, k: int) -> Any:
    """The forest of the first ``k`` trees (shares the tree objects; no refit)."""
    small = copy.copy(forest)
    small.estimators_ = list(forest.estimators_[:k])
    small.n_estimators = k
    return small


def tree_scores(forest: Any, X: np.ndarray) -> np.ndarray:
    """Per-tree scores, shape (trees, samples, columns), as the forest averages them."""
    from sklearn.base import is_classifier

    if is_classifier(forest):
        return np.stack([tree.predict_proba(X) for tree in forest.estimators_])
    return np.stack([np.asarray(tree.predict(X), dtype=np.float64).reshape(len(X), -1) for tree in forest.estimators_])


def prefix_scores(forest: Any, X: np.ndarray, y: np.ndarray, ks: Sequence[int], metric: Any) -> dict[int, float]:
    """The metric of the first-``k``-trees forest for every ``k`` in ``ks`` (one pass over the trees)."""
    from ..classic_common import class_scores

    per_tree = tree_scores(forest, X)
    running = np.cumsum(per_tree, axis=0)
    classes = getattr(forest, "classes_", None)
    return {k: float(metric(y, class_scores(running[k - 1] / k, classes))) for k in ks}


def tree_counts(n: int, fractions: Sequence[float]) -> list[int]:
    """Tree counts to try: ``fractions`` of ``n``, at least 1, unique, ascending, with ``n``."""
    return sorted({max(1, min(n, int(round(n * f)))) for f in fractions} | {n})


@dataclass
class SmallestForest(RecipeBase):
    """The smallest forest within ``max_drop`` points: fewer trees, and leaf/depth limits refit.

    ``tree_fractions``: shares of the trees to keep (first *k*). ``min_samples_leaf`` /
    ``max_depth``: limits tried in refits (each value one refit, then its first-*k* subsets).
    ``select``: ``"cv"`` (``folds``-fold cross-validation on training + validation data, the
    original settings cross-validated alike) or ``"val"`` (the validation split).
    """

    max_drop: float = 1.0
    tree_fractions: tuple[float, ...] = (0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.8)
    min_samples_leaf: tuple[int, ...] = (2, 4)
    max_depth: tuple[int, ...] = ()
    select: str = "cv"
    folds: int = 3

    name: ClassVar[str] = "smallest-forest"
    framework: ClassVar[str] = "sklearn"

    def apply(self, model: Any, context: ShrinkContext) -> Shrunk:
        max_drop = _check_drop(self.name, self.max_drop)
        fractions = _fractions(self.name, self.tree_fractions)
        leaves = _ints(self.name, "min_samples_leaf", self.min_samples_leaf, 1)
        depths = _ints(self.name, "max_depth", self.max_depth, 1)
        select = check_choice(self.name, "select", self.select, ("cv", "val"))
        folds = check_int(self.name, "folds", self.folds, 2)
        if type(model).__name__ not in FOREST_TYPES:
            raise recipe_error(self.name, f"it keeps the first trees of a random forest or extra-trees ensemble, and "
                                          f"this is a {type(model).__name__}",
                               "For a single tree use ccp; for gradient boosting use first-rounds.")
        check_fitted(self.name, model)
        train, val = split_or_error(self.name, context, "train", "val")
        require("sklearn", "shrink forests")
        from sklearn.base import clone

        metric = metric_of(context)
        n = len(model.estimators_)
        ks = tree_counts(n, fractions)
        settings: list[dict[str, Any]] = [{}] + [{"min_samples_leaf": v} for v in leaves] + \
            [{"max_depth": v} for v in depths]
        forests: dict[int, Any] = {}
        candidates: list[tuple[Candidate, int]] = []
        reference: float | None = None
        for index, setting in enumerate(settings):
            forest = model if not setting else clone(model).set_params(**setting).fit(train.X, train.y)
            forests[index] = forest
            if select == "val":
                scores = prefix_scores(forest, val.X, val.y, ks, metric)
            else:
                scores = _cv_prefix_scores(model, setting, train, val, ks, metric, folds, context.seed)
            if not setting:
                reference = scores[n]
            label = ", ".join(f"{k}={v}" for k, v in setting.items()) or "as fitted"
            for k in ks:
                cand = Candidate(f"{k} trees ({label})", joblib_bytes(sub_forest(forest, k)), scores[k],
                                 {"trees": k, **setting})
                candidates.append((cand, index))
        assert reference is not None
        best = choose_within_drop([c for c, _ in candidates], reference, max_drop)
        assert best is not None  # the original itself is a candidate at the reference score
        index = next(i for c, i in candidates if c is best)
        chosen = sub_forest(forests[index], int(best.params["trees"]))
        details = {"selected_on": f"{folds}-fold cross-validation on training + validation data" if select == "cv"
                   else "validation", "reference_score": reference, "max_drop_points": max_drop,
                   "chosen": best.to_dict(), "trees_before": n, "trees_after": len(chosen.estimators_),
                   "nodes_before": node_count(model), "nodes_after": node_count(chosen),
                   "candidates": [c.to_dict() for c, _ in candidates]}
        refit = " after a refit with " + ", ".join(f"{k}={v}" for k, v in best.params.items() if k != "trees") \
            if len(best.params) > 1 else ""
        note = (f"Kept {best.params['trees']} of {n} trees{refit}: {node_count(model):,} → {node_count(chosen):,} "
                f"nodes; selection score {reference:.4f} → {best.score:.4f} ({details['selected_on']}).")
        return Shrunk(chosen, details=details, notes=(note,))


def _cv_prefix_scores(model: Any, setting: dict[str, Any], train: Split, val: Split, ks: Sequence[int],
                      metric: Any, folds: int, seed: int) -> dict[int, float]:
    """Mean over folds of the first-``k``-trees score, refitting ``model``'s settings (+ ``setting``)."""
    from sklearn.base import clone, is_classifier
    from sklearn.model_selection import KFold, StratifiedKFold

    X = np.concatenate([train.X, val.X])
    y = np.concatenate([train.y, val.y])
    splitter = (StratifiedKFold if is_classifier(model) else KFold)(n_splits=folds, shuffle=True, random_state=seed)
    totals = {k: 0.0 for k in ks}
    for fit_idx, test_idx in splitter.split(X, y):
        forest = clone(model).set_params(**setting).fit(X[fit_idx], y[fit_idx])
        for k, score in prefix_scores(forest, X[test_idx], y[test_idx], ks, metric).items():
            totals[k] += score / folds
    return totals


def _fractions(recipe: str, value: Any) -> tuple[float, ...]:
    items = value if isinstance(value, (tuple, list)) else (value,)
    if not items or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v <= 1 for v in items):
        raise recipe_option_error(recipe, "tree_fractions", "a sequence of fractions in (0, 1]", value)
    return tuple(float(v) for v in items)


def _ints(recipe: str, name: str, value: Any, low: int) -> tuple[int, ...]:
    items = value if isinstance(value, (tuple, list)) else (value,)
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= low for v in items):
        raise recipe_option_error(recipe, name, f"a sequence of integers >= {low}", value)
    return tuple(items)

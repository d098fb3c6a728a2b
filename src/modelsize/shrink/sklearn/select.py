"""Feature selection that shrinks linear models: ``SelectKBest`` in front of a refit estimator.

A linear model stores one coefficient per feature and class (``coef_`` of shape classes ×
features), so keeping ``k`` of ``n`` features shrinks it to about ``k / n`` — plus the
selector's own arrays (a score and a p-value per input feature, which ``transform`` needs).
The result is ``Pipeline([("select", SelectKBest(score_func, k)), ("model", refit)])``: it
takes the original inputs, so it replaces the model one-for-one. With ``k=None`` the smallest
``k`` whose validation score is within ``max_drop`` points of the original's is chosen.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ...core.optional import require
from ..base import RecipeBase, ShrinkContext, Shrunk, check_choice, check_int, recipe_error
from ..classic_common import Candidate, choose_within_drop
from .backend import check_fitted, estimator_scores
from .trees import _check_drop, joblib_bytes, metric_of, split_or_error

SCORE_FUNCS = ("f_classif", "chi2", "mutual_info_classif", "f_regression")
#: shares of the features tried when ``k`` is chosen
FRACTIONS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8)


@dataclass
class SelectK(RecipeBase):
    """Keep the ``k`` best features (``score_func``) and refit the linear model on them.

    ``k=None``: the smallest of a few shares of the features within ``max_drop`` points on the
    validation split.
    """

    k: int | None = None
    score_func: str = "f_classif"
    max_drop: float = 1.0

    name: ClassVar[str] = "select-k"
    framework: ClassVar[str] = "sklearn"

    def apply(self, model: Any, context: ShrinkContext) -> Shrunk:
        func_name = check_choice(self.name, "score_func", self.score_func, SCORE_FUNCS)
        max_drop = _check_drop(self.name, self.max_drop)
        if not hasattr(model, "coef_") and not _pipeline_linear(model):
            check_fitted(self.name, model)
            raise recipe_error(self.name, f"feature selection shrinks linear models (one coefficient per feature), and "
                                          f"a {type(model).__name__} has no coef_")
        check_fitted(self.name, model)
        n = getattr(model, "n_features_in_", None)
        if not isinstance(n, int) or n < 2:
            raise recipe_error(self.name, f"the model needs at least 2 input features to select from (got {n!r})")
        k = None if self.k is None else check_int(self.name, "k", self.k, 1)
        if k is not None and k >= n:
            from ..base import recipe_option_error

            raise recipe_option_error(self.name, "k", f"an integer below the {n} input features", self.k)
        train, = split_or_error(self.name, context, "train")
        if func_name == "chi2" and float(np.min(train.X)) < 0:
            raise recipe_error(self.name, "chi2 scores need non-negative features, and the training data has negative "
                                          "values", "Use score_func='f_classif'.")
        require("sklearn", "select features")
        from sklearn import feature_selection
        from sklearn.base import clone
        from sklearn.pipeline import Pipeline

        func = getattr(feature_selection, func_name)

        def build(count: int) -> Any:
            pipe = Pipeline([("select", feature_selection.SelectKBest(func, k=count)), ("model", clone(model))])
            with warnings.catch_warnings():  # constant features (digits' blank corners) score NaN: never selected
                warnings.simplefilter("ignore", (UserWarning, RuntimeWarning))
                return pipe.fit(train.X, train.y)

        if k is not None:
            chosen = build(k)
            details: dict[str, Any] = {"k": k, "features_in": n, "score_func": func_name}
        else:
            val, = split_or_error(self.name, context, "val")
            metric = metric_of(context)
            reference = float(metric(val.y, estimator_scores(model, val.X)))
            found = []
            for count in sorted({max(1, int(round(n * f))) for f in FRACTIONS} - {n}):
                pipe = build(count)
                score = float(metric(val.y, estimator_scores(pipe, val.X)))
                found.append((Candidate(f"k={count}", joblib_bytes(pipe), score, {"k": count}), pipe))
            best = choose_within_drop([c for c, _ in found], reference, max_drop)
            if best is None:
                top = max(c.score for c, _ in found)
                raise recipe_error(self.name, f"no k keeps the validation score within {max_drop:g} points of the "
                                              f"original's {reference:.4f} (best: {top:.4f})", "Raise max_drop or give k.")
            chosen = next(p for c, p in found if c is best)
            k = int(best.params["k"])
            details = {"k": k, "features_in": n, "score_func": func_name, "selected_on": "validation",
                       "reference_score": reference, "max_drop_points": max_drop,
                       "candidates": [c.to_dict() for c, _ in found]}
        coef = getattr(chosen.named_steps["model"], "coef_", None)
        if coef is not None:
            details["coef_shape_before"] = list(np.shape(model.coef_)) if hasattr(model, "coef_") else None
            details["coef_shape_after"] = list(np.shape(coef))
        return Shrunk(chosen, details=details,
                      notes=(f"Kept {k} of {n} features ({func_name}); the pipeline takes the original inputs.",))


def _pipeline_linear(model: Any) -> bool:
    steps = getattr(model, "steps", None)
    return bool(steps) and hasattr(steps[-1][1], "coef_")

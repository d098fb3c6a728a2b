"""Keep the first *k* boosting rounds of an XGBoost or LightGBM model, *k* chosen on validation.

A boosted model is a sum of trees added round by round, so its first *k* rounds are a complete,
smaller model — often nearly as accurate, because late rounds correct little. Scores for every
*k* come from the full model at no extra training cost (XGBoost ``iteration_range``, LightGBM
``num_iteration``); the file size for each *k* is that of the sliced model's own file
(``booster[:k]`` saved as UBJSON, or ``model_to_string(num_iteration=k)``), measured, not
estimated. The result is the sliced native booster.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ...adapters.boosting import booster
from ...core.errors import ModelStateError
from ...core.optional import require
from ..base import RecipeBase, ShrinkContext, Shrunk, check_int, recipe_error
from .backend import booster_scores, require_library, total_rounds
from ..classic_common import Candidate, choose_within_drop
from ..sklearn.trees import _check_drop, metric_of, split_or_error

#: most candidate round counts scored (evenly spread, always including the full model)
MAX_CANDIDATES = 40


def sliced(model: Any, rounds: int) -> Any:
    """A native booster holding the first ``rounds`` rounds of ``model``."""
    library = require_library(model)
    native = booster(model, library)
    if library == "xgboost":
        return native[:rounds]
    lgb = require("lightgbm")
    return lgb.Booster(model_str=native.model_to_string(num_iteration=rounds))


def native_bytes(native: Any) -> int:
    """Bytes of the booster's own file (XGBoost UBJSON, LightGBM text)."""
    if hasattr(native, "save_raw"):
        return len(native.save_raw("ubj"))
    return len(native.model_to_string().encode("utf-8"))


def round_candidates(total: int, count: int = MAX_CANDIDATES) -> list[int]:
    return sorted({int(round(x)) for x in np.linspace(1, total, min(count, total))} | {total})


@dataclass
class FirstRounds(RecipeBase):
    """The first ``rounds`` boosting rounds (``None``: the fewest within ``max_drop`` points of
    the full model's validation score)."""

    rounds: int | None = None
    max_drop: float = 1.0

    name: ClassVar[str] = "first-rounds"
    framework: ClassVar[str] = "boosting"

    def apply(self, model: Any, context: ShrinkContext) -> Shrunk:
        max_drop = _check_drop(self.name, self.max_drop)
        library = require_library(model)
        try:
            total = total_rounds(model)
        except ModelStateError as exc:  # an unfitted scikit-learn wrapper
            raise recipe_error(self.name, f"the {type(model).__name__} is not fitted (its size is its trees)",
                               "Call .fit(X, y) first.") from exc
        if total < 2:
            raise recipe_error(self.name, f"the model has {total} boosting round; there is nothing to cut")
        if self.rounds is not None:
            k = check_int(self.name, "rounds", self.rounds, 1)
            if k >= total:
                from ..base import recipe_option_error

                raise recipe_option_error(self.name, "rounds", f"an integer below the model's {total} rounds", k)
            details: dict[str, Any] = {"rounds_before": total, "rounds_after": k}
        else:
            val, = split_or_error(self.name, context, "val")
            metric = metric_of(context)
            native = booster(model, library)
            reference = float(metric(val.y, booster_scores(model, val.X)))
            found = []
            for k in round_candidates(total):
                score = float(metric(val.y, booster_scores(model, val.X, rounds=k)))
                size = native_bytes(native) if k == total else native_bytes(sliced(model, k))
                found.append(Candidate(f"{k} rounds", size, score, {"rounds": k}))
            best = choose_within_drop(found, reference, max_drop)
            assert best is not None  # the full model is a candidate at the reference score
            k = int(best.params["rounds"])
            details = {"rounds_before": total, "rounds_after": k, "selected_on": "validation",
                       "reference_score": reference, "chosen_score": best.score, "max_drop_points": max_drop,
                       "candidates": [c.to_dict() for c in found]}
        if k == total:
            return Shrunk(booster(model, library).copy() if library == "xgboost" else sliced(model, total),
                          details=details, notes=(f"Every one of the {total} rounds is needed to stay within "
                                                  f"{max_drop:g} points on validation; nothing was cut.",))
        return Shrunk(sliced(model, k), details=details,
                      notes=(f"Kept the first {k} of {total} boosting rounds ({library}).",))

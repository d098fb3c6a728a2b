"""Which boosting library a model belongs to, and its native booster — without importing either.

Both the boosting adapter (``adapters/boosting.py``) and the boosting serializers
(``serialize/boosting_formats.py``) need these two lookups; they live here, below both, so the
adapter imports the serializers and never the other way round.
"""

from __future__ import annotations

from typing import Any

from ..core import optional
from ..core.errors import ModelStateError


def library_of(obj: Any) -> str | None:
    """``"xgboost"`` / ``"lightgbm"`` for their boosters and wrappers (without importing them)."""
    xgb = optional.loaded("xgboost")
    if xgb is not None and isinstance(obj, (xgb.Booster, xgb.XGBModel)):
        return "xgboost"
    lgb = optional.loaded("lightgbm")
    if lgb is not None and isinstance(obj, (lgb.Booster, lgb.LGBMModel)):
        return "lightgbm"
    return None


def booster(obj: Any, library: str) -> Any:
    """The native booster of a model or wrapper; our error when the wrapper is not fitted."""
    module = optional.require(library)
    if isinstance(obj, module.Booster):
        return obj
    fitted = getattr(obj, "__sklearn_is_fitted__", None)
    if callable(fitted) and not fitted():
        raise ModelStateError(
            f"The estimator must be fitted before it can be measured: its size is its trees. "
            f"Got an unfitted {type(obj).__name__}. Call .fit(X, y) first."
        )
    return obj.get_booster() if library == "xgboost" else obj.booster_

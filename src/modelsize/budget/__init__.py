"""Size budgets: limits on bytes, parameters and growth, checked like a bundle-size tool checks a web app.

``modelsize check`` and :func:`modelsize.testing.assert_size` both build a :class:`Budget`,
measure, and get one :class:`LimitResult` per limit (limit, measured value, margin).
"""

from .limits import Budget, LimitResult, evaluate
from .measure import BudgetError

__all__ = ["Budget", "BudgetError", "LimitResult", "evaluate"]

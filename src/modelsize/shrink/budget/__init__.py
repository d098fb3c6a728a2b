"""Shrink to a byte budget: search recipes and per-layer precision, keep the Pareto frontier.

    from modelsize.shrink import to_budget, data
    found = to_budget(model, data.mnist5k(), budget="24KiB")
    found.chosen.file_bytes, found.chosen.test_score, [c.label for c in found.frontier]

Framework-free: the per-layer allocation of a framework is found by ``"module:function"``
name (:data:`.defaults.SPACES`), like the runner finds backends.
"""

from __future__ import annotations

from .errors import BudgetNotMetError
from .goal import Goal

__all__ = ["BudgetNotMetError", "Goal", "to_budget"]


def to_budget(*args, **kwargs):  # type: ignore[no-untyped-def]
    """See :func:`modelsize.shrink.budget.search.to_budget` (imported on first call)."""
    from .search import to_budget as run

    return run(*args, **kwargs)

"""Shrink to a byte budget: search recipes and per-layer precision, keep the Pareto frontier.

    from modelsize.shrink import Goal, RunOptions, SearchOptions, to_budget, data
    found = to_budget(model, data.mnist5k(), Goal(budget="24KiB"),
                      search=SearchOptions(recipes=["int8-dynamic"]), run=RunOptions(seed=1))
    found.chosen.file_bytes, found.chosen.test_score, [c.label for c in found.frontier]

Framework-free: the per-layer allocation of a framework is found by ``"module:function"``
name (:data:`.defaults.SPACES`), like the runner finds backends.
"""

from __future__ import annotations

from .errors import BudgetNotMetError
from .goal import Goal, SearchOptions

__all__ = ["BudgetNotMetError", "Goal", "SearchOptions", "to_budget"]


def to_budget(*args, **kwargs):  # type: ignore[no-untyped-def]
    """See :func:`modelsize.shrink.budget.search.to_budget` (imported on first call)."""
    from .search import to_budget as run

    return run(*args, **kwargs)

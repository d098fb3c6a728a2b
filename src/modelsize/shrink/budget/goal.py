"""What the search aims at (:class:`Goal`: a byte budget, a compression ratio, or an accuracy floor)
and what it tries (:class:`SearchOptions`).

``Goal(budget="64KiB")``, ``Goal(ratio=8)`` (the original's file / 8) or ``Goal(max_drop=1.0)``
(the smallest file within 1 point of the original's score on the validation split). Budget
strings follow the one size rule: IEC (``Ki Mi Gi``, 1024-based) or SI (``k M G``, 1000-based) units,
``B`` optional, or plain bytes.
Parameters are stored as given and checked in :meth:`Goal.resolve`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ...core.errors import option_error
from ...core.units import parse_size

def parse_budget(value: Any) -> int:
    """``65536``, ``"64KiB"``, ``"64k"``, ``"0.5 MB"`` → bytes, by the one size rule (:func:`modelsize.core.units.parse_size`)."""
    return parse_size(value, "budget")


@dataclass(frozen=True)
class Goal:
    """Exactly one of ``budget``/``ratio``, and/or ``max_drop`` (points of the metric × 100)."""

    budget: Any = None
    ratio: Any = None
    max_drop: Any = None

    def check(self) -> None:
        if self.budget is not None and self.ratio is not None:
            raise option_error("ratio", "left out when a budget is given (one size goal at a time)", self.ratio)
        if self.budget is None and self.ratio is None and self.max_drop is None:
            raise option_error("budget", "given (or a ratio, or a max_drop)", None)
        if self.budget is not None:
            parse_budget(self.budget)
        if self.ratio is not None and (isinstance(self.ratio, bool) or not isinstance(self.ratio, (int, float))
                                       or not self.ratio > 1):
            raise option_error("ratio", "a number > 1 (original file bytes / budget)", self.ratio)
        if self.max_drop is not None and (isinstance(self.max_drop, bool)
                                          or not isinstance(self.max_drop, (int, float)) or self.max_drop < 0):
            raise option_error("max_drop", "a number of points >= 0", self.max_drop)

    def resolve(self, original_bytes: int) -> int | None:
        """The byte budget (``None``: only an accuracy floor)."""
        self.check()
        if self.budget is not None:
            return parse_budget(self.budget)
        if self.ratio is not None:
            return int(original_bytes / float(self.ratio))
        return None

    def to_dict(self, original_bytes: int | None = None) -> dict[str, Any]:
        return {"budget": self.budget, "ratio": self.ratio, "max_drop": self.max_drop,
                "budget_bytes": self.resolve(original_bytes) if original_bytes else None}


@dataclass(frozen=True)
class SearchOptions:
    """What the budget search tries.

    ``recipes``: spec strings or recipe objects (default ``None``: the framework's list in
    :mod:`.defaults`). ``mixed``: also search per-layer allocations (PyTorch). ``metric``: a
    ``metric(y_true, y_pred)`` to score with (default: accuracy). ``sweep``: how many extra
    budgets the allocation is solved for to draw the frontier. Checked in :meth:`validate`.
    """

    recipes: Sequence[Any] | None = None
    mixed: bool = True
    metric: Any = None
    sweep: int = 10

    def validate(self) -> None:
        if self.recipes is not None and (isinstance(self.recipes, (str, bytes))
                                         or not isinstance(self.recipes, Sequence)):
            raise option_error("recipes", "a list of recipe specs or recipe objects, or None", self.recipes)
        if not isinstance(self.mixed, bool):
            raise option_error("mixed", "True or False", self.mixed)
        if self.metric is not None and not callable(self.metric):
            raise option_error("metric", "a function metric(y_true, y_pred), or None", self.metric)
        if isinstance(self.sweep, bool) or not isinstance(self.sweep, int) or self.sweep < 0:
            raise option_error("sweep", "an integer >= 0", self.sweep)

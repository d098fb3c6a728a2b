"""The budget search's own error: nothing it tried meets the budget (CLI exit code 3)."""

from __future__ import annotations

from typing import Any

from ...core.errors import ModelSizeError


class BudgetNotMetError(ModelSizeError, ValueError):
    """No candidate meets the byte budget or the accuracy floor.

    ``smallest`` is the smallest candidate reached (its ``to_dict()``) and ``result`` the whole
    search (frontier included), so a caller can still show what was possible.
    """

    def __init__(self, message: str, smallest: dict[str, Any] | None = None, result: Any = None) -> None:
        super().__init__(message)
        self.smallest = smallest
        self.result = result

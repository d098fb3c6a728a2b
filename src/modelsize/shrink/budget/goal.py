"""What the search aims at: a byte budget, a compression ratio, or an accuracy floor.

``Goal(budget="64KiB")``, ``Goal(ratio=8)`` (the original's file / 8) or ``Goal(max_drop=1.0)``
(the smallest file within 1 point of the original's score on the validation split). Budget
strings take IEC (``KiB``, ``MiB``, 1024-based) or SI (``kB``, ``MB``) units, or plain bytes.
Parameters are stored as given and checked in :meth:`Goal.resolve`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ...core.errors import option_error

_UNITS = {"": 1, "b": 1, "kib": 1024, "mib": 1024**2, "gib": 1024**3,
          "kb": 1000, "mb": 1000**2, "gb": 1000**3, "k": 1024, "m": 1024**2}


def parse_bytes(value: Any) -> int:
    """``65536``, ``"64KiB"``, ``"0.5 MB"`` → bytes (an integer > 0)."""
    if isinstance(value, bool):
        raise option_error("budget", "a byte count such as 65536, '64KiB' or '0.5MB'", value)
    if isinstance(value, (int, float)):
        number, unit = float(value), ""
    else:
        found = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([A-Za-z]*)\s*", str(value))
        if not found or found.group(2).lower() not in _UNITS:
            raise option_error("budget", "a byte count such as 65536, '64KiB' or '0.5MB'", value)
        number, unit = float(found.group(1)), found.group(2).lower()
    nbytes = int(number * _UNITS[unit])
    if nbytes <= 0:
        raise option_error("budget", "a byte count > 0", value)
    return nbytes


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
            parse_bytes(self.budget)
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
            return parse_bytes(self.budget)
        if self.ratio is not None:
            return int(original_bytes / float(self.ratio))
        return None

    def to_dict(self, original_bytes: int | None = None) -> dict[str, Any]:
        return {"budget": self.budget, "ratio": self.ratio, "max_drop": self.max_drop,
                "budget_bytes": self.resolve(original_bytes) if original_bytes else None}

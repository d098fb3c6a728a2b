"""Shorten long names in the middle, so tables keep their numbers whole.

``encoder.layers.11.attention.self.query.weight`` in 24 columns becomes
``encoder.laye….query.weight``: both ends stay readable (the start says where, the end says
what), and the numeric columns beside it are never cut to ``2.9…``.
"""

from __future__ import annotations

ELLIPSIS = "…"


def middle(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters by replacing its middle with ``…``."""
    if limit < 1:
        return ""
    if len(text) <= limit:
        return text
    if limit <= 2:
        return text[:limit]
    keep = limit - 1
    head = keep // 2  # the end (what the tensor is) gets the extra character
    tail = keep - head
    return text[:head] + ELLIPSIS + (text[-tail:] if tail else "")


#: the narrowest a name column is squeezed to before the table is allowed to wrap
MIN_NAME = 10
#: columns of gap rich puts between the tree table's six columns (3 each)
GAPS = 15
#: the notes column keeps at least this much room when a row has notes
MIN_NOTES = 16


def name_budget(width: int, fixed: int, kind: int, notes: bool = True) -> tuple[int, int]:
    """How wide the component and kind columns may be: the rest after the numbers (and notes)."""
    room = max(2 * MIN_NAME, width - fixed - GAPS - (MIN_NOTES if notes else 0))
    kind_limit = min(kind, max(MIN_NAME, room // 3))
    return max(MIN_NAME, room - kind_limit), kind_limit

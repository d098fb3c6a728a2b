"""Multiple-choice knapsack: one option per layer, least total cost within a byte capacity.

Per-layer sensitivities are measured one layer at a time and assumed additive (the usual
first-order assumption of HAWQ / mixed-precision search); the combined allocation is then
written and scored for real, so the assumption only steers the search, never the reported
numbers. Bytes are rounded *up* to a grid of ``capacity / resolution`` so a solution never
exceeds the capacity it was solved for.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: tie-break: at equal measured cost, fewer bytes win (cost units per byte)
BYTE_EPSILON = 1e-12


def solve(nbytes: Sequence[Sequence[int]], cost: Sequence[Sequence[float]], capacity: int,
          resolution: int = 4000) -> list[int] | None:
    """One option index per layer minimising the summed cost with summed bytes <= ``capacity``;
    ``None`` when even the smallest options do not fit."""
    if capacity < 0 or not nbytes:
        return None if capacity < 0 else []
    unit = max(1, -(-capacity // resolution))
    cap = capacity // unit
    best = np.zeros(cap + 1)  # least cost with total weight <= x (no layer yet: 0)
    picks: list[np.ndarray] = []
    for sizes, costs in zip(nbytes, cost):
        new = np.full(cap + 1, np.inf)
        arg = np.full(cap + 1, -1, dtype=np.int64)
        for j, (b, c) in enumerate(zip(sizes, costs)):
            w = -(-int(b) // unit)
            if w > cap:
                continue
            cand = best[: cap + 1 - w] + float(c) + BYTE_EPSILON * b
            better = cand < new[w:]
            new[w:][better] = cand[better]
            arg[w:][better] = j
        picks.append(arg)
        best = new
    if not np.isfinite(best[cap]):
        return None
    out: list[int] = []
    x = cap
    for layer in range(len(nbytes) - 1, -1, -1):
        j = int(picks[layer][x])
        out.append(j)
        x -= -(-int(nbytes[layer][j]) // unit)
    return out[::-1]

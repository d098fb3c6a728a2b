"""The knapsack finds the true optimum; budget strings and goals are checked when used."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from modelsize.core.errors import OptionError
from modelsize.shrink.budget import Goal
from modelsize.shrink.budget.goal import parse_budget
from modelsize.shrink.budget.knapsack import solve


def _brute(sizes, costs, cap):
    best = None
    for picks in itertools.product(*(range(len(s)) for s in sizes)):
        b = sum(s[p] for s, p in zip(sizes, picks))
        c = sum(x[p] for x, p in zip(costs, picks))
        if b <= cap and (best is None or c < best[0] - 1e-12):
            best = (c, picks)
    return best


@pytest.mark.parametrize("seed", range(6))
def test_knapsack_matches_brute_force_and_never_exceeds(seed):
    rng = np.random.default_rng(seed)
    sizes = [list(rng.integers(10, 500, size=4)) for _ in range(4)]
    costs = [list(rng.random(4)) for _ in range(4)]
    cap = int(rng.integers(200, 1500))
    picks = solve(sizes, costs, cap, resolution=100_000)
    brute = _brute(sizes, costs, cap)
    if brute is None:
        assert picks is None
        return
    assert sum(s[p] for s, p in zip(sizes, picks)) <= cap
    assert sum(c[p] for c, p in zip(costs, picks)) == pytest.approx(brute[0])
    coarse = solve(sizes, costs, cap, resolution=50)  # rounding bytes up: still within capacity
    if coarse is not None:
        assert sum(s[p] for s, p in zip(sizes, coarse)) <= cap


def test_knapsack_impossible_capacity():
    assert solve([[100, 50]], [[0.0, 1.0]], 49) is None
    assert solve([[100, 50]], [[0.0, 1.0]], 50) == [1]


def test_parse_bytes_units():
    assert parse_budget("64KiB") == 65536
    assert parse_budget("0.5 MB") == 500_000
    assert parse_budget("64k") == 64_000  # k is SI, as everywhere (it was 65,536 here once)
    assert parse_budget(1234) == 1234
    for bad in ("64 parsecs", "-1", 0, True, "KiB"):
        with pytest.raises(OptionError, match="'budget' option must be"):
            parse_budget(bad)


def test_goal_checks_when_resolved():
    assert Goal(ratio=8).resolve(800) == 100
    assert Goal(max_drop=1.0).resolve(800) is None
    with pytest.raises(OptionError, match="'ratio' option must be a number > 1"):
        Goal(ratio=0.5).resolve(800)
    with pytest.raises(OptionError, match="one size goal at a time"):
        Goal(budget="1KiB", ratio=4).check()
    with pytest.raises(OptionError, match="'budget' option must be given"):
        Goal().check()

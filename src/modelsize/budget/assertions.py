"""``assert_size``: a size budget inside the user's own test suite, failing with ``modelsize check``'s lines."""

from __future__ import annotations

from typing import Any

from .limits import Budget, LimitResult
from .run import check
from ..core.units import parse_count, parse_percent, parse_ratio, parse_size, size_base


def assert_size(
    model: Any,
    *,
    max_bytes: int | str | None = None,
    max_params: int | str | None = None,
    format: str | None = None,  # noqa: A002 - the same word as the CLI option and the config key
    compressed: bool = False,
    baseline: str | None = None,
    max_growth: float | str | None = None,
    max_ratio: float | None = None,
    base: str = "iec",
) -> list[LimitResult]:
    """Assert ``model`` (a live model, or a file or folder path) fits the limits; return the verdicts.

    Limits take the CLI's words: ``max_bytes="50MiB"`` or an int of bytes, ``max_params="10M"``,
    ``max_growth="2%"`` against ``baseline`` (a report JSON). On failure an ``AssertionError`` lists
    every limit, one line each, as ``modelsize check`` prints them.
    """
    budget = Budget(
        target=None,
        max_bytes=parse_size(max_bytes, "max_bytes") if max_bytes is not None else None,
        max_params=parse_count(max_params) if max_params is not None else None,
        format=format,
        compressed=compressed,
        baseline=baseline,
        max_growth=parse_percent(max_growth) if max_growth is not None else None,
        max_ratio=parse_ratio(max_ratio, "max_ratio") if max_ratio is not None else None,
        base=size_base(max_bytes) if max_bytes is not None else None,
    )
    if not budget.has_limits:
        raise TypeError("assert_size() needs at least one limit: max_bytes, max_params, max_growth or max_ratio.")
    results = check(budget, model, _measure_target)
    over = [r for r in results if not r.ok]
    if over:
        lines = "\n".join(r.line(base) for r in results)
        raise AssertionError(f"{len(over)} of {len(results)} size limits exceeded:\n{lines}")
    return results


def _measure_target(text: str) -> Any:
    """A baseline given as a target rather than a JSON file: resolve it the way the CLI does."""
    from ..targets import resolve

    return resolve(text).value

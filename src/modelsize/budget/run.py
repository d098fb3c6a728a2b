"""Measure a budget's target and its baseline, then evaluate the limits.

Only what a budget needs is measured: serialized sizes only when it names a format, zstd only
when it asks for the compressed size — so ``modelsize check`` on a big model stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from .limits import Budget, LimitResult, evaluate
from .measure import BudgetError

#: target string -> (measured object, target label); the CLI passes its resolver
Resolver = Callable[[str], Any]


def measure_dict(obj: Any, budget: Budget, target: str | None = None) -> dict[str, Any]:
    """``modelsize.inspect(obj)`` as a JSON dict, with formats/compression only when asked for."""
    from ..api import inspect

    wants_format = budget.format is not None or budget.compressed
    report = inspect(obj, formats=wants_format, compression=budget.compressed, target=target)
    return report.to_dict()


def load_baseline(path: str) -> dict[str, Any]:
    """A report saved with ``modelsize inspect … --format json`` (checked for the fields budgets read)."""
    file = Path(path)
    if not file.is_file():
        raise BudgetError(f"No such baseline file: {path!r}. Write one with "
                          "'modelsize inspect TARGET --format json > baseline.json'.")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BudgetError(f"The baseline {path!r} is not JSON ({exc}). Write it with "
                          "'modelsize inspect TARGET --format json > baseline.json'.") from exc
    if not isinstance(data, dict) or not isinstance(data.get("totals"), dict) or "params" not in data["totals"]:
        raise BudgetError(f"The baseline {path!r} is not a modelsize report (no 'totals'). Write it with "
                          "'modelsize inspect TARGET --format json > baseline.json'.")
    return data


def baseline_dict(budget: Budget, resolve: Resolver) -> dict[str, Any] | None:
    """The baseline of ``budget``: a report JSON file, or any target measured now."""
    if budget.baseline is None:
        return None
    if budget.baseline.lower().endswith(".json"):
        return load_baseline(budget.baseline)
    return measure_dict(resolve(budget.baseline), budget, budget.baseline)


def check(budget: Budget, obj: Any, resolve: Resolver) -> list[LimitResult]:
    """Measure ``obj`` (the budget's target, already resolved) and check every limit."""
    data = measure_dict(obj, budget, budget.target)
    return evaluate(budget, data, baseline_dict(budget, resolve))

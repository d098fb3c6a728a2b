"""Conformance kit: the checks every adapter, file reader, shrink recipe and backend must pass.

Like scikit-learn's ``check_estimator``: a new framework or format calls
:func:`check_report` (and :func:`check_adapter` for live objects) in its tests and gets the
whole contract — consistent totals, valid JSON, no side effects, our error on bad input.
:func:`check_reader`, :func:`check_recipe` and :func:`check_backend` (from
:mod:`modelsize.conformance`) do the same for readers, recipes and shrink backends.
"""

from __future__ import annotations

from typing import Any, Callable

from .conformance import check_backend, check_reader, check_recipe, check_report, report_schema, validate_json
from .core.errors import ModelSizeError
from .core.report import Report

__all__ = ["check_adapter", "check_backend", "check_bad_input", "check_reader", "check_recipe", "check_report",
           "report_schema", "validate_json"]


def check_adapter(
    make: Callable[[], Any],
    snapshot: Callable[[Any], Any] | None = None,
    inspect_kwargs: dict[str, Any] | None = None,
) -> Report:
    """Run the adapter contract on a fresh object from ``make``; returns the report.

    ``snapshot(obj)`` returns a comparable picture of everything measuring must not change
    (device, mode, hooks, parameters …); it is taken before and after and must be equal.
    Measuring twice must give the same report.
    """
    from . import inspect

    obj = make()
    before = snapshot(obj) if snapshot else None
    kwargs = dict(inspect_kwargs or {})
    first = inspect(obj, **kwargs)
    second = inspect(obj, **kwargs)
    if snapshot:
        after = snapshot(obj)
        assert _equal(before, after), "measuring changed the object"
    check_report(first)
    assert first.totals == second.totals, "two measurements of one object differ"
    return first


def check_bad_input(call: Callable[[], Any]) -> ModelSizeError:
    """Assert that ``call`` fails with modelsize's own error (never a bare builtin)."""
    try:
        call()
    except ModelSizeError as exc:
        assert str(exc), "errors must say what failed"
        return exc
    raise AssertionError("expected a ModelSizeError")


def _equal(a: Any, b: Any) -> bool:
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy is a core dependency
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if hasattr(a, "__array__") or hasattr(b, "__array__"):  # numpy, torch (CPU), tf tensors …
        return type(a) is type(b) and bool(np.array_equal(np.asarray(a), np.asarray(b)))
    return bool(a == b)


# Size budgets for users' own test suites live with the other budget code; re-exported here
# so `from modelsize.testing import assert_size` works.
from .budget.assertions import assert_size  # noqa: E402,F401

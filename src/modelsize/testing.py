"""Conformance kit: the checks every adapter and file reader must pass.

Like scikit-learn's ``check_estimator``: a new framework or format calls
:func:`check_report` (and :func:`check_adapter` for live objects) in its tests and gets the
whole contract — consistent totals, valid JSON, no side effects, our error on bad input.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any, Callable

from .core.errors import ModelSizeError
from .core.report import Report
from .core.tensors import Role
from .core.tree import join


@lru_cache(maxsize=1)
def report_schema() -> dict[str, Any]:
    """The published JSON schema of a report (``src/modelsize/schema/report.schema.json``)."""
    text = resources.files("modelsize").joinpath("schema/report.schema.json").read_text()
    return json.loads(text)


def validate_json(data: dict[str, Any]) -> None:
    """Validate a report dict against the published schema (raises on mismatch)."""
    import jsonschema

    jsonschema.validate(data, report_schema())


def check_report(report: Report) -> None:
    """Assert the invariants every report satisfies, whatever produced it."""
    assert isinstance(report, Report), type(report)
    totals = report.totals
    assert sum(totals.bytes_by_role.values()) == totals.stored_bytes, "bytes by role must add up"
    assert sum(totals.bytes_by_dtype.values()) == totals.stored_bytes, "bytes by dtype must add up"
    assert totals.trainable_params + totals.non_trainable_params + totals.trainability_unknown_params == totals.params
    assert totals.params <= totals.params_per_reference
    assert totals.unique_tensors <= totals.tensors
    if totals.sparsity is not None:
        assert 0.0 <= totals.sparsity <= 1.0

    seen_paths: set[str] = set()
    for node in report.root.walk():
        for child in node.children:
            assert child.path == join(node.path, child.name), (node.path, child.name, child.path)
        for rec in node.tensors:
            assert rec.path not in seen_paths, f"tensor path {rec.path!r} appears twice"
            seen_paths.add(rec.path)
            assert rec.stored_bytes is not None and rec.stored_bytes >= 0
            assert isinstance(rec.role, Role)
            if rec.nnz is not None:
                assert 0 <= rec.nnz <= rec.numel, (rec.path, rec.nnz, rec.numel)

    data = report.to_dict()
    text = json.dumps(data)  # must be plain JSON: no NaN objects, no custom types
    validate_json(json.loads(text))


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

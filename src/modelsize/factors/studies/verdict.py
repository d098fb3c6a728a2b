"""The numbers a verdict is decided on, read from sweep results.

Every helper takes a :class:`~modelsize.factors.results.SweepResult` (or anything with its
``ok`` trials) and returns plain numbers; the study modules compare them with thresholds and
format the sentence from them. :func:`result_from_rows` builds a result from plain rows, so a
test (or a user) can hand a judge numbers that say the opposite of what the real sweep says.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ...core.errors import OptionError, computation_error
from ..law_words import number
from ..laws import LawFit, fit_law
from ..results import SweepResult
from ..types import TrialResult
from .base import DEPENDS, NOT_SUPPORTED, SUPPORTED


class MissingEvidence(LookupError):
    """A judge asked for a number the results do not hold (a part failed, a metric is missing)."""


def result_from_rows(name: str, factors: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> SweepResult:
    """A :class:`SweepResult` of ok trials from rows holding factor values and metrics."""
    trials = []
    for i, row in enumerate(rows):
        values = {f: row[f] for f in factors if f in row}
        metrics = {k: v for k, v in row.items() if k not in factors}
        trials.append(TrialResult(f"t{i}", values, int(values.get("seed", 0)), "ok", metrics))
    return SweepResult("synthetic", name, tuple(factors), tuple(trials))


def points(result: SweepResult, metric: str, factor: str) -> tuple[list[float], list[float]]:
    """Every ok trial's (factor, metric) pair with a finite metric, as two lists."""
    xs: list[float] = []
    ys: list[float] = []
    for t in result.ok:
        x, y = t.factors.get(factor), t.metrics.get(metric)
        if isinstance(x, (int, float)) and isinstance(y, (int, float)) and not isinstance(y, bool) and math.isfinite(y):
            xs.append(float(x))
            ys.append(float(y))
    return xs, ys


def series(result: SweepResult, metric: str, factor: str) -> tuple[list[float], list[float]]:
    """The median of ``metric`` at each value of ``factor`` (over seeds and other factors), x ascending."""
    xs, ys = points(result, metric, factor)
    by_x: dict[float, list[float]] = {}
    for x, y in zip(xs, ys):
        by_x.setdefault(x, []).append(y)
    if not by_x:
        raise MissingEvidence(f"No successful trial of {result.name!r} has {metric!r} against {factor!r}.")
    keys = sorted(by_x)
    return keys, [statistics.median(by_x[k]) for k in keys]


def value(result: SweepResult, metric: str) -> float:
    """The median of ``metric`` over the ok trials (for a sweep at one setting)."""
    values = [float(t.metrics[metric]) for t in result.ok if isinstance(t.metrics.get(metric), (int, float))]
    if not values:
        raise MissingEvidence(f"No successful trial of {result.name!r} has {metric!r}.")
    return statistics.median(values)


def ratio(result: SweepResult, metric: str, factor: str) -> float:
    """``metric`` at the largest value of ``factor`` divided by it at the smallest."""
    _, ys = series(result, metric, factor)
    return ys[-1] / ys[0] if ys[0] else math.inf


def deviation(result: SweepResult, metric: str, factor: str) -> float:
    """Largest relative distance of ``metric`` from its value at the smallest ``factor`` (0: unchanged)."""
    _, ys = series(result, metric, factor)
    base = abs(ys[0]) or 1.0
    return max(abs(y - ys[0]) for y in ys) / base


def law(result: SweepResult, metric: str, factor: str) -> LawFit | None:
    """The growth law of ``metric`` against ``factor`` over every trial (``None``: fewer than 3 values)."""
    xs, ys = points(result, metric, factor)
    if len(set(xs)) < 3:
        return None
    try:
        return fit_law(xs, ys, metric=metric, factor=factor)
    except OptionError as exc:  # the points come from the study's own sweeps
        raise computation_error(exc, f"fitting a law of {metric!r} against {factor!r}") from exc


def exponent(result: SweepResult, metric: str, factor: str) -> float:
    """The log-log slope of the medians (a power law's exponent; 0: flat), over points with x, y > 0."""
    xs, ys = series(result, metric, factor)
    pairs = [(math.log(x), math.log(y)) for x, y in zip(xs, ys) if x > 0 and y > 0]
    if len(pairs) < 2:
        raise MissingEvidence(f"{result.name!r}: fewer than two positive points of {metric!r} against {factor!r}.")
    mx = statistics.fmean(p[0] for p in pairs)
    my = statistics.fmean(p[1] for p in pairs)
    sxx = sum((p[0] - mx) ** 2 for p in pairs)
    return sum((p[0] - mx) * (p[1] - my) for p in pairs) / sxx


def combine(statuses: Sequence[str]) -> str:
    """All supported → supported; none → not supported; a mix → depends."""
    if statuses and all(s == SUPPORTED for s in statuses):
        return SUPPORTED
    if statuses and all(s == NOT_SUPPORTED for s in statuses):
        return NOT_SUPPORTED
    return DEPENDS


def pct(x: float) -> str:
    """A relative change as a signed percentage."""
    return f"{x * 100:+.1f}%"


def times(x: float) -> str:
    return f"{x:.2f}×" if math.isfinite(x) else "∞×"


def num(x: float) -> str:
    return number(float(x))

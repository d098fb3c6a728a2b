"""Budgets and their verdicts: one :class:`LimitResult` per limit, with the measured value and margin.

A :class:`Budget` keeps its settings as the user wrote them (parsed to numbers, not yet checked
against a model); :func:`evaluate` takes the measured report's dict and, when the budget has
one, the baseline's dict. Nothing here measures, prints or exits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..core.units import format_bytes, format_count
from . import measure


@dataclass(frozen=True)
class Budget:
    """Limits for one target. ``None`` means "no such limit"."""

    target: str | None
    max_bytes: int | None = None
    max_params: int | None = None
    format: str | None = None
    compressed: bool = False
    baseline: str | None = None  #: a report JSON (``modelsize inspect --format json``) or a target
    max_growth: float | None = None  #: fraction: 0.02 = 2 %
    max_ratio: float | None = None  #: size / baseline size
    label: str | None = None  #: how lines name the target (the config's ``name``, or the target as written)
    base: str | None = None  #: unit base of the byte numbers printed; ``None``: the caller's choice
    require_safe: bool = False  #: fail unless the safety verdict is 'safe' (SECURITY.md)

    @property
    def shown_as(self) -> str | None:
        return self.label or self.target

    @property
    def has_limits(self) -> bool:
        return self.require_safe or any(v is not None for v in (self.max_bytes, self.max_params, self.max_growth,
                                                                self.max_ratio))


@dataclass(frozen=True)
class LimitResult:
    """One limit checked: what it is about, the limit, the measured value, the margin (limit − measured)."""

    target: str | None
    name: str  #: "max-bytes", "max-params", "max-growth (bytes)" …
    what: str  #: what was measured: "file bytes", "safetensors bytes", "params" …
    unit: str  #: "bytes", "count", "ratio" or "fraction"
    limit: float
    measured: float
    baseline: float | None = None
    base: str | None = None  #: "si" when the budget was written in kB/MB/GB, so the limit reads as written

    @property
    def ok(self) -> bool:
        return self.measured <= self.limit

    @property
    def margin(self) -> float:
        """Limit − measured: how much room is left (negative: over by that much)."""
        return self.limit - self.measured

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "limit_name": self.name, "what": self.what, "unit": self.unit,
                "limit": self.limit, "measured": self.measured, "margin": self.margin,
                "baseline": self.baseline, "ok": self.ok}

    def line(self, base: str = "iec") -> str:
        """``OK    model.pt  max-bytes  file bytes  limit 50.00 MiB  measured 12.00 MiB  margin 38.00 MiB (76.0% left)``"""
        base = self.base or base
        if self.unit == "verdict":  # require-safe: 0 safe, 1 unknown, 2 dangerous (or no verdict)
            return "  ".join(["OK  " if self.ok else "OVER", self.target or "model", self.name, self.what,
                              f"measured {SAFETY_LEVELS[int(self.measured)]}"])
        show = _formatter(self.unit, base)
        sign = "+" if self.margin > 0 else ("-" if self.margin < 0 else "")
        margin = f"margin {sign}{show(abs(self.margin))}"
        if self.unit in ("bytes", "count"):
            share = abs(self.margin) / self.limit if self.limit else None
            room = "left" if self.ok else "over"
            margin += f" ({100 * share:.1f}% {room})" if share is not None else f" ({room})"
        measured = show(self.measured)
        if self.unit == "fraction" and self.measured > 0:
            measured = "+" + measured
        parts = ["OK  " if self.ok else "OVER", self.target or "model", self.name, self.what,
                 f"limit {show(self.limit)}", f"measured {measured}", margin]
        if self.baseline is not None:
            parts.append(f"baseline {_formatter('bytes' if 'bytes' in self.what else 'count', base)(self.baseline)}")
        return "  ".join(parts)


#: the safety verdict as a number for a require-safe limit of 0 (only 'safe' passes)
SAFETY_LEVELS = ("safe", "unknown", "dangerous", "no verdict (not a file)")


def _formatter(unit: str, base: str) -> Any:
    if unit == "bytes":
        return lambda v: format_bytes(v, base)  # type: ignore[arg-type]
    if unit == "count":
        return lambda v: format_count(int(round(v)))
    if unit == "fraction":
        return lambda v: "inf" if v == float("inf") else f"{100 * v:.2f}%"
    return lambda v: f"{v:.4f}x"


def evaluate(budget: Budget, data: Mapping[str, Any], baseline: Mapping[str, Any] | None = None) -> list[LimitResult]:
    """Check every limit of ``budget`` on a measured report dict (and its baseline's dict)."""
    results: list[LimitResult] = []
    target = budget.shown_as
    if budget.require_safe:
        safety = (data.get("sections") or {}).get("safety") or {}
        level = SAFETY_LEVELS.index(safety.get("verdict", SAFETY_LEVELS[3])) if safety.get("verdict") in \
            SAFETY_LEVELS else 3
        results.append(LimitResult(target, "require-safe", "safety verdict", "verdict", 0, level))
    if budget.max_bytes is not None:
        size = measure.size(data, budget.format, budget.compressed)
        results.append(LimitResult(target, "max-bytes", size.what, "bytes", budget.max_bytes, size.value,
                                   base=budget.base))
    if budget.max_params is not None:
        count = measure.params(data)
        results.append(LimitResult(target, "max-params", count.what, "count", budget.max_params, count.value))
    if budget.max_growth is not None or budget.max_ratio is not None:
        if baseline is None:
            raise measure.BudgetError(f"The budget for {target or 'the model'} sets a growth or ratio limit but "
                                      "names no baseline. Give --baseline FILE.json (or --max-ratio-vs BASELINE R).")
        size = measure.size(data, budget.format, budget.compressed)
        old_size = measure.size(baseline, budget.format, budget.compressed)
        if budget.max_ratio is not None:
            ratio = size.value / old_size.value if old_size.value else float("inf")
            results.append(LimitResult(target, "max-ratio-vs", f"{size.what} / baseline", "ratio",
                                       budget.max_ratio, ratio, old_size.value, base=budget.base))
        if budget.max_growth is not None:
            results.append(LimitResult(target, "max-growth", size.what, "fraction", budget.max_growth,
                                       _growth(old_size.value, size.value), old_size.value, base=budget.base))
            count, old_count = measure.params(data), measure.params(baseline)
            results.append(LimitResult(target, "max-growth", "params", "fraction", budget.max_growth,
                                       _growth(old_count.value, count.value), old_count.value))
    return results


def _growth(old: int, new: int) -> float:
    """Relative growth (new − old) / old; from nothing to something is infinite growth."""
    if old == 0:
        return 0.0 if new == 0 else float("inf")
    return (new - old) / old

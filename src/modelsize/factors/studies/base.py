"""What a study is: seed claims, the sweeps that test them, the verdicts, the plots.

A study turns claims of the seed article into sweeps on the sweep engine (one :class:`Part`
per sweep), and a ``judge`` function turns the sweeps' results into one :class:`Verdict` per
claim. The judge takes the results and thresholds only — it never sees the claim's expected
answer — so feeding it different numbers changes the verdict (the tests do exactly that).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ...core.errors import option_error
from ..spec import Sweep

#: Verdict statuses.
SUPPORTED = "supported"
NOT_SUPPORTED = "not supported"
DEPENDS = "depends"
STATUSES = (SUPPORTED, NOT_SUPPORTED, DEPENDS)
#: How big a study runs: ``full`` (the report's numbers), ``quick`` (CLI ``--quick``), ``tiny`` (tests).
SCALES = ("full", "quick", "tiny")
#: What every study trial measures: sizes and files (with zstd); latency and RSS are not the question.
MEASURE: Mapping[str, Any] = {"formats": "main", "compress": True, "latency_runs": 0, "memory": False}


@dataclass(frozen=True)
class Claim:
    """A sentence of the seed article, quoted, and the section it comes from."""

    key: str
    quote: str
    section: str


@dataclass(frozen=True)
class Verdict:
    """What the data says about one claim, with the number that decided it."""

    claim: Claim
    status: str
    figure: str  #: what the deciding number is ("int8 / float32 stored bytes")
    value: float | None  #: the deciding number
    sentence: str  #: formatted from the numbers, never written in advance
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise option_error("status", "one of " + ", ".join(STATUSES), self.status)

    def to_dict(self) -> dict[str, Any]:
        return {"claim": self.claim.key, "quote": self.claim.quote, "section": self.claim.section,
                "status": self.status, "figure": self.figure, "value": self.value, "sentence": self.sentence,
                "details": dict(self.details)}


@dataclass(frozen=True)
class Part:
    """One sweep of a study; ``metrics`` are the columns its evidence table shows."""

    key: str
    label: str
    sweep: Sweep
    metrics: tuple[str, ...] = ("params", "stored_bytes", "serialized_bytes", "compressed_bytes", "score")


@dataclass(frozen=True)
class Series:
    """One line of a plot: ``metric`` of part ``part`` against ``factor``."""

    part: str
    metric: str
    factor: str
    label: str


@dataclass(frozen=True)
class PlotSpec:
    """One figure of a study (several series on the same axes)."""

    key: str
    title: str
    series: tuple[Series, ...]
    ylabel: str = ""


@dataclass(frozen=True)
class Study:
    """A study: its claims, how to build its sweeps at a scale, how to judge and plot them.

    ``judge(results, thresholds)`` gets the results keyed by part and the study's thresholds
    (defaults in ``thresholds``, overridable) and returns one verdict per claim.
    """

    name: str
    title: str
    claims: tuple[Claim, ...]
    build: Callable[[str], Sequence[Part]]
    judge: Callable[[Mapping[str, Any], Mapping[str, float]], list[Verdict]]
    plots: tuple[PlotSpec, ...]
    thresholds: Mapping[str, float] = field(default_factory=dict)
    summary: str = ""

    def parts(self, scale: str = "quick") -> list[Part]:
        if scale not in SCALES:
            raise option_error("scale", "one of " + ", ".join(SCALES), scale)
        return list(self.build(scale))

    def claim(self, key: str) -> Claim:
        return next(c for c in self.claims if c.key == key)

    def verdicts(self, results: Mapping[str, Any], thresholds: Mapping[str, float] | None = None) -> list[Verdict]:
        """Judge ``results`` with the study's thresholds, some replaced by ``thresholds``."""
        merged = {**dict(self.thresholds), **dict(thresholds or {})}
        unknown = set(thresholds or {}) - set(self.thresholds)
        if unknown:
            raise option_error("thresholds", "names among " + ", ".join(sorted(self.thresholds)), sorted(unknown))
        return self.judge(results, merged)


def sweep(name: str, factory: Any, grid: Mapping[str, Any], dataset: Any = "digits", *, fit: Any = None,
          params: Mapping[str, Any] | None = None, post: Any = None, extra: Any = None, score: Any = None) -> Sweep:
    """A study's sweep with the studies' measurement settings and seed 0."""
    return Sweep(factory=factory, grid=dict(grid), dataset=dataset, fit=fit, params=dict(params or {}),
                 post=post, extra=extra, score=score, measure=dict(MEASURE), seed=0, name=name)


def pick(scale: str, full: Any, quick: Any, tiny: Any) -> Any:
    """The value for ``scale``."""
    return {"full": full, "quick": quick, "tiny": tiny}[scale]

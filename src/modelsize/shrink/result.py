"""ShrinkResult: the original and the shrunk model measured the same way, with the deltas.

Each side holds parameters and bytes in memory (from the measured Report), the files written
and reloaded (bytes on disk, zstd bytes, whether the reload reproduced the outputs), the score
on the evaluation data and the CPU latency. ``to_dict()`` is JSON-ready (raw integers,
nanoseconds); ``as_report()`` is the shrunk model's Report with this result as its ``shrink``
section, so every renderer and the JSON output carry it.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..core.report import Report
from ..core.tensors import _jsonable
from .savers import RoundTrip


@dataclass(frozen=True)
class Side:
    """One model (original or shrunk), measured. ``None``: the measurement could not count it."""

    params: int | None
    stored_bytes: int | None
    dense_bytes: int | None
    sparsity: float | None
    bytes_by_dtype: Mapping[str, int]
    files: tuple[RoundTrip, ...]
    primary: str
    score: float | None = None
    latency: Mapping[str, Any] | None = None
    simulated_quantization: Mapping[str, Any] | None = None

    @property
    def primary_file(self) -> RoundTrip | None:
        """The round trip of the format that stands for "the saved model"."""
        return next((f for f in self.files if f.format == self.primary and f.bytes is not None), None)

    @property
    def file_bytes(self) -> int | None:
        f = self.primary_file
        return f.bytes if f else None

    @property
    def compressed_bytes(self) -> int | None:
        f = self.primary_file
        return f.compressed_bytes if f else None

    @property
    def latency_ns(self) -> int | None:
        return int(self.latency["median_ns"]) if self.latency else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "params": self.params,
            "stored_bytes": self.stored_bytes,
            "dense_bytes": self.dense_bytes,
            "sparsity": self.sparsity,
            "bytes_by_dtype": dict(self.bytes_by_dtype),
            "primary_format": self.primary,
            "file_bytes": self.file_bytes,
            "compressed_bytes": self.compressed_bytes,
            "files": [f.to_dict() for f in self.files],
            "score": self.score,
            "latency": dict(self.latency) if self.latency else None,
            "simulated_quantization": _jsonable(self.simulated_quantization),
        }


#: rounds of a latency measurement may disagree by this share of their median before a ratio is withheld
MAX_LATENCY_SPREAD = 0.5


def _ratio(before: float | int | None, after: float | int | None) -> float | None:
    if before is None or after is None or after == 0:
        return None
    return before / after


def empty_side(primary: str = "") -> Side:
    """The ``after`` of a recipe that failed: nothing measured, every number ``None``."""
    return Side(params=None, stored_bytes=None, dense_bytes=None, sparsity=None, bytes_by_dtype={}, files=(),
                primary=primary)


@dataclass(frozen=True)
class ShrinkResult:
    """Before/after measurements of one recipe (or chain) on one model."""

    recipe: str
    techniques: tuple[str, ...]
    params: Mapping[str, Any]
    before: Side
    after: Side
    metric: str | None
    details: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    data: Mapping[str, Any] | None = None
    #: the shrunk model (not in JSON)
    model: Any = field(default=None, compare=False, repr=False)
    #: the shrunk model's Report (not in JSON; ``as_report`` carries it)
    report: Report | None = field(default=None, compare=False, repr=False)
    #: objects for the caller, e.g. distillation's alone-trained student (not in JSON)
    artifacts: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    #: why the recipe failed (``"RecipeError: …"``), or ``None``; a failed result's ``after`` is empty
    error: str | None = None

    @property
    def failed(self) -> bool:
        """The recipe raised: its row says so with :attr:`error`, the other recipes' results stand."""
        return self.error is not None

    @property
    def round_trips_ok(self) -> bool | None:
        """Every file that was written reloaded to the same outputs (``None``: the recipe failed)."""
        if self.failed:
            return None
        return all(f.reproduces for f in self.after.files if f.bytes is not None)

    def deltas(self) -> dict[str, Any]:
        """Ratios before / after (> 1: smaller or faster) and the score change in points."""
        b, a = self.before, self.after
        score_points = None
        if b.score is not None and a.score is not None:
            score_points = round(100 * (a.score - b.score), 4)
        return {
            "params_ratio": _ratio(b.params, a.params),
            "stored_bytes_ratio": _ratio(b.stored_bytes, a.stored_bytes),
            "file_ratio": _ratio(b.file_bytes, a.file_bytes),
            "compressed_ratio": _ratio(b.compressed_bytes, a.compressed_bytes),
            "file_vs_original_compressed_ratio": _ratio(b.compressed_bytes, a.file_bytes),
            "score_change_points": score_points,
            "latency_ratio": _ratio(b.latency_ns, a.latency_ns) if self.latency_problem() is None else None,
            "latency_problem": self.latency_problem(),
        }

    def latency_problem(self) -> str | None:
        """Why the two latencies cannot be compared as a ratio, or ``None``.

        ``"runtimes differ"`` when the rows ran on different engines (ONNX Runtime vs scikit-learn,
        TFLite interpreter vs Keras); ``"spread too wide"`` when either side's rounds disagree by
        more than :data:`MAX_LATENCY_SPREAD` of their median (a busy machine, not the model).
        """
        b, a = self.before.latency or {}, self.after.latency or {}
        if not b or not a:
            return None
        if b.get("mode") != a.get("mode"):
            return "runtimes differ"
        if max(float(b.get("spread") or 0), float(a.get("spread") or 0)) > MAX_LATENCY_SPREAD:
            return "spread too wide"
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "recipe": self.recipe,
            "techniques": list(self.techniques),
            "params": _jsonable(dict(self.params)),
            "metric": self.metric,
            "data": _jsonable(self.data),
            "before": self.before.to_dict(),
            "after": self.after.to_dict(),
            "deltas": self.deltas(),
            "round_trips_ok": self.round_trips_ok,
            "details": _jsonable(dict(self.details)),
            "notes": list(self.notes),
            "status": "failed" if self.failed else "ok",
            "error": self.error,
        }

    def as_report(self) -> Report:
        """The shrunk model's Report with this result as its ``shrink`` section."""
        if self.report is None:
            raise ValueError("This result carries no report of the shrunk model.")
        return self.report.with_section("shrink", self).with_notes(*self.notes)


@dataclass(frozen=True)
class ShrinkRun:
    """Several recipes applied to one model: the ``shrink`` section of the CLI's report."""

    results: tuple[ShrinkResult, ...]

    def __repr__(self) -> str:
        return f"<ShrinkRun {len(self.results)} recipe(s): {', '.join(r.recipe for r in self.results)}>"

    def _repr_html_(self) -> str:
        """The before/after table in Jupyter, drawn by ``render/notebook.py`` (looked up by name:
        ``shrink/`` never imports ``render/``, which imports this module)."""
        return importlib.import_module("modelsize.render.notebook").shrink_run_html(self)

    def to_dict(self) -> dict[str, Any]:
        first = self.results[0] if self.results else None
        return {
            "before": first.before.to_dict() if first else None,
            "metric": first.metric if first else None,
            "data": _jsonable(first.data) if first else None,
            "results": [_without_before(r.to_dict()) for r in self.results],
        }

    def attach(self, report: Report) -> Report:
        """``report`` (the original model's) with this run as its ``shrink`` section."""
        notes = [n for r in self.results for n in r.notes]
        return replace(report.with_section("shrink", self), notes=report.notes + tuple(dict.fromkeys(notes)))


def _without_before(data: dict[str, Any]) -> dict[str, Any]:
    out = dict(data)
    out.pop("before", None)
    return out

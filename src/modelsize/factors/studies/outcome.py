"""A study's outcome: its results by part, verdicts, growth laws and files.

It sits below the runner (:mod:`.run`, which builds it); the plots and the HTML report
(``render/study_plots.py``, ``render/study_report.py``) draw it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..laws import LawFit
from ..results import SweepResult
from .base import Part, Study, Verdict
from .verdict import MissingEvidence, combine, law


@dataclass(frozen=True)
class StudyOutcome:
    """A study's results (by part), its verdicts, and how long it took."""

    study: Study
    scale: str
    parts: tuple[Part, ...]
    results: Mapping[str, SweepResult]
    verdicts: tuple[Verdict, ...]
    elapsed_s: float
    error: str | None = None  #: why no verdict could be reached (trials failed, a number is missing)
    files: tuple[Path, ...] = field(default_factory=tuple)

    @property
    def status(self) -> str:
        """The study's overall verdict: all claims supported, none, or a mix ("depends")."""
        return combine([v.status for v in self.verdicts]) if self.verdicts else "no verdict"

    @property
    def failed(self) -> int:
        return sum(len(r.failed) for r in self.results.values())

    def laws(self) -> list[tuple[str, LawFit]]:
        """The growth law of each plotted (part, metric, factor), when it has three or more factor values."""
        seen, out = set(), []
        for plot in self.study.plots:
            for s in plot.series:
                key = (s.part, s.metric, s.factor)
                if key in seen or s.part not in self.results:
                    continue
                seen.add(key)
                try:
                    fit = law(self.results[s.part], s.metric, s.factor)
                except (MissingEvidence, ValueError):
                    fit = None
                if fit is not None:
                    out.append((s.part, fit))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "study": self.study.name, "title": self.study.title, "scale": self.scale, "status": self.status,
            "elapsed_s": self.elapsed_s, "error": self.error, "failed_trials": self.failed,
            "verdicts": [v.to_dict() for v in self.verdicts],
            "laws": [{"part": p, **fit.to_dict()} for p, fit in self.laws()],
            "parts": {p.key: {"label": p.label, "spec_hash": self.results[p.key].spec_hash,
                              "trials": len(self.results[p.key].trials)} for p in self.parts if p.key in self.results},
        }

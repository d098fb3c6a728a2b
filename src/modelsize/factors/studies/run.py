"""Run a study's sweeps into the sweep store, judge them, and write its tables and plots.

Sweeps go through :meth:`Sweep.run`, so every trial lands in the SQLite store and a second run
of the same study (same scale) reads them back instead of training again.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..laws import LawFit
from ..results import SweepResult
from ..store import Store
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


def run_study(study: Study, scale: str = "quick", *, store: Store | str | os.PathLike[str] | None = None,
              jobs: int = 1, thresholds: Mapping[str, float] | None = None,
              on_part: Callable[[Part], None] | None = None) -> StudyOutcome:
    """Run every sweep of ``study`` at ``scale`` (stored trials are reused) and judge the results."""
    clock = time.perf_counter()
    parts = tuple(study.parts(scale))
    owned = not isinstance(store, Store)
    db = Store.open(store)
    try:
        results: dict[str, SweepResult] = {}
        for part in parts:
            if on_part is not None:
                on_part(part)
            results[part.key] = part.sweep.run(jobs=jobs, store=db)
    finally:
        if owned:
            db.close()
    verdicts: list[Verdict] = []
    error = None
    try:
        verdicts = study.verdicts(results, thresholds)
    except (MissingEvidence, KeyError, ZeroDivisionError, ValueError) as exc:
        failed = [f"{k}: {t.error}" for k, r in results.items() for t in r.failed][:3]
        error = f"No verdict: {exc}" + (f" (failed trials: {'; '.join(failed)})" if failed else "")
    return StudyOutcome(study, scale, parts, results, tuple(verdicts), time.perf_counter() - clock, error)


def write_outputs(outcome: StudyOutcome, folder: str | os.PathLike[str]) -> StudyOutcome:
    """Write ``<study>-<plot>.png``, ``<study>-<part>.csv`` and ``<study>.json`` into ``folder``."""
    from .plot import study_png

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    name = outcome.study.name
    for plot in outcome.study.plots:
        path = study_png(outcome, plot, out / f"{name}-{plot.key}.png")
        if path is not None:
            files.append(path)
    for key, result in outcome.results.items():
        csv_path = out / f"{name}-{key}.csv"
        result.to_csv(csv_path)
        files.append(csv_path)
    summary = out / f"{name}.json"
    summary.write_text(json.dumps(outcome.to_dict(), indent=2, default=str), encoding="utf-8")
    files.append(summary)
    return replace(outcome, files=tuple(files))

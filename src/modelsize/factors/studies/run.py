"""Run a study's sweeps into the sweep store, judge them, and write its tables and plots.

Sweeps go through :meth:`Sweep.run`, so every trial lands in the SQLite store and a second run
of the same study (same scale) reads them back instead of training again.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..results import SweepResult
from ..store import Store
from .base import Part, Study, Verdict
from .outcome import StudyOutcome
from .verdict import MissingEvidence


def run_study(study: Study, scale: str = "quick", *, store: Store | str | os.PathLike[str] | None = None,
              jobs: int = 1, thresholds: Mapping[str, float] | None = None,
              on_part: Callable[[Part], None] | None = None,
              watch: Callable[[Part, Iterator[Any]], Iterator[Any]] | None = None) -> StudyOutcome:
    """Run every sweep of ``study`` at ``scale`` (stored trials are reused) and judge the results.

    ``watch(part, events)`` sees each sweep's event stream (started, each trial done, finished)
    and passes it on: the CLI draws its per-trial progress bar from it; the engine prints nothing.
    """
    from ..runners import Finished

    clock = time.perf_counter()
    parts = tuple(study.parts(scale))
    owned = not isinstance(store, Store)
    db = Store.open(store)
    try:
        results: dict[str, SweepResult] = {}
        for part in parts:
            if on_part is not None:
                on_part(part)
            events = part.sweep.stream(jobs=jobs, store=db)
            for event in (watch(part, events) if watch is not None else events):
                if isinstance(event, Finished):
                    results[part.key] = event.result
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

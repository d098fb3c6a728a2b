"""Run a study's sweeps into the sweep store and judge them (``render/study_report.py`` writes
its tables, plots and page).

Sweeps go through :meth:`Sweep.run`, so every trial lands in the SQLite store and a second run
of the same study (same scale) reads them back instead of training again.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping
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

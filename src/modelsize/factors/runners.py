"""The sweep engine: skip stored trials, run the rest on a backend, store each as it finishes.

:func:`run` is a generator of events — :class:`Started`, one :class:`TrialDone` per trial
(stored ones first, marked ``cached``), then :class:`Finished` with the results — so a caller
can show progress (the CLI draws a progress bar from them) without the engine printing
anything. The local pool and a Dask cluster go through this same function; only the backend
differs. Only this generator writes to the store, one transaction per finished trial.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Union

from ..core.errors import InternalError
from .backends import executor_for
from .results import SweepResult
from .types import SweepLike as Sweep
from .types import TrialSpec
from .store import Store
from .trial import execute_trial
from .types import TrialResult


@dataclass(frozen=True)
class Started:
    """The sweep is about to run ``pending`` trials; ``cached`` were already in the store."""

    spec_hash: str
    name: str
    total: int
    cached: int
    pending: int
    backend: str
    workers: int
    store: str


@dataclass(frozen=True)
class TrialDone:
    """One trial is done (``cached``: it was already stored); counts so far included."""

    result: TrialResult
    cached: bool
    done: int
    failed: int
    total: int


@dataclass(frozen=True)
class Finished:
    """Every trial of the grid is stored; ``result`` holds them in grid order."""

    result: SweepResult
    ran: int
    cached: int
    elapsed_s: float


Event = Union[Started, TrialDone, Finished]


def run(sweep: Sweep, *, jobs: int = 1, cluster: str | None = None, client: Any = None,
        store: Any = None, retry_failed: bool = False) -> Iterator[Event]:
    """Run ``sweep``; yields events as trials finish. See :meth:`Sweep.run` for the options."""
    sweep.validate()
    clock = time.perf_counter()
    owned = not isinstance(store, Store)
    db = Store.open(store)
    try:
        spec_hash = db.register(sweep)
        trials = sweep.trials()
        keys = [t.key for t in trials]
        stored = db.trials(spec_hash, keys)
        if retry_failed:
            stored = {k: r for k, r in stored.items() if r.ok}
        pending = [t for t in trials if t.key not in stored]
        backend = executor_for(jobs, cluster, client) if pending else None
        yield Started(spec_hash, sweep.label, len(trials), len(stored), len(pending),
                      backend.name if backend else "none", backend.workers if backend else 0, db.path)
        done = failed = 0
        for result in (stored[k] for k in keys if k in stored):
            done += 1
            failed += not result.ok
            yield TrialDone(result, True, done, failed, len(trials))
        if backend is not None:
            for result in _execute(backend, sweep, pending):
                db.put(spec_hash, result)
                done += 1
                failed += not result.ok
                yield TrialDone(result, False, done, failed, len(trials))
        yield Finished(db.result(spec_hash, keys), len(pending), len(stored), time.perf_counter() - clock)
    finally:
        if owned:
            db.close()


def execute_trials(sweep: Sweep, trials: list[TrialSpec]) -> list[TrialResult]:
    """Run a batch of trials one after another (one task on a worker: one scheduler round trip)."""
    return [execute_trial(sweep, trial) for trial in trials]


def batches(pending: list[TrialSpec], workers: int, per_worker: int) -> list[list[TrialSpec]]:
    """``pending`` cut into about ``per_worker`` batches per worker, never fewer than one trial
    each — trials in batches keep the scheduler's per-task cost small, several batches per
    worker keep the load balanced at the end of the sweep."""
    if per_worker <= 0:
        return [[trial] for trial in pending]
    size = max(1, len(pending) // max(1, workers * per_worker))
    return [pending[i:i + size] for i in range(0, len(pending), size)]


def _execute(backend: Any, sweep: Sweep, pending: list[TrialSpec]) -> Iterator[TrialResult]:
    """Submit every pending trial and yield results as they complete; cancel the rest if stopped early.

    The sweep goes to the backend once (``share``: a Dask cluster broadcasts it to every worker
    instead of sending it with each task); trials go in batches when the backend asks for them.
    """
    shared = backend.share(sweep) if hasattr(backend, "share") else sweep
    groups = batches(pending, backend.workers, getattr(backend, "batches_per_worker", 0))
    futures = {backend.submit(execute_trials, shared, group): group for group in groups}
    try:
        for future in backend.as_completed(futures):
            group = futures[future]
            try:
                results = future.result()
            except InternalError:
                raise  # a bug of ours in the trial: never recorded as the user's failure
            except Exception as exc:  # noqa: BLE001 - the worker itself failed (died, result not picklable …)
                results = [_worker_failure(trial, exc) for trial in group]
            yield from results
    finally:
        backend.cancel(futures)
        backend.close()


def _worker_failure(trial: TrialSpec, exc: BaseException) -> TrialResult:
    return TrialResult(
        trial.key, dict(trial.factors), trial.seed, "failed", {},
        f"The worker running this trial failed: {type(exc).__name__}: {exc}".strip(),
        "".join(traceback.format_exception(exc))[-4000:],
    )

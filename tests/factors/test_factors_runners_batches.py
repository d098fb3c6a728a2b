"""Trials in batches, the sweep sent once (issue 20): what the engine hands a backend."""

from __future__ import annotations

from typing import Any

import pytest

from modelsize.factors import Sweep
from modelsize.factors.backends import InlineBackend
from modelsize.factors.runners import batches, execute_trials, run


class RecordingBackend(InlineBackend):
    """Runs in-process like the inline backend, recording what it is sent."""

    name = "recording"
    workers = 2
    batches_per_worker = 2

    def __init__(self) -> None:
        self.shared: list[Any] = []
        self.submitted: list[tuple[Any, int]] = []

    def share(self, value: Any) -> Any:
        self.shared.append(value)
        return value

    def submit(self, fn: Any, *args: Any) -> Any:
        self.submitted.append((fn, len(args[1])))
        return super().submit(fn, *args)


def test_batches_cover_every_trial_once_in_order() -> None:
    trials = list(range(20))
    assert batches(trials, workers=2, per_worker=4) == [trials[i:i + 2] for i in range(0, 20, 2)]
    assert batches(trials, workers=2, per_worker=0) == [[t] for t in trials]
    assert batches(trials[:3], workers=2, per_worker=4) == [[0], [1], [2]]
    for n in (1, 7, 33, 100):
        groups = batches(list(range(n)), workers=3, per_worker=4)
        assert [t for g in groups for t in g] == list(range(n))
        assert len(groups) >= min(n, 12)


def test_engine_shares_the_sweep_once_and_submits_batches(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    backend = RecordingBackend()
    monkeypatch.setattr("modelsize.factors.runners.executor_for", lambda *a, **k: backend)
    sweep = Sweep("sklearn.tree:DecisionTreeClassifier", {"max_depth": list(range(1, 9))}, "iris",
                  measure={"formats": "none", "latency_runs": 0})
    events = list(run(sweep, store=tmp_path / "s.db"))
    assert backend.shared == [sweep]
    assert backend.submitted == [(execute_trials, 2)] * 4  # 8 trials, 2 workers x 2 batches
    result = events[-1].result
    assert [t.factors["max_depth"] for t in result.trials] == list(range(1, 9))
    assert all(t.ok for t in result.trials)

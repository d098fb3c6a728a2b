"""Backends: a local process pool and a Dask cluster give the same numbers as running in-process."""

from __future__ import annotations

import os

import pytest

from modelsize.core.errors import OptionError
from modelsize.factors import Sweep
from modelsize.factors.backends import executor_for
from modelsize.factors.runners import Finished, Started, TrialDone

TIMING = ("train_time_s", "latency_s", "peak_rss_bytes", "train_rss_delta_bytes")


def deterministic(result) -> list:  # noqa: ANN001
    return [(dict(t.factors), t.status, {k: v for k, v in t.metrics.items() if k not in TIMING}) for t in result.trials]


def forest_sweep() -> Sweep:
    return Sweep("sklearn.ensemble:RandomForestClassifier", {"n_estimators": [3, 6, 9, 12]}, "digits",
                 params={"max_depth": 6}, measure={"formats": "main", "latency_runs": 1})


@pytest.fixture(scope="module")
def inline_result():  # noqa: ANN201
    return forest_sweep().run()


def test_events_stream_as_trials_finish(inline_result) -> None:  # noqa: ANN001
    events = list(forest_sweep().stream())
    assert isinstance(events[0], Started) and events[0].backend == "inline" and events[0].total == 4
    done = [e for e in events if isinstance(e, TrialDone)]
    assert [e.done for e in done] == [1, 2, 3, 4] and not any(e.cached for e in done)
    assert isinstance(events[-1], Finished) and events[-1].ran == 4
    assert deterministic(events[-1].result) == deterministic(inline_result)


def test_local_process_pool_matches_inline(inline_result) -> None:  # noqa: ANN001
    events = list(forest_sweep().stream(jobs=2))
    assert events[0].backend == "loky" and events[0].workers == 2
    result = events[-1].result
    assert deterministic(result) == deterministic(inline_result)
    assert all(t.worker.split(":")[1] != str(os.getpid()) for t in result.trials)  # ran in worker processes


def test_dask_local_cluster_matches_local(inline_result) -> None:  # noqa: ANN001
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None,
                                  silence_logs=40) as cluster:
        events = list(forest_sweep().stream(cluster=cluster.scheduler_address))
    assert events[0].backend == "dask" and events[0].workers == 2
    result = events[-1].result
    assert deterministic(result) == deterministic(inline_result)
    assert all("Dask" in t.worker for t in result.trials)  # ran on the cluster's worker threads


def test_torch_trials_on_dask_threads_are_deterministic() -> None:
    distributed = pytest.importorskip("distributed")
    sweep = Sweep("modelsize.factors.models:mlp", {"width": [4, 8, 12]}, "iris", fit={"epochs": 3},
                  measure={"formats": "none", "latency_runs": 0})
    local = sweep.run()
    with distributed.LocalCluster(n_workers=1, threads_per_worker=3, processes=False, dashboard_address=None,
                                  silence_logs=40) as cluster:
        remote = sweep.run(cluster=cluster.scheduler_address)
    assert [t.metrics["final_loss"] for t in remote.trials] == [t.metrics["final_loss"] for t in local.trials]


def test_backend_options() -> None:
    with pytest.raises(OptionError, match="The 'jobs' option must be an integer >= 1. Got 0."):
        executor_for(jobs=0)
    assert executor_for(jobs=1).name == "inline"

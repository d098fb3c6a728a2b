"""One trial: real measurements, failures recorded, time limits, seeds, hooks, frameworks."""

from __future__ import annotations

import pickle
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from modelsize.factors import Sweep
from modelsize.factors.timeout import TrialTimeout, time_limit

HELPERS = str(Path(__file__).with_name("factors_helpers.py"))
FAST = {"formats": "none", "latency_runs": 0}


def test_sklearn_trial_measures_what_files_and_counts_say() -> None:
    from sklearn.tree import DecisionTreeClassifier

    sweep = Sweep(DecisionTreeClassifier, {"max_depth": [3]}, "wine", extra=f"{HELPERS}:pickle_length")
    [trial] = sweep.run().trials
    m = trial.metrics
    assert trial.status == "ok", trial.error
    assert m["format:pickle (protocol 5)"] == m["pickle_len"] == m["serialized_bytes"]
    assert 0 < m["compressed_bytes"] < m["serialized_bytes"]
    assert m["params"] == m["report_params"] > 0
    assert m["n_train"] == m["train_rows"] == 133 and m["n_test"] == 45 and m["n_features"] == 13
    # The score is the held-out accuracy of the same fitted tree (random_state is the trial seed, 0).
    from modelsize.factors.datasets import DatasetSpec, load

    data = load(DatasetSpec("wine"))
    ref = DecisionTreeClassifier(max_depth=3, random_state=0).fit(data.X_train, data.y_train)
    assert m["score"] == pytest.approx(ref.score(data.X_test, data.y_test))
    assert len(pickle.dumps(ref, protocol=5)) == m["pickle_len"]
    assert m["train_time_s"] > 0 and m["latency_s"] > 0 and m["peak_rss_bytes"] > 0


def test_failing_trials_are_recorded_and_the_sweep_goes_on() -> None:
    result = Sweep(f"{HELPERS}:failing", {"x": [1, 2, 3]}, "iris", measure=FAST).run()
    assert [t.status for t in result.trials] == ["ok", "failed", "ok"]
    bad = result.trials[1]
    assert bad.error == "RuntimeError: no model for x=2"
    from modelsize.factors.datasets import DatasetSpec, load

    assert "factors_helpers.py" in bad.traceback
    assert bad.metrics["n_train"] == len(load(DatasetSpec("iris")).X_train)  # measured before the failure
    assert result.failed == (bad,)


def test_time_limit_in_the_main_thread_interrupts_sleep() -> None:
    start = time.perf_counter()
    with pytest.raises(TrialTimeout):
        with time_limit(0.2):
            time.sleep(5)
    assert time.perf_counter() - start < 2


def test_time_limit_in_a_worker_thread() -> None:
    outcome: dict[str, object] = {}

    def spin() -> None:
        try:
            with time_limit(0.2):
                while True:
                    pass
        except TrialTimeout:
            outcome["timeout"] = True
        with time_limit(5):  # a limit that does not fire leaves nothing behind
            sum(range(1000))
        outcome["after"] = True

    thread = threading.Thread(target=spin)
    thread.start()
    thread.join(10)
    assert outcome == {"timeout": True, "after": True}


def test_trial_timeout_is_recorded() -> None:
    sweep = Sweep(f"{HELPERS}:busy", {"seconds": [0.0, 30.0]}, "iris", measure={**FAST, "timeout_s": 1.0})
    start = time.perf_counter()
    result = sweep.run()
    assert time.perf_counter() - start < 15
    assert [t.status for t in result.trials] == ["ok", "timeout"]
    assert result.trials[1].error == "TrialTimeout: the trial ran past its time limit of 1 s."


def test_torch_trial_is_deterministic_and_sizes_match_files() -> None:
    sweep = Sweep("modelsize.factors.models:mlp", {"width": [16]}, "digits", params={"depth": 1},
                  fit={"epochs": 2, "batch_size": 64, "lr": 0.01}, measure={"latency_runs": 2},
                  extra=f"{HELPERS}:torch_save_length")
    first = sweep.run().trials[0]
    second = sweep.run().trials[0]
    assert first.status == "ok", first.error
    for key in ("params", "stored_bytes", "serialized_bytes", "compressed_bytes", "score", "final_loss"):
        assert first.metrics[key] == second.metrics[key]
    assert first.metrics["params"] == 64 * 16 + 16 + 16 * 10 + 10
    assert first.metrics["stored_bytes"] == 4 * first.metrics["params"]  # float32, whatever the data's dtype
    assert first.metrics["format:torch.save(state_dict)"] == first.metrics["file_len"]
    assert first.metrics["epochs_run"] == 2 and first.metrics["score"] > 0.8
    other_seed = Sweep("modelsize.factors.models:mlp", {"width": [16]}, "digits", params={"depth": 1},
                       fit={"epochs": 2, "batch_size": 64, "lr": 0.01}, measure=FAST, seed=1).run().trials[0]
    assert other_seed.metrics["final_loss"] != first.metrics["final_loss"]


def test_torch_early_stopping_and_post_hook() -> None:
    sweep = Sweep("modelsize.factors.models:mlp", {"fit.lr": [0.5]}, "iris", params={"width": 8},
                  fit={"epochs": 50, "patience": 2, "optimizer": "sgd"}, measure=FAST, post=f"{HELPERS}:to_float16")
    trial = sweep.run().trials[0]
    assert trial.status == "ok", trial.error
    assert trial.metrics["epochs_run"] < 50  # lr 0.5 with SGD diverges or plateaus quickly: stopped early
    assert trial.metrics["stored_bytes"] == 2 * trial.metrics["params"]  # float16 after the post hook


def test_regression_and_cnn_on_resized_images() -> None:
    reg = Sweep("modelsize.factors.models:mlp", {"width": [8]}, {"name": "regression", "n_samples": 200,
                                                                 "n_features": 5}, fit={"epochs": 3},
                measure=FAST, score="rmse").run().trials[0]
    assert reg.status == "ok", reg.error and reg.metrics["score"] > 0
    sweep = Sweep("modelsize.factors.models:cnn", {"data.image_size": [8, 16]}, "digits",
                  params={"filters": 4, "layers": 1}, fit={"epochs": 1}, measure=FAST)
    small, big = sweep.run().trials
    assert small.status == big.status == "ok", (small.error, big.error)
    conv = 4 * 1 * 9 + 4
    assert small.metrics["params"] == conv + (4 * 4 * 4) * 10 + 10
    assert big.metrics["params"] == conv + (4 * 8 * 8) * 10 + 10


def test_data_transforms_change_what_a_knn_stores() -> None:
    sweep = Sweep("sklearn.neighbors:KNeighborsClassifier", {"data.dtype": ["float64", "float32"],
                                                             "data.n_features": [64, 16]}, "digits", measure=FAST)
    rows = {(t.factors["data.dtype"], t.factors["data.n_features"]): t.metrics for t in sweep.run().trials}
    n = rows[("float64", 64)]["n_train"]
    # k-NN keeps the training rows (_fit_X, in the data's dtype) and their int64 labels (_y).
    assert rows[("float64", 64)]["data_bytes"] == n * (64 * 8 + 8)
    assert rows[("float32", 64)]["data_bytes"] == n * (64 * 4 + 8)
    assert rows[("float32", 16)]["data_bytes"] == n * (16 * 4 + 8)


def test_keras_trial() -> None:
    sweep = Sweep("modelsize.factors.models:keras_mlp", {"width": [4, 8]}, "iris", params={"depth": 1},
                  fit={"epochs": 2, "batch_size": 32}, measure={"latency_runs": 1, "compress": False})
    small, big = sweep.run().trials
    assert small.status == "ok", small.error
    assert small.metrics["params"] == 4 * 4 + 4 + 4 * 3 + 3
    assert big.metrics["params"] == 4 * 8 + 8 + 8 * 3 + 3
    assert small.metrics["format:.keras"] > 0 and small.metrics["epochs_run"] == 2
    assert 0 <= small.metrics["score"] <= 1


def test_factory_gets_data_shapes_and_seed() -> None:
    from modelsize.factors.datasets import DatasetSpec, load
    from modelsize.factors.trial import factory_kwargs

    data = load(DatasetSpec("digits"))

    def factory(n_features, n_outputs, input_shape, random_state, width=1):  # noqa: ANN001, ANN202
        return None

    kwargs = factory_kwargs(factory, {"width": 3}, data, seed=5)
    assert kwargs == {"width": 3, "n_features": 64, "n_outputs": 10, "input_shape": (8, 8), "random_state": 5}
    assert factory_kwargs(factory, {"random_state": 9}, data, seed=5)["random_state"] == 9
    assert np.asarray(data.X_train).shape[1] == kwargs["n_features"]


def test_a_bug_in_our_measuring_is_not_recorded_as_the_users_failed_trial(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fault injected into modelsize's own measuring surfaces as InternalError; the sweep stops."""
    from sklearn.tree import DecisionTreeClassifier

    from modelsize.core import units
    from modelsize.core.errors import InternalError, ModelSizeError
    from modelsize.factors import trial as trial_module

    # the fault is raised by a line of modelsize (units.format_count), as a real bug of ours would be
    monkeypatch.setattr(trial_module, "size_metrics", lambda report: {"params": units.format_count("not a count")})
    sweep = Sweep(DecisionTreeClassifier, {"max_depth": [2]}, "iris", measure=FAST)
    with pytest.raises(InternalError, match=r"modelsize's own code failed while running trial .*please report") as info:
        trial_module.execute_trial(sweep, sweep.trials()[0])
    assert not isinstance(info.value, ModelSizeError)
    assert isinstance(info.value.__cause__, ValueError)
    with pytest.raises(InternalError):  # through the runner too: not turned into a "worker failed" trial
        sweep.run()

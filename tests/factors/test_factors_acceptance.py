"""The issue's acceptance checks, on real trained models: fitted laws of real measurements."""

from __future__ import annotations

import pytest

from modelsize.factors import Sweep
from modelsize.factors.law_words import sentence

NO_FILES = {"formats": "none", "latency_runs": 0}


def test_random_forest_bytes_grow_as_n_estimators_to_the_first_power() -> None:
    sweep = Sweep("sklearn.ensemble:RandomForestClassifier", {"n_estimators": [10, 25, 50, 100, 200]}, "digits",
                  measure=NO_FILES)
    result = sweep.run()
    assert all(t.ok for t in result.trials), [t.error for t in result.failed]
    [law] = result.laws(metrics=["stored_bytes"], factors=["n_estimators"])
    assert law.exponent == pytest.approx(1.00, abs=0.05)
    lo, hi = law.exponent_ci
    assert lo <= law.exponent <= hi and hi - lo < 0.1
    assert law.law in ("linear", "power")
    text = sentence(law)
    assert law.fits and f"{law.exponent:.2f}" in text and text.startswith("stored bytes grow")


def test_knn_stored_bytes_are_linear_in_training_set_size() -> None:
    sweep = Sweep("sklearn.neighbors:KNeighborsClassifier", {"data.n_samples": [100, 200, 400, 800, 1200]},
                  "digits", measure=NO_FILES)
    result = sweep.run()
    [law] = result.laws(metrics=["stored_bytes"])
    assert law.law == "linear"
    # The slope is the bytes one more training row costs: 64 float64 features and one int64 label.
    assert law.coefficients["b"] == pytest.approx(64 * 8 + 8)
    assert law.r2 == pytest.approx(1.0)


def test_two_hidden_layer_mlp_parameters_are_quadratic_in_width() -> None:
    sweep = Sweep("modelsize.factors.models:mlp", {"width": [8, 16, 32, 64, 128]}, "digits",
                  params={"depth": 2}, fit={"epochs": 1}, measure=NO_FILES)
    result = sweep.run()
    assert all(t.ok for t in result.trials), [t.error for t in result.failed]
    laws = {law.metric: law for law in result.laws(metrics=["params", "stored_bytes"])}
    assert laws["params"].law == "quadratic" and laws["stored_bytes"].law == "quadratic"
    # 64 → w → w → 10: w² from the middle layer, (64 + 1 + 1 + 10)·w from the others, 10 output biases.
    assert laws["params"].coefficients["c"] == pytest.approx(1.0)
    assert laws["params"].coefficients["b"] == pytest.approx(76.0)
    assert laws["stored_bytes"].coefficients["c"] == pytest.approx(4.0)  # float32

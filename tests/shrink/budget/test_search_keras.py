"""Budget search on a small Keras CNN: TFLite recipes plus per-op-type selective int8."""

from __future__ import annotations

import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from modelsize.shrink.budget import Goal, SearchOptions  # noqa: E402
from modelsize.shrink.budget.search import to_budget  # noqa: E402
from modelsize.shrink.keras.train import fit_classifier  # noqa: E402


def test_keras_budget_with_selective_int8(digits_images):
    data = digits_images.reshaped((8, 8, 1))
    keras.utils.set_random_seed(0)
    layers = keras.layers
    model = keras.Sequential([keras.Input((8, 8, 1)), layers.Conv2D(16, (3, 3), activation="relu"),
                              layers.Conv2D(32, (3, 3), activation="relu"), layers.Flatten(),
                              layers.Dense(64, activation="relu"), layers.Dense(10, activation="softmax")])
    fit_classifier(model, data.train, data.val, epochs=2, seed=0)
    recipes = ["tflite:mode=float32", "tflite-selective:calibration=50",
               "tflite-selective:float_ops=CONV_2D,calibration=50"]
    result = to_budget(model, data, Goal(max_drop=100.0), search=SearchOptions(recipes=recipes))
    by = {c.label: c for c in result.candidates}
    full, conv_float, f32 = by[recipes[1]], by[recipes[2]], by[recipes[0]]
    assert full.file_bytes < conv_float.file_bytes < f32.file_bytes  # float conv weights cost 4× their int8
    assert conv_float.result.details["float_ops"] == ["CONV_2D"]
    types = conv_float.result.details["tensor_types"]
    assert types.get("int8") and types.get("float32")  # really mixed in one file
    budget = (conv_float.file_bytes + f32.file_bytes) // 2
    within = to_budget(model, data, Goal(budget=budget), search=SearchOptions(recipes=recipes))
    assert within.chosen.file_bytes <= budget
    fitting = [c for c in within.candidates if c.file_bytes <= budget]
    assert within.chosen.val_score == max(c.val_score for c in fitting)

"""A tf.keras SavedModel saved after training: metric state and optimizer bookkeeping are not parameters.

``tf_keras`` (Keras 2) saves the compiled metrics (``keras_api/metrics/N/{total,count}``) and the
optimizer with its slots into the SavedModel's checkpoint; the truth is the live model's
``count_params()`` and its optimizer's variables.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import modelsize
from modelsize import Role
from modelsize.testing import check_report

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
tf = pytest.importorskip("tensorflow")
tfk = pytest.importorskip("tf_keras")


def _trained(optimizer) -> "tfk.Model":
    model = tfk.Sequential([tfk.layers.Dense(8, activation="relu", input_shape=(4,), name="hidden"),
                            tfk.layers.BatchNormalization(name="bn"), tfk.layers.Dense(3, name="out")])
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy", "mae"])
    rng = np.random.default_rng(0)
    model.fit(rng.random((16, 4)), rng.integers(0, 3, 16), epochs=1, verbose=0)
    return model


@pytest.mark.parametrize("legacy", [False, True])
def test_metrics_are_metadata_and_slots_are_named_by_their_layer(tmp_path: Path, legacy: bool) -> None:
    optimizer = tfk.optimizers.legacy.Adam() if legacy else tfk.optimizers.Adam()
    model = _trained(optimizer)
    folder = tmp_path / "sm"
    model.save(folder, save_format="tf")
    rep = modelsize.inspect(folder)
    check_report(rep)
    assert rep.totals.params == model.count_params() == 99
    records = {t.path: t for c in rep.root.walk() for t in c.tensors}
    metrics = {p: t for p, t in records.items() if p.startswith("keras_api.metrics.")}
    assert len(metrics) == 6  # loss mean, accuracy and mae: a total and a count each
    assert all(t.role is Role.METADATA for t in metrics.values())
    optimizer_numel = sum(int(np.prod(v.shape)) for v in model.optimizer.variables())
    if legacy:  # the legacy optimizer keeps its hyper-parameters as variables too; TF lists them apart
        optimizer_numel += 4  # beta_1, beta_2, decay, learning_rate
    else:
        optimizer_numel += 1  # learning_rate, a variable of its own in the checkpoint
    assert rep.totals.numel_by_role["optimizer_state"] == optimizer_numel
    slots = [p for p, t in records.items() if t.role is Role.OPTIMIZER_STATE and t.shape == (4, 8)]
    assert len(slots) == 2 and all("hidden" in p and "kernel" in p for p in slots)
    assert not [p for p in records if "layer_with_weights" in p or "OPTIMIZER_SLOT" in p]

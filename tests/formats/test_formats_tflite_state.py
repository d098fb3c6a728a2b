"""TFLite streaming models: initial values of resource variables are state (role state), not parameters.

A model converted with resource variables keeps its state in variables that an init subgraph
(run once through CALL_ONCE) fills with VAR_HANDLE + ASSIGN_VARIABLE from constant buffers;
the weights stay constants of the main subgraph. The file is written by TensorFlow's converter.
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


class Streaming(tf.Module):
    """y = x @ W + state; state ← y (a one-tensor streaming cell)."""

    def __init__(self) -> None:
        rng = np.random.default_rng(0)
        self.w = tf.constant(rng.random((8, 4)).astype(np.float32))
        self.state = tf.Variable(np.full((1, 4), 0.5, np.float32))
        self.memory = tf.Variable(np.zeros((2, 3), np.float32))

    @tf.function(input_signature=[tf.TensorSpec([1, 8], tf.float32)])
    def __call__(self, x):
        y = tf.matmul(x, self.w) + self.state
        self.state.assign(y)
        self.memory.assign(self.memory + 1.0)
        return y + tf.reduce_sum(self.memory)


def test_state_variable_initial_values_are_state(tmp_path: Path) -> None:
    module = Streaming()
    converter = tf.lite.TFLiteConverter.from_concrete_functions([module.__call__.get_concrete_function()], module)
    converter.experimental_enable_resource_variables = True
    path = tmp_path / "streaming.tflite"
    path.write_bytes(converter.convert())
    rep = modelsize.inspect(path)
    check_report(rep)
    assert rep.sections["tflite"]["op_counts"].get("ASSIGN_VARIABLE", 0) >= 2
    assert rep.totals.params == 8 * 4 + 1  # the weight and the constant 1.0 of memory + 1.0
    records = [t for c in rep.root.walk() for t in c.tensors]
    state = sorted((t.shape for t in records if t.role is Role.STATE), key=str)
    assert state == sorted([(1, 4), (2, 3)], key=str)
    assert all("ASSIGN_VARIABLE" in t.meta["state"] for t in records if t.role is Role.STATE)
    assert rep.totals.numel_by_role["state"] == module.state.numpy().size + module.memory.numpy().size
    assert rep.sections["tflite"]["state_variable_values"] == 2
    assert any("resource variables" in n for n in rep.notes)

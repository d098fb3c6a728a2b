"""`--input-shape` builds an unbuilt Keras model; without it the error says how to build one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

keras = pytest.importorskip("keras")

MODEL_FILE = """
import keras

def model():
    return keras.Sequential([keras.layers.Dense(128, activation="relu"), keras.layers.Dense(10)])
"""


@pytest.fixture
def unbuilt(tmp_path: Path) -> str:
    path = tmp_path / "unbuilt_models.py"
    path.write_text(MODEL_FILE)
    return f"{path}:model"


def test_unbuilt_model_without_shape_says_how_to_build(cli, unbuilt: str) -> None:
    result = cli("inspect", unbuilt, "--no-formats")
    assert result.code == 1
    assert "--input-shape" in result.err_text and "must be built" in result.err_text
    assert result.out == ""


def test_input_shape_builds_the_seed_dropout_layout(cli, unbuilt: str) -> None:
    result = cli("inspect", unbuilt, "--no-formats", "--input-shape", "784", "--format", "json")
    assert result.code == 0, result.err
    # 784*128 + 128 + 128*10 + 10, what keras' count_params() gives once built
    assert json.loads(result.out)["totals"]["params"] == 101_770


@pytest.mark.parametrize("bad", ["7,-1", "a,b", ""])
def test_bad_shape_is_a_usage_error(cli, unbuilt: str, bad: str) -> None:
    result = cli("inspect", unbuilt, "--input-shape", bad)
    assert result.code == 2
    assert "'input-shape' option must be positive integers" in result.err_text


def test_input_shape_on_a_torch_model_is_refused(cli) -> None:
    pytest.importorskip("torch")
    result = cli("inspect", "modelsize.examples.seed:simple_nn", "--input-shape", "784")
    assert result.code == 2
    assert "'input_shape' option must be given only for models built from an input shape" in result.err_text

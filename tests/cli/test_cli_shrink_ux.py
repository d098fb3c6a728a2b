"""``modelsize shrink`` as a user meets it: same seed → same numbers, one-line errors, full help (issue 15)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from user_models import CNN


def is_timing_or_identity(key: str) -> bool:
    """Wall-clock measurements differ between any two runs; storage keys are memory addresses."""
    return "latency" in key or key.endswith(("_s", "_ns")) or key == "storage_key"


def without_timings(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_timings(v) for k, v in value.items() if not is_timing_or_identity(k)}
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    return value


def test_same_seed_gives_the_same_json_minus_timings(cli, write_module) -> None:  # noqa: ANN001
    path, _ = write_module(CNN)
    args = ("shrink", f"{path.name}:Net", "--data", "digits", "--input-shape", "1x8x8", "--train-epochs", "1",
            "--recipe", "channels:ratio=0.5,finetune=1", "--latency-runs", "1", "--format", "json")
    first, second = cli(*args), cli(*args)
    assert first.code == 0 and second.code == 0, first.err
    a, b = without_timings(json.loads(first.out)), without_timings(json.loads(second.out))
    result = a["sections"]["shrink"]
    assert a == b
    original = json.dumps(result)
    assert "accuracy" in original or "score" in original
    other_seed = cli(*args[:-2], "--seed", "1", "--format", "json")
    assert without_timings(json.loads(other_seed.out)) != a  # the seed is really used


@pytest.mark.parametrize(("extra", "needle"), [
    ((), "shape 64 per sample"),          # a CNN fed flat digits, no --input-shape
    (("--input-shape", "1x4x16"), "shape 1x4x16 per sample"),  # the wrong shape given
])
def test_a_model_that_rejects_the_data_is_one_line_exit_1(cli, write_module, extra, needle) -> None:  # noqa: ANN001
    path, _ = write_module(CNN)
    result = cli("shrink", f"{path.name}:Net", "--data", "digits", "--recipe", "fp16", *extra)
    assert result.code == 1
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert needle in lines[0] and "expects 1 channel(s)" in lines[0] and "Traceback" not in result.err
    if not extra:
        assert "--input-shape 1x8x8" in lines[0]


@pytest.mark.parametrize(("args", "needle", "code"), [
    (("--recipe", "prnue"), "Did you mean 'prune'?", 2),
    (("--recipe", "prune:amout=0.5"), "Did you mean 'amount'?", 2),
    (("--recipe", "fp16", "--input-shape", "8x8y1"), "28x28x1 or 28,28,1", 2),
    (("--recipe", "fp16", "-o", "result.xlsx"), "'output' option", 2),
])
def test_usage_mistakes_are_one_line(cli, write_module, args, needle, code) -> None:  # noqa: ANN001
    path, _ = write_module(CNN)
    result = cli("shrink", f"{path.name}:Net", "--data", "digits", *args)
    assert result.code == code
    assert needle in result.err_text and "Traceback" not in result.err
    assert len([l for l in result.err.splitlines() if l.strip()]) <= 3  # click's usage line + the message


def test_both_shape_syntaxes_mean_the_same(cli, write_module, tmp_path) -> None:  # noqa: ANN001
    path, _ = write_module(CNN)
    runs = []
    for shape in ("1x8x8", "1,8,8"):
        out = tmp_path / f"r{shape.replace(',', '_')}.csv"
        result = cli("shrink", f"{path.name}:Net", "--data", "digits", "--input-shape", shape, "--recipe", "fp16",
                     "--latency-runs", "1", "-o", str(out))
        assert result.code == 0, result.err
        runs.append(out.read_text().splitlines()[0])
    assert runs[0] == runs[1] and "params" in runs[0]


def test_help_lists_every_recipe_grouped_by_framework(cli) -> None:  # noqa: ANN001
    from modelsize.shrink.spec import RECIPES

    text = cli("shrink", "--help").out
    for name in RECIPES:
        assert name in text, name
    for framework in ("PyTorch:", "Keras:", "scikit-learn:", "XGBoost/LightGBM:", "ONNX:"):
        assert framework in text
    assert "PyTorch model (or" not in text and "TARGET" in text

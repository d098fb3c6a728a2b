"""Budgets: unit parsing, limits and margins, config files, assert_size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from modelsize.budget.config import find_config, load_budgets
from modelsize.budget.limits import Budget, evaluate
from modelsize.budget.measure import BudgetError
from modelsize.core.units import parse_count, parse_percent, parse_size
from modelsize.core.errors import OptionError
from modelsize.testing import assert_size


def write_model(path: Path, widths: tuple[int, ...] = (8, 4)) -> Path:
    tensors = {}
    for i in range(len(widths) - 1):
        tensors[f"layers.{i}.weight"] = np.ones((widths[i + 1], widths[i]), dtype=np.float32)
        tensors[f"layers.{i}.bias"] = np.zeros(widths[i + 1], dtype=np.float32)
    save_file(tensors, str(path))
    return path


@pytest.mark.parametrize("text, expected", [
    ("50MiB", 50 * 1024**2), ("50MB", 50_000_000), ("1.5 GB", 1_500_000_000), ("2KiB", 2048),
    ("123456", 123456), ("10kB", 10_000), (4096, 4096), ("1_000B", 1000),
])
def test_parse_bytes(text: object, expected: int) -> None:
    assert parse_size(text, "max-bytes") == expected


@pytest.mark.parametrize("text, expected", [("10M", 10_000_000), ("1.5B", 1_500_000_000), ("250k", 250_000),
                                            ("1000000", 1_000_000), ("7e9", 7_000_000_000)])
def test_parse_count(text: str, expected: int) -> None:
    assert parse_count(text) == expected


def test_parse_percent_and_errors() -> None:
    assert parse_percent("2%") == pytest.approx(0.02)
    assert parse_percent("0.5") == pytest.approx(0.005)
    with pytest.raises(OptionError, match=r"The 'max-bytes' option must be a size .* Got '50 MiBs'"):
        parse_size("50 MiBs", "max-bytes")
    with pytest.raises(OptionError, match="max-params"):
        parse_count("ten")
    with pytest.raises(OptionError, match="max-growth"):
        parse_percent("-2%")


def test_evaluate_limits_and_margins(tmp_path: Path) -> None:
    import modelsize

    data = modelsize.inspect(write_model(tmp_path / "m.safetensors")).to_dict()
    size = data["sections"]["file"]["bytes"]
    assert size == (tmp_path / "m.safetensors").stat().st_size
    results = evaluate(Budget("m", max_bytes=size, max_params=35), data)
    by_name = {r.name: r for r in results}
    assert by_name["max-bytes"].measured == size and by_name["max-bytes"].margin == 0 and by_name["max-bytes"].ok
    assert by_name["max-params"].measured == 36 and by_name["max-params"].margin == -1 and not by_name["max-params"].ok
    line = by_name["max-params"].line()
    assert line.startswith("OVER") and "limit 35" in line and "measured 36" in line and "margin -1" in line


def test_growth_against_baseline(tmp_path: Path) -> None:
    import modelsize

    old = modelsize.inspect(write_model(tmp_path / "old.safetensors", (8, 4))).to_dict()
    new = modelsize.inspect(write_model(tmp_path / "new.safetensors", (8, 5))).to_dict()
    results = evaluate(Budget("new", max_growth=0.02), new, old)
    params = next(r for r in results if r.what == "params")
    assert params.measured == pytest.approx((45 - 36) / 36) and not params.ok
    size = next(r for r in results if r.what == "file bytes")
    old_size, new_size = old["sections"]["file"]["bytes"], new["sections"]["file"]["bytes"]
    assert size.baseline == old_size and size.measured == pytest.approx((new_size - old_size) / old_size)
    with pytest.raises(BudgetError, match="names no baseline"):
        evaluate(Budget("new", max_growth=0.02), new, None)


def test_pyproject_budgets(tmp_path: Path) -> None:
    write_model(tmp_path / "a.safetensors")
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[[tool.modelsize.budgets]]\ntarget = "a.safetensors"\nmax-bytes = "1KiB"\n'
        'max-params = "1k"\n\n[[tool.modelsize.budgets]]\ntarget = "pkg.mod:model"\nmax-params = 10\n'
        'format = "safetensors"\ncompressed = true\n')
    sub = tmp_path / "sub"
    sub.mkdir()
    assert find_config(sub) == tmp_path / "pyproject.toml"
    first, second = load_budgets(tmp_path / "pyproject.toml")
    assert first.target == str(tmp_path / "a.safetensors") and first.max_bytes == 1024 and first.max_params == 1000
    assert second.target == "pkg.mod:model" and second.format == "safetensors" and second.compressed


def test_config_rejects_typos(tmp_path: Path) -> None:
    (tmp_path / "modelsize.toml").write_text('[[budgets]]\ntarget = "a.pt"\nmax-byte = "1KiB"\n')
    with pytest.raises(BudgetError, match=r"unknown keys \['max-byte'\]"):
        load_budgets(tmp_path / "modelsize.toml")


def test_assert_size_passes_and_fails_with_check_lines(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    model = torch.nn.Linear(10, 10)  # 110 params, 440 bytes of float32
    results = assert_size(model, max_bytes="1KiB", max_params=110)
    assert [r.measured for r in results] == [440, 110]
    with pytest.raises(AssertionError) as info:
        assert_size(model, max_bytes=400, max_params="1k")
    text = str(info.value)
    assert text.startswith("1 of 2 size limits exceeded:")
    assert "OVER  model  max-bytes  tensor bytes  limit 400 B  measured 440 B  margin -40 B (10.0% over)" in text
    assert "OK    model  max-params  params  limit 1,000  measured 110" in text
    safetensors = assert_size(model, max_bytes=10_000, format="safetensors")[0]
    assert safetensors.what == "safetensors bytes" and safetensors.measured > 440

"""``modelsize check``: each exit code, budgets from pyproject.toml, baseline growth."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file


def write_model(path: Path, out_width: int = 4) -> Path:
    save_file({"fc.weight": np.ones((out_width, 8), dtype=np.float32),
               "fc.bias": np.zeros(out_width, dtype=np.float32)}, str(path))
    return path


def test_exit_0_within_budget(cli, tmp_path: Path) -> None:
    model = write_model(tmp_path / "m.safetensors")
    size = model.stat().st_size
    res = cli("check", str(model), "--max-bytes", "1KiB", "--max-params", "36")
    assert res.code == 0, res.err
    lines = res.out.splitlines()
    assert len(lines) == 2
    assert lines[0] == (f"OK    {model}  max-bytes  file bytes  limit 1.00 KiB  measured {size} B  "
                        f"margin +{1024 - size} B ({100 * (1024 - size) / 1024:.1f}% left)")
    assert lines[1] == f"OK    {model}  max-params  params  limit 36  measured 36  margin 0 (0.0% left)"


def test_exit_3_over_budget(cli, tmp_path: Path) -> None:
    model = write_model(tmp_path / "m.safetensors")
    res = cli("check", str(model), "--max-bytes", "100B", "--max-params", "1M")
    assert res.code == 3
    assert res.out.splitlines()[0].startswith(f"OVER  {model}  max-bytes  file bytes  limit 100 B")
    assert res.out.splitlines()[1].startswith("OK    ")
    assert "1 of 2 limits exceeded." in res.err


def test_exit_1_on_error(cli, tmp_path: Path) -> None:
    model = write_model(tmp_path / "m.safetensors")
    res = cli("check", str(tmp_path / "missing.pt"), "--max-bytes", "1MiB")
    assert res.code == 1 and "No such file or folder" in res.err
    res = cli("check", str(model), "--max-bytes", "1MiB", "--serialized", "onnx")
    assert res.code == 1 and "The size in format 'onnx' is not known" in res.err_text
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    res = cli("check", str(model), "--baseline", str(bad), "--max-growth", "2%")
    assert res.code == 1 and "is not a modelsize report" in res.err_text


@pytest.mark.parametrize("args, message", [
    (["--max-bytes", "50 MiBs"], "The 'max-bytes' option must be a size"),
    (["--max-params", "ten"], "The 'max-params' option must be a count"),
    ([], "No limit given"),
    (["--max-growth", "2%"], "The 'max-growth' option must be given with --baseline"),
])
def test_exit_2_on_usage(cli, tmp_path: Path, args: list[str], message: str) -> None:
    model = write_model(tmp_path / "m.safetensors")
    res = cli("check", str(model), *args)
    assert res.code == 2 and message in res.err_text


def test_budgets_from_pyproject(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    small = write_model(tmp_path / "small.safetensors", 4)
    big = write_model(tmp_path / "big.safetensors", 64)
    (tmp_path / "pyproject.toml").write_text(
        '[[tool.modelsize.budgets]]\ntarget = "small.safetensors"\nmax-params = "1k"\n\n'
        '[[tool.modelsize.budgets]]\ntarget = "big.safetensors"\nmax-bytes = "1KiB"\nmax-params = "1k"\n')
    monkeypatch.chdir(tmp_path)
    res = cli("check")
    assert res.code == 3
    lines = res.out.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("OK    small.safetensors  max-params  params  limit 1,000  measured 36")
    assert lines[1].startswith(f"OVER  big.safetensors  max-bytes  file bytes  limit 1.00 KiB  "
                               f"measured {big.stat().st_size / 1024:.2f} KiB")
    assert lines[2].startswith("OK    big.safetensors  max-params  params  limit 1,000  measured 576")
    (tmp_path / "pyproject.toml").write_text('[[tool.modelsize.budgets]]\nname = "tiny model"\n'
                                             'target = "small.safetensors"\nmax-bytes = "1kB"\n')
    res = cli("check")
    assert res.code == 0
    assert res.out.startswith(f"OK    tiny model  max-bytes  file bytes  limit 1.00 kB  measured {small.stat().st_size} B")
    res = cli("check", "--json")
    assert json.loads(res.out)["results"][0]["measured"] == small.stat().st_size


def test_no_budgets_anywhere_is_an_error(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    res = cli("check", "--config", str(tmp_path / "modelsize.toml"))
    assert res.code == 1 and "No such config file" in res.err


def test_baseline_growth(cli, tmp_path: Path) -> None:
    old = write_model(tmp_path / "old.safetensors", 4)
    res = cli("inspect", str(old), "--format", "json")
    baseline = tmp_path / "baseline.json"
    baseline.write_text(res.out)
    same = cli("check", str(old), "--baseline", str(baseline), "--max-growth", "2%")
    assert same.code == 0 and "measured 0.00%" in same.out
    new = write_model(tmp_path / "new.safetensors", 5)  # 36 -> 45 params: +25%
    res = cli("check", str(new), "--baseline", str(baseline), "--max-growth", "2%")
    assert res.code == 3
    params_line = next(line for line in res.out.splitlines() if "  params  " in line)
    assert params_line == (f"OVER  {new}  max-growth  params  limit 2.00%  measured +25.00%  margin -23.00%  baseline 36")
    grow = (new.stat().st_size - old.stat().st_size) / old.stat().st_size
    assert f"measured +{100 * grow:.2f}%" in res.out
    assert cli("check", str(new), "--baseline", str(baseline), "--max-growth", "30%").code == 0
    ratio = cli("check", str(new), "--max-ratio-vs", str(old), "1.05")
    assert ratio.code == (0 if new.stat().st_size / old.stat().st_size <= 1.05 else 3)
    assert f"measured {new.stat().st_size / old.stat().st_size:.4f}x" in ratio.out


def test_limits_read_in_the_units_they_were_written(cli, tmp_path: Path) -> None:
    model = write_model(tmp_path / "m.safetensors")
    assert "limit 50.00 MB " in cli("check", str(model), "--max-bytes", "50MB").out
    assert "limit 50.00 MiB " in cli("check", str(model), "--max-bytes", "50MiB").out
    assert "limit 52.43 MB " in cli("check", str(model), "--max-bytes", "50MiB", "--si").out


def test_live_model_format_and_compressed(cli) -> None:
    res = cli("check", "modelsize.examples.seed:simple_nn", "--max-bytes", "10MB", "--serialized", "safetensors",
              "--compressed")
    assert res.code == 0, res.err
    assert "safetensors zstd bytes" in res.out


def test_pre_commit_hook_runs_check(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import re
    import shlex

    yaml = pytest.importorskip("yaml")
    hooks = yaml.safe_load((Path(__file__).parents[2] / ".pre-commit-hooks.yaml").read_text())
    (hook,) = hooks
    assert hook["id"] == "modelsize-check" and hook["pass_filenames"] is False and hook["language"] == "python"
    assert re.search(hook["files"], "models/x.safetensors") and re.search(hook["files"], "pyproject.toml")
    program, *args = shlex.split(hook["entry"])
    assert program == "modelsize"
    write_model(tmp_path / "m.safetensors")
    (tmp_path / "modelsize.toml").write_text('[[budgets]]\ntarget = "m.safetensors"\nmax-bytes = "100B"\n')
    monkeypatch.chdir(tmp_path)
    assert cli(*args).code == 3


def test_readme_example_output_is_real(cli) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    res = cli("check", "modelsize.examples.seed:simple_nn", "--max-bytes", "1MiB", "--max-params", "100k")
    assert res.code == 3
    for line in res.out.splitlines():
        assert f"# {line}" in readme


def test_folder_target(cli, tmp_path: Path) -> None:
    folder = tmp_path / "hf"
    folder.mkdir()
    write_model(folder / "model.safetensors")
    (folder / "config.json").write_text(json.dumps({"architectures": ["TinyModel"], "hidden_size": 8}))
    res = cli("check", str(folder), "--max-bytes", "10KiB", "--max-params", "36")
    assert res.code == 0, res.err
    size = sum(f.stat().st_size for f in folder.iterdir())  # the folder as it ships: weights and config
    assert f"max-bytes  file bytes  limit 10.00 KiB  measured {size} B" in res.out
    assert "max-params  params  limit 36  measured 36" in res.out

"""The real console script in a subprocess: start-up speed, lazy imports, streams and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
MODELSIZE = BIN / "modelsize"
HEAVY = ("torch", "tensorflow", "keras", "tf_keras", "sklearn", "jax", "transformers", "xgboost", "lightgbm", "onnx")

needs_script = pytest.mark.skipif(not MODELSIZE.exists(), reason="console script not installed (pip install -e .)")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "MODELSIZE_DEBUG"}
    env.update(extra)
    return env


def _run(*args: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=_env(**env))


@needs_script
def test_help_answers_from_the_console_script() -> None:
    """``modelsize --help`` through the installed script. Time is only a hang guard (10 s, 50× the
    195 ms median in BENCHMARKS.md); what it loads is counted in ``tests/test_startup.py`` and the
    speed goal (≤ 0.3 s) is measured by ``benchmarks/bench_startup.py``."""
    result = _run(str(MODELSIZE), "--help", timeout=10)
    assert result.returncode == 0, result.stderr
    assert "inspect" in result.stdout and "demo" in result.stdout
    assert result.stderr == ""


def _loaded_after(code: str) -> list[str]:
    probe = (
        f"import sys\n{code}\n"
        f"heavy = {HEAVY!r}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m.startswith('modelsize.adapters')))\n"
    )
    result = _run(sys.executable, "-c", probe)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1].replace("'", '"'))


def test_import_modelsize_loads_no_framework() -> None:
    assert _loaded_after("import modelsize") == []


def test_cli_help_loads_no_framework_and_no_adapter() -> None:
    code = (
        "import contextlib, io\n"
        "from modelsize.cli.app import run\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert run(['--help']) == 0\n"
        "    assert run(['inspect', '--help']) == 0\n"
        "    assert run(['demo', '--help']) == 0\n"
    )
    assert _loaded_after(code) == []


@needs_script
def test_bad_target_one_line_on_stderr_exit_1() -> None:
    result = _run(str(MODELSIZE), "inspect", "msz_absent_pkg:model")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: ")
    assert "msz_absent_pkg" in result.stderr and "Traceback" not in result.stderr

    debug = _run(str(MODELSIZE), "inspect", "msz_absent_pkg:model", MODELSIZE_DEBUG="1")
    assert debug.returncode == 1
    assert "Traceback (most recent call last)" in debug.stderr
    assert "ModuleNotFoundError" in debug.stderr


@needs_script
def test_usage_error_exit_2() -> None:
    result = _run(str(MODELSIZE), "inspect", "x", "--depth", "-1")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "The 'depth' option must be an integer >= 0. Got -1." in result.stderr


def test_python_dash_m() -> None:
    result = _run(sys.executable, "-m", "modelsize", "--version")
    assert result.returncode == 0 and result.stdout.startswith("modelsize ")


@needs_script
def test_json_through_a_pipe_is_pure_data() -> None:
    pytest.importorskip("torch")
    result = _run(str(MODELSIZE), "inspect", "modelsize.examples.seed:simple_nn", "--format", "json", "--no-formats")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # progress is shown only on a terminal
    assert json.loads(result.stdout)["totals"]["params"] == 784 * 128 + 128 + 128 * 10 + 10


@needs_script
def test_demo_shows_the_seed_models_with_their_own_figures(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    result = _run(str(MODELSIZE), "demo", timeout=600)  # a hang guard, not a speed check
    assert result.returncode == 0, result.stderr
    assert "Step 1/" in result.stdout and "SimpleNN" in result.stdout
    assert "101,770" in result.stdout
    assert "sum(p.numel() for p in model.parameters()) = 101,770" in result.stdout

    # The article's own size measurement, done for real: the demo's number must match the file.
    from modelsize.examples.seed import simple_nn

    path = tmp_path / "model.pth"
    torch.save(simple_nn().state_dict(), path)
    assert f"torch.save(model.state_dict(), 'model.pth') writes {path.stat().st_size:,} bytes" in result.stdout

    # The Keras CNN: modelsize's count equals Keras's own count_params().
    assert "model.count_params() = 121,930; modelsize counts 121,930 parameters" in result.stdout
    # The random forest: the joblib row equals the size of a file joblib really writes.
    joblib = pytest.importorskip("joblib")
    from modelsize.examples.seed_sklearn import seed_random_forest

    forest_path = tmp_path / "random_forest_model.pkl"
    joblib.dump(seed_random_forest(), forest_path)
    joblib_row = next(line for line in result.stdout.splitlines() if line.startswith("joblib "))
    assert f"{forest_path.stat().st_size:,}" in joblib_row

"""stdout is data even under an interactive terminal; progress goes to stderr (issue 15).

Each command with a progress display runs in a real subprocess whose stderr is a pty, with
stdout redirected to a file (``modelsize … > out.json`` typed at a terminal) or on its own pty.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from cli_terminal import ANSI, run_in_terminal

SPEC = """
name: pty-forest
model: sklearn.ensemble:RandomForestClassifier
params: {max_depth: 3}
dataset: iris
grid:
  n_estimators: [2, 4]
measure: {formats: main, latency_runs: 1}
"""


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "forest.yaml"
    path.write_text(textwrap.dedent(SPEC))
    return path


def test_sweep_run_json_to_a_file_from_a_terminal_fresh_and_from_the_store(spec: Path, tmp_path: Path) -> None:
    for ran, cached in ((2, 0), (0, 2)):  # second run: every trial comes from the store
        target = tmp_path / f"out{cached}.json"
        result = run_in_terminal("sweep", "run", str(spec), "--format", "json", "--store", "s.db",
                                 cwd=tmp_path, stdout_file=target)
        assert result.code == 0, result.err_plain
        data = json.loads(target.read_text())
        assert [t["factors"]["n_estimators"] for t in data["trials"]] == [2, 4]
        assert f"{ran} run, {cached} from the store" in result.err_plain
        assert "2/2" in result.err_plain  # the progress bar was drawn, on stderr
        status = [line for line in result.err_plain.splitlines() if "Sweep " in line and " trials, " in line]
        assert status and all(line.startswith("Sweep ") and "━" not in line and "ETA" not in line for line in status), \
            result.err_plain  # issue 28: the status line above the bar, not printed into it


def test_sweep_run_table_on_a_terminal_keeps_the_bar_off_stdout(spec: Path, tmp_path: Path) -> None:
    result = run_in_terminal("sweep", "run", str(spec), "--store", "s.db", cwd=tmp_path)
    assert result.code == 0, result.err_plain
    assert "pty-forest" in result.out and "ETA" not in result.out and "2/2" not in result.out
    assert "ETA" in result.err_plain


def test_quiet_and_no_progress_leave_stderr_empty(spec: Path, tmp_path: Path) -> None:
    for flag in ("--quiet", "--no-progress"):
        target = tmp_path / "out.csv"
        result = run_in_terminal("sweep", "run", str(spec), "--format", "csv", "--store", "s.db", flag,
                                 cwd=tmp_path, stdout_file=target)
        assert result.code == 0
        assert "ETA" not in result.err_plain and "━" not in result.err
        if flag == "--quiet":
            assert ANSI.sub("", result.err).strip() == ""
        assert target.read_text().startswith("trial_key") or "n_estimators" in target.read_text().splitlines()[0]


CNN = """
import torch.nn as nn

def net():
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 10))
"""


def test_shrink_json_to_a_file_from_a_terminal_with_per_recipe_progress(tmp_path: Path) -> None:
    (tmp_path / "tiny_net.py").write_text(CNN)
    target = tmp_path / "out.json"
    result = run_in_terminal("shrink", "tiny_net.py:net", "--data", "digits", "--recipe", "fp16", "--recipe",
                             "prune:amount=0.5", "--latency-runs", "1", "--format", "json", cwd=tmp_path,
                             stdout_file=target)
    assert result.code == 0, result.err_plain
    assert len(json.loads(target.read_text())["sections"]["shrink"]["results"]) == 2
    err = result.err_plain
    assert "[0/2] measuring the original" in err and "[1/2] prune" in err and "ETA" in err


def test_study_and_inspect_keep_progress_on_stderr(tmp_path: Path) -> None:
    table = run_in_terminal("study", "run", "precision", "--scale", "tiny", "--store", "s.db", cwd=tmp_path)
    assert table.code == 0, table.err_plain
    assert "precision: " in table.out and "study precision (tiny)" not in table.out
    assert "study precision (tiny)" in table.err_plain and "Report: modelsize-report/precision/index.html" in table.err_plain
    inspect = run_in_terminal("inspect", "modelsize.examples.seed:simple_nn", "--no-formats", "--format", "csv",
                              cwd=tmp_path)
    assert inspect.code == 0 and "Measuring" not in inspect.out and "Measuring" in inspect.err_plain
    assert inspect.out.splitlines()[0].count(",") > 3


def test_study_draws_a_bar_per_sweep_with_trials_and_eta_on_stderr_only(tmp_path: Path) -> None:
    """``study run`` from a terminal: each of the study's sweeps gets its own bar ("complexity 2/5: …"),
    advanced per trial, with elapsed time and an ETA; stdout (a file here) is the JSON alone."""
    result = run_in_terminal("study", "run", "complexity", "--scale", "tiny", "--store", "s.db", "--format", "json",
                             cwd=tmp_path, stdout_file=tmp_path / "out.json")
    assert result.code == 0, result.err_plain
    data = json.loads(result.out)  # nothing but the JSON
    assert data["studies"][0]["study"] == "complexity"
    err = result.err_plain
    for i in range(1, 6):  # complexity has five sweeps at tiny scale
        assert f"complexity {i}/5: " in err
    finals = [line for line in err.splitlines() if line.startswith("complexity 4/5: ") and "3/3" in line]
    assert finals and "0 failed" in finals[-1] and "ETA" in finals[-1]  # every trial of that sweep counted
    assert any("ETA 0:00:0" in line for line in err.splitlines())  # an ETA from measured trial times, not "-:--"
    assert "complexity 1/5" not in result.out

    quiet = run_in_terminal("study", "run", "complexity", "--scale", "tiny", "--store", "s.db", "--format", "json",
                            "--no-progress", cwd=tmp_path, stdout_file=tmp_path / "again.json")
    assert quiet.code == 0 and json.loads(quiet.out)["studies"][0]["study"] == "complexity"
    assert "complexity 1/5" not in quiet.err_plain and "━" not in quiet.err

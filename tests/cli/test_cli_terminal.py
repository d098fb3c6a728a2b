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

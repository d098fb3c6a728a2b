"""The hostile corpus: every crafted file inspected in its own process under 1 GiB of address space.

Each case asserts the exit code, at most the one expected stderr line, no traceback, the marker
file absent (nothing from the file ran), the verdict and the names flagged. A control test
shows the payloads are real: the plain ``pickle.load`` runs them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from hostile_corpus import CASE_WALL_S, Case, cases  # noqa: E402

HERE = Path(__file__).parent
SRC = HERE.parent.parent / "src"
CASES = cases()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, dict], Path]:
    """Run the whole corpus once in one driver process; each case is a forked, limited child."""
    out = tmp_path_factory.mktemp("hostile")
    marker = out / "PWNED"
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{HERE}", "OPENBLAS_NUM_THREADS": "1"}
    env.pop("MODELSIZE_DEBUG", None)
    proc = subprocess.run([sys.executable, str(HERE / "hostile_corpus.py"), str(out), str(marker)],
                          capture_output=True, text=True, env=env, timeout=len(CASES) * CASE_WALL_S)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = {}
    for line in proc.stdout.splitlines():
        row = json.loads(line)
        results[row["name"]] = row
    return results, marker


def _verdict(stdout: str) -> str | None:
    if not stdout.strip():
        return None
    sections = json.loads(stdout)["sections"]
    sec = sections.get("pickle") or sections.get("pytorch") or {}
    return sec.get("verdict")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_case(corpus: tuple[dict[str, dict], Path], case: Case) -> None:
    results, marker = corpus
    row = results[case.name]
    assert row["signal"] is None, f"killed by signal {row['signal']} (time or memory limit): {row['stderr'][-500:]}"
    assert "Traceback" not in row["stderr"], row["stderr"]
    assert row["exit"] == case.exit, row["stderr"]
    lines = row["stderr"].splitlines()
    if case.stderr is None:
        assert lines == []
    else:
        assert len(lines) == 1 and case.stderr in lines[0], lines
        assert lines[0].startswith("Error: " if case.exit else "Warning: ")
    assert not marker.exists(), "code from a hostile file ran"
    assert row["cpu_s"] < 10
    if case.fmt == "json" and case.exit == 0:
        report = json.loads(row["stdout"])
        assert _verdict(row["stdout"]) == case.verdict
        sec = report["sections"].get("pickle") or report["sections"].get("pytorch") or {}
        for name in case.flagged:
            assert name in sec["dangerous"], (name, sec["dangerous"])
        if case.note:
            assert any(case.note in n for n in report["notes"]), report["notes"]
    elif case.exit:
        assert row["stdout"] == ""


def test_dangerous_verdicts_say_why(corpus: tuple[dict[str, dict], Path]) -> None:
    results, _ = corpus
    report = json.loads(results["dotted_stack_global"]["stdout"])
    row = next(g for g in report["sections"]["pickle"]["globals"] if g["risk"] == "dangerous")
    assert row == {"module": "pathlib", "name": "os.system", "count": 1, "risk": "dangerous",
                   "why": "it reaches the 'os' module, which runs commands or touches files"}
    exec_row = json.loads(results["fix_imports_builtin_exec"]["stdout"])["sections"]["pickle"]["globals"][0]
    assert exec_row["written_as"] == "__builtin__.exec" and exec_row["name"] == "exec"
    nested = json.loads(results["nested_pickle_large"]["stdout"])["sections"]["pickle"]
    assert nested["nested_pickles"] == 1


def test_payloads_fire_under_the_real_loader(tmp_path: Path) -> None:
    """Control: ``pickle.load`` runs each pickle payload (so flagging them is not a false alarm)."""
    fired = []
    for case in CASES:
        if not case.payload or case.loader != "pickle" or "collect_env" in case.name:
            continue
        folder = tmp_path / case.name
        folder.mkdir()
        marker = folder / "FIRED"
        target = case.build(folder, f"touch {marker}")
        subprocess.run([sys.executable, "-c", "import pickle,sys; pickle.load(open(sys.argv[1], 'rb'))", str(target)],
                       capture_output=True, timeout=60)
        fired.append((case.name, marker.exists()))
    assert fired and all(ok for _, ok in fired), fired

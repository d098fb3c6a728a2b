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
    """The report's safety verdict (the ``safety`` section every file and folder read from disk has)."""
    if not stdout.strip():
        return None
    return json.loads(stdout)["sections"]["safety"]["verdict"]


def _flagged(report: dict) -> list[str]:
    """Every name listed as dangerous: the safety section's and the pickle or pytorch section's."""
    sections = report["sections"]
    sec = sections.get("pickle") or sections.get("pytorch") or {}
    return list(sections["safety"]["dangerous"]) + list(sec.get("dangerous", []))


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
    if case.payload:  # never 'safe': a dangerous verdict, or a refusal that says why
        assert case.verdict == "dangerous" or (case.exit and "Security verdict: dangerous" in row["stderr"]
                                               or "unparseable after" in row["stderr"])
    if case.fmt == "json" and case.exit == 0:
        report = json.loads(row["stdout"])
        assert _verdict(row["stdout"]) == (case.verdict or "safe")
        flagged = _flagged(report)
        for name in case.flagged:
            assert any(name in f for f in flagged), (name, flagged)
        if case.note:
            assert any(case.note in n for n in report["notes"]), report["notes"]
    elif case.exit:
        assert row["stdout"] == ""
        for name in case.flagged:  # an aborted stream still names what it imported before the abort
            assert name in row["stderr"], (name, row["stderr"])


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


#: How each real loader opens a target (one subprocess per loader, every target of that kind in it).
_LOADERS = {
    "pickle": "import pickle\ndef load(p):\n    pickle.load(open(p, 'rb'))",
    "numpy": "import numpy as np\ndef load(p):\n    d = np.load(p, allow_pickle=True)\n"
             "    [d[k] for k in d.files] if hasattr(d, 'files') else d",
    "joblib": "import joblib\ndef load(p):\n    joblib.load(p)",
    "torch": "import torch\ndef load(p):\n    torch.load(p, weights_only=False)",
    "torch-folder": "import torch, os\ndef load(p):\n    for r, _, fs in os.walk(p):\n        for f in fs:\n"
                    "            if f.endswith(('.bin', '.pt', '.pth')):\n"
                    "                try: torch.load(os.path.join(r, f), weights_only=False)\n"
                    "                except Exception: pass",
}


def test_payloads_fire_under_the_real_loader(tmp_path: Path) -> None:
    """Control: the real loader (pickle.load, np.load(allow_pickle=True), joblib.load, torch.load) runs each
    payload, so flagging them is not a false alarm."""
    by_loader: dict[str, list[tuple[str, Path, Path]]] = {}
    for case in CASES:
        if not case.payload or case.loader not in _LOADERS or "collect_env" in case.name:
            continue
        if case.loader.startswith("torch"):
            pytest.importorskip("torch")
        if case.loader == "joblib":
            pytest.importorskip("joblib")
        folder = tmp_path / case.name
        folder.mkdir()
        marker = folder / "FIRED"
        by_loader.setdefault(case.loader, []).append((case.name, case.build(folder, f"touch {marker}"), marker))
    for loader, items in by_loader.items():
        script = _LOADERS[loader] + "\nimport sys\nfor p in sys.argv[1:]:\n    try: load(p)\n    except Exception: pass\n"
        subprocess.run([sys.executable, "-c", script, *[str(t) for _, t, _ in items]], capture_output=True,
                       timeout=120)
    fired = [(name, marker.exists()) for items in by_loader.values() for name, _, marker in items]
    assert len(fired) >= 25 and all(ok for _, ok in fired), [f for f in fired if not f[1]]


def test_class_state_payload_changes_the_process(tmp_path: Path) -> None:
    """Control: the BUILD-on-a-class payload runs no function yet rewrites ``PosixPath.exists``."""
    case = next(c for c in CASES if c.name == "class_state_tampering")
    target = case.build(tmp_path, "true")
    proc = subprocess.run([sys.executable, "-c", "import pickle, pathlib, sys; pickle.load(open(sys.argv[1], 'rb'));"
                           "print(pathlib.PosixPath.exists is bool)", str(target)], capture_output=True, text=True,
                          timeout=60)
    assert proc.stdout.strip() == "True"

"""Start-up stays fast (issue 15): ``import modelsize`` ≤ 100 ms and ``modelsize --help`` ≤ 0.3 s.

Times are the best of a few fresh interpreters (the machine is shared: the best run is the
cost of our code, the others add other people's load). ``benchmarks/bench_startup.py`` gives
the ratio to ``python -c pass``; see BENCHMARKS.md.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import typer

SRC = Path(__file__).resolve().parents[1] / "src"
ENV = dict(os.environ, PYTHONPATH=str(SRC))


def _best(argv: list[str], runs: int = 5) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - start)
    return best


def test_import_modelsize_loads_no_numpy_and_takes_under_100_ms() -> None:
    code = ("import sys, time; t = time.perf_counter(); import modelsize; dt = time.perf_counter() - t; "
            "print(dt, 'numpy' in sys.modules, 'modelsize.factors' in sys.modules)")
    runs = [subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True, check=True).stdout
            for _ in range(5)]
    seconds = min(float(r.split()[0]) for r in runs)
    assert all(r.split()[1:] == ["False", "False"] for r in runs), runs
    assert seconds <= 0.100, f"import modelsize took {seconds * 1000:.0f} ms"
    # and the public names still resolve, lazily
    probe = "import modelsize, sys; modelsize.Sweep; modelsize.inspect; print('numpy' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], env=ENV, capture_output=True, text=True).stdout.strip() == "True"


def test_help_is_under_300_ms_and_imports_no_verb() -> None:
    seconds = _best([sys.executable, "-m", "modelsize", "--help"], runs=3)
    assert seconds <= 0.300, f"modelsize --help took {seconds * 1000:.0f} ms"
    code = "import sys; from modelsize.cli.app import run; run(['--help']); print(sorted(m for m in sys.modules if m.endswith('_cmd')))"
    out = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_the_static_verb_list_matches_each_command() -> None:
    from modelsize.cli.app import VERB_HELP, VERBS

    for verb, text in VERB_HELP.items():
        command = typer.main.get_command(VERBS[verb])  # the registry hands out each verb's typer app
        assert command.get_short_help_str(limit=150) == text, verb

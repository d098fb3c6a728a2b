"""Start-up time: ``import modelsize`` and ``modelsize --help`` against ``python -c pass`` (issue 15).

Each command runs N times in a fresh interpreter; the best and the median wall time are
reported, and the ratio to the bare interpreter's start. Targets: import ≤ 100 ms, help ≤ 0.3 s.

    PYTHONPATH=src python benchmarks/bench_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "import modelsize": [sys.executable, "-c", "import modelsize"],
    "modelsize --help": [sys.executable, "-m", "modelsize", "--help"],
}


def timings(argv: list[str], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    base = None
    print(f"{'command':20} {'best ms':>8} {'median ms':>10} {'× python -c pass (median)':>26}")
    for name, argv in COMMANDS.items():
        t = timings(argv, args.runs)
        best, median = min(t) * 1000, statistics.median(t) * 1000
        base = base or median
        print(f"{name:20} {best:8.1f} {median:10.1f} {median / base:26.2f}")


if __name__ == "__main__":
    main()

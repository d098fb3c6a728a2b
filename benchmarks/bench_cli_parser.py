"""``modelsize inspect DIR`` on a 70B folder through the one CLI parser, vs the floor, in one run.

Issue 25: one parser (click, each option declared once, verbs built lazily) replaced the typer app
and the hand-written quick path of ``inspect``; the goal is ``modelsize inspect FILE`` within 3x
the floor. The folder is Llama-70B's sharded bf16 safetensors checkpoint written as sparse files
(30 shards, real headers: ``bench_headers.write_sparse_safetensors``). The floor is ``python -c
"import safetensors; <read every shard's header with json.loads>"``. Every command is a fresh
``python`` process; the rows are interleaved run by run (the box is shared, so load hits every row
alike) and the median of ``--runs`` is reported. ``--before SRC`` adds the same commands run from
another checkout's ``src`` (e.g. the commit before the change, with its quick path), so before and
after come from the same run:

    git archive 87fc163 src | tar -x -C /tmp/before
    python benchmarks/bench_cli_parser.py --runs 11 --before /tmp/before/src

``--importtime`` prints the modules that cost the most in one ``python -X importtime`` run of the
table command, and the ``-v`` timing line (startup, measure, render): where the time goes.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_headers import FLOOR, write_sparse_safetensors  # noqa: E402


SRC = Path(__file__).resolve().parents[1] / "src"


def once(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds: user + system) of one fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, capture_output=True, env=env, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def importtime(cmd: list[str], env: dict[str, str], top: int = 15) -> list[tuple[int, str]]:
    """(cumulative µs, module) of the top-level imports that cost the most, in one run."""
    done = subprocess.run([cmd[0], "-X", "importtime", *cmd[1:]], capture_output=True, text=True, env=env, check=True)
    rows = []
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if line.startswith("import time:") and len(parts) == 3 and parts[1].strip().isdigit():
            name = parts[2]
            if len(name) - len(name.lstrip()) <= 1:  # a module imported at the top level
                rows.append((int(parts[1]), name.strip()))
    return sorted(rows, reverse=True)[:top]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=11)
    ap.add_argument("--before", type=Path, help="another checkout's src folder (the 'before' rows)")
    ap.add_argument("--importtime", action="store_true")
    args = ap.parse_args()
    py = sys.executable
    root = Path(tempfile.mkdtemp(prefix="modelsize-bench-parser-"))
    try:
        folder = root / "llama-70b"
        folder.mkdir()
        shards, logical = write_sparse_safetensors(folder)
        sources = {"after": SRC} | ({"before": args.before} if args.before else {})
        for src in sources.values():  # an installed wheel has bytecode: compile both checkouts first
            subprocess.run([py, "-m", "compileall", "-q", str(src)], check=True, capture_output=True)
        base_env = dict(os.environ, HF_HUB_OFFLINE="1")
        base_env.pop("MODELSIZE_DEBUG", None)
        rows: list[tuple[str, list[str], dict[str, str]]] = [
            ("floor: python -c 'import safetensors' + header reads", [py, "-c", FLOOR, str(folder)], base_env),
            ("python -c 'pass' (the interpreter alone)", [py, "-c", "pass"], base_env),
        ]
        for when, src in sources.items():
            env = dict(base_env, PYTHONPATH=str(src))
            rows += [(f"{when}: modelsize inspect DIR (table)", [py, "-m", "modelsize", "inspect", str(folder)], env),
                     (f"{when}: modelsize inspect DIR --format json",
                      [py, "-m", "modelsize", "inspect", str(folder), "--format", "json"], env),
                     (f"{when}: python -c 'import modelsize'", [py, "-c", "import modelsize"], env),
                     # lines the quick path handed to the typer app: help, and an option it did not read
                     (f"{when}: modelsize --help", [py, "-m", "modelsize", "--help"], env),
                     (f"{when}: modelsize inspect --help", [py, "-m", "modelsize", "inspect", "--help"], env),
                     (f"{when}: modelsize inspect DIR --fit 80GiB -f json",
                      [py, "-m", "modelsize", "inspect", str(folder), "--fit", "80GiB", "-f", "json"], env)]
        times: dict[str, list[tuple[float, float]]] = {label: [] for label, _, _ in rows}
        for _ in range(args.runs):
            for label, cmd, env in rows:
                times[label].append(once(cmd, env))
        print(f"{shards} sparse shards, {logical / 1e9:.1f} GB logical; whole process, median of {args.runs} "
              "(rows interleaved); wall time, and CPU time (user + system: less moved by a busy box)")
        wall_floor = statistics.median(t[0] for t in times[rows[0][0]])
        cpu_floor = statistics.median(t[1] for t in times[rows[0][0]])
        for label, _, _ in rows:
            wall = statistics.median(t[0] for t in times[label])
            cpu = statistics.median(t[1] for t in times[label])
            print(f"  {label:<52} wall {wall * 1000:6.1f} ms {wall / wall_floor:5.2f}x   "
                  f"cpu {cpu * 1000:6.1f} ms {cpu / cpu_floor:5.2f}x the floor")
        if args.importtime:
            for when, src in sources.items():
                env = dict(base_env, PYTHONPATH=str(src))
                print(f"\n{when}: python -X importtime -m modelsize inspect DIR, top-level imports (one run, µs):")
                for micros, name in importtime([py, "-m", "modelsize", "inspect", str(folder)], env):
                    print(f"  {micros:>8}  {name}")
                done = subprocess.run([py, "-m", "modelsize", "inspect", str(folder), "-v"], capture_output=True,
                                      text=True, env=env, check=True)
                print("  -v: " + next((line for line in done.stderr.splitlines() if line.startswith("Timing:")), "-"))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

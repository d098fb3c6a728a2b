"""``modelsize inspect`` as a command on a 70B folder vs the floor: importing safetensors and
reading the headers, each in a fresh ``python`` process.

The folder is Llama-70B's sharded bf16 safetensors checkpoint written as sparse files (see
``bench_headers.py``). The floor is ``python -c "import safetensors; <read every shard's
header with json.loads>"``; modelsize is ``python -m modelsize inspect DIR`` with the table and
with ``--format json``. Whole-process wall time, median of ``--runs``. Goal (issue 20): at most
1.5x the floor. (Issue 25 removed the quick path this once compared with the typer app: one parser
reads every command line; ``bench_cli_parser.py`` compares before and after.) Then ``-v`` shows where a ``module:attr`` target's time goes (GPT-2 built from
its config by a small module): startup, import, build, measure, render.

    python benchmarks/bench_cli.py --runs 5
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_headers import FLOOR, write_sparse_safetensors  # noqa: E402


SRC = Path(__file__).resolve().parents[1] / "src"

GPT2_MODULE = """
import transformers

def build():
    transformers.logging.set_verbosity_error()
    return transformers.GPT2LMHeadModel(transformers.GPT2Config())
"""


def wall(cmd: list[str], runs: int, env: dict[str, str]) -> tuple[float, str]:
    times, err = [], ""
    for _ in range(runs):
        start = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
        times.append(time.perf_counter() - start)
        err = out.stderr
    return statistics.median(times), err


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    root = Path(tempfile.mkdtemp(prefix="modelsize-bench-cli-"))
    try:
        folder = root / "llama-70b"
        folder.mkdir()
        shards, logical = write_sparse_safetensors(folder)
        print(f"{shards} sparse shards, {logical / 1e9:.1f} GB logical; whole-process wall time, median of {args.runs}")
        py = sys.executable
        # An installed wheel has bytecode; an editable install under PYTHONDONTWRITEBYTECODE would
        # compile every module in every run (`make bytecode` does this for the checkout).
        subprocess.run([py, "-m", "compileall", "-q", str(SRC)], check=True, capture_output=True)
        rows = [
            ("python -c 'import safetensors' + header read", [py, "-c", FLOOR, str(folder)]),
            ("modelsize inspect DIR (table)", [py, "-m", "modelsize", "inspect", str(folder)]),
            ("modelsize inspect DIR --format json", [py, "-m", "modelsize", "inspect", str(folder), "--format", "json"]),
            ("python -c 'pass' (interpreter alone)", [py, "-c", "pass"]),
            ("python -c 'import dataclasses, typing, pathlib'", [py, "-c", "import dataclasses, typing, pathlib"]),
        ]
        floor = None
        for label, cmd in rows:
            t, _ = wall(cmd, args.runs, env)
            floor = floor or t
            print(f"  {label:<46} {t * 1000:8.1f} ms   {t / floor:5.2f}x the floor")
        (root / "gpt2_target.py").write_text(textwrap.dedent(GPT2_MODULE))
        _, err = wall([py, "-m", "modelsize", "inspect", f"{root / 'gpt2_target.py'}:build", "-v", "--no-formats"],
                      1, env)
        print("\nmodelsize inspect gpt2_target.py:build -v --no-formats")
        print("  " + next((l for l in err.splitlines() if l.startswith("Timing:")), err.strip()[-300:]))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Recognising a file: modules imported, and ``modelsize inspect x.safetensors`` vs the floor (issue 25).

Each reader declares how its files are recognised (``modelsize/formats/declarations.py``), so
detection imports only the reader that takes the file. This script writes a one-tensor safetensors
file, then in fresh interpreters counts the modules that ``reader_for`` imports (after
``modelsize.formats.registry`` is loaded) and the modules ``modelsize inspect`` imports in all, and
times ``python -m modelsize inspect FILE`` against the floor ``python -c "import safetensors"``
(whole-process wall time, median of ``--runs``, commands interleaved). ``--before SRC`` runs the same
on another source tree (a ``src`` folder, e.g. ``git archive <commit> src | tar -x -C /tmp/base``) in
the same run, so both are measured under the same load. Byte-code is cached (in a temporary
``PYTHONPYCACHEPREFIX``) as in an installed package.

    python benchmarks/bench_detect.py --runs 21 --before /tmp/base/src
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[1] / "src")
COUNT = """
import json, sys
from modelsize.formats import registry
before = set(sys.modules)
registry.reader_for(sys.argv[1])
new = sorted(set(sys.modules) - before)
print(json.dumps({"new": len(new), "formats": [m for m in new if m.startswith("modelsize.formats")]}))
"""


def _env(src: str | None, cache: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = cache
    if src:
        env["PYTHONPATH"] = src
    return env


def _imports(src: str, cache: str, path: str) -> tuple[dict, int]:
    out = subprocess.run([sys.executable, "-c", COUNT, path], env=_env(src, cache), capture_output=True,
                         text=True, check=True)
    timing = subprocess.run([sys.executable, "-X", "importtime", "-m", "modelsize", "inspect", path],
                            env=_env(src, cache), capture_output=True, text=True, check=True)
    return json.loads(out.stdout), timing.stderr.count("import time:") - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--before", help="another src folder to measure in the same run")
    args = parser.parse_args()
    from safetensors.numpy import save_file
    import numpy as np

    with tempfile.TemporaryDirectory(prefix="bench-detect-") as tmp:
        path = str(Path(tmp) / "x.safetensors")
        save_file({"w": np.ones((4, 4), np.float32)}, path)
        cache = str(Path(tmp) / "pycache")
        trees = {"this tree": SRC, **({"before": args.before} if args.before else {})}
        cmds = {"floor": ([sys.executable, "-c", "import safetensors"], None)}
        cmds.update({name: ([sys.executable, "-m", "modelsize", "inspect", path], src) for name, src in trees.items()})
        for name, (cmd, src) in cmds.items():  # warm the byte-code cache
            subprocess.run(cmd, env=_env(src, cache), stdout=subprocess.DEVNULL, check=True)
        times: dict[str, list[float]] = {name: [] for name in cmds}
        for _ in range(args.runs):
            for name, (cmd, src) in cmds.items():
                start = time.perf_counter()
                subprocess.run(cmd, env=_env(src, cache), stdout=subprocess.DEVNULL, check=True)
                times[name].append(time.perf_counter() - start)
        floor = statistics.median(times["floor"])
        print(f"| run | modules imported by reader_for | of them modelsize.formats | modules imported by "
              f"`modelsize inspect` | wall (median of {args.runs}) | x floor |")
        print("|---|---:|---:|---:|---:|---:|")
        print(f"| `python -c \"import safetensors\"` (floor) | | | | {floor * 1000:.0f} ms | 1.00 |")
        for name, src in trees.items():
            counted, total = _imports(src, cache, path)
            wall = statistics.median(times[name])
            print(f"| {name}: `modelsize inspect x.safetensors` | {counted['new']} | {len(counted['formats'])} "
                  f"| {total} | {wall * 1000:.0f} ms | {wall / floor:.2f} |")


if __name__ == "__main__":
    main()

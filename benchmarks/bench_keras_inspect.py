"""``modelsize inspect`` on Keras models: default vs ``--no-formats`` vs ``--exact-formats``.

Issue 28: the default used to run the TFLite converter (NASNetMobile: ~96 s of a 113 s run).
Now TFLite is estimated with its bound unless ``--exact-formats`` asks for the conversion; the
``.keras`` and ``.weights.h5`` sizes are still written, exactly. Goal: default ≤ 2× the
``--no-formats`` time. Each run is a fresh ``python -m modelsize inspect … --format json``
process (import, build, measure, render: whole-process wall time); the three modes are
interleaved run by run so machine load hits them alike; medians of ``--runs`` (``--exact-runs``
for the slow converter). Every run also checks that the converted size lies inside the default
estimate's bound. The models are built without downloaded weights (``weights=None``).

    python benchmarks/bench_keras_inspect.py --runs 3 --exact-runs 1
    python benchmarks/bench_keras_inspect.py --models seed_cnn mobilenet_v2
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

SRC = Path(__file__).resolve().parents[1] / "src"

MODELS_MODULE = '''
import keras

def seed_cnn():
    from modelsize.examples.seed_keras import seed_cnn as build
    return build()

def mobilenet_v2():
    return keras.applications.MobileNetV2(alpha=0.35, weights=None, input_shape=(96, 96, 3))

def efficientnet_b0():
    return keras.applications.EfficientNetB0(weights=None)

def nasnet_mobile():
    return keras.applications.NASNetMobile(weights=None)
'''
MODES = {"--no-formats": ["--no-formats"], "default": [], "--exact-formats": ["--exact-formats"]}


def run_once(target: str, flags: list[str], env: dict[str, str]) -> tuple[float, dict | None]:
    """Wall time of one fresh process, and its TFLite row (``None`` with --no-formats)."""
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "modelsize", "inspect", target, "-f", "json", "-q", *flags],
                         capture_output=True, text=True, env=env, check=True)
    seconds = time.perf_counter() - start
    rows = {r["format"]: r for r in json.loads(out.stdout)["sections"].get("formats") or []}
    return seconds, rows.get("tflite (float32)")


def bench(name: str, folder: str, runs: int, exact_runs: int, env: dict[str, str]) -> dict:
    target = f"{folder}/bench_keras_models.py:{name}"
    times: dict[str, list[float]] = {mode: [] for mode in MODES}
    estimate = exact = None
    for i in range(runs):
        for mode, flags in MODES.items():
            if mode == "--exact-formats" and i >= exact_runs:
                continue
            seconds, row = run_once(target, flags, env)
            times[mode].append(seconds)
            estimate = row if mode == "default" else estimate
            exact = row if mode == "--exact-formats" else exact
    med = {mode: statistics.median(t) for mode, t in times.items()}
    low, high = estimate["bounds"]["low"], estimate["bounds"]["high"]
    return {"model": name, **{f"median_s {m}": round(v, 2) for m, v in med.items()},
            "default / no-formats": round(med["default"] / med["--no-formats"], 2),
            "exact / no-formats": round(med["--exact-formats"] / med["--no-formats"], 2),
            "estimate": estimate["bytes"], "low": low, "high": high, "converted": exact["bytes"],
            "inside bound": low <= exact["bytes"] <= high, "runs": runs, "exact_runs": exact_runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--exact-runs", type=int, default=1, help="runs of --exact-formats (the slow converter)")
    parser.add_argument("--models", nargs="+", default=["seed_cnn", "mobilenet_v2", "nasnet_mobile"])
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "bench_keras_models.py").write_text(MODELS_MODULE)
        for name in args.models:
            print(json.dumps(bench(name, folder, args.runs, max(1, min(args.exact_runs, args.runs)), env)),
                  flush=True)


if __name__ == "__main__":
    main()

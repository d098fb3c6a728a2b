"""modelsize.inspect vs torchinfo.summary on GPT-2 small, BERT-base and a ResNet-50-like CNN.

Random weights, no download (see ``_models.py``). One subprocess per model; inside it every
tool runs on the same model object, interleaved round by round (``--runs`` rounds, median
shown), so a busy machine slows all tools alike. Peak RSS is the rise of VmHWM over the RSS
before the tool's first call (VmHWM is reset before each tool).

Tools: ``torchinfo.summary(model, verbose=0)`` (no input, no forward pass); modelsize with
``formats=False`` as it runs by default (non-zeros counted only up to 64 MiB of tensor data,
else skipped and said so), with ``nnz=True`` (every storage read once), and with the default
formats section (exact torch.save/safetensors sizes and zstd sizes). ``modelsize+totals``
also reads ``report.totals`` (computed on first access), the figures torchinfo's summary holds.

    .venv/bin/python benchmarks/bench_inspect_vs_torchinfo.py --runs 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any, Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _models import MODELS, build  # noqa: E402

TOOLS = ("torchinfo", "modelsize", "modelsize+totals", "modelsize-nnz", "modelsize-formats")


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _reset_peak_rss() -> None:
    """Linux: writing 5 to clear_refs resets VmHWM, so the peak seen next is the tool's own."""
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")


def _calls(model: Any) -> dict[str, Callable[[], Any]]:
    import modelsize
    import torchinfo

    return {
        "torchinfo": lambda: torchinfo.summary(model, verbose=0),
        "modelsize": lambda: modelsize.inspect(model, formats=False),
        # Report.totals is computed on first access; torchinfo's summary has its totals at once.
        "modelsize+totals": lambda: modelsize.inspect(model, formats=False).totals and None,
        "modelsize-nnz": lambda: modelsize.inspect(model, formats=False, nnz=True),
        "modelsize-formats": lambda: modelsize.inspect(model),
    }


def _counts(tool: str, result: Any) -> dict[str, Any]:
    if tool == "torchinfo":
        return {"params": result.total_params, "bytes": result.total_param_bytes}
    if result is None:
        return {}
    t = result.totals
    nz = result.source.details.get("nonzeros", {})
    return {"params": t.params, "params_per_reference": t.params_per_reference, "bytes": t.stored_bytes,
            "nnz": t.params_nnz, "nnz_status": "counted" if nz.get("counted") else "skipped",
            "storages_read": nz.get("storages_read")}


def child(model_name: str, runs: int, tools: list[str]) -> list[dict]:
    """Runs inside the subprocess: every tool on one model, interleaved."""
    model = build(model_name)
    calls = _calls(model)
    times: dict[str, list[float]] = {t: [] for t in tools}
    peaks: dict[str, float] = {}
    results: dict[str, Any] = {}
    for tool in tools:  # first call: warms caches, and its peak RSS is the tool's own
        baseline = _status_kib("VmRSS")
        _reset_peak_rss()
        results[tool] = calls[tool]()
        peaks[tool] = max(_status_kib("VmHWM") - baseline, 0) / 1024
    for _ in range(runs):
        for tool in tools:
            start = time.perf_counter()
            calls[tool]()
            times[tool].append(time.perf_counter() - start)
    return [{"model": model_name, "tool": tool, "median_s": statistics.median(times[tool]),
             "peak_rss_mib": peaks[tool], "counts": _counts(tool, results[tool])} for tool in tools]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--tools", nargs="+", default=list(TOOLS), choices=TOOLS)
    parser.add_argument("--child", metavar="MODEL")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.runs, args.tools)))
        return
    rows = []
    for model_name in args.models:
        out = subprocess.run([sys.executable, __file__, "--runs", str(args.runs), "--child", model_name,
                              "--tools", *args.tools], capture_output=True, text=True, check=True)
        rows += json.loads(out.stdout.strip().splitlines()[-1])
    print(f"{'model':9} {'tool':18} {'median ms':>10} {'× torchinfo':>11} {'peak RSS +MiB':>13}  counts")
    for r in rows:
        ti = next(x["median_s"] for x in rows if x["model"] == r["model"] and x["tool"] == "torchinfo")
        print(f"{r['model']:9} {r['tool']:18} {1000 * r['median_s']:10.2f} {r['median_s'] / ti:11.2f} "
              f"{r['peak_rss_mib']:13.1f}  {r['counts']}")


if __name__ == "__main__":
    main()

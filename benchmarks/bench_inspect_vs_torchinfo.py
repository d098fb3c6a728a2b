"""modelsize.inspect vs torchinfo.summary on GPT-2 small and BERT-base (random init, no download).

Each tool runs in its own fresh subprocess per model, so peak RSS is its own. Inside a child:
build the model, record RSS, run the tool ``--runs`` times, report the median wall time, the
peak RSS increase over the model-built baseline, and the counts the tool reports.

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

MODELS = ("gpt2", "bert")
TOOLS = ("modelsize-counts", "modelsize-full", "torchinfo")


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


def _build(model_name: str):
    import torch
    import transformers

    torch.manual_seed(0)
    if model_name == "gpt2":
        return transformers.GPT2LMHeadModel(transformers.GPT2Config())
    return transformers.BertModel(transformers.BertConfig())


def child(model_name: str, tool: str, runs: int) -> dict:
    """Runs inside the subprocess: one tool on one model."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if tool.startswith("modelsize"):
        import modelsize
    else:
        import torchinfo
    model = _build(model_name)
    baseline = _status_kib("VmRSS")
    _reset_peak_rss()
    times, counts = [], {}
    for _ in range(runs):
        start = time.perf_counter()
        if tool == "modelsize-counts":
            report = modelsize.inspect(model, formats=False)
        elif tool == "modelsize-full":
            report = modelsize.inspect(model, formats=True)
        else:
            stats = torchinfo.summary(model, verbose=0)
        times.append(time.perf_counter() - start)
    if tool.startswith("modelsize"):
        t = report.totals
        counts = {"params": t.params, "params_per_reference": t.params_per_reference,
                  "trainable": t.trainable_params, "bytes": t.stored_bytes}
    else:
        counts = {"params": stats.total_params, "trainable": stats.trainable_params,
                  "bytes": stats.total_param_bytes}
    peak = _status_kib("VmHWM")
    return {"model": model_name, "tool": tool, "median_s": statistics.median(times),
            "peak_rss_over_model_mib": max(peak - baseline, 0) / 1024, "counts": counts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child", nargs=2, metavar=("MODEL", "TOOL"))
    parser.add_argument("--tools", nargs="+", default=list(TOOLS), choices=TOOLS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], args.child[1], args.runs)))
        return
    rows = []
    for model_name in MODELS:
        for tool in args.tools:
            out = subprocess.run(
                [sys.executable, __file__, "--runs", str(args.runs), "--child", model_name, tool],
                capture_output=True, text=True, check=True,
            )
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"{'model':6} {'tool':17} {'median s':>9} {'peak RSS +MiB':>13}  counts")
    for r in rows:
        print(f"{r['model']:6} {r['tool']:17} {r['median_s']:9.4f} {r['peak_rss_over_model_mib']:13.1f}  {r['counts']}")
    print()
    for model_name in MODELS:
        by_tool = {r["tool"]: r for r in rows if r["model"] == model_name}
        if "torchinfo" not in by_tool or "modelsize-counts" not in by_tool:
            continue
        ti = by_tool["torchinfo"]["median_s"]
        for tool in [t for t in ("modelsize-counts", "modelsize-full") if t in by_tool]:
            print(f"{model_name}: {tool} / torchinfo wall-time ratio = {by_tool[tool]['median_s'] / ti:.2f}")
        ms, tc = by_tool["modelsize-counts"]["counts"], by_tool["torchinfo"]["counts"]
        if ms["params"] != tc["params"]:
            print(f"{model_name}: params differ: modelsize {ms['params']:,} (unique) vs torchinfo {tc['params']:,}")
        else:
            print(f"{model_name}: params agree: {ms['params']:,}")


if __name__ == "__main__":
    main()

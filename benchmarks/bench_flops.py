"""FLOP counters side by side: modelsize.compute vs fvcore, ptflops, thop, calflops, torchinfo.

Models (random init, no download): the seed CNN (1×1×28×28), BERT-base (1×128 tokens) and
GPT-2 small (1×1024 tokens, ``use_cache=False`` so every tool can trace it). Each tool runs in its own fresh subprocess per model: build the
model, record RSS, reset the peak, run the tool once, report its count, wall time and peak RSS
increase. The table gives each tool's count next to ours, what the gap is made of (our
attention MACs, our elementwise FLOPs), and time / RSS as ratios to modelsize.

    .venv/bin/python benchmarks/bench_flops.py
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

MODELS = ("seed_cnn", "bert", "gpt2")
TOOLS = ("modelsize", "fvcore", "ptflops", "thop", "calflops", "torchinfo")
#: What each tool's headline number is, in its own words.
UNITS = {
    "modelsize": "MACs (FLOPs = 2×MACs + elementwise)",
    "fvcore": "'flops' = MACs (one fused multiply-add counted once)",
    "ptflops": "MACs (pytorch backend: module hooks)",
    "thop": "MACs (module hooks)",
    "calflops": "MACs (module hooks + patched functionals)",
    "torchinfo": "total mult-adds (module hooks)",
}


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _build(name: str) -> tuple[Any, Any, str]:
    """(model, example input, modelsize spec)."""
    import torch

    torch.manual_seed(0)
    nn = torch.nn
    if name == "seed_cnn":
        model = nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(1600, 64), nn.ReLU(), nn.Linear(64, 10),
        )
        return model.eval(), torch.zeros(1, 1, 28, 28), "1x1x28x28"
    import transformers

    if name == "bert":
        config = transformers.BertConfig(attn_implementation="sdpa")
        model = transformers.BertModel(config)
        return model.eval(), torch.zeros(1, 128, dtype=torch.long), "1x128:int64"
    # use_cache=False: fvcore's JIT trace cannot return the DynamicCache object (it fails otherwise).
    config = transformers.GPT2Config(attn_implementation="sdpa", use_cache=False)
    model = transformers.GPT2LMHeadModel(config)
    return model.eval(), torch.zeros(1, 1024, dtype=torch.long), "1x1024:int64"


def _run_tool(tool: str, model: Any, x: Any, spec: str) -> dict[str, Any]:
    import torch

    if tool == "modelsize":
        from modelsize.compute import profile

        prof = profile(model, spec)
        attention = sum(o.macs for o in prof.coverage.ops if "attention" in o.op or o.op in ("aten.bmm", "aten.baddbmm"))
        bias = sum(o.elementwise_flops for o in prof.coverage.ops if o.macs)  # bias adds of matmul/conv ops
        return {"count": prof.macs, "flops": prof.flops, "elementwise_flops": prof.forward.elementwise_flops,
                "attention_macs": attention, "bias_flops": bias, "not_counted": prof.coverage.not_counted}
    with torch.no_grad():
        if tool == "fvcore":
            from fvcore.nn import FlopCountAnalysis

            analysis = FlopCountAnalysis(model, (x,))
            analysis.unsupported_ops_warnings(False)
            analysis.uncalled_modules_warnings(False)
            total = int(analysis.total())
            return {"count": total, "unsupported": dict(analysis.unsupported_ops())}
        if tool == "ptflops":
            from ptflops import get_model_complexity_info

            def construct(_: Any) -> Any:
                return {"input": x} if x.dtype.is_floating_point else {"input_ids": x}

            macs, _ = get_model_complexity_info(model, tuple(x.shape), input_constructor=construct, as_strings=False,
                                                print_per_layer_stat=False, backend="pytorch")
            return {"count": int(macs)}
        if tool == "thop":
            from thop import profile as thop_profile

            macs, _ = thop_profile(model, inputs=(x,), verbose=False)
            return {"count": int(macs)}
        if tool == "calflops":
            from calflops import calculate_flops

            flops, macs, _ = calculate_flops(model=model, args=[x], print_results=False, print_detailed=False,
                                             output_as_string=False)
            return {"count": int(macs), "flops": int(flops)}
        if tool == "torchinfo":
            import torchinfo

            stats = torchinfo.summary(model, input_data=[x], verbose=0)
            return {"count": int(stats.total_mult_adds)}
    raise ValueError(tool)


def child(model_name: str, tool: str) -> dict[str, Any]:
    """Inside the subprocess: one tool, one model, one run."""
    import warnings

    warnings.filterwarnings("ignore")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch  # noqa: F401 - imported before the baseline, as every tool needs it

    model, x, spec = _build(model_name)
    baseline = _status_kib("VmRSS")
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    start = time.perf_counter()
    try:
        result = _run_tool(tool, model, x, spec)
    except Exception as exc:  # noqa: BLE001 - a peer tool failing is a result, not a crash
        result = {"count": None, "error": f"{type(exc).__name__}: {str(exc)[:120]}"}
    result["seconds"] = time.perf_counter() - start
    result["peak_rss_kib"] = max(0, _status_kib("VmHWM") - baseline)
    return result


def _fmt(n: Any) -> str:
    if n is None:
        return "—"
    for scale, prefix in ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "k")):
        if abs(n) >= scale:
            return f"{n / scale:.3f} {prefix}"
    return str(n)


def _gap(count: int | None, ours: dict[str, Any]) -> str:
    """What a tool's MACs differ from ours by, in terms of our breakdown (closest match within 0.5%)."""
    if count is None:
        return "failed"
    macs, attn, elem, bias = ours["count"], ours["attention_macs"], ours["elementwise_flops"], ours["bias_flops"]
    if count == macs:
        return "same MACs"
    candidates = {"+ bias adds": macs + bias, "+ all elementwise": macs + elem}
    if attn:
        candidates.update({
            "misses attention matmuls": macs - attn,
            "misses attention, + bias adds": macs - attn + bias,
            "misses attention, + all elementwise": macs - attn + elem,
        })
    best = min(candidates, key=lambda k: abs(candidates[k] - count))
    rel = (count - candidates[best]) / max(macs, 1)
    if abs(rel) < 0.005:
        return best if rel == 0 else f"{best} ({rel:+.2%})"
    return f"{(count - macs) / macs:+.2%} vs our MACs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child", nargs=2, metavar=("MODEL", "TOOL"), help=argparse.SUPPRESS)
    parser.add_argument("--models", nargs="*", default=list(MODELS))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return

    import torch

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, python {sys.version.split()[0]}")
    for model_name in args.models:
        results: dict[str, dict[str, Any]] = {}
        for tool in TOOLS:
            done = subprocess.run([sys.executable, __file__, "--child", model_name, tool], capture_output=True,
                                  text=True, timeout=1800)
            lines = done.stdout.strip().splitlines()
            results[tool] = json.loads(lines[-1]) if done.returncode == 0 and lines else {
                "count": None, "error": done.stderr.strip().splitlines()[-1:] or ["no output"],
                "seconds": float("nan"), "peak_rss_kib": 0}
        ours = results["modelsize"]
        print(f"\n## {model_name}: ours {_fmt(ours['count'])}MACs = {_fmt(ours['count'] - ours['attention_macs'])} "
              f"linear/conv + {_fmt(ours['attention_macs'])} attention; {_fmt(ours['flops'])}FLOPs incl. "
              f"{_fmt(ours['elementwise_flops'])} elementwise; not counted: {ours['not_counted'] or 'none'}")
        print(f"{'tool':<10} {'reports':>14} {'vs ours':>9}  {'gap explained by':<44} {'time':>8} {'×ours':>7} "
              f"{'peak RSS':>10} {'×ours':>7}")
        for tool in TOOLS:
            r = results[tool]
            ratio = f"{r['count'] / ours['count']:.4f}" if r.get("count") and ours.get("count") else "—"
            t_ratio = r["seconds"] / ours["seconds"] if ours["seconds"] else float("nan")
            m_ratio = r["peak_rss_kib"] / ours["peak_rss_kib"] if ours["peak_rss_kib"] else float("nan")
            gap = "—" if tool == "modelsize" else _gap(r.get("count"), ours)
            print(f"{tool:<10} {_fmt(r.get('count')):>14} {ratio:>9}  {gap:<44} {r['seconds']:>7.2f}s {t_ratio:>7.1f} "
                  f"{r['peak_rss_kib'] / 1024:>7.1f}MiB {m_ratio:>7.1f}")
            if r.get("error"):
                print(f"{'':<10} error: {r['error']}")
            if r.get("unsupported"):
                print(f"{'':<10} fvcore skipped ops: {r['unsupported']}")
    print("\nUnits: " + "; ".join(f"{k}: {v}" for k, v in UNITS.items()))


if __name__ == "__main__":
    main()

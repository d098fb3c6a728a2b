"""FLOP counters side by side: modelsize.compute vs fvcore, ptflops, thop, calflops, torchinfo,
and torch's own ``FlopCounterMode`` run on CPU tensors (``fcm_cpu``) and on the meta device
(``fcm_meta``).

Models (random init, no download): the seed CNN (1×1×28×28), BERT-base (1×128 tokens),
GPT-2 small (1×1024 tokens, ``use_cache=False`` so every tool can trace it) and, for issue 14,
recurrent and mixture-of-experts models with a hand count of their MACs: the 1.3 M-parameter
Conv+LSTM (1×40×200), a 2-layer GRU and a 2-layer bidirectional LSTM (1×200×128), a small
Mixtral (hidden 512, 4 layers, 8 experts, top-2, 2 KV heads), a small Qwen2-MoE with a shared
expert and a small DeepSeek-V3 (MLA attention, shared expert), each on 1×128 tokens. MoE hand
counts assume each token goes through exactly k experts (what top-k routing does; peers run
the real routing on random weights). Each tool runs in its own fresh subprocess per model: build the
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

MODELS = ("seed_cnn", "bert", "gpt2", "conv_lstm", "gru", "bilstm", "mixtral_small", "qwen2_moe_small",
          "deepseek_small")
TOOLS = ("modelsize", "fvcore", "ptflops", "thop", "calflops", "torchinfo", "fcm_cpu", "fcm_meta")
MOE_TOKENS = 128
#: What each tool's headline number is, in its own words.
UNITS = {
    "modelsize": "MACs (FLOPs = 2×MACs + elementwise)",
    "fvcore": "'flops' = MACs (one fused multiply-add counted once)",
    "ptflops": "MACs (pytorch backend: module hooks)",
    "thop": "MACs (module hooks)",
    "calflops": "MACs (module hooks + patched functionals)",
    "torchinfo": "total mult-adds (module hooks)",
    "fcm_cpu": "FlopCounterMode FLOPs / 2, real forward on CPU tensors",
    "fcm_meta": "FlopCounterMode FLOPs / 2, forward on the meta device",
}


def _conv_lstm(torch: Any) -> Any:
    nn = torch.nn

    class Model(nn.Module):  # the 1.3 M-parameter Conv+LSTM of issue 14 (input 1×40×200)
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Sequential(nn.Conv1d(40, 128, 5, padding=2), nn.BatchNorm1d(128), nn.ReLU())
            self.lstm = nn.LSTM(128, 256, num_layers=2, batch_first=True, dropout=0.1)
            self.head = nn.Linear(256, 1400)

        def forward(self, x: Any) -> Any:
            out, _ = self.lstm(self.conv(x).transpose(1, 2))
            return self.head(out)

    return Model()


def _rnn(torch: Any, rnn: Any) -> Any:
    class First(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rnn = rnn

        def forward(self, x: Any) -> Any:
            return self.rnn(x)[0]

    return First()


def _moe_config(name: str) -> Any:
    import transformers

    if name == "mixtral_small":
        return transformers.MixtralForCausalLM, transformers.MixtralConfig(
            hidden_size=512, intermediate_size=1024, num_hidden_layers=4, num_attention_heads=8,
            num_key_value_heads=2, num_local_experts=8, num_experts_per_tok=2, vocab_size=1000, use_cache=False)
    if name == "qwen2_moe_small":
        return transformers.Qwen2MoeForCausalLM, transformers.Qwen2MoeConfig(
            hidden_size=256, intermediate_size=512, moe_intermediate_size=128, shared_expert_intermediate_size=512,
            num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, num_experts=8, num_experts_per_tok=2,
            vocab_size=1000, use_cache=False)
    return transformers.DeepseekV3ForCausalLM, transformers.DeepseekV3Config(
        hidden_size=256, intermediate_size=512, moe_intermediate_size=128, num_hidden_layers=3, first_k_dense_replace=1,
        num_attention_heads=4, num_key_value_heads=4, n_routed_experts=8, num_experts_per_tok=2, n_shared_experts=1,
        n_group=2, topk_group=1, kv_lora_rank=64, q_lora_rank=96, qk_rope_head_dim=16, qk_nope_head_dim=32,
        v_head_dim=32, vocab_size=1000, use_cache=False)


def hand_macs(name: str) -> int | None:
    """MACs counted by hand from the architecture (None where we have no independent count)."""
    if name == "seed_cnn":
        return 194_688 + 2_230_272 + 102_400 + 640
    if name == "conv_lstm":
        t = 200
        return t * 128 * 40 * 5 + t * 4 * 256 * (128 + 256) + t * 4 * 256 * (256 + 256) + t * 256 * 1400
    if name == "gru":
        return 200 * 3 * 256 * (128 + 256) + 200 * 3 * 256 * (256 + 256)
    if name == "bilstm":
        return 2 * 200 * 4 * 256 * (128 + 256) + 2 * 200 * 4 * 256 * (512 + 256)
    t = MOE_TOKENS
    if name == "mixtral_small":
        h, i, layers, heads, kv, hd, e, k, vocab = 512, 1024, 4, 8, 2, 64, 8, 2, 1000
        per_token = layers * (2 * h * h + 2 * h * kv * hd + e * h + k * 3 * h * i) + vocab * h
        return t * per_token + layers * 2 * heads * t * t * hd
    if name == "qwen2_moe_small":
        h, mi, si, layers, heads, kv, hd, e, k, vocab = 256, 128, 512, 2, 4, 2, 64, 8, 2, 1000
        per_token = layers * (2 * h * h + 2 * h * kv * hd + e * h + k * 3 * h * mi + 3 * h * si + h) + vocab * h
        return t * per_token + layers * 2 * heads * t * t * hd
    if name == "deepseek_small":
        h, i, mi, heads, nope, rope, v, ql, kvl, e, k, vocab = 256, 512, 128, 4, 32, 16, 32, 96, 64, 8, 2, 1000
        attn = h * ql + ql * heads * (nope + rope) + h * (kvl + rope) + kvl * heads * (nope + v) + heads * v * h
        scores = heads * t * t * (nope + rope) + heads * t * t * v
        dense, moe = 3 * h * i, e * h + k * 3 * h * mi + 3 * h * mi  # router, k experts, 1 shared expert
        return t * (3 * attn + dense + 2 * moe + vocab * h) + 3 * scores
    return None


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
    if name == "conv_lstm":
        return _conv_lstm(torch).eval(), torch.zeros(1, 40, 200), "1x40x200"
    if name == "gru":
        return _rnn(torch, nn.GRU(128, 256, num_layers=2, batch_first=True)).eval(), torch.zeros(1, 200, 128), "1x200x128"
    if name == "bilstm":
        model = _rnn(torch, nn.LSTM(128, 256, num_layers=2, batch_first=True, bidirectional=True))
        return model.eval(), torch.zeros(1, 200, 128), "1x200x128"
    import transformers

    if name in ("mixtral_small", "qwen2_moe_small", "deepseek_small"):
        cls, config = _moe_config(name)
        model = cls(config)
        # Random routing weights: give the router distinct logits so top-k picks spread out.
        return model.eval(), torch.randint(0, 1000, (1, MOE_TOKENS)), f"1x{MOE_TOKENS}:int64"
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
        if tool in ("fcm_cpu", "fcm_meta"):
            from torch.utils.flop_counter import FlopCounterMode

            if tool == "fcm_meta":
                model, x = model.to("meta"), x.to("meta")
            counter = FlopCounterMode(display=False)
            with counter:
                model(x) if x.dtype.is_floating_point else model(input_ids=x)
            ops = {str(op): n for op, n in counter.get_flop_counts().get("Global", {}).items()}
            return {"count": counter.get_total_flops() // 2, "ops": ops}
        if tool == "fvcore":
            from fvcore.nn import FlopCountAnalysis

            analysis = FlopCountAnalysis(model, (x,))
            analysis.unsupported_ops_warnings(False)
            analysis.uncalled_modules_warnings(False)
            total = int(analysis.total())
            return {"count": total, "unsupported": dict(analysis.unsupported_ops())}
        if tool == "ptflops":
            from ptflops import get_model_complexity_info

            import inspect

            first = next(iter(inspect.signature(model.forward).parameters))

            def construct(_: Any) -> Any:
                return {first: x} if x.dtype.is_floating_point else {"input_ids": x}

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


def timing(model_name: str) -> dict[str, float]:
    """Seconds: torch's one-time import FakeTensorMode needs, then our profiles in one process."""
    model, _, spec = _build(model_name)
    start = time.perf_counter()
    import torch._dynamo.config  # noqa: F401 - what FakeTensorMode imports on first use

    result = {"import torch._dynamo": time.perf_counter() - start}
    from modelsize.compute import profile

    for label, backward in (("first forward profile", False), ("forward profile", False),
                            ("forward + backward profile", True)):
        start = time.perf_counter()
        profile(model, spec, backward=backward)
        result[label] = time.perf_counter() - start
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child", nargs=2, metavar=("MODEL", "TOOL"), help=argparse.SUPPRESS)
    parser.add_argument("--models", nargs="*", default=list(MODELS))
    parser.add_argument("--timing", action="store_true", help="time our profiles of --models in one process")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    if args.timing:
        for model_name in args.models:
            print(model_name, {k: round(v, 2) for k, v in timing(model_name).items()})
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
        hand = hand_macs(model_name)
        vs_hand = f"{ours['count'] / hand:.4f}" if hand and ours.get("count") else "—"
        print(f"\n## {model_name}: ours {_fmt(ours['count'])}MACs = {_fmt(ours['count'] - ours['attention_macs'])} "
              f"linear/conv + {_fmt(ours['attention_macs'])} attention; {_fmt(ours['flops'])}FLOPs incl. "
              f"{_fmt(ours['elementwise_flops'])} elementwise; not counted: {ours['not_counted'] or 'none'}; "
              f"hand count {_fmt(hand)} → ours/hand {vs_hand}")
        peers = sorted(r["seconds"] for t, r in results.items() if t != "modelsize" and r.get("count") is not None)
        if peers:
            median = peers[len(peers) // 2] if len(peers) % 2 else (peers[len(peers) // 2 - 1] + peers[len(peers) // 2]) / 2
            print(f"time: ours {ours['seconds']:.2f}s, median of peers that counted {median:.2f}s")
        print(f"{'tool':<10} {'reports':>14} {'vs ours (vs hand)':>24}  {'gap explained by':<44} {'time':>8} {'×ours':>7} "
              f"{'peak RSS':>10} {'×ours':>7}")
        for tool in TOOLS:
            r = results[tool]
            ratio = f"{r['count'] / ours['count']:.4f}" if r.get("count") and ours.get("count") else "—"
            if hand and r.get("count") is not None:
                ratio += f" (hand {r['count'] / hand:.4f})"
            t_ratio = r["seconds"] / ours["seconds"] if ours["seconds"] else float("nan")
            m_ratio = r["peak_rss_kib"] / ours["peak_rss_kib"] if ours["peak_rss_kib"] else float("nan")
            gap = "—" if tool == "modelsize" else _gap(r.get("count"), ours)
            print(f"{tool:<10} {_fmt(r.get('count')):>14} {ratio:>24}  {gap:<44} {r['seconds']:>7.2f}s {t_ratio:>7.1f} "
                  f"{r['peak_rss_kib'] / 1024:>7.1f}MiB {m_ratio:>7.1f}")
            if r.get("error"):
                print(f"{'':<10} error: {r['error']}")
            if r.get("unsupported"):
                print(f"{'':<10} fvcore skipped ops: {r['unsupported']}")
            if tool == "fcm_cpu" and r.get("ops"):
                print(f"{'':<10} FlopCounterMode counted ops: {sorted(r['ops'])}")
    print("\nUnits: " + "; ".join(f"{k}: {v}" for k, v in UNITS.items()))


if __name__ == "__main__":
    main()

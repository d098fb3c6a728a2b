"""LLM numbers: Llama-2-7B on fake tensors (time and peak RSS measured in a subprocess), KV cache."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from modelsize.compute import kv_cache_size
from modelsize.testing import check_bad_input

LLAMA_CHILD = textwrap.dedent(
    """
    import json, time
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM
    import modelsize
    from modelsize.compute import ComputeOptions, KVCacheOptions, rss, token_inputs

    config = LlamaConfig(hidden_size=4096, num_hidden_layers=32, num_attention_heads=32,
                         intermediate_size=11008, vocab_size=32000)
    with torch.device("meta"):
        model = LlamaForCausalLM(config)
    start = time.perf_counter()
    report = modelsize.inspect(model, formats=False, inputs=token_inputs(4096),
                               compute=ComputeOptions(kv_cache=KVCacheOptions(dtype="float16")))
    seconds = time.perf_counter() - start
    data = report.to_dict()
    print(json.dumps({"seconds": seconds, "peak_rss": rss.peak(), "params": data["totals"]["params"],
                      "compute": data["sections"]["compute"]}))
    """
)


@pytest.mark.slow
def test_llama2_7b_profiles_fast_and_small() -> None:
    pytest.importorskip("transformers")
    done = subprocess.run([sys.executable, "-c", LLAMA_CHILD], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    compute = result["compute"]
    assert result["params"] == 6_738_415_616
    assert result["seconds"] < 60, result["seconds"]  # a hang guard: 20× the ~3 s in BENCHMARKS.md
    assert result["peak_rss"] < 2 * 1024**3, result["peak_rss"]  # the whole process, imports included

    # MACs per token by hand: every weight of a linear layer once per token — all parameters but
    # the embedding (32,000 × 4,096) and the 65 RMSNorm weights (4,096 each) — plus dense
    # attention, QKᵀ and A·V: 2 × 4,096 context × 4,096 hidden per layer per token.
    linear = 6_738_415_616 - 32_000 * 4_096 - 65 * 4_096
    attention = 32 * 2 * 4_096 * 4_096
    assert compute["tokens"] == 4_096
    assert compute["forward_per_token"]["macs"] == linear + attention == 7_680_819_200
    assert compute["forward"]["macs"] == 4_096 * (linear + attention)
    assert compute["coverage"]["not_counted"] == {}

    # KV cache: 2 × 32 layers × 32 KV heads × 128 dims × 4,096 tokens × 2 bytes (float16).
    kv = compute["kv_cache"]
    assert kv["total_bytes"] == 2 * 32 * 32 * 128 * 4_096 * 2 == 2_147_483_648

    # Activations after the forward: the fp32 logits (4,096 × 32,000 × 4 B) and the fp32 KV cache
    # the model returns (use_cache defaults to True): 2 × 32 × 4,096 × 4,096 × 4 B.
    memory = compute["memory"]
    assert memory["output_bytes"] == 4_096 * 32_000 * 4 + 2 * 32 * 4_096 * 4_096 * 4
    # fp32 parameters + the rotary embedding's buffers (inv_freq and its original: 64 floats each).
    assert memory["weights_bytes"] == 6_738_415_616 * 4 + 2 * 64 * 4
    assert memory["forward_peak_bytes"] > memory["output_bytes"]


def test_kv_cache_grouped_query_attention_and_sliding_window() -> None:
    """Mistral-7B: 8 KV heads of 128 dims, 32 layers, 4,096-token window."""
    config = {"num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8, "hidden_size": 4096,
              "sliding_window": 4096, "torch_dtype": "bfloat16"}
    at_2k = kv_cache_size(config, 2048)
    assert at_2k.dtype == "bfloat16" and at_2k.kv_heads == 8 and at_2k.head_dim == 128
    assert at_2k.total_bytes == 2 * 32 * 8 * 128 * 2048 * 2
    at_32k = kv_cache_size(config, 32768, batch=4)
    assert at_32k.total_bytes == 2 * 32 * 8 * 128 * 4095 * 4 * 2  # capped at window − 1 (transformers)
    assert at_32k.sliding_layers == 32


def test_kv_cache_mixed_sliding_and_full_layers() -> None:
    """Gemma-2 style: layers alternate sliding (window 4,096) and full attention."""
    config = {"num_hidden_layers": 4, "num_attention_heads": 8, "num_key_value_heads": 4, "hidden_size": 2048,
              "head_dim": 256, "sliding_window": 4096,
              "layer_types": ["sliding_attention", "full_attention"] * 2}
    kv = kv_cache_size(config, 8192, dtype="float16")
    per_token_layer = 2 * 4 * 256 * 2
    assert kv.sliding_layers == 2
    assert kv.total_bytes == per_token_layer * (2 * 4095 + 2 * 8192)


def test_kv_cache_from_transformers_config_and_disabled_window() -> None:
    transformers = pytest.importorskip("transformers")
    qwen = transformers.Qwen2Config(num_hidden_layers=4, hidden_size=256, num_attention_heads=8,
                                    num_key_value_heads=2, sliding_window=128, use_sliding_window=False)
    kv = kv_cache_size(qwen, 1024, dtype="float32")
    assert kv.sliding_window is None
    assert kv.total_bytes == 2 * 4 * 2 * 32 * 1024 * 4


def test_kv_cache_bad_input() -> None:
    check_bad_input(lambda: kv_cache_size({"num_hidden_layers": 2}, 128))
    check_bad_input(lambda: kv_cache_size({"num_hidden_layers": 2, "num_attention_heads": 2, "hidden_size": 8}, 0))

"""Mixture-of-experts models (issue 14): no crash on fake tensors, total vs active parameters,
FLOPs per token under top-k routing, expert vs always-on bytes, and KV caches (GQA, MLA,
sliding window) checked against what transformers' own cache holds.

Models are built from small configs on the meta device (no weights), except where a real
transformers cache is filled to check the KV bytes (tiny models, a few KB).
"""

from __future__ import annotations

import time

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from modelsize.compute import kv_cache_size, profile, token_inputs  # noqa: E402


def _meta(cls, config):  # noqa: ANN001, ANN202
    with torch.device("meta"):
        return cls(config)


def mixtral_small():  # noqa: ANN201
    """The issue's crashing model: hidden 512, 4 layers, 8 experts, top-2, 2 KV heads."""
    cfg = transformers.MixtralConfig(hidden_size=512, intermediate_size=1024, num_hidden_layers=4,
                                     num_attention_heads=8, num_key_value_heads=2, num_local_experts=8,
                                     num_experts_per_tok=2, vocab_size=1000)
    return _meta(transformers.MixtralForCausalLM, cfg)


def test_mixtral_small_hand_count_forward_and_backward() -> None:
    model = mixtral_small()
    prof = profile(model, token_inputs(64), backward=True)
    moe = prof.moe
    # Hand count. Per layer: q, o 512×512; k, v 512×128 (2 KV heads × 64); router 8×512;
    # experts 8 × 3 × 512×1024; two RMS norms. Embeddings and LM head 1000×512 each; final norm.
    attn, router, experts, norms = 2 * 512 * 512 + 2 * 512 * 128, 8 * 512, 8 * 3 * 512 * 1024, 2 * 512
    total = 2 * 1000 * 512 + 512 + 4 * (attn + router + experts + norms)
    assert moe.total_params == total == 53_998_080 == sum(p.numel() for p in model.parameters())
    assert moe.expert_params == 4 * experts
    assert moe.active_params_per_token == total - 4 * experts * 6 // 8 == 16_249_344
    assert moe.expert_bytes == 4 * experts * 4 and moe.always_on_bytes == (total - 4 * experts) * 4
    assert moe.inference_weights_bytes == total * 4  # all experts resident
    assert [(layer.experts, layer.top_k) for layer in moe.layers] == [(8, 2)] * 4
    # MACs: per token, attention projections + router + k=2 experts (3 matmuls 512×1024) + LM head;
    # attention scores 2 × heads × T² × head_dim per layer.
    t = 64
    per_token = 4 * (attn + router + 2 * 3 * 512 * 1024) + 1000 * 512
    assert prof.macs == t * per_token + 4 * 2 * 8 * t * t * 64 == 1_023_672_320
    # Expert FLOPs per token: 2 × k × 3 × 512 × 1024 MACs per layer, plus silu and gate product
    # on k × 1024, the routing weights on k × 512 and the sum over k (k × 512).
    assert moe.to_dict()["expert_flops_per_token"] == 4 * (2 * 2 * 3 * 512 * 1024 + 2 * 2048 + 2 * 512 + 2 * 512)
    assert not prof.coverage.not_counted
    assert prof.backward is not None and prof.backward.macs > prof.macs
    assert any("top-k routing" in note for note in prof.notes)


def test_qwen2_moe_shared_expert_is_always_on() -> None:
    cfg = transformers.Qwen2MoeConfig(hidden_size=256, intermediate_size=512, moe_intermediate_size=128,
                                      shared_expert_intermediate_size=512, num_hidden_layers=2,
                                      num_attention_heads=4, num_key_value_heads=2, num_experts=8,
                                      num_experts_per_tok=2, vocab_size=1000)
    prof = profile(_meta(transformers.Qwen2MoeForCausalLM, cfg), token_inputs(32))
    # Per layer: q/k/v with biases, o; norms; router 8×256; experts 8×3×256×128; the shared
    # expert 3×256×512 and its 1-unit sigmoid gate.
    attn = (256 * 256 + 256) + 2 * (256 * 128 + 128) + 256 * 256
    experts, shared = 8 * 3 * 256 * 128, 3 * 256 * 512 + 256
    total = 2 * 1000 * 256 + 256 + 2 * (attn + 2 * 256 + 8 * 256 + experts + shared)
    assert prof.moe.total_params == total == 3_271_424
    assert prof.moe.always_on_params == total - 2 * experts  # the shared expert is always on
    assert prof.moe.active_params_per_token == total - 2 * experts + 2 * experts * 2 // 8 == 2_091_776
    assert not prof.coverage.not_counted


def deepseek_small():  # noqa: ANN201
    cfg = transformers.DeepseekV3Config(
        hidden_size=256, intermediate_size=512, moe_intermediate_size=128, num_hidden_layers=3,
        first_k_dense_replace=1, num_attention_heads=4, num_key_value_heads=4, n_routed_experts=8,
        num_experts_per_tok=2, n_shared_experts=1, n_group=2, topk_group=1, kv_lora_rank=64, q_lora_rank=96,
        qk_rope_head_dim=16, qk_nope_head_dim=32, v_head_dim=32, vocab_size=1000)
    return cfg


def test_deepseek_style_mla_and_shared_experts() -> None:
    cfg = deepseek_small()
    model = _meta(transformers.DeepseekV3ForCausalLM, cfg)
    prof = profile(model, token_inputs(32))
    moe = prof.moe
    assert [layer.path for layer in moe.layers] == ["model.layers.1.mlp.experts", "model.layers.2.mlp.experts"]
    experts = 8 * 3 * 256 * 128
    total = sum(p.numel() for p in model.parameters())
    assert moe.expert_params == 2 * experts
    assert moe.active_params_per_token == total - 2 * experts + 2 * experts * 2 // 8
    assert not prof.coverage.not_counted
    # MLA: the compressed latent (64) and the shared rotary key (16) per token and layer.
    kv = kv_cache_size(cfg, 4096, dtype="bfloat16")
    assert kv.attention == "latent" and kv.bytes_per_token == 3 * (64 + 16) * 2
    assert kv.total_bytes == 3 * (64 + 16) * 2 * 4096


def test_switch_top1_encoder() -> None:
    cfg = transformers.SwitchTransformersConfig(d_model=128, d_ff=256, d_kv=32, num_heads=4, num_layers=2,
                                                num_sparse_encoder_layers=1, num_decoder_layers=2,
                                                num_sparse_decoder_layers=1, num_experts=4, vocab_size=1000)
    prof = profile(_meta(transformers.SwitchTransformersEncoderModel, cfg), token_inputs(32))
    (layer,) = prof.moe.layers
    assert (layer.experts, layer.top_k) == (4, 1)
    assert layer.params == 4 * 2 * 128 * 256
    assert prof.moe.active_params_per_token == prof.moe.total_params - layer.params * 3 // 4
    # Top-1: the experts cost what one dense FFN costs per token.
    assert prof.modules[layer.path].forward.macs == 32 * 2 * 128 * 256


def test_mixtral_8x7b_from_config_on_meta() -> None:
    """The headline numbers users compare: 46.7 B total, ≈ 12.9 B active per token."""
    model = _meta(transformers.MixtralForCausalLM, transformers.MixtralConfig())  # 8x7B defaults
    start = time.perf_counter()
    prof = profile(model, token_inputs(16))
    assert time.perf_counter() - start < 40  # a hang guard: ~1.1 s (BENCHMARKS.md) + a cold ~2 s torch._dynamo import
    moe = prof.moe
    assert moe.total_params == 46_702_792_704
    assert round(moe.total_params / 1e9, 1) == 46.7
    assert moe.active_params_per_token == 12_879_925_248
    assert round(moe.active_params_per_token / 1e9, 1) == 12.9
    # GQA: 32 layers × 2 × 8 KV heads × 128 dims × 2 bytes (bf16).
    kv = kv_cache_size(model.config, 4096, dtype="bfloat16")
    assert kv.attention == "grouped-query" and kv.bytes_per_token == 32 * 2 * 8 * 128 * 2 == 131_072


def _real_cache_bytes(model, tokens: int) -> int:  # noqa: ANN001
    """Bytes transformers' DynamicCache holds after a forward on ``tokens`` tokens."""
    model.eval()
    with torch.no_grad():
        out = model(input_ids=torch.zeros(1, tokens, dtype=torch.long), use_cache=True)
    cache = out.past_key_values
    total = 0
    for layer in cache.layers:
        total += layer.keys.numel() * layer.keys.element_size() + layer.values.numel() * layer.values.element_size()
    return total


def test_kv_cache_matches_transformers_cache_gqa_sliding_and_mla() -> None:
    torch.manual_seed(0)
    mistral = transformers.MistralConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                         num_attention_heads=4, num_key_value_heads=2, sliding_window=8,
                                         vocab_size=100)
    model = transformers.MistralForCausalLM(mistral)
    for tokens in (5, 20):
        ours = kv_cache_size(mistral, tokens, dtype="float32")
        assert ours.total_bytes == _real_cache_bytes(model, tokens)
    assert kv_cache_size(mistral, 20, dtype="float32").total_bytes == 2 * 2 * 2 * 16 * 7 * 4  # window − 1 kept
    ds = deepseek_small()
    ds_model = transformers.DeepseekV3ForCausalLM(ds)
    assert kv_cache_size(ds, 12, dtype="float32").total_bytes == _real_cache_bytes(ds_model, 12)


def test_table_and_schema_show_total_and_active_params() -> None:
    import modelsize
    from modelsize.render.rich_table import table
    from modelsize.testing import check_report

    report = modelsize.inspect(mixtral_small(), formats=False, inputs=token_inputs(16))
    check_report(report)  # the JSON, moe section included, validates against the schema
    text = table(report, depth=0, width=200)
    assert "Mixture of experts  54.00 M params total, 16.25 M active per token (top-2 of 8, 4 MoE layers)" in text
    assert "Expert weights      192.00 MiB experts + 13.99 MiB always-on, all resident for inference" in text
    assert "KV cache" in text and "(4 layers × 2 KV heads × 64 dims, float32;" in text
    mla = deepseek_small()
    kv = kv_cache_size(mla, 64, dtype="float32").to_dict()
    assert kv["attention"] == "latent" and kv["elements_per_token_layer"] == 80


def test_a_module_that_only_looks_like_experts_runs_as_written() -> None:
    class MyExperts(torch.nn.Module):  # 3-D weights, but a plain forward(x): not a routed experts module
        def __init__(self) -> None:
            super().__init__()
            self.up_proj = torch.nn.Parameter(torch.zeros(2, 8, 4))
            self.down_proj = torch.nn.Parameter(torch.zeros(2, 4, 8))

        def forward(self, x):  # noqa: ANN001
            return torch.einsum("bi,eoi->beo", x, self.up_proj).sum(1) @ self.down_proj[0].T

    prof = profile(MyExperts(), "3x4")
    assert prof.moe is None
    assert prof.macs == 3 * 2 * 8 * 4 + 3 * 8 * 4


def test_unrecognised_data_dependent_routing_does_not_blame_the_input_spec() -> None:
    from modelsize.core.errors import ModelStateError

    class LoopMoE(torch.nn.Module):  # routing in the parent with nonzero: not a layout we replace
        def __init__(self) -> None:
            super().__init__()
            self.gate = torch.nn.Linear(8, 4)
            self.experts = torch.nn.ModuleList(torch.nn.Linear(8, 8) for _ in range(4))

        def forward(self, x):  # noqa: ANN001
            choice = self.gate(x).argmax(-1)
            out = torch.zeros_like(x)
            for i, expert in enumerate(self.experts):
                rows = (choice == i).nonzero().squeeze(-1)
                out[rows] = expert(x[rows])
            return out

    with pytest.raises(ModelStateError) as info:
        profile(LoopMoE(), "5x8")
    message = str(info.value)
    assert "the input spec is not the cause" in message and "mixture-of-experts" in message

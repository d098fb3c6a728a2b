"""The cache model of every architecture against transformers' own cache objects.

Each family is built from a config with random weights (nothing downloaded), runs a real short
``generate`` at batch 1 and 2, and the bytes of the tensors its returned cache holds — K/V of
self-attention, K/V of cross-attention, recurrent conv and SSM state — must equal ours.
"""

from __future__ import annotations

import pytest

from modelsize.compute import kv_cache_size
from modelsize.testing import check_bad_input, check_report

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

NEW_TOKENS = 4


def _nbytes(t) -> int:  # noqa: ANN001
    return t.numel() * t.element_size()


def _layer_bytes(layer) -> tuple[int, int, int]:  # noqa: ANN001
    """(K/V, conv state, SSM state) bytes one cache layer holds."""
    kv = sum(_nbytes(t) for t in (getattr(layer, "keys", None), getattr(layer, "values", None))
             if isinstance(t, torch.Tensor))
    conv = sum(_nbytes(t) for t in (getattr(layer, "conv_states", None) or {}).values())
    ssm = sum(_nbytes(t) for t in (getattr(layer, "recurrent_states", None) or {}).values())
    return kv, conv, ssm


def measured(cache) -> dict[str, int]:  # noqa: ANN001
    """Bytes by kind in a transformers cache (DynamicCache or EncoderDecoderCache)."""
    parts = {"self": (cache.self_attention_cache, "self"), "cross": (cache.cross_attention_cache, "cross")} \
        if hasattr(cache, "cross_attention_cache") else {"self": (cache, "self")}
    out = {"self": 0, "cross": 0, "conv": 0, "ssm": 0}
    for part, (inner, key) in parts.items():
        for layer in inner.layers:
            kv, conv, ssm = _layer_bytes(layer)
            out[key] += kv
            out["conv"] += conv
            out["ssm"] += ssm
    return out


def generated(model, **inputs):  # noqa: ANN001, ANN003
    """The cache after a greedy ``generate`` of NEW_TOKENS tokens, and the tokens it was fed."""
    torch.manual_seed(0)
    model.eval()
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS, do_sample=False,
                             return_dict_in_generate=True)
    # Every token but the last generated one went through the model (decoder start token included).
    return out.past_key_values, out.sequences.shape[1] - 1


def _check(config, model, batch: int, encoder_length: int | None = None, **inputs) -> object:  # noqa: ANN001, ANN003
    cache, context = generated(model, **inputs)
    real = measured(cache)
    ours = kv_cache_size(config, context, batch, "float32", encoder_length=encoder_length)
    assert (ours.kv_bytes - ours.cross_attention_bytes, ours.cross_attention_bytes) == (real["self"], real["cross"])
    assert (ours.conv_state_bytes, ours.ssm_state_bytes) == (real["conv"], real["ssm"])
    assert ours.total_bytes == sum(real.values())
    return ours


def _ids(batch: int, length: int):  # noqa: ANN202
    return torch.arange(3, 3 + batch * length).remainder(90).add(3).reshape(batch, length)


TOKENS = {"pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2, "decoder_start_token_id": 1}


@pytest.mark.parametrize("batch", [1, 2])
def test_bart_cross_attention_over_the_encoder_input_and_decoder_depth(batch: int) -> None:
    config = transformers.BartConfig(vocab_size=96, d_model=32, encoder_layers=3, decoder_layers=2,
                                     encoder_attention_heads=4, decoder_attention_heads=2, encoder_ffn_dim=64,
                                     decoder_ffn_dim=64, max_position_embeddings=64, forced_bos_token_id=None,
                                     forced_eos_token_id=None, **TOKENS)
    ours = _check(config, transformers.BartForConditionalGeneration(config), batch, encoder_length=7,
                  input_ids=_ids(batch, 7))
    assert ours.layers == ours.cross_attention_layers == 2  # the decoder's depth, not the encoder's 3
    assert ours.cross_attention_bytes == 2 * 2 * 2 * 16 * 7 * batch * 4


@pytest.mark.parametrize("batch", [1, 2])
def test_t5_decoder_depth_and_head_dim_from_its_own_keys(batch: int) -> None:
    config = transformers.T5Config(vocab_size=96, d_model=32, d_kv=8, d_ff=64, num_layers=1, num_decoder_layers=3,
                                   num_heads=2, **TOKENS)
    # transformers 5 sizes the cache it builds by num_hidden_layers (T5 maps it to the encoder's 1 layer) and
    # fails on decoder layer 2; an empty cache that grows per layer is passed instead.
    cache = transformers.EncoderDecoderCache(transformers.DynamicCache(), transformers.DynamicCache())
    ours = _check(config, transformers.T5ForConditionalGeneration(config), batch, encoder_length=6,
                  input_ids=_ids(batch, 6), past_key_values=cache)
    assert (ours.layers, ours.head_dim) == (3, 8)


@pytest.mark.parametrize("batch", [1, 2])
def test_whisper_cross_attention_over_max_source_positions(batch: int) -> None:
    config = transformers.WhisperConfig(vocab_size=96, d_model=32, encoder_layers=4, decoder_layers=2,
                                        encoder_attention_heads=2, decoder_attention_heads=4, encoder_ffn_dim=64,
                                        decoder_ffn_dim=64, num_mel_bins=8, max_source_positions=10,
                                        max_target_positions=32, suppress_tokens=None, begin_suppress_tokens=None,
                                        **TOKENS)
    torch.manual_seed(0)
    features = torch.randn(batch, 8, 20)
    ours = _check(config, transformers.WhisperForConditionalGeneration(config), batch, input_features=features)
    assert ours.encoder_length == 10 and ours.encoder_length_source.startswith("config")
    assert ours.layers == 2


def test_whisper_large_v3_turbo_shape() -> None:
    """32 encoder / 4 decoder layers: the decoder's 4 hold the cache; cross K/V over 1,500 frames."""
    config = {"model_type": "whisper", "is_encoder_decoder": True, "d_model": 1280, "encoder_layers": 32,
              "decoder_layers": 4, "encoder_attention_heads": 20, "decoder_attention_heads": 20,
              "max_source_positions": 1500, "num_hidden_layers": 32, "torch_dtype": "float16"}
    kv = kv_cache_size(config, 448)
    assert kv.layers == 4 and kv.encoder_length == 1500
    assert kv.self_attention_bytes == 4 * 2 * 1280 * 448 * 2 == 9_175_040
    assert kv.cross_attention_bytes == 4 * 2 * 1280 * 1500 * 2 == 30_720_000
    assert kv.total_bytes == 39_895_040 and kv.state_bytes == 0
    assert kv_cache_size(config, 448, encoder_length=750).cross_attention_bytes == 15_360_000


def _jamba_config(**extra):  # noqa: ANN003, ANN202
    return transformers.JambaConfig(vocab_size=96, hidden_size=32, num_hidden_layers=4, num_attention_heads=4,
                                    num_key_value_heads=2, intermediate_size=64, num_experts=2,
                                    num_experts_per_tok=1, expert_layer_period=2, expert_layer_offset=1,
                                    attn_layer_period=2, attn_layer_offset=1, mamba_d_state=4, mamba_d_conv=4,
                                    mamba_expand=2, **TOKENS, **extra)


@pytest.mark.parametrize("batch", [1, 2])
def test_jamba_attention_only_on_attention_layers_plus_mamba_state(batch: int) -> None:
    config = _jamba_config()
    ours = _check(config, transformers.JambaForCausalLM(config), batch, input_ids=_ids(batch, 5))
    assert (ours.attention_layers, ours.state_layers) == (2, 2)
    context = 5 + NEW_TOKENS - 1
    assert ours.kv_bytes == 2 * 2 * 2 * 8 * context * batch * 4
    assert ours.state_bytes == 2 * 64 * (4 + 4) * batch * 4


def test_jamba_real_shape_from_config_json() -> None:
    """Jamba-v0.1: 32 layers, attention every 8th from layer 4: 4 attention + 28 Mamba layers."""
    config = {"model_type": "jamba", "hidden_size": 4096, "num_hidden_layers": 32, "num_attention_heads": 32,
              "num_key_value_heads": 8, "attn_layer_period": 8, "attn_layer_offset": 4, "mamba_d_state": 16,
              "mamba_d_conv": 4, "mamba_expand": 2, "torch_dtype": "bfloat16"}
    kv = kv_cache_size(config, 8192)
    assert kv.kv_bytes == 4 * 2 * 8 * 128 * 8192 * 2 == 134_217_728  # was 8× (all 32 layers as attention)
    assert kv.conv_state_bytes == 28 * 8192 * 4 * 2 and kv.ssm_state_bytes == 28 * 8192 * 16 * 2
    assert kv.total_bytes == 134_217_728 + 9_175_040


@pytest.mark.parametrize("batch", [1, 2])
def test_mamba_state_per_sequence(batch: int) -> None:
    config = transformers.MambaConfig(vocab_size=96, hidden_size=32, num_hidden_layers=2, state_size=4, expand=2,
                                      conv_kernel=4, **TOKENS)
    ours = _check(config, transformers.MambaForCausalLM(config), batch, input_ids=_ids(batch, 5))
    assert ours.kv_bytes == 0 and ours.state_layers == 2
    assert ours.state_bytes == 2 * 64 * (4 + 4) * batch * 4
    assert kv_cache_size(config, 100_000, batch, "float32").total_bytes == ours.total_bytes  # fixed size


@pytest.mark.parametrize("batch", [1, 2])
def test_decoder_only_full_and_sliding(batch: int) -> None:
    llama = transformers.LlamaConfig(vocab_size=96, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                     num_attention_heads=4, num_key_value_heads=2, **TOKENS)
    _check(llama, transformers.LlamaForCausalLM(llama), batch, input_ids=_ids(batch, 5))
    gemma = transformers.Gemma2Config(vocab_size=96, hidden_size=32, intermediate_size=64, num_hidden_layers=4,
                                      num_attention_heads=4, num_key_value_heads=2, head_dim=8, sliding_window=4,
                                      **TOKENS)
    ours = _check(gemma, transformers.Gemma2ForCausalLM(gemma), batch, input_ids=_ids(batch, 6))
    assert ours.sliding_layers == 2  # alternating; sliding layers keep window − 1 = 3 tokens
    assert ours.kv_bytes == 2 * 2 * 8 * (3 + 9) * 2 * batch * 4


def test_cache_bad_input() -> None:
    check_bad_input(lambda: kv_cache_size({"num_hidden_layers": 2, "num_attention_heads": 2, "hidden_size": 8}, 4,
                                          encoder_length=0))
    check_bad_input(lambda: kv_cache_size({"model_type": "mamba", "num_hidden_layers": 2, "hidden_size": 8}, 4))
    check_bad_input(lambda: kv_cache_size({"num_hidden_layers": 1, "num_attention_heads": 2, "hidden_size": 8,
                                           "layer_types": ["conv"]}, 4))


def test_profile_reports_state_and_cross_attention_rows() -> None:
    import modelsize
    from modelsize import render
    from modelsize.compute import ComputeOptions, KVCacheOptions, token_inputs

    config = transformers.MambaConfig(vocab_size=96, hidden_size=32, num_hidden_layers=2, state_size=4, expand=2,
                                      conv_kernel=4, **TOKENS)
    report = modelsize.inspect(transformers.MambaForCausalLM(config), formats=False, inputs=token_inputs(16))
    check_report(report)  # the new cache fields validate against the schema
    kv = report.to_dict()["sections"]["compute"]["kv_cache"]
    assert (kv["kv_bytes"], kv["state_bytes"], kv["total_bytes"]) == (0, 4096, 4096)
    text = render.table(report)
    assert "Recurrent state" in text and "conv 2.00 KiB + SSM 2.00 KiB" in text
    bart = transformers.BartConfig(vocab_size=96, d_model=32, encoder_layers=3, decoder_layers=2,
                                   encoder_attention_heads=4, decoder_attention_heads=2, encoder_ffn_dim=64,
                                   decoder_ffn_dim=64, max_position_embeddings=64, **TOKENS)
    report = modelsize.inspect(transformers.BartForConditionalGeneration(bart), formats=False,
                               inputs=token_inputs(16), compute=ComputeOptions(kv_cache=KVCacheOptions(encoder_length=12)))
    check_report(report)
    kv = report.to_dict()["sections"]["compute"]["kv_cache"]
    assert kv["cross_attention_bytes"] == 2 * 2 * 2 * 16 * 12 * 4 and kv["encoder_length_source"] == "option"
    assert "Cross-attn K/V" in render.table(report)

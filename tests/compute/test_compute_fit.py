""""Will it fit?" from headers and config: numbers checked by hand for Llama-3-8B and Mixtral-8x7B shapes."""

from __future__ import annotations

import pytest

from modelsize.compute.fit import FitOptions, fit, use_more_bits, weight_bytes
from modelsize.core.units import parse_size
from modelsize.core.errors import OptionError
from modelsize.core.tensors import TensorRecord

GIB = 1 << 30

LLAMA3_8B = {"architectures": ["LlamaForCausalLM"], "hidden_size": 4096, "intermediate_size": 14336,
             "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 128256,
             "max_position_embeddings": 8192, "torch_dtype": "bfloat16", "tie_word_embeddings": False}
MIXTRAL = {"architectures": ["MixtralForCausalLM"], "hidden_size": 4096, "intermediate_size": 14336,
           "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 32000,
           "max_position_embeddings": 32768, "torch_dtype": "bfloat16", "num_local_experts": 8,
           "num_experts_per_tok": 2, "sliding_window": None}


def _records(cfg: dict) -> list[TensorRecord]:
    """The tensors of a Hugging Face Llama / Mixtral checkpoint with this config, in bf16."""
    h, i, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    kv = cfg["num_key_value_heads"] * h // cfg["num_attention_heads"]
    shapes = [("model.embed_tokens.weight", (v, h))]
    for n in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{n}."
        shapes += [(p + "self_attn.q_proj.weight", (h, h)), (p + "self_attn.k_proj.weight", (kv, h)),
                   (p + "self_attn.v_proj.weight", (kv, h)), (p + "self_attn.o_proj.weight", (h, h)),
                   (p + "input_layernorm.weight", (h,)), (p + "post_attention_layernorm.weight", (h,))]
        if cfg.get("num_local_experts"):
            shapes.append((p + "block_sparse_moe.gate.weight", (cfg["num_local_experts"], h)))
            for e in range(cfg["num_local_experts"]):
                q = f"{p}block_sparse_moe.experts.{e}."
                shapes += [(q + "w1.weight", (i, h)), (q + "w2.weight", (h, i)), (q + "w3.weight", (i, h))]
        else:
            shapes += [(p + "mlp.gate_proj.weight", (i, h)), (p + "mlp.up_proj.weight", (i, h)),
                       (p + "mlp.down_proj.weight", (h, i))]
    shapes += [("model.norm.weight", (h,)), ("lm_head.weight", (v, h))]
    return [TensorRecord(path=n, shape=s, dtype="bfloat16") for n, s in shapes]


def _by_name(result) -> dict[str, dict]:
    return {o["name"]: o for o in result.to_dict()["options"]}


def test_llama3_8b_on_24gib_at_8k() -> None:
    recs = _records(LLAMA3_8B)
    result = fit(recs, LLAMA3_8B, FitOptions(budget_bytes=parse_size("24GiB"), seq_len=8192))
    rows = _by_name(result)
    # Parameters: 2 × 128256 × 4096 (embeddings, lm_head) + 32 × 218,112,000 per layer + 4096 = 8,030,261,248.
    assert result.params == 8_030_261_248
    # 1-D norms: 65 × 4096 = 266,240 elements; 2-D matrices: 8,029,995,008 elements.
    assert rows["as stored"]["weights_bytes"] == rows["bf16"]["weights_bytes"] == 16_060_522_496
    # int8: 1 byte per element + a bf16 scale per row (1,632,768 rows) + norms in bf16.
    assert rows["int8"]["weights_bytes"] == 8_029_995_008 + 1_632_768 * 2 + 266_240 * 2 == 8_033_793_024
    # int4 group 128: 0.5 + 4/128 bytes per element = 4,265,934,848 + norms in bf16.
    assert rows["int4"]["weights_bytes"] == 4_265_934_848 + 532_480 == 4_266_467_328
    # Q8_0: 34 bytes per 32 elements + norms in F32.
    assert rows["Q8_0"]["weights_bytes"] == 8_029_995_008 // 32 * 34 + 266_240 * 4 == 8_532_934_656
    # Q4_K_M: Q6_K for lm_head and for v_proj/down_proj on 16 of 32 layers (1,531,969,536 elements),
    # Q4_K for the other 6,498,025,472; = 4.575 GiB, what llama.cpp's Llama-3-8B Q4_K_M weighs.
    assert rows["Q4_K_M"]["weights_bytes"] == 1_531_969_536 // 256 * 210 + 6_498_025_472 // 256 * 144 + 266_240 * 4
    assert rows["Q4_K_M"]["weights_bytes"] == 4_912_898_048
    assert rows["Q4_K_M"]["bits_per_weight"] == pytest.approx(4.894, abs=1e-3)
    # KV cache: 2 × 32 layers × 8 kv heads × 128 head dim × 8192 tokens × 2 bytes = 1 GiB exactly.
    assert result.kv_cache["total_bytes"] == 1 * GIB and all(r["kv_cache_bytes"] == GIB for r in rows.values())
    # Activations: 8192 × (2 × 4096 + 3 × 14336) × 2 + 128256 × 4 (last-token fp32 logits).
    assert rows["bf16"]["activation_bytes"] == 838_860_800 + 513_024
    # bf16 total: weights + KV + activations + 1 GiB overhead = 19,047,379,968 → fits with 6,722,423,808 spare.
    assert rows["bf16"]["total_bytes"] == 19_047_379_968
    assert rows["bf16"]["fits"] is True and rows["bf16"]["margin_bytes"] == 25_769_803_776 - 19_047_379_968
    assert result.to_dict()["fits"] == ["as stored", "bf16", "int8", "int4", "Q8_0", "Q4_K_M"]
    assert any("overhead" in a for a in result.assumptions)


def test_llama3_8b_on_16gib_needs_quantization() -> None:
    result = fit(_records(LLAMA3_8B), LLAMA3_8B, FitOptions(budget_bytes=16 * GIB, seq_len=8192))
    # bf16 needs 19,047,379,968 > 17,179,869,184; int8 needs 8,033,793,024 + 2,986,857,472 = 11,020,650,496.
    assert result.to_dict()["fits"] == ["int8", "int4", "Q8_0", "Q4_K_M"]
    assert _by_name(result)["int8"]["total_bytes"] == 11_020_650_496


def test_mixtral_all_experts_resident_two_active() -> None:
    recs = _records(MIXTRAL)
    result = fit(recs, MIXTRAL, FitOptions(budget_bytes=32 * GIB))  # default context: 4096 tokens
    rows = _by_name(result)
    assert result.params == 46_702_792_704 and result.seq_len == 4096
    assert rows["bf16"]["weights_bytes"] == 93_405_585_408
    # int4: 46,702,526,464 matrix elements × 0.53125 + 65 × 4096 norms in bf16.
    assert rows["int4"]["weights_bytes"] == 24_810_717_184 + 532_480
    # Q4_K_M: Q6_K for lm_head, and v_proj + the 8 experts' w2 on 16 layers (7,714,373,632 elements).
    assert rows["Q4_K_M"]["weights_bytes"] == 30_134_272 * 210 + 152_297_472 * 144 + 266_240 * 4 == 28_260_098_048
    # KV: no sliding window in this config: 2 × 32 × 8 × 128 × 4096 × 2 = 512 MiB.
    assert rows["int4"]["kv_cache_bytes"] == 536_870_912
    # Activations with the 2 active experts: 4096 × (2 × 4096 + 3 × 2 × 14336) × 2 + 32000 × 4.
    assert rows["int4"]["activation_bytes"] == 771_751_936 + 128_000
    assert rows["int4"]["total_bytes"] == 24_811_249_664 + 536_870_912 + 771_879_936 + GIB == 27_193_742_336
    assert result.to_dict()["fits"] == ["int4", "Q4_K_M"]
    assert any("all 8 experts resident" in a for a in result.assumptions)
    on_24 = fit(recs, MIXTRAL, FitOptions(budget_bytes=24 * GIB))
    assert on_24.to_dict()["fits"] == []
    assert _by_name(on_24)["int4"]["margin_bytes"] == 24 * GIB - 27_193_742_336 == -1_423_938_560


def test_sliding_window_caps_the_kv_cache() -> None:
    cfg = dict(MIXTRAL, sliding_window=4096)
    result = fit(_records(MIXTRAL)[:3], cfg, FitOptions(budget_bytes=GIB, seq_len=32768))
    # 32768 tokens, but a 4096-token window: transformers keeps window - 1 = 4095 tokens per layer,
    # 131,072 bytes each (32 layers x 8 KV heads x 128 x K and V x 2 bytes).
    assert result.kv_cache["total_bytes"] == 4095 * 131_072


def test_training_llama3_8b() -> None:
    result = fit(_records(LLAMA3_8B), LLAMA3_8B, FitOptions(budget_bytes=80 * GIB, seq_len=1024, training=True))
    rows = _by_name(result)
    full = rows["bf16 AdamW"]
    assert full["weights_bytes"] == 16_060_522_496
    assert full["training_state_bytes"] == 8_030_261_248 * 14  # bf16 grads + fp32 master + fp32 Adam m, v
    # 34 × 1024 × 4096 × 32 layers + 8 × 1024 × 128256 (fp32 logits and their gradient)
    assert full["activation_bytes"] == 4_563_402_752 + 1_050_673_152
    assert full["total_bytes"] == 135_171_997_696 and not full["fits"]
    ckpt = rows["bf16 AdamW + checkpointing"]
    assert ckpt["activation_bytes"] == 2 * 1024 * 4096 * 32 + 34 * 1024 * 4096 + 1_050_673_152


def test_q4_k_m_layer_rule_matches_llama_cpp() -> None:
    assert [i for i in range(32) if use_more_bits(i, 32)] == [0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31]
    odd = TensorRecord(path="model.layers.0.mlp.down_proj.weight", shape=(4096, 100), dtype="float16")
    assert weight_bytes(odd, "Q4_K_M", 32) == 409_600 * 2  # rows not divisible by 32 or 256: kept in F16
    ints = TensorRecord(path="x.qweight", shape=(512, 64), dtype="int32")
    assert weight_bytes(ints, "int4", 32) == 512 * 64 * 4  # already quantized data is kept as stored


@pytest.mark.parametrize("text,expected", [("24GiB", 24 * GIB), ("80GB", 80 * 10**9), ("1.5 GiB", 3 * GIB // 2),
                                           ("512MiB", 512 << 20), ("24G", 24 * 10**9), ("24", 24)])
def test_sizes_with_units(text: str, expected: int) -> None:
    assert parse_size(text, "fit") == expected


@pytest.mark.parametrize("text", ["24Gb", "lots", "0GiB", "-1GB"])
def test_bad_sizes_are_refused(text: str) -> None:
    with pytest.raises(OptionError, match="'fit' option must be"):
        parse_size(text, "fit")


def test_no_config_still_answers_weights() -> None:
    result = fit(_records(LLAMA3_8B)[:5], None, FitOptions(budget_bytes=GIB))
    d = result.to_dict()
    assert d["kv_cache"] is None and any("KV cache is not counted" in n for n in d["notes"])
    assert d["options"][0]["activation_bytes"] == 0


def test_gguf_metadata_gives_the_kv_cache(tmp_path) -> None:
    """A GGUF file's {arch}.* keys stand in for config.json: KV cache in F16, llama.cpp's default."""
    gguf = pytest.importorskip("gguf")
    import numpy as np

    import modelsize
    from modelsize.compute.fit import fit_report

    path = tmp_path / "tiny.gguf"
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_block_count(2)
    w.add_context_length(2048)
    w.add_embedding_length(256)
    w.add_feed_forward_length(512)
    w.add_head_count(8)
    w.add_head_count_kv(2)
    w.add_token_list([f"t{i}" for i in range(100)])
    w.add_tensor("blk.1.attn_v.weight", np.zeros((64, 256), np.float32))
    w.add_tensor("output.weight", np.zeros((100, 256), np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    report = fit_report(modelsize.inspect(path), FitOptions(budget_bytes=GIB, seq_len=1024))
    fit_section = report.sections["fit"]
    # 2 × 2 layers × 2 kv heads × (256 / 8 = 32) head dim × 1024 tokens × 2 bytes (F16)
    assert fit_section["kv_cache"]["total_bytes"] == 2 * 2 * 2 * 32 * 1024 * 2 == 524_288
    rows = {r["name"]: r for r in fit_section["options"]}
    # Activations: 1024 × (2 × 256 + 3 × 512) × 2 + 100 tokens × 4 bytes of logits
    assert rows["bf16"]["activation_bytes"] == 1024 * (512 + 1536) * 2 + 400
    # Q4_K_M: output.weight (100 × 256) in Q6_K; attn_v of layer 1 of 2 (i >= 7n/8) in Q6_K too.
    assert rows["Q4_K_M"]["weights_bytes"] == (100 * 256 + 64 * 256) // 256 * 210


def test_block_quantized_weights_are_re_quantized_from_their_element_count() -> None:
    """A GGUF Q4_K tensor stands for real weights: its bf16 row is 2 bytes per element, not its Q4_K bytes."""
    from modelsize.formats.gguf_file import ggml_types

    pytest.importorskip("gguf")
    ggml_types()  # registers q4_k as a modelsize dtype
    q = TensorRecord(path="blk.3.ffn_up.weight", shape=(1024, 4096), dtype="q4_k", stored_bytes=4096 * 1024 // 256 * 144)
    assert weight_bytes(q, "as stored", 32) == 2_359_296
    assert weight_bytes(q, "bf16", 32) == 1024 * 4096 * 2
    assert weight_bytes(q, "Q4_K_M", 32) == 2_359_296  # ffn_up is never bumped to Q6_K


def test_mla_kv_cache_comes_from_kv_cache_size() -> None:
    """MLA (DeepSeek-V2-Lite shape): --fit uses compute/kv_cache.py's answer, or says why it has none."""
    from modelsize.compute.kv_cache import kv_cache_size
    from modelsize.core.errors import ModelSizeError

    cfg = {"hidden_size": 2048, "num_hidden_layers": 27, "num_attention_heads": 16, "num_key_value_heads": 16,
           "kv_lora_rank": 512, "qk_rope_head_dim": 64, "qk_nope_head_dim": 128, "v_head_dim": 128,
           "intermediate_size": 10944, "vocab_size": 102400, "torch_dtype": "bfloat16"}
    recs = [TensorRecord(path="model.embed_tokens.weight", shape=(102400, 2048), dtype="bfloat16")]
    result = fit(recs, cfg, FitOptions(budget_bytes=GIB, seq_len=4096))
    try:
        expected = kv_cache_size(cfg, 4096, 1).total_bytes
    except ModelSizeError as exc:
        assert result.kv_cache is None and any(str(exc) in n for n in result.notes)
    else:
        assert result.kv_cache["total_bytes"] == expected
        assert all(o.kv_cache_bytes == expected for o in result.options)

"""Trace each distinct layer once: identical layers replay the first one's trace, and every
number of the profile (totals, per-module rows, coverage, memory, KV cache, MoE) equals a full
trace — on real model widths with fewer layers (fake tensors cost the same at any width)."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import modelsize  # noqa: E402
from modelsize.compute import ComputeOptions, run, token_inputs  # noqa: E402
from modelsize.compute.dedup import LayerDedup  # noqa: E402
from modelsize.compute.from_config import build_meta  # noqa: E402

LLAMA3_8B = dict(hidden_size=4096, intermediate_size=14336, num_attention_heads=32, num_key_value_heads=8,
                 vocab_size=128256, rope_theta=500000.0, max_position_embeddings=8192)
LLAMA3_70B = dict(hidden_size=8192, intermediate_size=28672, num_attention_heads=64, num_key_value_heads=8,
                  vocab_size=128256, rope_theta=500000.0, max_position_embeddings=8192)


def _configs():  # noqa: ANN202
    return {
        "llama-3-8b": (transformers.LlamaConfig(num_hidden_layers=4, **LLAMA3_8B), 256, 1),
        "llama-3-70b": (transformers.LlamaConfig(num_hidden_layers=3, **LLAMA3_70B), 128, 1),
        "mixtral-8x7b": (transformers.MixtralConfig(hidden_size=4096, intermediate_size=14336, num_hidden_layers=3,
                                                    num_attention_heads=32, num_key_value_heads=8, vocab_size=32000,
                                                    num_local_experts=8, num_experts_per_tok=2), 128, 1),
        "gemma-2-9b": (transformers.Gemma2Config(hidden_size=3584, intermediate_size=14336, num_hidden_layers=6,
                                                 num_attention_heads=16, num_key_value_heads=8, head_dim=256,
                                                 vocab_size=256000, sliding_window=64), 128, 2),
        "deepseek-v3-like": (transformers.DeepseekV3Config(
            hidden_size=7168, intermediate_size=18432, moe_intermediate_size=2048, num_hidden_layers=5,
            first_k_dense_replace=2, num_attention_heads=128, num_key_value_heads=128, n_routed_experts=16,
            num_experts_per_tok=4, n_shared_experts=1, n_group=4, topk_group=2, kv_lora_rank=512,
            q_lora_rank=1536, qk_rope_head_dim=64, qk_nope_head_dim=128, v_head_dim=128, vocab_size=129280), 64, 2),
        "jamba": (transformers.JambaConfig(hidden_size=1024, intermediate_size=2048, num_hidden_layers=8,
                                           num_attention_heads=8, num_key_value_heads=2, vocab_size=1000,
                                           num_experts=4, num_experts_per_tok=2, expert_layer_period=2,
                                           expert_layer_offset=1, attn_layer_period=4, attn_layer_offset=2,
                                           mamba_d_state=16, mamba_d_conv=4, mamba_expand=2), 8, 3),
    }


def _without_notes(profile) -> dict:  # noqa: ANN001
    data = profile.to_dict()
    data.pop("notes")
    return data


@pytest.mark.parametrize("name", list(_configs()))
def test_replayed_layers_equal_a_full_trace(name: str) -> None:
    config, tokens, groups = _configs()[name]
    model = build_meta(config)
    assert len(LayerDedup.groups(model, torch)) == groups  # Gemma-2 alternates, DeepSeek dense-then-MoE …
    full = run(model, token_inputs(tokens), ComputeOptions(dedup_layers=False))
    once = run(model, token_inputs(tokens), ComputeOptions(dedup_layers=True))
    assert json.dumps(_without_notes(once), sort_keys=True) == json.dumps(_without_notes(full), sort_keys=True)
    replayed = config.num_hidden_layers - groups
    assert any(note.startswith(f"{replayed} layer calls replayed") for note in once.notes)
    assert not any("replayed" in note for note in full.notes)


def test_llama_3_70b_at_8192_tokens_from_config_json(tmp_path) -> None:  # noqa: ANN001
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "num_hidden_layers": 80,
              "torch_dtype": "bfloat16", "tie_word_embeddings": False, "hidden_act": "silu",
              "rms_norm_eps": 1e-05, **LLAMA3_70B}
    (tmp_path / "config.json").write_text(json.dumps(config))
    report = modelsize.inspect(tmp_path / "config.json", inputs=token_inputs(8192))
    compute = report.to_dict()["sections"]["compute"]
    assert compute["forward"]["macs"] == 657_318_974_849_024
    assert compute["kv_cache"]["total_bytes"] == 2_684_354_560 and compute["kv_cache"]["dtype"] == "bfloat16"
    assert compute["coverage"]["not_counted"] == {}
    assert any(note.startswith("79 layer calls replayed") for note in compute["notes"])


def _json_config(name: str) -> dict:
    llama = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "torch_dtype": "bfloat16"}
    return {
        "llama-3-8b": {**llama, **LLAMA3_8B, "num_hidden_layers": 4},
        "llama-3-70b": {**llama, **LLAMA3_70B, "num_hidden_layers": 3},
        "mixtral-8x7b": {"model_type": "mixtral", "architectures": ["MixtralForCausalLM"], "hidden_size": 4096,
                         "intermediate_size": 14336, "num_hidden_layers": 3, "num_attention_heads": 32,
                         "num_key_value_heads": 8, "vocab_size": 32000, "num_local_experts": 8,
                         "num_experts_per_tok": 2, "sliding_window": None, "torch_dtype": "bfloat16"},
    }[name]


@pytest.mark.parametrize("name", ["llama-3-8b", "llama-3-70b", "mixtral-8x7b"])
@pytest.mark.parametrize("backward", [False, True])
def test_replayed_layers_equal_a_full_trace_on_the_stand_in(tmp_path, name: str, backward: bool) -> None:
    """The same equality on the transformers-free path (compute.hf_standins, traced on meta)."""
    from modelsize.compute import from_config

    (tmp_path / "config.json").write_text(json.dumps(_json_config(name)))
    model = from_config._standin_model(tmp_path / "config.json", None)
    assert model is not None and len(LayerDedup.groups(model, torch)) == 1
    layers = len(model.model.layers)
    full = run(model, token_inputs(128), ComputeOptions(dedup_layers=False, backward=backward))
    once = run(model, token_inputs(128), ComputeOptions(dedup_layers=True, backward=backward))
    assert json.dumps(_without_notes(once), sort_keys=True) == json.dumps(_without_notes(full), sort_keys=True)
    assert any(note.startswith(f"{layers - 1} layer calls replayed") for note in once.notes)
    if name.startswith("mixtral"):
        assert once.moe is not None and len(once.moe.layers) == layers


def test_a_layer_returning_a_view_of_its_input_runs() -> None:
    """Nothing to replay faithfully (its output is not a fresh allocation): every member runs."""

    class Passthrough(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.scale = torch.nn.Linear(4, 4)

        def forward(self, x):  # noqa: ANN001, ANN201
            self.scale(x)
            return x[:, :2]

    class Stack(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = torch.nn.ModuleList(Passthrough() for _ in range(3))

        def forward(self, x):  # noqa: ANN001, ANN201
            return [layer(x) for layer in self.layers]

    full = run(Stack(), "2x4", ComputeOptions(dedup_layers=False))
    once = run(Stack(), "2x4", ComputeOptions(dedup_layers=True))
    assert _without_notes(once) == _without_notes(full)
    assert not any("replayed" in note for note in once.notes)

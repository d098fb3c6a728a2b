"""Llama, Mistral, Qwen2 and Mixtral built from config.json without transformers (issue 29): every figure
of the profile and the report equals the transformers-built model's, the 70B figures are exact,
and the fast path never imports transformers. Configs it does not fully understand go through
transformers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from modelsize.compute import ComputeOptions, token_inputs  # noqa: E402
from modelsize.compute import from_config  # noqa: E402
from modelsize.compute.hf_standins import standin_spec  # noqa: E402

TINY = {"hidden_size": 64, "intermediate_size": 160, "num_hidden_layers": 2, "num_attention_heads": 4,
        "num_key_value_heads": 2, "vocab_size": 1000, "max_position_embeddings": 512, "rms_norm_eps": 1e-5,
        "hidden_act": "silu"}
LLAMA3_70B = {
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 8192, "intermediate_size": 28672,
    "num_hidden_layers": 80, "num_attention_heads": 64, "num_key_value_heads": 8, "vocab_size": 128256,
    "max_position_embeddings": 8192, "rope_theta": 500000.0, "rms_norm_eps": 1e-05, "hidden_act": "silu",
    "tie_word_embeddings": False, "torch_dtype": "bfloat16",
}


def _config(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data))
    return path


def _both(path: Path, seq: int, monkeypatch: pytest.MonkeyPatch, backward: bool = True,
          batch: int = 1) -> tuple[dict, dict]:
    """The report of ``path`` through the stand-in and through transformers, notes aside."""
    options = ComputeOptions(backward=backward)
    fast = from_config.inspect_from_config(path, token_inputs(seq, batch), options).to_dict()
    assert "transformers not imported" in fast["sections"]["compute"]["notes"][-1]
    with monkeypatch.context() as m:
        m.setattr(from_config, "_standin_model", lambda *a: None)
        slow = from_config.inspect_from_config(path, token_inputs(seq, batch), options).to_dict()
    assert "transformers LlamaForCausalLM" in slow["sections"]["compute"]["notes"][-1] \
        or "stand-in" not in slow["sections"]["compute"]["notes"][-1]
    assert fast["source"]["object_type"] == "modelsize.compute.hf_standins." + slow["source"]["object_type"].split(".")[-1]
    for d in (fast, slow):
        d["sections"]["compute"]["notes"] = d["sections"]["compute"]["notes"][:-1]
        d["source"]["object_type"] = None
        _number_storages(d["tree"], {})
    return fast, slow


def _number_storages(node: dict, seen: dict) -> None:
    """Storage keys name memory addresses: number them in order of appearance (sharing is kept)."""
    for t in node.get("tensors", ()):
        if t.get("storage_key") is not None:
            t["storage_key"] = seen.setdefault(t["storage_key"], len(seen))
    for child in node.get("children", ()):
        _number_storages(child, seen)


@pytest.mark.parametrize("family,extra", [
    ("llama", {}),
    ("llama", {"tie_word_embeddings": True, "torch_dtype": "float16", "num_key_value_heads": 4}),
    ("llama", {"attention_bias": True, "mlp_bias": True, "head_dim": 32, "dtype": "float32",
               "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                "high_freq_factor": 4.0, "original_max_position_embeddings": 256}}),
    ("mistral", {"sliding_window": None, "torch_dtype": "bfloat16", "num_key_value_heads": 1}),
    ("qwen2", {"tie_word_embeddings": True, "use_sliding_window": False, "sliding_window": 4096,
               "max_window_layers": 21, "torch_dtype": "bfloat16", "pad_token_id": 3}),
    ("mixtral", {"num_local_experts": 4, "num_experts_per_tok": 2, "torch_dtype": "bfloat16"}),
    ("mixtral", {"num_local_experts": 8, "num_experts_per_tok": 3, "sliding_window": None, "num_key_value_heads": 4,
                 "output_router_logits": False, "router_aux_loss_coef": 0.02, "router_jitter_noise": 0.0}),
])
def test_every_figure_equals_the_transformers_model(tmp_path, monkeypatch, family, extra) -> None:
    data = {"model_type": family, **TINY, **extra}
    data["architectures"] = [{"llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM",
                              "qwen2": "Qwen2ForCausalLM", "mixtral": "MixtralForCausalLM"}[family]]
    path = _config(tmp_path, data)
    assert standin_spec(data) is not None
    # one token: transformers' other SDPA branch (no causal flag); a batch of 3
    for seq, batch in ((16, 1), (1, 1), (8, 3)):
        fast, slow = _both(path, seq, monkeypatch, backward=seq > 1, batch=batch)
        assert fast == slow
        assert fast["sections"]["compute"]["kv_cache"]["total_bytes"] > 0


@pytest.mark.parametrize("data", [
    # Llama-3-8B, Mistral-7B-v0.3, Qwen2-7B widths with two layers
    {"model_type": "llama", "hidden_size": 4096, "intermediate_size": 14336, "num_attention_heads": 32,
     "num_key_value_heads": 8, "vocab_size": 128256, "rope_theta": 500000.0, "torch_dtype": "bfloat16"},
    {"model_type": "mistral", "hidden_size": 4096, "intermediate_size": 14336, "num_attention_heads": 32,
     "num_key_value_heads": 8, "vocab_size": 32768, "sliding_window": None, "torch_dtype": "bfloat16"},
    {"model_type": "qwen2", "hidden_size": 3584, "intermediate_size": 18944, "num_attention_heads": 28,
     "num_key_value_heads": 4, "vocab_size": 152064, "use_sliding_window": False, "sliding_window": 131072,
     "max_window_layers": 28, "torch_dtype": "bfloat16"},
    # Mixtral-8x7B (8 experts, top-2)
    {"model_type": "mixtral", "hidden_size": 4096, "intermediate_size": 14336, "num_attention_heads": 32,
     "num_key_value_heads": 8, "vocab_size": 32000, "num_local_experts": 8, "num_experts_per_tok": 2,
     "sliding_window": None, "rope_theta": 1000000.0, "torch_dtype": "bfloat16"},
])
def test_real_widths_equal_the_transformers_model(tmp_path, monkeypatch, data) -> None:
    path = _config(tmp_path, {**data, "num_hidden_layers": 2})
    fast, slow = _both(path, 128, monkeypatch)
    assert fast == slow


def test_llama3_70b_at_8192_tokens_is_exact_through_the_stand_in(tmp_path) -> None:
    path = _config(tmp_path, LLAMA3_70B)
    report = from_config.inspect_from_config(path, token_inputs(8192), None).to_dict()
    compute = report["sections"]["compute"]
    assert "transformers not imported" in compute["notes"][-1]
    assert compute["forward"]["macs"] == 657_318_974_849_024
    assert compute["kv_cache"]["total_bytes"] == 2_684_354_560
    assert compute["kv_cache"]["dtype"] == "bfloat16"


@pytest.mark.parametrize("change", [
    {"model_type": "gemma"},
    {"hidden_act": "gelu"},
    {"some_new_key": 1},
    {"architectures": ["LlamaForSequenceClassification"]},
    {"rope_scaling": {"rope_type": "dynamic", "factor": 2.0}},
    {"rope_scaling": {"rope_type": "yarn", "factor": 2.0}},
    {"attention_dropout": 0.1},
    {"num_key_value_heads": 3},
    {"hidden_size": "64"},
    {"torch_dtype": "float8_e4m3fn"},
    {"model_type": "mistral"},  # no sliding_window key: transformers' default window of 4096
    {"model_type": "mistral", "sliding_window": 4096},
    {"model_type": "qwen2", "use_sliding_window": True, "sliding_window": 8},
    {"model_type": "qwen2", "layer_types": ["full_attention", "sliding_attention"]},
    {"pad_token_id": 5000},
    {"model_type": "mixtral", "output_router_logits": True},  # the load-balancing loss joins the forward
    {"model_type": "mixtral", "router_jitter_noise": 0.01},  # multiplies the hidden states in training
    {"model_type": "mixtral", "sliding_window": 4096},
    {"model_type": "mixtral", "num_local_experts": 2, "num_experts_per_tok": 3},
    {"model_type": "llama", "num_local_experts": 8},  # a MoE key on a dense family
])
def test_configs_not_fully_understood_go_through_transformers(change) -> None:
    data = {"model_type": "llama", **TINY, **change}
    if data["model_type"] != "llama":
        data.pop("architectures", None)
    assert standin_spec(data) is None


@pytest.mark.parametrize("family", ["llama", "mistral", "qwen2", "mixtral"])
def test_absent_keys_take_each_familys_own_defaults(tmp_path, monkeypatch, family) -> None:
    """No num_key_value_heads (Llama: the attention heads; Mistral, Mixtral 8; Qwen2 32) and no
    rms_norm_eps (Mixtral 1e-5, the others 1e-6), as transformers' config classes fill them in."""
    data = {"model_type": family, "hidden_size": 256, "intermediate_size": 320, "num_hidden_layers": 2,
            "num_attention_heads": 32, "vocab_size": 1000}
    if family == "mistral":
        data["sliding_window"] = None
    spec = standin_spec(data)
    assert (spec.kv_heads, spec.eps) == {"llama": (32, 1e-6), "mistral": (8, 1e-6), "qwen2": (32, 1e-6),
                                         "mixtral": (8, 1e-5)}[family]
    fast, slow = _both(_config(tmp_path, data), 8, monkeypatch, backward=False)
    assert fast == slow


def test_mixtral_8x7b_at_8192_tokens_is_exact_through_the_stand_in(tmp_path) -> None:
    """The hand count: per token and layer the q/k/v/o projections, the router and top-2 of the
    experts (3 matrices each), per layer attention over 8,192² positions, and the LM head."""
    T, L, H, I, V, kv = 8192, 32, 4096, 14336, 32000, 1024
    path = _config(tmp_path, {
        "architectures": ["MixtralForCausalLM"], "model_type": "mixtral", "hidden_size": H, "intermediate_size": I,
        "num_hidden_layers": L, "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": V,
        "num_local_experts": 8, "num_experts_per_tok": 2, "max_position_embeddings": 32768,
        "rope_theta": 1000000.0, "rms_norm_eps": 1e-05, "sliding_window": None, "output_router_logits": False,
        "router_aux_loss_coef": 0.02, "tie_word_embeddings": False, "torch_dtype": "bfloat16",
        "attention_dropout": 0.0, "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu",
        "initializer_range": 0.02, "use_cache": True, "transformers_version": "4.36.0.dev0"})
    compute = from_config.inspect_from_config(path, token_inputs(T), None).to_dict()["sections"]["compute"]
    assert "transformers not imported" in compute["notes"][-1]
    assert any(note.startswith(f"{L - 1} layer calls replayed") for note in compute["notes"])
    assert compute["forward"]["macs"] == T * L * (2 * H * H + 2 * H * kv + H * 8 + 2 * 3 * H * I) \
        + L * 2 * T * T * H + T * H * V == 122_028_610_813_952
    assert compute["kv_cache"]["total_bytes"] == 2 * L * kv * T * 2 == 1_073_741_824
    dense, experts = 2 * H * H + 2 * H * kv + 2 * H + 8 * H, 8 * 3 * H * I  # per layer (norms, router)
    assert compute["moe"]["total_params"] == 2 * V * H + H + L * (dense + experts) == 46_702_792_704
    assert compute["moe"]["active_params_per_token"] == 2 * V * H + H + L * (dense + experts * 2 // 8) \
        == 12_879_925_248


def test_other_inputs_go_through_transformers(tmp_path) -> None:
    path = _config(tmp_path, {"model_type": "llama", **TINY})
    assert from_config._standin_model(path, token_inputs(8)) is not None
    assert from_config._standin_model(path, None) is not None
    mask = ["input_ids=1x8:int64", "attention_mask=1x8:int64"]
    for inputs in (mask, "1x8x64", "inputs_embeds=1x8x64", torch.zeros(1, 8, dtype=torch.int64)):
        assert from_config._standin_model(path, inputs) is None
    report = from_config.inspect_from_config(path, mask, ComputeOptions()).to_dict()
    assert "transformers LlamaForCausalLM" in report["sections"]["compute"]["notes"][-1]


def test_the_fast_path_does_not_import_transformers(tmp_path) -> None:
    path = _config(tmp_path, LLAMA3_70B)
    code = ("import sys, modelsize\n"
            "from modelsize.compute import token_inputs\n"
            "r = modelsize.inspect(sys.argv[1], inputs=token_inputs(64)).to_dict()['sections']['compute']\n"
            "print(r['kv_cache']['total_bytes'], any(m == 'transformers' or m.startswith('transformers.') "
            "for m in sys.modules))\n")
    src = str(Path(from_config.__file__).parents[2])
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True,
                          env={"PYTHONPATH": src, "PATH": "/usr/bin:/bin"})
    assert done.stdout.split() == [str(2 * 80 * 8 * 128 * 64 * 2), "False"]


def test_the_stand_in_pickles_like_any_module(tmp_path) -> None:
    import pickle

    path = _config(tmp_path, {"model_type": "qwen2", **TINY})
    model = from_config._standin_model(path, None)
    again = pickle.loads(pickle.dumps(model))
    assert type(again).__name__ == "Qwen2ForCausalLM" and type(again.model.layers[0]).__name__ == "Qwen2DecoderLayer"
    assert [(n, tuple(p.shape)) for n, p in again.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in model.named_parameters()]

"""The inference cache against transformers' own cache objects (issue 29).

Each family is built from a tiny config with random weights (nothing downloaded) and runs a
real greedy ``generate`` of 4 tokens; the bytes of the tensors in the cache it returns (self-
attention K/V, cross-attention K/V, recurrent conv + SSM state) are set against
``kv_cache_size`` at the same context and batch. With ``--before REV`` the ``kv_cache`` module
of that git revision is loaded from git and shown beside (what the previous release said).

    PYTHONPATH=src python benchmarks/bench_kv_cache.py [--before f8d30b1~1]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import types
from pathlib import Path

import torch
import transformers as T

from modelsize.compute import kv_cache_size

ROOT = Path(__file__).resolve().parents[1]
TOKENS = {"pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2, "decoder_start_token_id": 1}


def _ids(batch: int, length: int) -> torch.Tensor:
    return torch.arange(batch * length).remainder(90).add(3).reshape(batch, length)


def families() -> dict[str, tuple]:
    """name → (config, model class, input maker(batch) → kwargs, encoder length or None)."""
    return {
        "BART (3 enc / 2 dec layers)": (T.BartConfig(
            vocab_size=96, d_model=32, encoder_layers=3, decoder_layers=2, encoder_attention_heads=4,
            decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64, max_position_embeddings=64,
            forced_bos_token_id=None, forced_eos_token_id=None, **TOKENS), T.BartForConditionalGeneration,
            lambda b: {"input_ids": _ids(b, 7)}, 7),
        "T5 (1 enc / 3 dec layers)": (T.T5Config(
            vocab_size=96, d_model=32, d_kv=8, d_ff=64, num_layers=1, num_decoder_layers=3, num_heads=2, **TOKENS),
            T.T5ForConditionalGeneration, lambda b: {"input_ids": _ids(b, 6), "past_key_values": T.EncoderDecoderCache(
                T.DynamicCache(), T.DynamicCache())}, 6),
        "Whisper (4 enc / 2 dec layers)": (T.WhisperConfig(
            vocab_size=96, d_model=32, encoder_layers=4, decoder_layers=2, encoder_attention_heads=2,
            decoder_attention_heads=4, encoder_ffn_dim=64, decoder_ffn_dim=64, num_mel_bins=8, max_source_positions=10,
            max_target_positions=32, suppress_tokens=None, begin_suppress_tokens=None, **TOKENS),
            T.WhisperForConditionalGeneration, lambda b: {"input_features": torch.randn(b, 8, 20)}, None),
        "Jamba (2 attention + 2 Mamba)": (T.JambaConfig(
            vocab_size=96, hidden_size=32, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2,
            intermediate_size=64, num_experts=2, num_experts_per_tok=1, expert_layer_period=2, expert_layer_offset=1,
            attn_layer_period=2, attn_layer_offset=1, mamba_d_state=4, mamba_d_conv=4, mamba_expand=2, **TOKENS),
            T.JambaForCausalLM, lambda b: {"input_ids": _ids(b, 5)}, None),
        "Mamba (2 layers)": (T.MambaConfig(
            vocab_size=96, hidden_size=32, num_hidden_layers=2, state_size=4, expand=2, conv_kernel=4, **TOKENS),
            T.MambaForCausalLM, lambda b: {"input_ids": _ids(b, 5)}, None),
        "Llama (GQA)": (T.LlamaConfig(
            vocab_size=96, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, **TOKENS), T.LlamaForCausalLM, lambda b: {"input_ids": _ids(b, 5)}, None),
        "Gemma-2 (sliding 4 / full)": (T.Gemma2Config(
            vocab_size=96, hidden_size=32, intermediate_size=64, num_hidden_layers=4, num_attention_heads=4,
            num_key_value_heads=2, head_dim=8, sliding_window=4, **TOKENS), T.Gemma2ForCausalLM,
            lambda b: {"input_ids": _ids(b, 6)}, None),
    }


def measured(cache) -> int:  # noqa: ANN001
    inner = [cache.self_attention_cache, cache.cross_attention_cache] if hasattr(cache, "cross_attention_cache") \
        else [cache]
    total = 0
    for part in inner:
        for layer in part.layers:
            for name in ("keys", "values"):
                t = getattr(layer, name, None)
                total += t.numel() * t.element_size() if isinstance(t, torch.Tensor) else 0
            for name in ("conv_states", "recurrent_states"):
                total += sum(t.numel() * t.element_size() for t in (getattr(layer, name, None) or {}).values())
    return total


def old_module(rev: str) -> types.ModuleType:
    source = subprocess.run(["git", "show", f"{rev}:src/modelsize/compute/kv_cache.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    module = types.ModuleType("modelsize.compute._kv_cache_before")
    module.__package__ = "modelsize.compute"
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, f"{rev}:kv_cache.py", "exec"), module.__dict__)  # our own earlier source
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before", help="git revision whose kv_cache module to show beside")
    args = parser.parse_args()
    before = old_module(args.before) if args.before else None
    print(f"| model | batch | context | transformers B | modelsize B | ratio |" + (" before B | before ratio |" if before else ""))
    print("|---|---|---|---|---|---|" + ("---|---|" if before else ""))
    for name, (config, cls, make, enc) in families().items():
        torch.manual_seed(0)
        model = cls(config).eval()
        for batch in (1, 2):
            with torch.no_grad():
                out = model.generate(**make(batch), max_new_tokens=4, min_new_tokens=4, do_sample=False,
                                     return_dict_in_generate=True)
            context = out.sequences.shape[1] - 1
            real = measured(out.past_key_values)
            ours = kv_cache_size(config, context, batch, "float32", encoder_length=enc).total_bytes
            row = f"| {name} | {batch} | {context} | {real:,} | {ours:,} | {ours / real:.3f} |"
            if before is not None:
                try:
                    old = before.kv_cache_size(config, context, batch, "float32").total_bytes
                    row += f" {old:,} | {old / real:.3f} |"
                except Exception as exc:  # noqa: BLE001 - the old module's refusal is the figure
                    row += f" — ({type(exc).__name__}) | — |"
            print(row)
    sys.stdout.flush()


if __name__ == "__main__":
    main()

"""``config.json`` of a Hugging Face model folder, read as plain JSON (never through transformers).

Shared by the local folder reader and the remote reader, so neither imports the other.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._common import BoundedFile, json_object

#: config.json keys copied into the ``config`` section when present.
CONFIG_KEYS = (
    "architectures", "model_type", "torch_dtype", "dtype", "hidden_size", "intermediate_size",
    "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "vocab_size",
    "max_position_embeddings", "tie_word_embeddings", "n_embd", "n_layer", "n_head", "n_positions",
    "d_model", "num_layers", "quantization_config",
    # what the KV cache and "will it fit?" need (compute/kv_cache.py, compute/fit.py)
    "head_dim", "sliding_window", "use_sliding_window", "max_window_layers", "layer_types",
    "sliding_window_pattern", "num_kv_heads", "n_head_kv", "multi_query", "multi_query_group_num",
    "kv_lora_rank", "q_lora_rank", "qk_rope_head_dim", "qk_nope_head_dim", "v_head_dim",
    "num_local_experts", "n_routed_experts", "num_experts", "num_experts_per_tok", "moe_intermediate_size",
    "n_shared_experts", "text_config",
)
_MAX_CONFIG_BYTES = 10_000_000


def read_config(folder: Path) -> dict[str, Any] | None:
    """``config.json`` as a dict, or ``None`` when the folder has none."""
    path = folder / "config.json"
    if not path.is_file():
        return None
    with BoundedFile(path, "config.json") as f:
        if f.size > _MAX_CONFIG_BYTES:
            raise f.error(f"it is {f.size} bytes, above the {_MAX_CONFIG_BYTES}-byte limit")
        raw = f.read_at(0, f.size, "the config")
    return json_object(raw, path, "config.json")


def config_section(config: dict[str, Any]) -> dict[str, Any]:
    """The numbers that explain a model's size, for the report's ``config`` section."""
    return {k: config[k] for k in CONFIG_KEYS if k in config}

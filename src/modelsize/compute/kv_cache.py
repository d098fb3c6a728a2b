"""KV-cache bytes for decoder LLMs, from a Hugging Face style config.

``Σ_layers elements per token × cached_tokens × batch × bytes per element``, where the elements
per token and layer are

* ``2 (K and V) × kv_heads × head_dim`` for multi-head, grouped-query (``num_key_value_heads``)
  and multi-query attention;
* ``kv_lora_rank + qk_rope_head_dim`` for multi-head latent attention (DeepSeek-V2/V3 MLA):
  the compressed latent and the shared rotary key are cached, not the expanded K and V —
  what transformers' DeepSeek attention passes to ``cache.update`` (and what vLLM/SGLang keep);

and ``cached_tokens`` is the context length, capped on layers that use a sliding window
(``sliding_window``; Qwen-style ``use_sliding_window``; Gemma-style ``layer_types`` /
``sliding_window_pattern`` mixing sliding and full layers) at ``window − 1`` tokens: what
transformers' ``DynamicSlidingWindowLayer`` keeps between forward calls (``cache_utils``:
"Only cache the last ``self.sliding_window - 1`` tokens").

Works on a config object or a plain dict (``config.json``), so it needs no framework.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..core import dtypes
from ..core.errors import ModelStateError, option_error

_LAYERS = ("num_hidden_layers", "n_layer", "num_layers", "n_layers")
_HEADS = ("num_attention_heads", "n_head", "num_heads", "n_heads")
_HIDDEN = ("hidden_size", "n_embd", "d_model", "dim")


@dataclass(frozen=True)
class KVCache:
    """The cache size and every number that went into it."""

    total_bytes: int
    layers: int
    sliding_layers: int
    kv_heads: int
    head_dim: int
    context_length: int
    batch: int
    dtype: str
    sliding_window: int | None
    attention: str = "grouped-query"  #: multi-head, grouped-query, multi-query or latent (MLA)
    elements_per_token_layer: int | None = None  #: cached elements per token and layer

    @property
    def per_token_layer(self) -> int:
        if self.elements_per_token_layer is not None:
            return self.elements_per_token_layer
        return 2 * self.kv_heads * self.head_dim

    @property
    def bytes_per_token(self) -> int:
        """Cache bytes per token of one sequence at full attention (no window reached)."""
        return self.layers * self.per_token_layer * dtypes.get(self.dtype).nbytes(1)

    @property
    def cached_tokens_sliding(self) -> int | None:
        """Tokens a sliding layer keeps at this context: ``min(context, window − 1)``."""
        return None if self.sliding_window is None else min(self.context_length, self.sliding_window - 1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "total_bytes": self.total_bytes,
            "bytes_per_token": self.bytes_per_token,
            "layers": self.layers,
            "sliding_layers": self.sliding_layers,
            "kv_heads": self.kv_heads,
            "head_dim": self.head_dim,
            "context_length": self.context_length,
            "batch": self.batch,
            "dtype": self.dtype,
            "sliding_window": self.sliding_window,
            "attention": self.attention,
            "elements_per_token_layer": self.per_token_layer,
            "formula": (
                "Σ_layers (kv_lora_rank + qk_rope_head_dim) × tokens × batch × bytes (latent attention)"
                if self.attention == "latent"
                else "2 × Σ_layers kv_heads × head_dim × tokens × batch × bytes"
            ) + "; tokens = context, or min(context, window − 1) on sliding layers (what transformers keeps)",
        }


def _get(config: Any, names: tuple[str, ...]) -> Any:
    for name in names:
        value = config.get(name) if isinstance(config, Mapping) else getattr(config, name, None)
        if value is not None:
            return value
    return None


def text_config(config: Any) -> Any:
    """Multimodal configs keep the language model's settings in ``text_config``."""
    inner = _get(config, ("text_config",))
    return inner if inner is not None and _get(inner, _LAYERS) is not None else config


def is_decoder_config(config: Any) -> bool:
    """Whether ``config`` has what a KV-cache size needs (layers, heads, hidden size)."""
    cfg = text_config(config)
    return all(_get(cfg, names) is not None for names in (_LAYERS, _HEADS, _HIDDEN))


def kv_cache_size(config: Any, context_length: int, batch: int = 1, dtype: str | None = None) -> KVCache:
    """KV-cache size for ``batch`` sequences of ``context_length`` tokens.

    ``dtype`` defaults to the config's ``torch_dtype``/``dtype`` (float32 if it names none).
    """
    for name, value in (("context_length", context_length), ("batch", batch)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise option_error(name, "an integer > 0", value)
    cfg = text_config(config)
    layers, heads, hidden = (_get(cfg, names) for names in (_LAYERS, _HEADS, _HIDDEN))
    if layers is None or heads is None or hidden is None:
        raise ModelStateError(
            "The config does not say how many layers, attention heads and hidden units the model "
            "has (num_hidden_layers, num_attention_heads, hidden_size): no KV-cache size."
        )
    kv_heads = int(_get(cfg, ("num_key_value_heads", "num_kv_heads", "n_head_kv", "multi_query_group_num")) or heads)
    if _get(cfg, ("multi_query",)) is True:
        kv_heads = 1
    head_dim = int(_get(cfg, ("head_dim",)) or hidden // heads)
    attention = "multi-head" if kv_heads == int(heads) else "multi-query" if kv_heads == 1 else "grouped-query"
    per_token_layer = 2 * kv_heads * head_dim
    latent = _get(cfg, ("kv_lora_rank",))
    if latent is not None:
        rope = _get(cfg, ("qk_rope_head_dim",))
        if rope is None:
            raise ModelStateError("The config uses multi-head latent attention (kv_lora_rank) but does not say "
                                  "qk_rope_head_dim: no KV-cache size.")
        attention, kv_heads, head_dim = "latent", 1, int(latent) + int(rope)
        per_token_layer = head_dim
    # config.json files may still say torch_dtype; config objects say dtype (torch_dtype is deprecated).
    named = _get(cfg, ("dtype",)) or (cfg.get("torch_dtype") if isinstance(cfg, Mapping) else None)
    dtype_name = dtypes.canonical(str(dtype or named or "float32").removeprefix("torch."))
    if not dtypes.known(dtype_name):
        raise option_error("dtype", "a known dtype name such as 'float16'", dtype)
    elem = dtypes.get(dtype_name).nbytes(1)

    window = _window(cfg)
    kinds = _layer_kinds(cfg, int(layers), window)
    total = 0
    for sliding in kinds:
        tokens = min(context_length, window - 1) if (sliding and window) else context_length
        total += per_token_layer * tokens * batch * elem
    return KVCache(
        total_bytes=total,
        layers=int(layers),
        sliding_layers=sum(kinds),
        kv_heads=kv_heads,
        head_dim=head_dim,
        context_length=context_length,
        batch=batch,
        dtype=dtype_name,
        sliding_window=window,
        attention=attention,
        elements_per_token_layer=per_token_layer,
    )


def _window(cfg: Any) -> int | None:
    window = _get(cfg, ("sliding_window",))
    if _get(cfg, ("use_sliding_window",)) is False:
        return None
    return int(window) if isinstance(window, int) and window > 0 else None


def _layer_kinds(cfg: Any, layers: int, window: int | None) -> list[bool]:
    """Per layer: does it attend through the sliding window?"""
    if window is None:
        return [False] * layers
    types = _get(cfg, ("layer_types",))
    if isinstance(types, (list, tuple)) and len(types) == layers:
        return [str(t).startswith("sliding") for t in types]
    pattern = _get(cfg, ("sliding_window_pattern",))
    if isinstance(pattern, int) and pattern > 0:
        # Gemma 3: every ``pattern``-th layer is global, the others slide.
        return [(i + 1) % pattern != 0 for i in range(layers)]
    max_window_layers = _get(cfg, ("max_window_layers",))
    if isinstance(max_window_layers, int) and _get(cfg, ("use_sliding_window",)) is True:
        # Qwen2: layers from max_window_layers on use the window.
        return [i >= max_window_layers for i in range(layers)]
    return [True] * layers

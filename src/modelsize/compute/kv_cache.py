"""Inference cache bytes (K/V and recurrent state) from a Hugging Face style config.

One model for every architecture, layer by layer. Each decoder layer is one of

* **full attention** — ``2 (K and V) × kv_heads × head_dim`` elements per cached token
  (multi-head, grouped-query via ``num_key_value_heads``, multi-query);
* **sliding attention** — the same, over ``min(context, window − 1)`` tokens: what transformers'
  ``DynamicSlidingWindowLayer`` keeps between forward calls (``sliding_window``; Qwen-style
  ``use_sliding_window``/``max_window_layers``; Gemma-style ``layer_types`` /
  ``sliding_window_pattern``);
* **latent attention** (DeepSeek-V2/V3 MLA) — ``kv_lora_rank + qk_rope_head_dim`` per token:
  the compressed latent and the shared rotary key, what transformers passes to ``cache.update``;
* **recurrent state** (Mamba, the Mamba layers of Jamba) — a fixed size per sequence whatever the
  context: the convolution window ``intermediate × d_conv`` plus the SSM state
  ``intermediate × d_state`` (Mamba-2: ``(intermediate + 2 × groups × d_state) × d_conv`` and
  ``heads × head_dim × d_state``);

and an encoder–decoder model (BART, T5, Whisper) adds, on every **decoder** layer, a
cross-attention K/V over the encoder's output: ``2 × heads × head_dim × encoder_length``.
The depth is the decoder's own (``decoder_layers``, ``num_decoder_layers``) — never
``num_hidden_layers``, which transformers maps to the *encoder* on those configs. The encoder
length is the ``encoder_length`` option, else the config's fixed one (Whisper pads every input to
30 s: ``max_source_positions`` = 1,500 frames), else the context length (stated as an assumption).

``layer_types`` (``full_attention``, ``sliding_attention``, ``linear_attention``/``mamba``) is read
whenever the config has it; Jamba's ``attn_layer_period``/``attn_layer_offset`` otherwise.

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
_DECODER_LAYERS = ("decoder_layers", "num_decoder_layers")
_DECODER_HEADS = ("decoder_attention_heads", "num_decoder_attention_heads")
_SSM_TYPES = ("mamba", "mamba2", "falcon_mamba")
#: layer_types names → our layer kinds
_KINDS = {"full_attention": "full", "attention": "full", "global_attention": "full",
          "sliding_attention": "sliding", "local_attention": "sliding",
          "linear_attention": "state", "mamba": "state"}


@dataclass(frozen=True)
class KVCache:
    """The cache size and every number that went into it.

    ``total_bytes`` = ``self_attention_bytes + cross_attention_bytes + state_bytes``:
    the K/V of the decoder's own attention, the K/V over the encoder output
    (encoder–decoder models) and the fixed-size recurrent state (state-space layers).
    """

    total_bytes: int
    layers: int  #: decoder depth (all decoder layers, whatever their kind)
    sliding_layers: int
    kv_heads: int
    head_dim: int
    context_length: int
    batch: int
    dtype: str
    sliding_window: int | None
    attention: str = "grouped-query"  #: multi-head, grouped-query, multi-query, latent (MLA) or none
    elements_per_token_layer: int | None = None  #: cached elements per token and attention layer
    attention_layers: int | None = None  #: decoder layers with a self-attention K/V (None: all)
    self_attention_bytes: int | None = None
    cross_attention_layers: int = 0
    cross_attention_bytes: int = 0
    encoder_length: int | None = None
    encoder_length_source: str | None = None  #: "option", "config (max_source_positions)" or "context length"
    state_layers: int = 0
    conv_state_bytes: int = 0
    ssm_state_bytes: int = 0

    @property
    def per_token_layer(self) -> int:
        if self.elements_per_token_layer is not None:
            return self.elements_per_token_layer
        return 2 * self.kv_heads * self.head_dim

    @property
    def kv_layers(self) -> int:
        return self.layers if self.attention_layers is None else self.attention_layers

    @property
    def kv_bytes(self) -> int:
        """K/V bytes: self-attention plus cross-attention."""
        own = self.total_bytes - self.state_bytes - self.cross_attention_bytes \
            if self.self_attention_bytes is None else self.self_attention_bytes
        return own + self.cross_attention_bytes

    @property
    def state_bytes(self) -> int:
        """Recurrent (conv + SSM) state bytes: fixed per sequence, whatever the context."""
        return self.conv_state_bytes + self.ssm_state_bytes

    @property
    def bytes_per_token(self) -> int:
        """Self-attention cache bytes per token of one sequence at full attention (no window reached)."""
        return self.kv_layers * self.per_token_layer * dtypes.get(self.dtype).nbytes(1)

    @property
    def cached_tokens_sliding(self) -> int | None:
        """Tokens a sliding layer keeps at this context: ``min(context, window − 1)``."""
        return None if self.sliding_window is None else min(self.context_length, self.sliding_window - 1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "total_bytes": self.total_bytes,
            "kv_bytes": self.kv_bytes,
            "self_attention_bytes": self.kv_bytes - self.cross_attention_bytes,
            "cross_attention_bytes": self.cross_attention_bytes,
            "state_bytes": self.state_bytes,
            "conv_state_bytes": self.conv_state_bytes,
            "ssm_state_bytes": self.ssm_state_bytes,
            "bytes_per_token": self.bytes_per_token,
            "layers": self.layers,
            "attention_layers": self.kv_layers,
            "sliding_layers": self.sliding_layers,
            "cross_attention_layers": self.cross_attention_layers,
            "state_layers": self.state_layers,
            "kv_heads": self.kv_heads,
            "head_dim": self.head_dim,
            "context_length": self.context_length,
            "encoder_length": self.encoder_length,
            "encoder_length_source": self.encoder_length_source,
            "batch": self.batch,
            "dtype": self.dtype,
            "sliding_window": self.sliding_window,
            "attention": self.attention,
            "elements_per_token_layer": self.per_token_layer,
            "formula": _formula(self),
        }


def _formula(cache: KVCache) -> str:
    parts = []
    if cache.kv_layers:
        parts.append("Σ_layers (kv_lora_rank + qk_rope_head_dim) × tokens × batch × bytes (latent attention)"
                     if cache.attention == "latent"
                     else "2 × Σ_attention layers kv_heads × head_dim × tokens × batch × bytes; tokens = context, "
                          "or min(context, window − 1) on sliding layers (what transformers keeps)")
    if cache.cross_attention_layers:
        parts.append("2 × decoder layers × heads × head_dim × encoder_length × batch × bytes (cross-attention)")
    if cache.state_layers:
        parts.append("state layers × (conv state + SSM state) × batch × bytes (fixed per sequence)")
    return "; ".join(parts) + "."


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


def _model_type(cfg: Any) -> str:
    return str(_get(cfg, ("model_type",)) or "")


def is_encoder_decoder_config(config: Any) -> bool:
    """Whether ``config`` describes an encoder–decoder model whose decoder has its own depth keys."""
    cfg = text_config(config)
    if _get(cfg, ("is_encoder_decoder",)) is True:
        return _get(cfg, _DECODER_LAYERS + _LAYERS) is not None
    return _get(cfg, _DECODER_LAYERS) is not None and _get(cfg, ("encoder_layers",)) is not None


def _is_ssm(cfg: Any) -> bool:
    return _model_type(cfg) in _SSM_TYPES


def is_decoder_config(config: Any) -> bool:
    """Whether ``config`` has what a cache size needs (layers and heads and hidden size, or a state model)."""
    cfg = text_config(config)
    if _is_ssm(cfg):
        return _get(cfg, _LAYERS) is not None and _get(cfg, _HIDDEN) is not None
    return all(_get(cfg, names) is not None for names in (_LAYERS, _HEADS, _HIDDEN))


def _check_positive(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise option_error(name, "an integer > 0", value)


def _dtype_name(cfg: Any, dtype: str | None) -> str:
    # config.json files may still say torch_dtype; config objects say dtype (torch_dtype is deprecated).
    named = _get(cfg, ("dtype",)) or (cfg.get("torch_dtype") if isinstance(cfg, Mapping) else None)
    name = dtypes.canonical(str(dtype or named or "float32").removeprefix("torch."))
    if not dtypes.known(name):
        raise option_error("dtype", "a known dtype name such as 'float16'", dtype)
    return name


@dataclass(frozen=True)
class _Attention:
    """Self-attention geometry of one decoder layer."""

    kv_heads: int
    head_dim: int
    kind: str
    per_token: int  #: cached elements per token


def _attention(cfg: Any, heads_keys: tuple[str, ...] = _HEADS, kv_keys: tuple[str, ...] | None = None) -> _Attention:
    heads, hidden = _get(cfg, heads_keys), _get(cfg, _HIDDEN)
    if heads is None or hidden is None:
        raise ModelStateError(
            "The config does not say how many layers, attention heads and hidden units the model "
            "has (num_hidden_layers, num_attention_heads, hidden_size): no KV-cache size."
        )
    kv_keys = ("num_key_value_heads", "num_kv_heads", "n_head_kv", "multi_query_group_num") if kv_keys is None else kv_keys
    kv_heads = int(_get(cfg, kv_keys) or heads) if kv_keys else int(heads)
    if _get(cfg, ("multi_query",)) is True:
        kv_heads = 1
    head_dim = int(_get(cfg, ("head_dim", "d_kv")) or int(hidden) // int(heads))
    kind = "multi-head" if kv_heads == int(heads) else "multi-query" if kv_heads == 1 else "grouped-query"
    latent = _get(cfg, ("kv_lora_rank",))
    if latent is None:
        return _Attention(kv_heads, head_dim, kind, 2 * kv_heads * head_dim)
    rope = _get(cfg, ("qk_rope_head_dim",))
    if rope is None:
        raise ModelStateError("The config uses multi-head latent attention (kv_lora_rank) but does not say "
                              "qk_rope_head_dim: no KV-cache size.")
    return _Attention(1, int(latent) + int(rope), "latent", int(latent) + int(rope))


def _state_elements(cfg: Any) -> tuple[int, int]:
    """Per sequence and state layer: (conv state, SSM state) elements, as transformers allocates them."""
    hidden = _get(cfg, _HIDDEN)
    d_state = _get(cfg, ("mamba_d_state", "state_size", "ssm_state_size"))
    d_conv = _get(cfg, ("mamba_d_conv", "conv_kernel", "d_conv"))
    expand = _get(cfg, ("mamba_expand", "expand"))
    if not all(isinstance(v, int) and v > 0 for v in (hidden, d_state, d_conv, expand)):
        raise ModelStateError(
            "The config has recurrent (state-space) layers but does not say their state size, convolution "
            "width and expansion (state_size/mamba_d_state, conv_kernel/mamba_d_conv, expand/mamba_expand): "
            "no cache size."
        )
    inner = int(expand) * int(hidden)
    if _model_type(cfg) in ("mamba", "falcon_mamba") and isinstance(_get(cfg, ("intermediate_size",)), int):
        inner = int(_get(cfg, ("intermediate_size",)))  # Mamba states it; it is expand × hidden by default
    if _model_type(cfg) == "mamba2":
        groups, heads, head_dim = (_get(cfg, (k,)) for k in ("n_groups", "num_heads", "head_dim"))
        if not all(isinstance(v, int) and v > 0 for v in (groups, heads, head_dim)):
            raise ModelStateError("A Mamba-2 config must say n_groups, num_heads and head_dim: no cache size.")
        return (inner + 2 * groups * d_state) * d_conv, heads * head_dim * d_state
    return inner * d_conv, inner * d_state


def kv_cache_size(config: Any, context_length: int, batch: int = 1, dtype: str | None = None, *,
                  encoder_length: int | None = None) -> KVCache:
    """Inference cache (K/V and recurrent state) for ``batch`` sequences of ``context_length`` tokens.

    ``dtype`` defaults to the config's ``torch_dtype``/``dtype`` (float32 if it names none).
    ``encoder_length`` is the encoder output length the cross-attention of an encoder–decoder model
    attends over (default: fixed by the config, as Whisper's 1,500 frames, else ``context_length``).
    """
    _check_positive("context_length", context_length)
    _check_positive("batch", batch)
    if encoder_length is not None:
        _check_positive("encoder_length", encoder_length)
    cfg = text_config(config)
    dtype_name = _dtype_name(cfg, dtype)
    elem = dtypes.get(dtype_name).nbytes(1)
    if is_encoder_decoder_config(cfg):
        return _encoder_decoder(cfg, context_length, batch, dtype_name, elem, encoder_length)
    layers = _get(cfg, _LAYERS)
    if layers is None:
        raise ModelStateError(
            "The config does not say how many layers, attention heads and hidden units the model "
            "has (num_hidden_layers, num_attention_heads, hidden_size): no KV-cache size."
        )
    window = _window(cfg)
    kinds = _layer_kinds(cfg, int(layers), window)
    n_attention = sum(k != "state" for k in kinds)
    attn = _attention(cfg) if n_attention else _Attention(0, 0, "none", 0)
    own = 0
    for kind in kinds:
        if kind != "state":
            tokens = min(context_length, window - 1) if (kind == "sliding" and window) else context_length
            own += attn.per_token * tokens * batch * elem
    n_state = len(kinds) - n_attention
    conv, ssm = _state_elements(cfg) if n_state else (0, 0)
    conv_bytes, ssm_bytes = (n_state * e * batch * elem for e in (conv, ssm))
    return KVCache(
        total_bytes=own + conv_bytes + ssm_bytes, layers=int(layers), sliding_layers=kinds.count("sliding"),
        kv_heads=attn.kv_heads, head_dim=attn.head_dim, context_length=context_length, batch=batch,
        dtype=dtype_name, sliding_window=window,
        attention=attn.kind, elements_per_token_layer=attn.per_token, attention_layers=n_attention,
        self_attention_bytes=own, state_layers=n_state, conv_state_bytes=conv_bytes, ssm_state_bytes=ssm_bytes,
    )


def _encoder_decoder(cfg: Any, context: int, batch: int, dtype_name: str, elem: int,
                     encoder_length: int | None) -> KVCache:
    """Decoder self-attention over the context plus cross-attention over the encoder output, per decoder layer."""
    layers = int(_get(cfg, _DECODER_LAYERS) or _get(cfg, _LAYERS))
    # Decoder heads; the KV heads are the decoder's own (Whisper maps num_key_value_heads to the encoder's).
    attn = _attention(cfg, _DECODER_HEADS + _HEADS, kv_keys=("decoder_num_key_value_heads",))
    source = "option"
    if encoder_length is None:
        fixed = _get(cfg, ("max_source_positions",)) if _model_type(cfg) == "whisper" else None
        if isinstance(fixed, int) and fixed > 0:
            encoder_length, source = fixed, "config (max_source_positions: Whisper pads every input to 30 s)"
        else:
            encoder_length, source = context, "context length (no encoder_length given)"
    own = layers * attn.per_token * context * batch * elem
    cross = layers * 2 * attn.kv_heads * attn.head_dim * encoder_length * batch * elem
    return KVCache(
        total_bytes=own + cross, layers=layers, sliding_layers=0, kv_heads=attn.kv_heads, head_dim=attn.head_dim,
        context_length=context, batch=batch, dtype=dtype_name, sliding_window=None, attention=attn.kind,
        elements_per_token_layer=attn.per_token, attention_layers=layers, self_attention_bytes=own,
        cross_attention_layers=layers, cross_attention_bytes=cross, encoder_length=encoder_length,
        encoder_length_source=source,
    )


def _window(cfg: Any) -> int | None:
    window = _get(cfg, ("sliding_window",))
    if _get(cfg, ("use_sliding_window",)) is False:
        return None
    return int(window) if isinstance(window, int) and window > 0 else None


def _layer_kinds(cfg: Any, layers: int, window: int | None) -> list[str]:
    """Per decoder layer: ``full``, ``sliding`` (attends through the window) or ``state`` (recurrent)."""
    types = _get(cfg, ("layer_types",))
    if isinstance(types, (list, tuple)) and len(types) == layers:
        kinds = []
        for t in types:
            kind = _KINDS.get(str(t))
            if kind is None:
                raise ModelStateError(f"The config's layer_types names {str(t)!r}, a layer kind modelsize has no "
                                      "cache model for: no cache size (kinds known: "
                                      f"{', '.join(sorted(_KINDS))}).")
            kinds.append("full" if kind == "sliding" and window is None else kind)
        return kinds
    if _is_ssm(cfg):
        return ["state"] * layers
    period, offset = _get(cfg, ("attn_layer_period",)), _get(cfg, ("attn_layer_offset",))
    if isinstance(period, int) and period > 0 and isinstance(offset, int):
        # Jamba: attention on layer i when i % period == offset, Mamba elsewhere.
        return ["full" if i % period == offset else "state" for i in range(layers)]
    if window is None:
        return ["full"] * layers
    pattern = _get(cfg, ("sliding_window_pattern",))
    if isinstance(pattern, int) and pattern > 0:
        # Gemma 3: every ``pattern``-th layer is global, the others slide.
        return ["full" if (i + 1) % pattern == 0 else "sliding" for i in range(layers)]
    max_window_layers = _get(cfg, ("max_window_layers",))
    if isinstance(max_window_layers, int) and _get(cfg, ("use_sliding_window",)) is True:
        # Qwen2: layers from max_window_layers on use the window.
        return ["sliding" if i >= max_window_layers else "full" for i in range(layers)]
    return ["sliding"] * layers

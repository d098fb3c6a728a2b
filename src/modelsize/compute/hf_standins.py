"""Llama, Mistral, Qwen2 and Mixtral decoders from ``config.json`` without importing transformers.

Importing transformers and its modeling module costs more CPU time than ``import torch``
itself (issue 29: Llama-3-70B at 8,192 tokens took 4.3× ``import torch``, transformers' imports
alone 1.8×). For the decoder-only families whose structure is simple and fixed, this module builds
stand-ins on the meta device with the same parameter names, shapes, module class names and
forward ops as transformers' (5.x) SDPA implementation — RMSNorm in float32, rotary embedding,
grouped-query attention through ``scaled_dot_product_attention`` (``enable_gqa`` when transformers
uses it, ``repeat_kv`` otherwise), SwiGLU MLP (Mixtral: its sparse MoE block, top-k router and experts in
3-D tensors), tied or untied ``lm_head``, a dynamic KV cache that
concatenates each layer's keys and values — so every figure of a profile (FLOPs per op and per
module, coverage, forward/training memory, KV cache) equals the transformers-built model's
(``tests/compute/test_compute_hf_standins.py`` compares them figure by figure).

:func:`standin_spec` is conservative: a config is taken only when its family is known and every
key in it is one whose effect is understood (anything else — sliding windows, rope types that
change the forward, another activation, another architecture class, an unknown key — returns
``None`` and the transformers path builds the model). Only token-id inputs are taken (masks and
embeddings as inputs go through transformers, which builds masks with ops of its own).

This module imports torch at import time; it is imported lazily by :mod:`.from_config` only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

_COMMON_KEYS = frozenset({
    "architectures", "model_type", "hidden_size", "intermediate_size", "num_hidden_layers",
    "num_attention_heads", "num_key_value_heads", "vocab_size", "max_position_embeddings", "rope_theta",
    "rope_scaling", "rope_parameters", "rms_norm_eps", "hidden_act", "tie_word_embeddings", "torch_dtype",
    "dtype", "use_cache", "attention_dropout", "initializer_range", "bos_token_id", "eos_token_id",
    "pad_token_id", "transformers_version", "_name_or_path", "head_dim", "pretraining_tp",
})
#: Rope types whose forward is the default one (only the inverse frequencies' values differ).
_PLAIN_ROPE = frozenset({"default", "linear", "llama3"})
_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


@dataclass(frozen=True)
class Family:
    prefix: str  #: class-name prefix transformers uses (LlamaForCausalLM, ...)
    extra_keys: frozenset[str]
    qkv_bias: bool | None  #: None: ``attention_bias`` from the config
    o_bias: bool | None
    mlp_bias: bool | None  #: None: ``mlp_bias`` from the config
    moe: bool = False  #: a sparse mixture-of-experts block in place of the MLP (Mixtral)
    kv_heads: int | None = None  #: transformers' default when the key is absent (None: the attention heads)
    eps: float = 1e-6  #: transformers' default ``rms_norm_eps``


FAMILIES = {
    "llama": Family("Llama", frozenset({"attention_bias", "mlp_bias"}), None, None, None),
    "mistral": Family("Mistral", frozenset({"sliding_window"}), False, False, False, kv_heads=8),
    "qwen2": Family("Qwen2", frozenset({"use_sliding_window", "sliding_window", "max_window_layers",
                                        "layer_types"}), True, False, False, kv_heads=32),
    "mixtral": Family("Mixtral", frozenset({"sliding_window", "num_local_experts", "num_experts_per_tok",
                                            "output_router_logits", "router_aux_loss_coef", "router_jitter_noise"}),
                      False, False, False, moe=True, kv_heads=8, eps=1e-5),
}


@dataclass(frozen=True)
class StandinSpec:
    """What the stand-in needs from a config, checked."""

    family: Family
    hidden: int
    intermediate: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    vocab: int
    qkv_bias: bool
    o_bias: bool
    mlp_bias: bool
    tie: bool
    use_cache: bool
    eps: float
    pad: int | None
    dtype: Any  #: torch dtype or None (float32, as transformers leaves it)
    config: dict[str, Any]  #: what kv_cache_size reads, normalised like transformers' config object
    experts: int = 0  #: experts per MoE layer (0: a dense MLP)
    top_k: int = 0  #: experts per token


def _int(data: dict[str, Any], key: str, default: Any = None) -> int | None:
    value = data.get(key, default)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _plain_rope(value: Any) -> bool:
    if value is None:
        return True
    if not isinstance(value, dict):
        return False
    kind = value.get("rope_type", value.get("type", "default"))
    return kind in _PLAIN_ROPE


def _experts(family: Family, data: dict[str, Any]) -> tuple[int, int] | None:
    """(experts, top_k) of a MoE family, (0, 0) for a dense one; None when not understood.

    Router logits as an output add the load-balancing loss to the forward, and jitter noise
    multiplies the hidden states in training: both change the ops, so both must be off."""
    if not family.moe:
        return 0, 0
    experts, top_k = _int(data, "num_local_experts", 8), _int(data, "num_experts_per_tok", 2)
    if experts is None or top_k is None or top_k > experts \
            or data.get("output_router_logits", False) is not False \
            or data.get("router_jitter_noise", 0.0) not in (0, 0.0) \
            or not isinstance(data.get("router_aux_loss_coef", 0.001), (int, float)):
        return None
    return experts, top_k


def _family_ok(family: Family, data: dict[str, Any], layers: int) -> bool:
    if family.prefix == "Mixtral":  # transformers' default window is None: absent or null
        return data.get("sliding_window") is None and _experts(family, data) is not None
    if family.prefix == "Mistral":  # transformers' default window is 4096: the key must say null
        return "sliding_window" in data and data["sliding_window"] is None
    if family.prefix == "Qwen2":
        types = data.get("layer_types")
        full = types is None or (isinstance(types, list) and len(types) == layers
                                 and all(t == "full_attention" for t in types))
        return data.get("use_sliding_window", False) is False and full
    return all(isinstance(data.get(k, False), bool) for k in ("attention_bias", "mlp_bias"))


def standin_spec(data: Any) -> StandinSpec | None:
    """The checked stand-in spec of a parsed ``config.json``, or None when transformers must build it."""
    if not isinstance(data, dict) or not isinstance(data.get("model_type"), str):
        return None
    family = FAMILIES.get(data["model_type"])
    if family is None or set(data) - _COMMON_KEYS - family.extra_keys:
        return None
    sizes = [_int(data, k) for k in ("hidden_size", "intermediate_size", "num_hidden_layers",
                                     "num_attention_heads", "vocab_size")]
    if None in sizes:
        return None
    hidden, intermediate, layers, heads, vocab = sizes
    kv_heads = _int(data, "num_key_value_heads") if data.get("num_key_value_heads") is not None \
        else heads if "num_key_value_heads" in data or family.kv_heads is None else family.kv_heads
    head_dim = _int(data, "head_dim", hidden // heads) if data.get("head_dim") is not None else hidden // heads
    named = data.get("dtype") or data.get("torch_dtype")
    pad = data.get("pad_token_id")
    if (kv_heads is None or head_dim is None or head_dim % 2 or heads % kv_heads or hidden % heads
            or data.get("architectures", [f"{family.prefix}ForCausalLM"]) != [f"{family.prefix}ForCausalLM"]
            or data.get("hidden_act", "silu") != "silu" or not _family_ok(family, data, layers)
            or not (_plain_rope(data.get("rope_scaling")) and _plain_rope(data.get("rope_parameters")))
            or not isinstance(data.get("tie_word_embeddings", False), bool)
            or not isinstance(data.get("use_cache", True), bool)
            or data.get("attention_dropout", 0.0) not in (0, 0.0)
            or not isinstance(data.get("rms_norm_eps", family.eps), (int, float))
            or (named is not None and named not in _DTYPES)
            or not (pad is None or (isinstance(pad, int) and 0 <= pad < vocab))):
        return None
    config = {"model_type": data["model_type"], "num_hidden_layers": layers, "num_attention_heads": heads,
              "num_key_value_heads": kv_heads, "hidden_size": hidden, "head_dim": head_dim,
              "vocab_size": vocab, "dtype": named, "sliding_window": None,
              "layer_types": ["full_attention"] * layers}
    return StandinSpec(
        family=family, hidden=hidden, intermediate=intermediate, layers=layers, heads=heads,
        kv_heads=kv_heads, head_dim=head_dim, vocab=vocab,
        qkv_bias=family.qkv_bias if family.qkv_bias is not None else data.get("attention_bias", False),
        o_bias=family.o_bias if family.o_bias is not None else data.get("attention_bias", False),
        mlp_bias=family.mlp_bias if family.mlp_bias is not None else data.get("mlp_bias", False),
        tie=data.get("tie_word_embeddings", False), use_cache=data.get("use_cache", True),
        eps=float(data.get("rms_norm_eps", family.eps)), pad=pad, dtype=_DTYPES.get(named) if named else None,
        config=config, experts=_experts(family, data)[0], top_k=_experts(family, data)[1],
    )


# --------------------------------------------------------------------------- the modules


class RMSNorm(nn.Module):
    def __init__(self, hidden: int, eps: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden))
        self.variance_epsilon = eps

    def forward(self, hidden_states: Any) -> Any:
        input_dtype = hidden_states.dtype
        hidden_states = hidden_states.to(torch.float32)
        variance = hidden_states.pow(2).mean(-1, keepdim=True)
        hidden_states = hidden_states * torch.rsqrt(variance + self.variance_epsilon)
        return self.weight * hidden_states.to(input_dtype)

    def extra_repr(self) -> str:
        return f"{tuple(self.weight.shape)}, eps={self.variance_epsilon}"


class RotaryEmbedding(nn.Module):
    def __init__(self, head_dim: int) -> None:
        super().__init__()
        inv_freq = torch.empty(len(range(0, head_dim, 2)), dtype=torch.float)
        self.attention_scaling = 1.0
        self.inv_freq = nn.Buffer(inv_freq, persistent=False)
        self.original_inv_freq = nn.Buffer(inv_freq.clone(), persistent=False)

    def forward(self, x: Any, position_ids: Any) -> Any:
        freqs = position_ids[..., None].float() * self.inv_freq.to(device=x.device, dtype=torch.float)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos = emb.cos() * self.attention_scaling
        sin = emb.sin() * self.attention_scaling
        return cos.to(dtype=x.dtype), sin.to(dtype=x.dtype)


def _rotate_half(x: Any) -> Any:
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def _apply_rotary(q: Any, k: Any, cos: Any, sin: Any) -> tuple[Any, Any]:
    """A function, as in transformers: the unrotated q and k stay alive until both are rotated (same peak)."""
    cos = cos.unsqueeze(1)
    sin = sin.unsqueeze(1)
    q_embed = (q * cos) + (_rotate_half(q) * sin)
    k_embed = (k * cos) + (_rotate_half(k) * sin)
    return q_embed, k_embed


def _repeat_kv(hidden_states: Any, n_rep: int) -> Any:
    batch, kv_heads, slen, head_dim = hidden_states.shape
    if n_rep == 1:
        return hidden_states
    hidden_states = hidden_states[:, :, None, :, :].expand(batch, kv_heads, n_rep, slen, head_dim)
    return hidden_states.reshape(batch, kv_heads * n_rep, slen, head_dim)


class DynamicCache:
    """Keys and values per layer, grown by concatenation (transformers' ``DynamicLayer``)."""

    def __init__(self) -> None:
        self.layers: dict[int, list[Any]] = {}

    def update(self, key: Any, value: Any, layer_idx: int) -> tuple[Any, Any]:
        if layer_idx not in self.layers:
            self.layers[layer_idx] = [torch.tensor([], dtype=key.dtype, device=key.device),
                                      torch.tensor([], dtype=value.dtype, device=value.device)]
        kv = self.layers[layer_idx]
        kv[0] = torch.cat([kv[0], key], dim=-2)
        kv[1] = torch.cat([kv[1], value], dim=-2)
        return kv[0], kv[1]


def _sdpa(module: "Attention", query: Any, key: Any, value: Any, dropout: float) -> Any:
    """transformers' ``sdpa_attention_forward`` with no mask (causal, as it is called here)."""
    kwargs: dict[str, Any] = {}
    q_length = query.shape[2]
    groups = module.num_key_value_groups
    if groups > 1:
        if os.environ.get("TRANSFORMERS_SDPA_FORCE_GQA", "0") == "1" or key.shape[-1] == value.shape[-1] <= 256:
            kwargs["enable_gqa"] = True
        elif q_length == 1:
            query = query.reshape(query.shape[0], query.shape[1] // groups, groups, query.shape[-1])
        else:
            key, value = _repeat_kv(key, groups), _repeat_kv(value, groups)
    out = torch.nn.functional.scaled_dot_product_attention(
        query, key, value, attn_mask=None, dropout_p=dropout, scale=module.scaling, is_causal=q_length > 1,
        **kwargs)
    out = out.reshape(out.shape[0], -1, q_length, value.shape[-1])
    return out.transpose(1, 2).contiguous()


class Attention(nn.Module):
    def __init__(self, spec: StandinSpec, layer_idx: int) -> None:
        super().__init__()
        self.layer_idx = layer_idx
        self.head_dim = spec.head_dim
        self.num_key_value_groups = spec.heads // spec.kv_heads
        self.scaling = spec.head_dim ** -0.5
        self.attention_dropout = 0.0
        self.is_causal = True
        self.q_proj = nn.Linear(spec.hidden, spec.heads * spec.head_dim, bias=spec.qkv_bias)
        self.k_proj = nn.Linear(spec.hidden, spec.kv_heads * spec.head_dim, bias=spec.qkv_bias)
        self.v_proj = nn.Linear(spec.hidden, spec.kv_heads * spec.head_dim, bias=spec.qkv_bias)
        self.o_proj = nn.Linear(spec.heads * spec.head_dim, spec.hidden, bias=spec.o_bias)

    def forward(self, hidden_states: Any, position_embeddings: Any, cache: Any = None) -> Any:
        input_shape = hidden_states.shape[:-1]
        hidden_shape = (*input_shape, -1, self.head_dim)
        query = self.q_proj(hidden_states).view(hidden_shape).transpose(1, 2)
        key = self.k_proj(hidden_states).view(hidden_shape).transpose(1, 2)
        value = self.v_proj(hidden_states).view(hidden_shape).transpose(1, 2)
        query, key = _apply_rotary(query, key, *position_embeddings)
        if cache is not None:
            key, value = cache.update(key, value, self.layer_idx)
        out = _sdpa(self, query, key, value, 0.0 if not self.training else self.attention_dropout)
        out = out.reshape(*input_shape, -1).contiguous()
        return self.o_proj(out), None


class SiLUActivation(nn.Module):
    """transformers' ``ACT2FN["silu"]``: a module of its own, with a row in the profile."""

    def forward(self, input: Any) -> Any:
        return nn.functional.silu(input)


class MLP(nn.Module):
    def __init__(self, spec: StandinSpec) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(spec.hidden, spec.intermediate, bias=spec.mlp_bias)
        self.up_proj = nn.Linear(spec.hidden, spec.intermediate, bias=spec.mlp_bias)
        self.down_proj = nn.Linear(spec.intermediate, spec.hidden, bias=spec.mlp_bias)
        self.act_fn = SiLUActivation()

    def forward(self, x: Any) -> Any:
        return self.down_proj(self.act_fn(self.gate_proj(x)) * self.up_proj(x))


class TopKRouter(nn.Module):
    """transformers' ``MixtralTopKRouter``: softmax over the experts in float32, top-k, renormalised."""

    def __init__(self, spec: StandinSpec) -> None:
        super().__init__()
        self.top_k = spec.top_k
        self.num_experts = spec.experts
        self.hidden_dim = spec.hidden
        self.weight = nn.Parameter(torch.empty(spec.experts, spec.hidden))

    def forward(self, hidden_states: Any) -> tuple[Any, Any, Any]:
        hidden_states = hidden_states.reshape(-1, self.hidden_dim)
        router_logits = nn.functional.linear(hidden_states, self.weight)
        router_probs = nn.functional.softmax(router_logits.float(), dim=-1)
        router_top_value, router_indices = torch.topk(router_probs, self.top_k, dim=-1)
        router_top_value /= router_top_value.sum(dim=-1, keepdim=True)
        return router_logits, router_top_value, router_indices


class Experts(nn.Module):
    """transformers' ``MixtralExperts``: every expert's weights in two 3-D tensors.

    Its forward routes by values (``nonzero``), as transformers' eager one does; a profile replaces
    it with the routing-free stand-in of :mod:`.moe`, as it does for transformers' module."""

    def __init__(self, spec: StandinSpec) -> None:
        super().__init__()
        self.num_experts = spec.experts
        self.hidden_dim = spec.hidden
        self.intermediate_dim = spec.intermediate
        self.gate_up_proj = nn.Parameter(torch.empty(spec.experts, 2 * spec.intermediate, spec.hidden))
        self.down_proj = nn.Parameter(torch.empty(spec.experts, spec.hidden, spec.intermediate))
        self.act_fn = SiLUActivation()
        # what transformers' use_experts_implementation sets (the layout the MoE stand-in reads)
        self.has_gate, self.has_bias, self.has_post_expert_norm, self.is_transposed = True, False, False, False

    def _apply_gate(self, gate_up_out: Any) -> Any:
        gate, up = gate_up_out.chunk(2, dim=-1)
        return self.act_fn(gate) * up

    def forward(self, hidden_states: Any, top_k_index: Any, top_k_weights: Any) -> Any:
        final = torch.zeros_like(hidden_states)
        with torch.no_grad():
            expert_mask = nn.functional.one_hot(top_k_index, num_classes=self.num_experts + 1).permute(2, 1, 0)
            expert_hit = torch.greater(expert_mask.sum(dim=(-1, -2)), 0).nonzero()
        for expert_idx in expert_hit:
            expert_idx = expert_idx[0]
            if expert_idx == self.num_experts:
                continue
            top_k_pos, token_idx = torch.where(expert_mask[expert_idx])
            out = self._apply_gate(nn.functional.linear(hidden_states[token_idx], self.gate_up_proj[expert_idx]))
            out = nn.functional.linear(out, self.down_proj[expert_idx]) * top_k_weights[token_idx, top_k_pos, None]
            final.index_add_(0, token_idx, out.to(final.dtype))
        return final


class SparseMoeBlock(nn.Module):
    """transformers' ``MixtralSparseMoeBlock`` (no jitter noise: configs with it are not taken)."""

    def __init__(self, spec: StandinSpec) -> None:
        super().__init__()
        self.top_k = spec.top_k
        self.jitter_noise = 0.0
        self.gate = _named(TopKRouter, spec)(spec)
        self.experts = _named(Experts, spec)(spec)

    def forward(self, hidden_states: Any) -> Any:
        batch_size, sequence_length, hidden_dim = hidden_states.shape
        hidden_states = hidden_states.view(-1, hidden_states.shape[-1])
        _, top_k_weights, top_k_index = self.gate(hidden_states)
        hidden_states = self.experts(hidden_states, top_k_index, top_k_weights)
        return hidden_states.reshape(batch_size, sequence_length, hidden_dim)


class DecoderLayer(nn.Module):
    def __init__(self, spec: StandinSpec, layer_idx: int) -> None:
        super().__init__()
        self.self_attn = _named(Attention, spec)(spec, layer_idx)
        self.mlp = _named(SparseMoeBlock, spec)(spec) if spec.experts else _named(MLP, spec)(spec)
        self.input_layernorm = _named(RMSNorm, spec)(spec.hidden, spec.eps)
        self.post_attention_layernorm = _named(RMSNorm, spec)(spec.hidden, spec.eps)

    def forward(self, hidden_states: Any, position_embeddings: Any = None, cache: Any = None) -> Any:
        residual = hidden_states
        hidden_states = self.input_layernorm(hidden_states)
        # keywords, as transformers calls it: module hooks see the same positional arguments
        hidden_states, _ = self.self_attn(hidden_states=hidden_states, position_embeddings=position_embeddings,
                                          cache=cache)
        hidden_states = residual + hidden_states
        residual = hidden_states
        hidden_states = self.post_attention_layernorm(hidden_states)
        hidden_states = self.mlp(hidden_states)
        return residual + hidden_states


class Model(nn.Module):
    def __init__(self, spec: StandinSpec) -> None:
        super().__init__()
        self.use_cache = spec.use_cache
        # the weight given: no normal_ initialisation, whose meta kernel imports torch._dynamo (~1.5 s)
        self.embed_tokens = nn.Embedding(spec.vocab, spec.hidden, spec.pad,
                                         _weight=torch.empty(spec.vocab, spec.hidden))
        self.layers = nn.ModuleList([_named(DecoderLayer, spec)(spec, i) for i in range(spec.layers)])
        self.norm = _named(RMSNorm, spec)(spec.hidden, spec.eps)
        self.rotary_emb = _named(RotaryEmbedding, spec)(spec.head_dim)

    def forward(self, input_ids: Any) -> tuple[Any, Any]:
        inputs_embeds = self.embed_tokens(input_ids)
        cache = DynamicCache() if self.use_cache else None
        position_ids = (torch.arange(inputs_embeds.shape[1], device=inputs_embeds.device) + 0).unsqueeze(0)
        hidden_states = inputs_embeds
        position_embeddings = self.rotary_emb(hidden_states, position_ids=position_ids)
        for layer in self.layers:
            hidden_states = layer(hidden_states, position_embeddings=position_embeddings, cache=cache)
        return self.norm(hidden_states), cache


class ForCausalLM(nn.Module):
    """The stand-in for ``<Family>ForCausalLM``: called with token ids only."""

    #: profiled on meta tensors (:mod:`.meta_trace`): its forward decides nothing by device but attention
    _modelsize_meta_trace = True

    def __init__(self, spec: StandinSpec) -> None:
        super().__init__()
        self.config = spec.config
        self.model = _named(Model, spec)(spec)
        self.lm_head = nn.Linear(spec.hidden, spec.vocab, bias=False)
        if spec.tie:
            self.lm_head.weight = self.model.embed_tokens.weight

    def can_generate(self) -> bool:
        return True

    def forward(self, input_ids: Any) -> dict[str, Any]:
        hidden_states, cache = self.model(input_ids=input_ids)
        logits = self.lm_head(hidden_states[:, slice(0, None), :])
        return {"logits": logits, "cache": cache}


_CLASSES: dict[tuple[str, type], type] = {}


def _named(base: type, spec: StandinSpec) -> type:
    """``base`` under transformers' class name for the family (``LlamaDecoderLayer``): module kinds match."""
    key = (spec.family.prefix, base)
    if key not in _CLASSES:
        name = spec.family.prefix + base.__name__
        cls = type(name, (base,), {"__module__": __name__, "__qualname__": name})
        globals()[name] = cls  # importable by its name, so the model pickles and copies like any module
        _CLASSES[key] = cls
    return _CLASSES[key]


def build_standin(spec: StandinSpec) -> Any:
    """The stand-in model on the meta device, in the config's dtype."""
    with torch.device("meta"), _NoInitOnMeta():
        model = _named(ForCausalLM, spec)(spec)
    return model.to(spec.dtype) if spec.dtype is not None else model


class _NoInitOnMeta(torch.overrides.TorchFunctionMode):
    """``nn.init`` on meta tensors skipped: they hold no values, and ``nn.Linear``'s
    ``kaiming_uniform_`` runs torch's Python ``uniform`` decomposition on meta (0.1 s for 80 layers)."""

    _SKIPPED = frozenset({nn.init.kaiming_uniform_, nn.init.uniform_, nn.init.normal_})

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        if func in self._SKIPPED:
            tensor = args[0] if args else kwargs.get("tensor")
            if isinstance(tensor, torch.Tensor) and tensor.is_meta:
                return tensor
        return func(*args, **kwargs)

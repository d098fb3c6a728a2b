""""Will it fit?": memory needed to run (or train) a model, from its tensor headers and config alone.

Nothing is loaded or traced; every term is arithmetic on numbers the headers and ``config.json``
give, and every rule below is stated in the result's ``assumptions`` so a reader can check it.

Weights, per scheme (tensor by tensor, shared storage counted once; 1-D tensors such as norms
and biases are never quantized):

* ``as stored`` — the bytes the checkpoint holds;
* ``bf16`` — 2 bytes per float element (integer tensors as stored);
* ``int8`` — 1 byte per element + one bf16 scale per output row (weight-only, per channel);
* ``int4`` — groups of 128 along the input dimension, 4 bits + a bf16 scale and a bf16 zero point
  per group = 4.25 bits per weight (GPTQ/AWQ-style); rows not divisible by 128 fall back to int8;
* ``Q8_0`` — llama.cpp blocks of 32: 34 bytes per 32 weights (8.5 bits); norms kept in F32;
* ``Q4_K_M`` — llama.cpp's mix: Q4_K (144 bytes / 256 weights = 4.5 bits) everywhere, Q6_K
  (210 bytes / 256 = 6.5625 bits) for the output matrix and for ``attn_v``/``ffn_down`` on the
  layers llama.cpp's ``use_more_bits`` picks; rows not divisible by 256 fall back to Q8_0.

KV cache: :func:`modelsize.compute.kv_cache.kv_cache_size` (GQA, sliding windows, MLA where it
models it), in the config's dtype. Inference activations: the prefill of ``seq_len`` tokens in one
pass with fused (flash/SDPA) attention, whose peak is the MLP block:
``batch × seq × (2 × hidden + 3 × active intermediate) × 2 bytes`` + the last token's fp32
logits. Training (mixed-precision AdamW, full fine-tune): 16 bytes per parameter (bf16 weights and
gradients, fp32 master weights, fp32 Adam m and v) + activations ``34 × seq × batch × hidden``
bytes per layer (Korthikanti et al. 2022, fused attention) + fp32 logits and their gradient;
with gradient checkpointing only each layer's bf16 input is kept, plus one layer's activations.
Framework overhead is a fixed :data:`OVERHEAD_BYTES` (CUDA context, allocator reserve).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..core import dtypes
from ..core.errors import ModelSizeError, option_error
from ..core.tensors import TensorRecord

GIB = 1 << 30
#: CUDA context + allocator reserve, an assumption (vLLM, llama.cpp and PyTorch all differ).
OVERHEAD_BYTES = 1 * GIB
DEFAULT_SEQ_LEN = 4096
INFERENCE_SCHEMES = ("as stored", "bf16", "int8", "int4", "Q8_0", "Q4_K_M")
_LAYER = re.compile(r"(?:^|\.)(?:layers|blk|h|layer|block|blocks)\.(\d+)\.")
_ATTN_V = ("v_proj", "attn_v", ".value.")
_FFN_DOWN = ("down_proj", "ffn_down", ".w2.", "down_proj_exps")
_OUTPUT = re.compile(r"(^|\.)(lm_head|output)\.weight$")
@dataclass(frozen=True)
class FitOptions:
    """What to fit: a memory budget, a context, a batch, inference or training. Checked in :func:`fit`."""

    budget_bytes: int
    seq_len: int | None = None  #: default: :data:`DEFAULT_SEQ_LEN`, capped at the model's context
    batch: int = 1
    training: bool = False


@dataclass(frozen=True)
class Option:
    """One way to run the model and what it needs."""

    name: str
    weights_bytes: int
    kv_cache_bytes: int
    activation_bytes: int
    overhead_bytes: int
    budget_bytes: int
    params: int
    extra_bytes: int = 0  #: gradients + optimizer state when training
    detail: str = ""

    @property
    def total_bytes(self) -> int:
        return self.weights_bytes + self.extra_bytes + self.kv_cache_bytes + self.activation_bytes + self.overhead_bytes

    @property
    def margin_bytes(self) -> int:
        return self.budget_bytes - self.total_bytes

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "bits_per_weight": round(self.weights_bytes * 8 / self.params, 4) if self.params else None,
            "weights_bytes": self.weights_bytes,
            "training_state_bytes": self.extra_bytes,
            "kv_cache_bytes": self.kv_cache_bytes,
            "activation_bytes": self.activation_bytes,
            "overhead_bytes": self.overhead_bytes,
            "total_bytes": self.total_bytes,
            "fits": self.total_bytes <= self.budget_bytes,
            "margin_bytes": self.margin_bytes,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class FitResult:
    options: tuple[Option, ...]
    budget_bytes: int
    seq_len: int
    batch: int
    training: bool
    params: int
    kv_cache: dict[str, Any] | None
    assumptions: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "budget_bytes": self.budget_bytes,
            "seq_len": self.seq_len,
            "batch": self.batch,
            "training": self.training,
            "params": self.params,
            "kv_cache": self.kv_cache,
            "options": [o.to_dict() for o in self.options],
            "fits": [o.name for o in self.options if o.total_bytes <= self.budget_bytes],
            "assumptions": list(self.assumptions),
            "notes": list(self.notes),
        }


def _unique(records: Iterable[TensorRecord]) -> list[TensorRecord]:
    seen: set[str] = set()
    out = []
    for r in records:
        key = r.storage_key or f"path:{r.path}"
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


def _is_float(rec: TensorRecord) -> bool:
    """Float weights, and block-quantized ones (GGUF Q4_K …): both stand for real-valued weights."""
    return dtypes.known(rec.dtype) and dtypes.get(rec.dtype).kind in ("float", "quantized")


def _is_output(name: str) -> bool:
    """The output (unembedding) matrix: ``lm_head.weight`` in Hugging Face names, ``output.weight`` in GGUF."""
    return _OUTPUT.search(name) is not None


def use_more_bits(i: int, n: int) -> bool:
    """llama.cpp's choice of layers that keep more bits in Q4_K_M (first and last eighth, every third)."""
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


def weight_bytes(rec: TensorRecord, scheme: str, n_layers: int) -> int:
    """Bytes of one tensor under ``scheme`` (see the module docstring)."""
    stored = int(rec.stored_bytes or 0)
    if scheme == "as stored":
        return stored
    numel = int(rec.numel)
    if not _is_float(rec):
        return stored  # integer data (token ids, packed GPTQ words): kept as it is
    if len(rec.shape) < 2 or numel == 0:
        return numel * (4 if scheme in ("Q8_0", "Q4_K_M") else 2)  # llama.cpp keeps norms in F32
    cols = rec.shape[-1]
    rows = numel // cols if cols else 0
    if scheme == "bf16":
        return numel * 2
    if scheme == "int8" or (scheme == "int4" and cols % 128):
        return numel + rows * 2
    if scheme == "int4":
        return numel // 2 + (numel // 128) * 4
    if scheme == "Q8_0" or (scheme == "Q4_K_M" and cols % 256):
        return numel // 32 * 34 if cols % 32 == 0 else numel * 2
    if scheme == "Q4_K_M":
        name = rec.path
        m = _LAYER.search(name)
        more = _is_output(name) or (
            m is not None and any(k in name for k in (*_ATTN_V, *_FFN_DOWN)) and use_more_bits(int(m.group(1)), n_layers)
        )
        return numel // 256 * (210 if more else 144)
    raise option_error("scheme", f"one of {', '.join(INFERENCE_SCHEMES)}", scheme)


def _cfg(config: Mapping[str, Any] | None, *names: str) -> Any:
    from .kv_cache import text_config

    cfg = text_config(config or {})
    for n in names:
        v = cfg.get(n) if isinstance(cfg, Mapping) else None
        if v is not None:
            return v
    return None


def _layers(records: list[TensorRecord], config: Mapping[str, Any] | None) -> int:
    n = _cfg(config, "num_hidden_layers", "n_layer", "num_layers")
    if isinstance(n, int) and n > 0:
        return n
    found = [int(m.group(1)) for r in records if (m := _LAYER.search(r.path))]
    return max(found) + 1 if found else 1


def fit(records: Iterable[TensorRecord], config: Mapping[str, Any] | None, options: FitOptions,
        stored_bytes: int | None = None) -> FitResult:
    """The options table for ``options`` (see the module docstring)."""
    if isinstance(options.budget_bytes, bool) or not isinstance(options.budget_bytes, int) or options.budget_bytes <= 0:
        raise option_error("fit", "a memory size > 0 in bytes", options.budget_bytes)
    if isinstance(options.batch, bool) or not isinstance(options.batch, int) or options.batch <= 0:
        raise option_error("batch", "an integer > 0", options.batch)
    if options.seq_len is not None and (isinstance(options.seq_len, bool) or not isinstance(options.seq_len, int)
                                        or options.seq_len <= 0):
        raise option_error("seq-len", "an integer > 0", options.seq_len)
    recs = _unique(records)
    params = sum(int(r.numel) for r in recs)
    n_layers = _layers(recs, config)
    notes: list[str] = []
    max_ctx = _cfg(config, "max_position_embeddings", "n_positions", "max_sequence_length")
    seq = options.seq_len or (min(DEFAULT_SEQ_LEN, max_ctx) if isinstance(max_ctx, int) and max_ctx > 0
                              else DEFAULT_SEQ_LEN)
    if options.seq_len is None and config:
        notes.append(f"Context length {seq} tokens (default; --seq-len to change).")
    if isinstance(max_ctx, int) and seq > max_ctx:
        notes.append(f"--seq-len {seq} is beyond the model's max_position_embeddings ({max_ctx}).")
    if config and _cfg(config, "quantization_config") is not None:
        notes.append("The checkpoint is already quantized (quantization_config): re-quantized rows start from its "
                     "stored tensors, whose element counts may be packed.")

    kv, kv_info = _kv(config, seq, options.batch, notes)
    hidden = _cfg(config, "hidden_size", "n_embd", "d_model")
    assumptions = [
        f"Framework overhead {OVERHEAD_BYTES // GIB} GiB (CUDA context and allocator reserve; an assumption).",
        "Shared tensors counted once; 1-D tensors (norms, biases) are never quantized.",
    ]
    opts: list[Option] = []
    if options.training:
        opts = _training(recs, config, seq, options, params, n_layers, hidden, assumptions, notes)
    else:
        acts = _inference_activations(config, seq, options.batch, hidden, assumptions, notes)
        for scheme in INFERENCE_SCHEMES:
            w = stored_bytes if (scheme == "as stored" and stored_bytes is not None) else \
                sum(weight_bytes(r, scheme, n_layers) for r in recs)
            opts.append(Option(scheme, w, kv, acts, OVERHEAD_BYTES, options.budget_bytes, params))
        if kv_info is not None:
            assumptions.append("KV cache in the config's dtype for every weight scheme (weight-only quantization).")
        experts = _cfg(config, "num_local_experts", "n_routed_experts", "num_experts")
        if isinstance(experts, int) and experts > 1:
            assumptions.append(f"Mixture of experts: all {experts} experts resident in memory, "
                               f"{_cfg(config, 'num_experts_per_tok') or '?'} active per token in the activations.")
    return FitResult(options=tuple(opts), budget_bytes=options.budget_bytes, seq_len=seq, batch=options.batch,
                     training=options.training, params=params, kv_cache=kv_info, assumptions=tuple(assumptions),
                     notes=tuple(notes))


def _kv(config: Mapping[str, Any] | None, seq: int, batch: int, notes: list[str]) -> tuple[int, dict[str, Any] | None]:
    from .kv_cache import is_decoder_config, kv_cache_size

    if not config or not is_decoder_config(config):
        notes.append("No decoder config (layers, heads, hidden size): the KV cache is not counted.")
        return 0, None
    try:
        cache = kv_cache_size(config, seq, batch)
    except ModelSizeError as exc:
        notes.append(f"KV cache not counted: {exc}")
        return 0, None
    return cache.total_bytes, cache.to_dict()


def _active_intermediate(config: Mapping[str, Any] | None, hidden: int) -> int:
    inter = _cfg(config, "intermediate_size", "n_inner", "ffn_dim") or 4 * hidden
    experts = _cfg(config, "num_local_experts", "n_routed_experts", "num_experts")
    if isinstance(experts, int) and experts > 1:
        per = _cfg(config, "moe_intermediate_size") or inter
        top = _cfg(config, "num_experts_per_tok") or 1
        shared = (_cfg(config, "n_shared_experts") or 0) * per
        return int(per) * int(top) + int(shared)
    return int(inter)


def _inference_activations(config: Mapping[str, Any] | None, seq: int, batch: int, hidden: Any,
                           assumptions: list[str], notes: list[str]) -> int:
    if not isinstance(hidden, int):
        notes.append("No hidden size in the config: activations are not counted.")
        return 0
    inter = _active_intermediate(config, hidden)
    vocab = int(_cfg(config, "vocab_size") or 0)
    acts = batch * seq * (2 * hidden + 3 * inter) * 2 + batch * vocab * 4
    assumptions.append("Activations: prefill of the whole context in one pass with fused attention; peak in the "
                       "MLP = batch × seq × (2 × hidden + 3 × intermediate) × 2 bytes + last-token fp32 logits.")
    return acts


def _training(recs: list[TensorRecord], config: Mapping[str, Any] | None, seq: int, options: FitOptions,
              params: int, n_layers: int, hidden: Any, assumptions: list[str], notes: list[str]) -> list[Option]:
    weights = sum(weight_bytes(r, "bf16", n_layers) for r in recs)
    trainable = sum(int(r.numel) for r in recs if _is_float(r))
    state = trainable * (2 + 4 + 8)  # bf16 gradients, fp32 master weights, fp32 Adam m and v
    vocab = int(_cfg(config, "vocab_size") or 0)
    b = options.batch
    if isinstance(hidden, int):
        full = 34 * seq * b * hidden * n_layers + 8 * b * seq * vocab
        ckpt = 2 * seq * b * hidden * n_layers + 34 * seq * b * hidden + 8 * b * seq * vocab
    else:
        notes.append("No hidden size in the config: activations are not counted.")
        full = ckpt = 0
    assumptions.append("Training: mixed-precision AdamW, full fine-tune: bf16 weights (2 B/param) + bf16 gradients "
                       "(2) + fp32 master weights (4) + fp32 Adam m and v (8) = 16 bytes per parameter.")
    assumptions.append("Training activations: 34 × seq × batch × hidden bytes per layer (fused attention), fp32 "
                       "logits and their gradient (8 × batch × seq × vocab); with checkpointing each layer keeps "
                       "only its bf16 input (2 × seq × batch × hidden) plus one layer recomputed.")
    return [
        Option("bf16 AdamW", weights, 0, full, OVERHEAD_BYTES, options.budget_bytes, params, extra_bytes=state),
        Option("bf16 AdamW + checkpointing", weights, 0, ckpt, OVERHEAD_BYTES, options.budget_bytes, params,
               extra_bytes=state),
    ]


def gguf_config(section: Mapping[str, Any]) -> dict[str, Any] | None:
    """An HF-style config from a GGUF file's metadata (``{arch}.block_count`` …), for the KV cache."""
    md = section.get("metadata") or {}
    arch = section.get("architecture")
    if not isinstance(arch, str):
        return None

    def key(name: str) -> Any:
        return md.get(f"{arch}.{name}")

    heads = key("attention.head_count")
    out = {
        "num_hidden_layers": key("block_count"),
        "hidden_size": key("embedding_length"),
        "num_attention_heads": heads,
        "num_key_value_heads": key("attention.head_count_kv") or heads,
        "head_dim": key("attention.key_length"),
        "intermediate_size": key("feed_forward_length"),
        "max_position_embeddings": key("context_length"),
        "sliding_window": key("attention.sliding_window"),
        "num_local_experts": key("expert_count"),
        "num_experts_per_tok": key("expert_used_count"),
        "torch_dtype": "float16",  # llama.cpp's default KV cache type
    }
    vocab = md.get("tokenizer.ggml.tokens")
    if isinstance(vocab, Mapping) and isinstance(vocab.get("length"), int):
        out["vocab_size"] = vocab["length"]
    if isinstance(out["num_attention_heads"], list) or isinstance(out["num_key_value_heads"], list):
        return None  # per-layer head counts: not modelled
    return {k: v for k, v in out.items() if v is not None and not (isinstance(v, float) and math.isnan(v))}


def fit_report(report: Any, options: FitOptions) -> Any:
    """``report`` with a ``fit`` section, the config taken from its ``config`` or ``gguf`` section."""
    config = report.sections.get("config")
    if config is None and isinstance(report.sections.get("gguf"), Mapping):
        config = gguf_config(report.sections["gguf"])
    result = fit(report.root.iter_tensors(), config, options, stored_bytes=report.totals.stored_bytes)
    return report.with_section("fit", result.to_dict())

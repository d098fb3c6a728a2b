"""Compute and memory profile: FLOPs/MACs with coverage, activation and training memory,
KV cache, latency and measured footprint.

``profile(model, inputs)`` returns a :class:`ComputeProfile` (``to_dict()`` is JSON-ready);
``modelsize.inspect(model, inputs=...)`` stores it as the report's ``compute`` section.
PyTorch models are traced on fake tensors (nothing allocated, the model untouched); Keras
models are counted from layer configs and shapes. Importing this package loads no framework.

Mixture-of-experts models get total vs active parameters per token under a stated top-k routing
assumption (:class:`MoEProfile`); recurrent layers are counted per time step; a Hugging Face
folder or ``config.json`` is profiled from its config on the meta device (``from_config``).
"""

from __future__ import annotations

from typing import Any

from ..core.errors import UnsupportedObjectError, option_error
from .frameworks import PROFILERS
from .inputs import InputSpec, TensorSpec, token_inputs
from .kv_cache import KVCache, kv_cache_size
from .moe import MoEProfile
from .options import ComputeOptions, KVCacheOptions, LatencyOptions, MeasureOptions, TrainingOptions
from .result import ComputeProfile, Coverage, MemoryStats, ModuleStats, OpStat, PassTotals

__all__ = [
    "ComputeOptions",
    "ComputeProfile",
    "Coverage",
    "InputSpec",
    "KVCache",
    "KVCacheOptions",
    "LatencyOptions",
    "MeasureOptions",
    "MemoryStats",
    "MoEProfile",
    "ModuleStats",
    "OpStat",
    "PassTotals",
    "TensorSpec",
    "TrainingOptions",
    "kv_cache_size",
    "profile",
    "token_inputs",
]


def profile(
    model: Any,
    inputs: Any = None,
    *,
    backward: bool = False,
    include_elementwise: bool = True,
    training: TrainingOptions | None = None,
    kv: KVCacheOptions | None = KVCacheOptions(),
    latency: LatencyOptions | None = None,
    measure: MeasureOptions | None = None,
) -> ComputeProfile:
    """Profile one forward call of ``model`` on ``inputs``.

    ``inputs``: a spec string (``"1x3x224x224"``, ``"1x128:int64"``, ``"input_ids=1x128:int64"``),
    a list of them (several inputs), an :class:`InputSpec` (e.g. ``token_inputs(seq_len)``) or
    real tensors. ``backward`` adds a traced training step: backward FLOPs, bytes saved for
    backward, and the training-memory estimate under ``training``. ``include_elementwise`` is
    the one switch for elementwise FLOPs (bias, activations, norms, softmax). ``kv`` sizes the
    KV cache (default: for models that generate, at the input's length). ``latency`` and
    ``measure`` run the model for real (timings; peak RSS in a subprocess).
    """
    options = ComputeOptions(
        backward=backward,
        include_elementwise=include_elementwise,
        training=training or TrainingOptions(),
        kv_cache=kv,
        latency=latency,
        measure=measure,
    )
    return run(model, inputs, options)


def run(model: Any, inputs: Any, options: ComputeOptions) -> ComputeProfile:
    """:func:`profile` with its options in one :class:`ComputeOptions` (what ``inspect`` passes)."""
    if not isinstance(options, ComputeOptions):
        raise option_error("compute", "a ComputeOptions", options)
    for name in ("backward", "include_elementwise"):
        if not isinstance(getattr(options, name), bool):
            raise option_error(name, "True or False", getattr(options, name))
    for profiler in PROFILERS.values():
        if profiler.can_handle(model):
            return profiler.profile(model, inputs, options)
    raise UnsupportedObjectError(
        f"Compute profiles are made for PyTorch modules and Keras models. Got {type(model).__module__}."
        f"{type(model).__qualname__}."
    )

"""``profile`` for PyTorch modules: the fake-tensor passes plus the optional real-run extras,
with torch's global state put back exactly as it was, whatever happens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core.errors import option_error
from .inputs import InputSpec, resolve
from .kv_cache import KVCache, is_decoder_config, kv_cache_size
from .options import ComputeOptions, KVCacheOptions
from .result import ComputeProfile
from .torch_profile import BACKWARD, FORWARD, model_float_dtype, run_passes
from .training_memory import estimate


@dataclass(frozen=True)
class TorchGlobalState:
    """The global torch settings a profile could disturb; restored in ``finally``."""

    default_dtype: Any
    grad_enabled: bool
    num_threads: int
    rng_state: Any
    deterministic: bool

    @classmethod
    def capture(cls, torch: Any) -> "TorchGlobalState":
        return cls(
            default_dtype=torch.get_default_dtype(),
            grad_enabled=torch.is_grad_enabled(),
            num_threads=torch.get_num_threads(),
            rng_state=torch.random.get_rng_state(),
            deterministic=torch.are_deterministic_algorithms_enabled(),
        )

    def restore(self, torch: Any) -> None:
        torch.set_default_dtype(self.default_dtype)
        torch.set_grad_enabled(self.grad_enabled)
        if torch.get_num_threads() != self.num_threads:
            torch.set_num_threads(self.num_threads)
        torch.random.set_rng_state(self.rng_state)
        if torch.are_deterministic_algorithms_enabled() != self.deterministic:
            torch.use_deterministic_algorithms(self.deterministic)


def profile_torch(model: Any, inputs: Any, options: ComputeOptions) -> ComputeProfile:
    """Profile ``model`` (an ``nn.Module``) on ``inputs`` under ``options``."""
    import torch

    if inputs is None:
        raise option_error("inputs", "an input spec such as '1x3x224x224' (PyTorch models need one)", None)
    if options.backward:
        options.training.validate()
    spec, real = resolve(inputs)
    spec = spec.with_default_float(model_float_dtype(model))
    state = TorchGlobalState.capture(torch)
    try:
        passes = run_passes(model, spec, real, include_elementwise=options.include_elementwise,
                            backward=options.backward, dedup_layers=bool(options.dedup_layers))
        training = estimate(passes.trace, options.training) if passes.trace is not None else None
        kv = _kv_cache(model, spec, options.kv_cache)
        latency = None
        if options.latency is not None:
            from .latency import measure_latency

            latency = measure_latency(model, spec, real, options.latency)
        footprint = None
        if options.measure is not None:
            from .footprint import measure_footprint

            expected = passes.memory.weights_bytes + passes.memory.forward_peak_bytes
            footprint = measure_footprint(model, spec, real, options.measure, expected)
    finally:
        state.restore(torch)

    coverage = passes.tally.coverage(FORWARD)
    notes = list(passes.notes)
    missing = coverage.not_counted
    if missing:
        listed = ", ".join(f"{op} ×{n}" for op, n in sorted(missing.items()))
        notes.append(f"Ops with no FLOP formula (not counted, not zero): {listed}.")
    if passes.moe is not None:
        notes.append(f"Mixture of experts, counted without running the routing: {passes.moe.assumption}")
    if not options.include_elementwise:
        notes.append("Elementwise FLOPs (bias, activations, norms, softmax) are excluded: FLOPs = 2 × MACs.")
    return ComputeProfile(
        framework="pytorch",
        inputs=spec,
        include_elementwise=options.include_elementwise,
        forward=passes.tally.totals(FORWARD),
        memory=passes.memory,
        modules=passes.modules,
        coverage=coverage,
        backward=passes.train_tally.totals(BACKWARD) if passes.backward_ran else None,
        backward_coverage=passes.train_tally.coverage(BACKWARD) if passes.backward_ran else None,
        tokens=spec.tokens,
        mode="eval",
        training=training,
        kv_cache=kv,
        latency=latency,
        footprint=footprint,
        notes=tuple(notes),
        moe=passes.moe,
    )


def _kv_cache(model: Any, spec: InputSpec, options: KVCacheOptions | None) -> KVCache | None:
    """KV cache of a generating Hugging Face model (or any model when a context length is given)."""
    if options is None:
        return None
    config = getattr(model, "config", None)
    if config is None or not is_decoder_config(config):
        return None
    can_generate = getattr(model, "can_generate", None)
    generates = bool(can_generate()) if callable(can_generate) else False
    if options.context_length is None and not generates:
        return None
    first = spec.tensors[0]
    token_shape = first.shape if spec.tokens else None
    context = options.context_length or (token_shape[1] if token_shape else None)
    if context is None:
        return None
    batch = options.batch or (token_shape[0] if token_shape else 1)
    return kv_cache_size(config, context, batch, options.dtype or model_float_dtype(model),
                         encoder_length=options.encoder_length)

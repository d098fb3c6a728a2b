"""Latency: median and p90 of timed forward passes on real tensors, after warm-up.

Runs the model itself (real weights, zero-filled inputs unless real ones were given) under
``torch.no_grad()`` in eval mode; every module's train/eval flag is put back afterwards, so
batch-norm statistics and dropout are not disturbed. The batch size and thread count are
part of the result: a latency without them means little.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Any

from ..core.errors import ModelStateError
from .inputs import InputSpec, make_tensors
from .options import LatencyOptions


@dataclass(frozen=True)
class Latency:
    """Timings in nanoseconds (raw integers), with the conditions they were taken under."""

    median_ns: int
    p90_ns: int
    min_ns: int
    mean_ns: int
    runs: int
    warmup: int
    batch: int | None
    threads: int
    device: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "median_ns": self.median_ns, "p90_ns": self.p90_ns, "min_ns": self.min_ns, "mean_ns": self.mean_ns,
            "runs": self.runs, "warmup": self.warmup, "batch": self.batch, "threads": self.threads,
            "device": self.device, "mode": "eval, no_grad",
        }


def percentile(values: list[int], q: float) -> int:
    """Nearest-rank percentile (``q`` in 0..100) — an observed value, never interpolated."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def measure_latency(model: Any, spec: InputSpec, real: Any, options: LatencyOptions) -> Latency:
    """Time ``options.runs`` forward passes after ``options.warmup`` untimed ones."""
    import torch

    options.validate()
    device = _device(model, torch)
    if device.type == "meta":
        raise ModelStateError("The model is on the meta device (no weights): latency needs real weights.")
    args, kwargs = real if real is not None else make_tensors(spec, torch, device)
    modes = {m: m.training for m in model.modules()}
    synchronize = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    times: list[int] = []
    try:
        model.eval()
        with torch.no_grad():
            for i in range(options.warmup + options.runs):
                synchronize()
                start = time.perf_counter_ns()
                model(*args, **kwargs)
                synchronize()
                if i >= options.warmup:
                    times.append(time.perf_counter_ns() - start)
    finally:
        for module, training in modes.items():
            module.training = training
    batch = spec.tensors[0].shape[0] if spec.tensors and spec.tensors[0].shape else None
    return Latency(
        median_ns=int(statistics.median(times)),
        p90_ns=percentile(times, 90),
        min_ns=min(times),
        mean_ns=int(statistics.fmean(times)),
        runs=options.runs,
        warmup=options.warmup,
        batch=batch,
        threads=torch.get_num_threads(),
        device=str(device),
    )


def _device(model: Any, torch: Any) -> Any:
    for t in list(model.parameters()) + list(model.buffers()):
        return t.device
    return torch.device("cpu")

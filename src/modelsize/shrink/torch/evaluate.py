"""Outputs and CPU latency of PyTorch models, for the shrink runner's before/after numbers.

Latency is timed by :func:`modelsize.compute.latency.measure_latency` on one real evaluation
sample (batch 1, the case where quantized kernels' overheads show), median of ``runs`` passes
after warm-up. Neither changes the model: train/eval flags are put back afterwards.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...core.errors import OptionError
from ...core.optional import require
from ..evaluate import EVAL_BATCH


def model_dtype(model: Any, torch: Any) -> Any:
    """The floating dtype of the model's first floating tensor (inputs are cast to it)."""
    for tensor in list(model.parameters()) + list(model.buffers()):
        if tensor.is_floating_point() and not tensor.is_quantized:
            return tensor.dtype
    return torch.float32


def predict_torch(model: Any, X: np.ndarray, batch_size: int = EVAL_BATCH) -> np.ndarray:
    """Outputs of a PyTorch model on ``X`` as float32 NumPy (eval mode, no grad, modes restored)."""
    torch = require("torch", "run PyTorch models")
    dtype = model_dtype(model, torch)
    modes = {m: m.training for m in model.modules()}
    outputs = []
    try:
        model.eval()
        with torch.no_grad():
            for start in range(0, len(X), batch_size):
                batch = torch.as_tensor(np.ascontiguousarray(X[start:start + batch_size]))
                out = first_tensor(model(batch.to(dtype) if batch.is_floating_point() else batch), torch)
                outputs.append(out.detach().float().cpu().numpy())
    finally:
        for module, training in modes.items():
            module.training = training
    return np.concatenate(outputs) if outputs else np.empty((0,), np.float32)


def first_tensor(out: Any, torch: Any) -> Any:
    """The scores in a model's output: the tensor itself, ``logits`` of a dict-like output, or
    the first element of a tuple (an LSTM's ``(output, (h, c))``)."""
    while not isinstance(out, torch.Tensor):
        if isinstance(out, dict) or hasattr(out, "logits"):
            out = out["logits"] if isinstance(out, dict) else out.logits
        elif isinstance(out, (tuple, list)) and out:
            out = out[0]
        else:
            raise OptionError(f"The model's output must be a tensor (or hold one). Got {type(out).__name__}.")
    return out


def latency_torch(model: Any, x: np.ndarray, runs: int, warmup: int) -> dict[str, Any]:
    """Median / p90 latency of one forward pass on ``x`` (one batch), via modelsize.compute."""
    torch = require("torch", "time PyTorch models")
    from ...compute.inputs import InputSpec, TensorSpec
    from ...compute.latency import measure_latency
    from ...compute.options import LatencyOptions
    tensor = torch.as_tensor(np.ascontiguousarray(x))
    if tensor.is_floating_point():
        tensor = tensor.to(model_dtype(model, torch))
    spec = InputSpec((TensorSpec(tuple(tensor.shape), str(tensor.dtype).removeprefix("torch.")),))
    result = measure_latency(model, spec, ([tensor], {}), LatencyOptions(runs=runs, warmup=warmup))
    return result.to_dict()

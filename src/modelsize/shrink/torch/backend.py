"""The PyTorch backend of the shrink runner: copy, wipe, run, time, measure, train.

Measuring goes through the PyTorch adapter (``modelsize.inspect``). torchao's quantized
weights are tensor subclasses (``Int8Tensor`` holding ``qdata`` int8 + ``scale``) that the
adapter cannot read yet, so they are measured through their inner tensors: the weight is shown
as its int8 codes and the scales as buffers named ``<weight>_scale`` — the bytes a saved file
holds.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

from ...core import optional
from ...core.optional import require
from .savers import torch_default_savers

if TYPE_CHECKING:  # pragma: no cover
    from ...core.report import Report
    from ..base import Saver
    from ..data import Split


def is_subclass_tensor(tensor: Any, torch: Any) -> bool:
    """A wrapper tensor subclass (torchao's quantized weights), not a plain tensor/parameter."""
    return isinstance(tensor, torch.Tensor) and type(tensor) not in (torch.Tensor, torch.nn.Parameter) \
        and hasattr(tensor, "__tensor_flatten__")


class TorchBackend:
    """:class:`~modelsize.shrink.base.Backend` for ``torch.nn.Module`` models."""

    name = "pytorch"
    #: what "the saved model" is when a recipe names no format of its own
    default_primary = "torch.save(state_dict)"

    def can_handle(self, model: Any) -> bool:
        torch = optional.loaded("torch")
        return torch is not None and isinstance(model, torch.nn.Module)

    def copy(self, model: Any) -> Any:
        return copy.deepcopy(model)

    def wiped_copy(self, model: Any) -> Any:
        """A deep copy whose values are all gone: floats NaN, quantized weights zero,
        torchao weights replaced by plain NaN tensors — loading must bring every value back."""
        torch = require("torch")
        wiped = copy.deepcopy(model)
        with torch.no_grad():
            for module in wiped.modules():
                for name, param in list(module._parameters.items()):
                    if param is None:
                        continue
                    if is_subclass_tensor(param, torch):
                        module._parameters[name] = torch.nn.Parameter(
                            torch.full(tuple(param.shape), float("nan"), dtype=param.dtype), requires_grad=False)
                    elif param.is_floating_point():
                        param.fill_(float("nan"))
                for name, buf in list(module._buffers.items()):
                    if buf is not None and buf.is_floating_point() and not buf.is_quantized:
                        buf.fill_(float("nan"))
                _wipe_packed(module, torch)
        return wiped

    def predict(self, model: Any, X: np.ndarray) -> np.ndarray:
        from .evaluate import predict_torch

        return predict_torch(model, X)

    def latency_ns(self, model: Any, x: np.ndarray, runs: int, warmup: int) -> dict[str, Any]:
        from .evaluate import latency_torch

        return latency_torch(model, x, runs, warmup)

    def measure(self, model: Any) -> "Report":
        from ...api import inspect

        torch = require("torch")
        subclassed = [n for n, p in model.named_parameters() if is_subclass_tensor(p, torch)]
        if not subclassed:
            return inspect(model, formats=False)
        report = inspect(_flattened_view(model, torch), formats=False)
        return report.with_notes(
            f"{len(subclassed)} weights are torchao tensor subclasses ({', '.join(subclassed[:4])}"
            f"{', …' if len(subclassed) > 4 else ''}): measured through their inner tensors "
            "(int8 codes as the weight, scales as '<weight>_<part>' buffers).")

    @contextmanager
    def threads(self, count: int | None) -> Iterator[None]:
        """Run with ``count`` intra-op threads (``None``: as configured), restored afterwards."""
        torch = require("torch")
        previous = torch.get_num_threads()
        if count is not None:
            torch.set_num_threads(count)
        try:
            yield
        finally:
            if count is not None:
                torch.set_num_threads(previous)

    def simulated_quantization(self, model: Any) -> dict[str, Any] | None:
        """Fake-quant modules or float weights on an integer grid (see :mod:`.simulated`)."""
        from .simulated import detect

        found = detect(model)
        out = found.to_dict()
        out["message"] = found.message()
        return out

    def default_savers(self) -> tuple["Saver", ...]:
        return torch_default_savers()

    def fit(self, model: Any, train: "Split", val: "Split | None", epochs: int, seed: int) -> dict[str, Any]:
        from .train import TrainOptions, fit

        return fit(model, train, val, TrainOptions(epochs=epochs, seed=seed)).to_dict()

    def train(self, model: Any, data: Any, fit: Any, seed: int) -> dict[str, Any]:
        """Train for a sweep (``modelsize.factors``) as its ``FitConfig`` says; returns
        ``epochs_run``, ``final_loss``, ``stopped_early``."""
        from .train import train_config

        return train_config(model, data, fit, seed)

    def predict_target(self, model: Any, X: np.ndarray, task: str) -> np.ndarray:
        """Labels (classification) or values for rows of features: :meth:`predict`, decoded."""
        from ..evaluate import decode_outputs

        X = np.require(X, requirements="W")  # torch warns on a read-only array (a sweep's data is one)
        return decode_outputs(self.predict(model, X), task)


def _wipe_packed(module: Any, torch: Any) -> None:
    """Zero the packed int8 weight of a torch.ao quantized Linear (its values live in C++)."""
    if not type(module).__module__.startswith("torch.ao.nn.quantized"):
        return
    weight_bias = getattr(module, "_weight_bias", None)
    setter = getattr(module, "set_weight_bias", None)
    if not (callable(weight_bias) and callable(setter)):
        return
    pair = weight_bias()
    if not (isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[0], torch.Tensor)):
        return  # packed LSTM/embedding parameters: left as they are (loading replaces them)
    if isinstance(getattr(module, "scale", None), float):  # output qparams of static modules
        module.scale, module.zero_point = 1.0, 0
    weight, bias = pair
    zero = torch.quantize_per_tensor(torch.zeros(weight.shape), 1.0, 0, weight.dtype)
    setter(zero, None if bias is None else torch.full_like(bias, float("nan")))


def _flattened_view(model: Any, torch: Any) -> Any:
    """A copy where each tensor-subclass weight becomes its inner tensors (for measuring)."""
    view = copy.deepcopy(model)
    for module in view.modules():
        for name, param in list(module._parameters.items()):
            if param is None or not is_subclass_tensor(param, torch):
                continue
            inner_names, _ctx = param.__tensor_flatten__()
            inner = {n: getattr(param, n) for n in inner_names}
            main = next((n for n in inner_names if inner[n].shape == param.shape), inner_names[0])
            del module._parameters[name]
            module.register_parameter(name, torch.nn.Parameter(inner[main].detach().clone(), requires_grad=False))
            for part, tensor in inner.items():
                if part != main:
                    module.register_buffer(f"{name}_{part}", tensor.detach().clone())
    return view

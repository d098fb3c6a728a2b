"""Quantization recipes: fp16/bf16 casts, dynamic int8, static int8 with calibration, and
torchao's weight-only int8.

Each really stores fewer bits (the savers check it by writing files): torch.ao's dynamic and
static modules keep packed int8 weights with per-channel scales, torchao keeps ``Int8Tensor``
subclasses (int8 codes + scales). What they cost in speed is measured too: on a CPU without
fast int8 kernels for a layer's shape, a quantized model can be slower than float32, and the
result shows it instead of assuming a speed-up.

Quantizing calls into ``torch.ao.quantization``, which warns that it is deprecated in favour
of torchao; those warnings are silenced inside the recipe only (``warnings.catch_warnings``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, ClassVar

from ...core.errors import internal_error, is_our_bug
from ...core.optional import require
from ..base import RecipeBase, ShrinkContext, Shrunk, check_choice, check_int, check_names, recipe_error

DYNAMIC_KINDS = ("Linear", "LSTM")
ENGINES = ("torch.ao", "torchao")


def _kinds_found(model: Any) -> str:
    kinds = sorted({type(m).__name__ for m in model.modules()} - {type(model).__name__})
    return ", ".join(kinds) or "no submodules"


@dataclass
class Cast(RecipeBase):
    """Store every floating parameter and buffer as ``float16`` or ``bfloat16``."""

    dtype: str = "float16"

    name: ClassVar[str] = "cast"
    framework: ClassVar[str] = "pytorch"

    def apply(self, model: Any, context: ShrinkContext) -> Shrunk:
        torch = require("torch", "cast PyTorch models")
        dtype = check_choice(self.name, "dtype", self.dtype, ("float16", "bfloat16"))
        floats = [n for n, t in model.state_dict().items() if isinstance(t, torch.Tensor) and t.is_floating_point()]
        if not floats:
            raise recipe_error(self.name, "the model has no floating-point tensors to cast")
        model.to(getattr(torch, dtype))
        return Shrunk(model, details={"dtype": dtype, "tensors_cast": len(floats)},
                      notes=(f"Inputs are cast to {dtype} to run the model; on CPUs without native {dtype} "
                             "matrix units this is often slower than float32.",))


@dataclass
class Float16(Cast):
    """``Cast(dtype="float16")`` under its spec name ``fp16``."""

    dtype: str = "float16"
    name: ClassVar[str] = "fp16"
    framework: ClassVar[str] = "pytorch"


@dataclass
class BFloat16(Cast):
    """``Cast(dtype="bfloat16")`` under its spec name ``bf16``."""

    dtype: str = "bfloat16"
    name: ClassVar[str] = "bf16"
    framework: ClassVar[str] = "pytorch"


@dataclass
class DynamicInt8(RecipeBase):
    """int8 weights, activations quantized on the fly: ``torch.ao.quantization.quantize_dynamic``
    for Linear and LSTM (``engine="torch.ao"``), or torchao's
    ``Int8DynamicActivationInt8WeightConfig`` for Linear (``engine="torchao"``)."""

    layers: tuple[str, ...] = DYNAMIC_KINDS
    engine: str = "torch.ao"
    skip: tuple[str, ...] = ()

    name: ClassVar[str] = "int8-dynamic"
    framework: ClassVar[str] = "pytorch"

    def apply(self, model: Any, context: ShrinkContext) -> Shrunk:
        torch = require("torch", "quantize PyTorch models")
        kinds = check_names(self.name, "layers", self.layers)
        bad = [k for k in kinds if k not in DYNAMIC_KINDS]
        if bad:
            from ..base import recipe_option_error

            raise recipe_option_error(self.name, "layers", f"names among {', '.join(DYNAMIC_KINDS)}", self.layers)
        engine = check_choice(self.name, "engine", self.engine, ENGINES)
        skip = check_names(self.name, "skip", self.skip)
        if engine == "torchao":
            kinds = tuple(k for k in kinds if k == "Linear")
        targets = {name for name, m in model.named_modules() if type(m).__name__ in kinds and name not in skip}
        if not targets:
            raise recipe_error(self.name, f"the model has no {' or '.join(kinds)} layers to quantize "
                                          f"(it has: {_kinds_found(model)})",
                               "Dynamic int8 quantizes only those; for convolutions use int8-static.")
        model.eval()
        if engine == "torchao":
            _torchao_quantize(model, "Int8DynamicActivationInt8WeightConfig", targets)
            quantized = model
        else:
            spec = {name: torch.ao.quantization.default_dynamic_qconfig for name in targets}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                quantized = torch.ao.quantization.quantize_dynamic(model, spec, dtype=torch.qint8)
        return Shrunk(quantized, details={"engine": engine, "layers": sorted(targets)})


@dataclass
class StaticInt8(RecipeBase):
    """Post-training static int8 (FX graph mode): observers calibrated on ``calibration``
    training samples fix the activation ranges; weights and activations run in int8."""

    calibration: int = 256
    backend: str = "x86"
    batch_size: int = 64

    name: ClassVar[str] = "int8-static"
    framework: ClassVar[str] = "pytorch"

    def apply(self, model: Any, context: ShrinkContext) -> Shrunk:
        torch = require("torch", "quantize PyTorch models")
        samples = check_int(self.name, "calibration", self.calibration, 1)
        batch = check_int(self.name, "batch_size", self.batch_size, 1)
        engines = tuple(torch.backends.quantized.supported_engines)
        engine = check_choice(self.name, "backend", self.backend, tuple(e for e in engines if e != "none"))
        data = context.data
        split = None if data is None else (data.train or data.val)
        if split is None or not len(split):
            raise recipe_error(self.name, "static int8 needs calibration data to fix activation ranges, and none was given",
                               "Pass data (its training split is used).")
        from torch.ao.quantization import get_default_qconfig_mapping
        from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

        model.eval()
        X = torch.as_tensor(split.X[:samples])
        previous = torch.backends.quantized.engine
        try:
            torch.backends.quantized.engine = engine
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    prepared = prepare_fx(model, get_default_qconfig_mapping(engine), example_inputs=(X[:1],))
                except (torch.fx.proxy.TraceError, RuntimeError, TypeError, NotImplementedError) as exc:
                    if is_our_bug(exc):
                        raise internal_error(exc, "preparing static int8 quantization") from exc
                    raise recipe_error(self.name, f"FX tracing of the model failed ({type(exc).__name__}: {exc})",
                                       "Static int8 needs a symbolically traceable forward().") from exc
                with torch.no_grad():
                    for start in range(0, len(X), batch):
                        prepared(X[start:start + batch])
                quantized = convert_fx(prepared)
        finally:
            torch.backends.quantized.engine = previous
        kinds = sorted({type(m).__name__ for m in quantized.modules() if type(m).__module__.startswith("torch.ao.nn.quantized")})
        if not kinds:
            raise recipe_error(self.name, f"no layer of the model has a static int8 kernel (it has: {_kinds_found(model)})")
        return Shrunk(quantized, details={"backend": engine, "calibration_samples": int(len(X)), "quantized_kinds": kinds},
                      notes=(f"int8-static runs with the '{engine}' quantized engine; whole-module pickling of an "
                             "FX GraphModule is not supported by torch, so its state dict is the saved form.",))


@dataclass
class WeightOnlyInt8(RecipeBase):
    """int8 weights with per-channel scales, float activations (torchao ``Int8WeightOnlyConfig``)."""

    skip: tuple[str, ...] = ()

    name: ClassVar[str] = "int8-weight"
    framework: ClassVar[str] = "pytorch"

    def apply(self, model: Any, context: ShrinkContext) -> Shrunk:
        skip = check_names(self.name, "skip", self.skip)
        targets = {name for name, m in model.named_modules() if type(m).__name__ == "Linear" and name not in skip}
        if not targets:
            raise recipe_error(self.name, f"the model has no Linear layers to quantize (it has: {_kinds_found(model)})")
        model.eval()
        _torchao_quantize(model, "Int8WeightOnlyConfig", targets)
        return Shrunk(model, details={"engine": "torchao", "layers": sorted(targets)},
                      notes=("torchao int8 weights are tensor subclasses: torch.save(state_dict) holds int8 codes "
                             "and scales; safetensors cannot store them.",))


def _torchao_quantize(model: Any, config_name: str, targets: set[str]) -> None:
    """``torchao.quantization.quantize_`` with ``config_name`` on the named Linear modules."""
    torchao_q = require("torchao.quantization", "quantize with torchao (pip install 'modelsize[shrink]')")
    config = getattr(torchao_q, config_name)()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torchao_q.quantize_(model, config, filter_fn=lambda m, fqn: fqn in targets)

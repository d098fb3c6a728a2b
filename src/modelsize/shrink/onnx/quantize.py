"""Quantize any ONNX file with onnxruntime: dynamic int8, and static int8 calibrated on real data.

* ``onnx-dynamic`` — ``onnxruntime.quantization.quantize_dynamic``: weights stored as 8-bit
  integers with a scale (and zero point), activations quantized on the fly per batch
  (MatMulInteger / DynamicQuantizeLinear);
* ``onnx-static`` — ``quantize_static``: activation ranges fixed beforehand by running
  ``calibration`` training samples through the float model (QDQ or QOperator format).

Both write a new ONNX file; the runner then scores the original and the quantized file with
onnxruntime on the same evaluation data, so the accuracy change is measured, not assumed. A
model with no operator onnxruntime quantizes (a tree ensemble, say) is refused with the list
of what it does contain, instead of returning an unchanged file that looks "quantized".
"""

from __future__ import annotations

import logging
import tempfile
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ...core.optional import require
from ..base import RecipeBase, ShrinkContext, Shrunk, check_choice, check_int, check_names, recipe_error
from .backend import onnx_model
from .model import OnnxModel, load_proto

#: operators whose presence shows that onnxruntime really quantized something
QUANTIZED_OPS = frozenset({
    "MatMulInteger", "ConvInteger", "DynamicQuantizeLinear", "QuantizeLinear", "DequantizeLinear", "QLinearMatMul",
    "QLinearConv", "QGemm", "QAttention", "DynamicQuantizeMatMul", "MatMulIntegerToFloat", "QLinearAdd",
    "QLinearMul", "DynamicQuantizeLSTM", "QLinearSoftmax",
})
#: operators whose weights onnxruntime's int8 quantizers rewrite
QUANTIZABLE_OPS = frozenset({"MatMul", "Gemm", "Conv", "ConvTranspose", "Attention", "LSTM", "GRU",
                             "EmbedLayerNormalization", "Gather"})
#: errors onnxruntime's quantizers raise on models they cannot handle
QUANTIZER_ERRORS = (ValueError, RuntimeError, TypeError, KeyError, NotImplementedError, AttributeError)
WEIGHT_TYPES = ("int8", "uint8")
FORMATS = ("qdq", "qoperator")
CALIBRATE_METHODS = ("minmax", "entropy", "percentile")


def op_counts(model: OnnxModel) -> Counter:
    """Operator types in the main graph, with their counts."""
    return Counter(node.op_type for node in load_proto(model).graph.node)


def _quant_type(ort_q: Any, name: str) -> Any:
    return ort_q.QuantType.QInt8 if name == "int8" else ort_q.QuantType.QUInt8


def _nothing_to_quantize(name: str, ops: Counter) -> Exception:
    return recipe_error(name, "onnxruntime found no operator it can quantize in this model (it has: "
                              + ", ".join(f"{op}×{n}" for op, n in sorted(ops.items())) + ")",
                        "Dynamic and static int8 cover MatMul, Gemm, Conv, Attention and LSTM.")


def _check_quantizable(name: str, ops: Counter) -> None:
    if not set(ops) & QUANTIZABLE_OPS:
        raise _nothing_to_quantize(name, ops)


def _run_quantizer(name: str, model: OnnxModel, quantize: Any) -> OnnxModel:
    """Write ``model`` to a temporary folder, run ``quantize(src, dst)``, read the result back."""
    with tempfile.TemporaryDirectory(prefix="modelsize-onnxq-") as folder:
        src, dst = Path(folder) / "model.onnx", Path(folder) / "model.quant.onnx"
        src.write_bytes(model.content)
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # the quantizer logs advice ("consider pre-processing") on the root logger
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                quantize(str(src), str(dst))
        except QUANTIZER_ERRORS as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise recipe_error(name, f"onnxruntime's quantizer failed on this model ({type(exc).__name__}: "
                                     f"{first[:200]})") from exc
        finally:
            root.setLevel(level)
        return OnnxModel(dst.read_bytes(), model.output, source="onnxruntime.quantization output",
                         threads=model.threads)


def _result(name: str, before: Counter, quantized: OnnxModel, details: dict[str, Any]) -> Shrunk:
    after = op_counts(quantized)
    added = sorted(op for op in after if op in QUANTIZED_OPS)
    if not added:
        raise _nothing_to_quantize(name, before)
    details = {**details, "ops_before": dict(sorted(before.items())), "ops_after": dict(sorted(after.items())),
               "quantized_ops": added}
    return Shrunk(quantized, details=details)


@dataclass
class OnnxDynamicInt8(RecipeBase):
    """``quantize_dynamic``: 8-bit weights, activations quantized per batch at run time.

    ``weight_type``: ``"int8"`` or ``"uint8"``. ``per_channel``: one scale per output channel.
    ``ops``: operator types to quantize (empty: every type onnxruntime supports).
    """

    weight_type: str = "int8"
    per_channel: bool = False
    ops: tuple[str, ...] = ()

    name: ClassVar[str] = "onnx-dynamic"
    framework: ClassVar[str] = "onnx"

    def apply(self, model: Any, context: ShrinkContext) -> Shrunk:
        ort_q = require("onnxruntime.quantization", "quantize ONNX models")
        weight = check_choice(self.name, "weight_type", self.weight_type, WEIGHT_TYPES)
        per_channel = _check_bool(self.name, "per_channel", self.per_channel)
        ops = check_names(self.name, "ops", self.ops)
        source = onnx_model(model)
        before = op_counts(source)
        _check_quantizable(self.name, before)

        def quantize(src: str, dst: str) -> None:
            ort_q.quantize_dynamic(src, dst, op_types_to_quantize=list(ops) or None, per_channel=per_channel,
                                   weight_type=_quant_type(ort_q, weight))

        quantized = _run_quantizer(self.name, source, quantize)
        return _result(self.name, before, quantized, {"weight_type": weight, "per_channel": per_channel})


@dataclass
class OnnxStaticInt8(RecipeBase):
    """``quantize_static``: weights and activations int8, activation ranges calibrated on
    ``calibration`` training samples (``batch_size`` per run) with ``method`` (MinMax, Entropy,
    Percentile). ``format``: ``"qdq"`` (QuantizeLinear/DequantizeLinear pairs) or
    ``"qoperator"`` (QLinear* operators)."""

    calibration: int = 256
    batch_size: int = 32
    method: str = "minmax"
    format: str = "qdq"
    weight_type: str = "int8"
    activation_type: str = "int8"
    per_channel: bool = False

    name: ClassVar[str] = "onnx-static"
    framework: ClassVar[str] = "onnx"

    def apply(self, model: Any, context: ShrinkContext) -> Shrunk:
        ort_q = require("onnxruntime.quantization", "quantize ONNX models")
        count = check_int(self.name, "calibration", self.calibration, 1)
        batch = check_int(self.name, "batch_size", self.batch_size, 1)
        method = check_choice(self.name, "method", self.method, CALIBRATE_METHODS)
        fmt = check_choice(self.name, "format", self.format, FORMATS)
        weight = check_choice(self.name, "weight_type", self.weight_type, WEIGHT_TYPES)
        activation = check_choice(self.name, "activation_type", self.activation_type, WEIGHT_TYPES)
        per_channel = _check_bool(self.name, "per_channel", self.per_channel)
        samples = calibration_samples(self.name, context, count)
        source = onnx_model(model)
        before = op_counts(source)
        _check_quantizable(self.name, before)
        input_name, dtype, _shape = source.input_info()
        reader = _reader(ort_q, input_name, samples.astype(dtype, copy=False), batch)
        methods = {"minmax": ort_q.CalibrationMethod.MinMax, "entropy": ort_q.CalibrationMethod.Entropy,
                   "percentile": ort_q.CalibrationMethod.Percentile}

        def quantize(src: str, dst: str) -> None:
            ort_q.quantize_static(
                src, dst, reader, quant_format=ort_q.QuantFormat.QDQ if fmt == "qdq" else ort_q.QuantFormat.QOperator,
                per_channel=per_channel, activation_type=_quant_type(ort_q, activation),
                weight_type=_quant_type(ort_q, weight), calibrate_method=methods[method])

        quantized = _run_quantizer(self.name, source, quantize)
        return _result(self.name, before, quantized, {
            "format": fmt, "method": method, "calibration_samples": int(len(samples)), "weight_type": weight,
            "activation_type": activation, "per_channel": per_channel})


def calibration_samples(recipe: str, context: ShrinkContext, count: int) -> np.ndarray:
    """The first ``count`` training samples (validation when there is no training split)."""
    data = context.data
    for split in ((data.train, data.val) if data is not None else ()):
        if split is not None and len(split):
            return np.ascontiguousarray(split.X[:count])
    raise recipe_error(recipe, "static quantization calibrates activation ranges on real inputs, and there is no "
                               "training or validation data", "Pass data with a training split.")


def _reader(ort_q: Any, name: str, X: np.ndarray, batch: int) -> Any:
    """An onnxruntime ``CalibrationDataReader`` over NumPy batches of ``X``."""
    batches = [{name: X[i:i + batch]} for i in range(0, len(X), batch)]

    class Reader(ort_q.CalibrationDataReader):  # type: ignore[misc, name-defined]
        def __init__(self) -> None:
            self.index = 0

        def get_next(self) -> dict[str, np.ndarray] | None:
            if self.index >= len(batches):
                return None
            self.index += 1
            return batches[self.index - 1]

        def rewind(self) -> None:
            self.index = 0

    return Reader()


def _check_bool(recipe: str, name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        from ..base import recipe_option_error

        raise recipe_option_error(recipe, name, "True or False", value)
    return value

"""Selective TFLite quantization: int8 everywhere except the op types kept in float.

The TFLite converter cannot mix float16 and int8 per op, but its quantization debugger can
leave chosen op types out of full-integer quantization (``QuantizationDebugOptions(
denylisted_ops=[…])``): the sensitive ops (say the ``CONV_2D`` layers) stay float32, the
rest (the large ``FULLY_CONNECTED`` weights) become int8. That is the per-op precision the
converter allows, and the budget search tries each op type kept in float as its own candidate.
The result is a :class:`~.tflite.TFLiteModel`, scored by running the file in the interpreter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ...core.optional import require
from ..base import RecipeBase, ShrinkContext, Shrunk, check_int, check_names, recipe_error
from .train import quiet
from .tflite import TFLiteModel, TFLiteSaver, _check_backend, representative_samples


@dataclass
class TFLiteSelective(RecipeBase):
    """Full-integer TFLite with the op types in ``float_ops`` (``CONV_2D``, ``FULLY_CONNECTED`` …)
    left in float32; ``calibration`` representative samples from the training split."""

    float_ops: tuple[str, ...] = ()
    calibration: int = 200

    name: ClassVar[str] = "tflite-selective"
    framework: ClassVar[str] = "keras"

    def apply(self, model: Any, context: ShrinkContext) -> Shrunk:
        ops = tuple(op.upper() for op in check_names(self.name, "float_ops", self.float_ops))
        count = check_int(self.name, "calibration", self.calibration, 1)
        if isinstance(model, TFLiteModel):
            raise recipe_error(self.name, "the model is already a TFLite file", "Convert the Keras model instead.")
        _check_backend(self.name)
        tf = require("tensorflow", "convert Keras models to TFLite")
        samples = representative_samples(self.name, context, count)
        batches = [samples[i:i + 1] for i in range(len(samples))]

        def representative() -> Any:
            for batch in batches:
                yield [batch]

        try:
            with quiet():
                converter = tf.lite.TFLiteConverter.from_keras_model(model)
                converter.optimizations = [tf.lite.Optimize.DEFAULT]
                converter.representative_dataset = representative
                options = tf.lite.experimental.QuantizationDebugOptions(denylisted_ops=list(ops)) if ops else None
                debugger = tf.lite.experimental.QuantizationDebugger(
                    converter=converter, debug_dataset=representative, debug_options=options)
                content = bytes(debugger.get_nondebug_quantized_model())
        except (RuntimeError, ValueError, TypeError, NotImplementedError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise recipe_error(self.name, f"the TFLite converter refused this model ({type(exc).__name__}: "
                                          f"{first[:240]})") from exc
        mode = "int8 except " + "|".join(ops) if ops else "int8"
        converted = TFLiteModel(content, "int8", getattr(context.backend, "interpreter_threads", None))
        details = {"float_ops": list(ops), "tflite_bytes": len(content), "tensor_types": converted.tensor_types(),
                   "calibration_samples": int(len(samples))}
        return Shrunk(converted, (TFLiteSaver(mode),), f"tflite ({mode})", details)

"""TFLite conversion of Keras models, scored by running the ``.tflite`` file in the interpreter.

``TFLiteConvert(mode=…)`` runs ``tf.lite.TFLiteConverter.from_keras_model`` with one of the
recipes of the TFLite post-training quantization guide:

=============  ==========================================================================
``float32``    no optimization: the reference file
``dynamic``    ``Optimize.DEFAULT`` alone: int8 weights, float activations (dynamic range)
``float16``    ``Optimize.DEFAULT`` + ``supported_types=[float16]``: float16 weights
``int8``       full integer: int8 weights *and* activations, ranges calibrated on a
               representative dataset; ``TFLITE_BUILTINS_INT8`` only, so the conversion fails
               loudly instead of leaving float ops behind
``int16x8``    int16 activations, int8 weights (the converter's experimental ops set)
=============  ==========================================================================

The representative dataset is ``calibration`` samples of the data given for the run (its
training split, else validation — never the evaluation split, which scores the result). The
shrunk model is a :class:`TFLiteModel`: the converter's bytes, run by the TFLite interpreter
(``ai_edge_litert`` when installed, else ``tf.lite.Interpreter``), so the accuracy in the
result is the file's accuracy, not the Keras model's. The float32 conversion is made too and
its size (and interpreter score) are in the details, for the "× smaller than float32 TFLite"
comparison of the TFLite guide.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ...core.errors import internal_error, is_our_bug
from ...core.optional import require
from ..base import RecipeBase, ShrinkContext, Shrunk, check_choice, check_int, recipe_error
from .train import quiet

if TYPE_CHECKING:  # pragma: no cover
    from ...core.report import Report

MODES = ("float32", "dynamic", "float16", "int8", "int16x8")
#: modes that need a representative dataset
CALIBRATED = ("int8", "int16x8")
IO_TYPES = ("float", "int8")
EVAL_BATCH = 256


def _interpreter_class() -> Any:
    """``ai_edge_litert``'s Interpreter when installed (TensorFlow's is deprecated), else TF's."""
    try:
        from ai_edge_litert.interpreter import Interpreter  # type: ignore[import-not-found]

        return Interpreter
    except ImportError:
        tf = require("tensorflow", "run TFLite models")
        return tf.lite.Interpreter


@dataclass
class TFLiteModel:
    """A ``.tflite`` flatbuffer (``content``) and the interpreter that runs it.

    Integer inputs and outputs (full-integer models converted with ``io="int8"``) are quantized
    and dequantized here with the file's own scale and zero point, so callers always feed
    float32 features and get float32 scores.
    """

    content: bytes
    mode: str = "float32"
    threads: int | None = None
    _interpreter: Any = field(default=None, init=False, repr=False, compare=False)
    _batch: int = field(default=-1, init=False, repr=False, compare=False)

    @property
    def nbytes(self) -> int:
        return len(self.content)

    def fresh(self) -> "TFLiteModel":
        return TFLiteModel(self.content, self.mode, self.threads)

    def interpreter(self, batch: int) -> Any:
        """The interpreter, with its input resized to ``batch`` samples."""
        if self._interpreter is None:
            with quiet():
                self._interpreter = _interpreter_class()(model_content=self.content, num_threads=self.threads)
            self._batch = -1
        if batch != self._batch:
            detail = self._interpreter.get_input_details()[0]
            self._interpreter.resize_tensor_input(detail["index"], [batch, *detail["shape"][1:]])
            self._interpreter.allocate_tensors()
            self._batch = batch
        return self._interpreter

    def run(self, X: np.ndarray) -> np.ndarray:
        """Scores for one batch (float32)."""
        interp = self.interpreter(len(X))
        inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
        x = np.asarray(X, dtype=np.float32)
        if np.issubdtype(inp["dtype"], np.integer):
            scale, zero = inp["quantization"]
            info = np.iinfo(inp["dtype"])
            x = np.clip(np.round(x / scale + zero), info.min, info.max)
        interp.set_tensor(inp["index"], x.astype(inp["dtype"]))
        interp.invoke()
        y = interp.get_tensor(out["index"])
        if np.issubdtype(out["dtype"], np.integer):
            scale, zero = out["quantization"]
            y = (y.astype(np.float32) - zero) * scale
        return np.array(y, dtype=np.float32)

    def predict(self, X: np.ndarray, batch_size: int = EVAL_BATCH) -> np.ndarray:
        parts = [self.run(X[i:i + batch_size]) for i in range(0, len(X), batch_size)]
        return np.concatenate(parts) if parts else np.empty((0,), np.float32)

    def tensor_types(self) -> dict[str, int]:
        """How many of the file's tensors have each element type."""
        details = self.interpreter(1).get_tensor_details()
        return dict(sorted(Counter(np.dtype(d["dtype"]).name for d in details).items()))

    def measure(self) -> "Report":
        """The TFLite file reader's Report of these bytes."""
        from ...formats import tflite_file

        with tempfile.TemporaryDirectory(prefix="modelsize-tflite-") as folder:
            path = Path(folder) / "model.tflite"
            path.write_bytes(self.content)
            return tflite_file.TFLiteReader().read(path)


class TFLiteSaver:
    """The ``.tflite`` file: the converter's bytes, read back into a new interpreter."""

    suffix = ".tflite"
    loads_into = "shrunk"

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.name = f"tflite ({mode})"

    def check(self, model: Any) -> str | None:
        return None if isinstance(model, TFLiteModel) else f"the model is a {type(model).__name__}, not a TFLite file"

    def save(self, model: Any, path: Any) -> None:
        Path(path).write_bytes(model.content)

    def load(self, path: Any, like: Any) -> Any:
        threads = like.threads if isinstance(like, TFLiteModel) else None
        return TFLiteModel(Path(path).read_bytes(), self.mode, threads)


def representative_samples(recipe: str, context: ShrinkContext, count: int) -> np.ndarray:
    """``count`` samples of the training split (else validation) for calibration."""
    data = context.data
    for split in ((data.train, data.val) if data is not None else ()):
        if split is not None and len(split):
            return np.ascontiguousarray(split.X[:count], dtype=np.float32)
    raise recipe_error(recipe, "full-integer and 16x8 conversion calibrate activation ranges on a representative "
                               "dataset, and the run has no training or validation data",
                       "Pass data with a training split (CLI: --data), or use mode=dynamic or mode=float16.")


def convert(model: Any, mode: str, samples: np.ndarray | None = None, io: str = "float") -> bytes:
    """``TFLiteConverter.from_keras_model(model)`` with the settings of ``mode``."""
    tf = require("tensorflow", "convert Keras models to TFLite")
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if mode != "float32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if mode in CALIBRATED:
        assert samples is not None
        batches = [samples[i:i + 1] for i in range(len(samples))]

        def representative() -> Any:
            for batch in batches:
                yield [batch]

        converter.representative_dataset = representative
        if mode == "int8":
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            if io == "int8":
                converter.inference_input_type = tf.int8
                converter.inference_output_type = tf.int8
        else:
            converter.target_spec.supported_ops = [
                tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
    with quiet():
        return bytes(converter.convert())


@dataclass
class TFLiteConvert(RecipeBase):
    """Convert a Keras model to TFLite (``mode``: see the module doc).

    ``calibration``: representative samples for ``int8`` / ``int16x8``. ``io``: ``"float"``
    keeps float32 inputs and outputs (quantize/dequantize inside the file); ``"int8"`` makes a
    full-integer model's inputs and outputs int8 too (for integer-only accelerators).
    ``compare_float32``: also convert without optimization and report that file's size and
    interpreter score in the details.
    """

    mode: str = "int8"
    calibration: int = 200
    io: str = "float"
    compare_float32: bool = True

    name: ClassVar[str] = "tflite"
    framework: ClassVar[str] = "keras"

    def describe(self) -> str:
        """``tflite int8``, ``tflite float16(calibration=50)``: the mode always shows."""
        rest = RecipeBase.describe(dataclasses.replace(self, mode="int8"))
        return rest.replace(self.name, f"{self.name} {self.mode}", 1)

    def apply(self, model: Any, context: ShrinkContext) -> Shrunk:
        mode = check_choice(self.name, "mode", self.mode, MODES)
        count = check_int(self.name, "calibration", self.calibration, 1)
        io = check_choice(self.name, "io", self.io, IO_TYPES)
        if not isinstance(self.compare_float32, bool):
            from ..base import recipe_option_error

            raise recipe_option_error(self.name, "compare_float32", "True or False", self.compare_float32)
        if io == "int8" and mode != "int8":
            from ..base import recipe_option_error

            raise recipe_option_error(self.name, "io", "'float' unless mode='int8'", io)
        if isinstance(model, TFLiteModel):
            raise recipe_error(self.name, "the model is already a TFLite file", "Convert the Keras model instead.")
        _check_backend(self.name)
        samples = representative_samples(self.name, context, count) if mode in CALIBRATED else None
        threads = getattr(context.backend, "interpreter_threads", None)
        try:
            content = convert(model, mode, samples, io)
        except (RuntimeError, ValueError, TypeError, NotImplementedError) as exc:
            if is_our_bug(exc):
                raise internal_error(exc, "converting to TFLite") from exc
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise recipe_error(self.name, f"the TFLite converter refused this model in mode {mode!r} "
                                          f"({type(exc).__name__}: {first[:240]})") from exc
        converted = TFLiteModel(content, mode, threads)
        details: dict[str, Any] = {"mode": mode, "io": io, "tflite_bytes": len(content),
                                   "tensor_types": converted.tensor_types()}
        if samples is not None:
            details["calibration_samples"] = int(len(samples))
        if self.compare_float32 and mode != "float32":
            reference = TFLiteModel(convert(model, "float32"), "float32", threads)
            details["float32_tflite_bytes"] = reference.nbytes
            details["ratio_vs_float32_tflite"] = reference.nbytes / len(content)
            details["float32_tflite_score"] = context.score(reference)
        notes: list[str] = []
        if "float32_tflite_bytes" in details:
            score = details["float32_tflite_score"]
            notes.append(f"{details['ratio_vs_float32_tflite']:.2f}× smaller than the float32 TFLite file "
                         f"({details['float32_tflite_bytes']:,} bytes" + (
                             f", {100 * score:.2f}% accuracy in the interpreter)" if score is not None else ")"))
        if mode == "int16x8":
            notes.append("16x8 quantization uses the converter's experimental ops set; the reference interpreter runs "
                         "its int16 kernels without optimized paths, so it is often much slower on CPU.")
        return Shrunk(converted, (TFLiteSaver(mode),), f"tflite ({mode})", details, tuple(notes))


def _check_backend(recipe: str) -> None:
    keras = require("keras", "convert Keras models")
    backend = keras.backend.backend()
    if backend != "tensorflow":
        raise recipe_error(recipe, f"the TFLite converter needs Keras on the TensorFlow backend; this Keras runs "
                                   f"on {backend}", "Set KERAS_BACKEND=tensorflow before importing Keras.")

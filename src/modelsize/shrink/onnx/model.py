"""An ONNX model held as its file's bytes, run with onnxruntime.

The ONNX shrink recipes quantize any ONNX file, and the scikit-learn float32 recipe turns an
estimator into one, so the before/after runner needs a model object for ONNX: an
:class:`OnnxModel` is the serialized protobuf (exactly what ``onnx.save`` writes) plus which
output holds the scores. Its predictions come from onnxruntime on the CPU, its Report from the
ONNX file reader (:mod:`modelsize.formats.onnx_file`), and its saver writes the bytes to a
``.onnx`` file and reads them back — the file *is* the model.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ...core.errors import InvalidFileError, UnsupportedObjectError
from ...core.optional import loaded, require

if TYPE_CHECKING:  # pragma: no cover
    from ...core.report import Report

#: onnxruntime element type names → NumPy dtypes for feeding inputs
_FEED_TYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(float16)": np.float16,
               "tensor(int64)": np.int64, "tensor(int32)": np.int32, "tensor(uint8)": np.uint8,
               "tensor(int8)": np.int8}
#: samples per onnxruntime call when scoring
EVAL_BATCH = 256


@dataclass
class OnnxModel:
    """A serialized ONNX model (``content``) and the name of the output that holds scores.

    ``output=None`` picks the first floating-point output (skl2onnx classifiers output a label
    then the probabilities; a network's single logits output is picked as is). The session is
    created on first use and kept on this object only.
    """

    content: bytes
    output: str | None = None
    source: str = "bytes"
    threads: int | None = None
    _session: Any = field(default=None, init=False, repr=False, compare=False)

    @property
    def nbytes(self) -> int:
        return len(self.content)

    def session(self) -> Any:
        """The onnxruntime session (CPU), created once per object."""
        if self._session is None:
            ort = require("onnxruntime", "run ONNX models")
            options = ort.SessionOptions()
            options.log_severity_level = 3
            if self.threads is not None:
                options.intra_op_num_threads = self.threads
                options.inter_op_num_threads = 1
            try:
                self._session = ort.InferenceSession(self.content, options, providers=["CPUExecutionProvider"])
            except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own untyped errors
                raise InvalidFileError(
                    f"onnxruntime cannot load the ONNX model from {self.source}: {type(exc).__name__}: "
                    f"{str(exc).splitlines()[0][:200] if str(exc) else ''}") from exc
        return self._session

    def input_info(self) -> tuple[str, Any, list[Any]]:
        """``(name, numpy dtype, shape)`` of the first input."""
        first = self.session().get_inputs()[0]
        return first.name, _FEED_TYPES.get(first.type, np.float32), list(first.shape)

    def output_name(self) -> str:
        """The output used as scores (``output`` or the first floating-point one)."""
        outputs = self.session().get_outputs()
        if self.output is not None:
            if self.output not in {o.name for o in outputs}:
                raise UnsupportedObjectError(
                    f"The ONNX model has no output {self.output!r}; its outputs are {[o.name for o in outputs]}.")
            return self.output
        for out in outputs:
            if out.type in ("tensor(float)", "tensor(double)", "tensor(float16)"):
                return out.name
        return outputs[0].name

    def run(self, X: np.ndarray) -> np.ndarray:
        """Scores for one batch, as float32."""
        name, dtype, _shape = self.input_info()
        out = self.session().run([self.output_name()], {name: np.ascontiguousarray(X, dtype=dtype)})[0]
        return np.asarray(out, dtype=np.float32)

    def predict(self, X: np.ndarray, batch_size: int = EVAL_BATCH) -> np.ndarray:
        """Scores for every sample of ``X`` (batched, so memory stays small)."""
        parts = [self.run(X[i:i + batch_size]) for i in range(0, len(X), batch_size)]
        out = np.concatenate(parts) if parts else np.empty((0,), np.float32)
        return out[:, None] if out.ndim == 1 else out

    def fresh(self) -> "OnnxModel":
        """The same bytes with no session yet (a copy that shares nothing mutable)."""
        return OnnxModel(self.content, self.output, self.source, self.threads)

    def measure(self) -> "Report":
        """The ONNX file reader's Report of these bytes (written to a temporary file)."""
        from ...formats import onnx_file

        with tempfile.TemporaryDirectory(prefix="modelsize-onnx-") as folder:
            path = Path(folder) / "model.onnx"
            path.write_bytes(self.content)
            return onnx_file.read_onnx(path)


def as_onnx_model(obj: Any) -> OnnxModel | None:
    """An :class:`OnnxModel` for an OnnxModel, an ``onnx.ModelProto``, or the path of a ``.onnx``
    file; ``None`` for anything else."""
    if isinstance(obj, OnnxModel):
        return obj
    onnx = loaded("onnx")
    if onnx is not None and isinstance(obj, onnx.ModelProto):
        return OnnxModel(obj.SerializeToString(), source="onnx.ModelProto")
    if isinstance(obj, (str, os.PathLike)) and str(obj).lower().endswith(".onnx") and os.path.isfile(obj):
        return OnnxModel(Path(obj).read_bytes(), source=repr(os.fspath(obj)))
    return None


def load_proto(model: OnnxModel) -> Any:
    """The parsed protobuf of ``model`` (for converters and quantizers that want one)."""
    onnx = require("onnx", "read ONNX models")
    return onnx.load_from_string(model.content)


class OnnxSaver:
    """The ONNX file itself: the bytes written as they are, read back into a new OnnxModel."""

    suffix = ".onnx"
    loads_into = "shrunk"

    def __init__(self, name: str = "onnx") -> None:
        self.name = name

    def check(self, model: Any) -> str | None:
        return None if as_onnx_model(model) is not None else f"the model is a {type(model).__name__}, not an ONNX model"

    def save(self, model: Any, path: Any) -> None:
        onnx_model = as_onnx_model(model)
        assert onnx_model is not None
        Path(path).write_bytes(onnx_model.content)

    def load(self, path: Any, like: Any) -> Any:
        output = like.output if isinstance(like, OnnxModel) else None  # the wiped copy knows the scores output
        return OnnxModel(Path(path).read_bytes(), output, source=repr(os.fspath(path)))

"""TensorRecord: one tensor (or tensor-like array) as modelsize sees it.

A record is plain data: where the tensor lives in the model (``path``), what it is (shape,
dtype, logical bits per element), what it costs (``stored_bytes``, including packing, scales
and zero points kept with it), what role it plays, and a ``storage_key`` that is equal for two
records backed by the same memory — so totals count shared (tied) storage once while both
places stay visible in the tree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, Mapping

from . import dtypes


class Role(str, Enum):
    """What a tensor is for. Roles are counted separately; only PARAMETER counts as params."""

    PARAMETER = "parameter"
    BUFFER = "buffer"
    STATE = "state"  #: initial values of a model's resource/state variables (a streaming model's state)
    OPTIMIZER_STATE = "optimizer_state"
    GRADIENT = "gradient"
    QUANT_SCALE = "quant_scale"
    QUANT_ZERO_POINT = "quant_zero_point"
    PRUNING_MASK = "pruning_mask"
    INDEX = "index"  #: sparse-format indices, tree node structure and similar bookkeeping
    DATA = "data"  #: training data a model keeps (k-NN, SVM support vectors)
    METADATA = "metadata"
    OTHER = "other"


@dataclass(frozen=True)
class TensorRecord:
    """One tensor.

    ``bits`` is the logical bits per element of ``dtype`` (int4 = 4, Q4_K ≈ 4.5, bool = 8).
    ``stored_bytes`` is what the tensor actually occupies, which may differ from
    ``numel * bits / 8``: packed int4 rounds up, a quantised weight's per-channel scales may be
    folded in by a reader (then ``meta['includes']`` says so), a sparse tensor stores less.
    ``nnz`` is the number of non-zero elements in the values the model *uses* (after any pruning
    mask), ``None`` when the data is not readable (meta tensors, header-only files).
    """

    path: str
    shape: tuple[int, ...]
    dtype: str
    role: Role = Role.PARAMETER
    trainable: bool | None = None
    stored_bytes: int | None = None
    bits: float | None = None
    nnz: int | None = None
    storage_key: str | None = None
    device: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        shape = tuple(map(int, self.shape))
        if shape and min(shape) < 0:
            raise ValueError(f"Tensor {self.path!r} has a negative dimension: {shape}.")
        object.__setattr__(self, "shape", shape)
        if type(self.role) is not Role:
            object.__setattr__(self, "role", Role(self.role))
        object.__setattr__(self, "dtype", dtypes.canonical(self.dtype))
        if self.bits is None:
            known = dtypes.known(self.dtype)
            object.__setattr__(self, "bits", dtypes.get(self.dtype).bits if known else None)
        if self.stored_bytes is None:
            object.__setattr__(self, "stored_bytes", self.dense_bytes)
        if self.storage_key is None:
            object.__setattr__(self, "storage_key", f"path:{self.path}")

    @property
    def numel(self) -> int:
        """Number of elements (1 for a scalar)."""
        return math.prod(self.shape)

    @property
    def name(self) -> str:
        """Last component of the dotted path."""
        return self.path.rsplit(".", 1)[-1]

    @property
    def dense_bytes(self) -> int:
        """Bytes this tensor takes when stored densely in its dtype (the "apparent" size)."""
        if dtypes.known(self.dtype):
            return dtypes.get(self.dtype).nbytes(self.numel)
        if self.bits is None:
            return 0
        return -(-int(self.numel * self.bits) // 8)

    @property
    def sparsity(self) -> float | None:
        """Fraction of zero elements, ``None`` when the data could not be read."""
        if self.nnz is None or self.numel == 0:
            return None
        return 1.0 - self.nnz / self.numel

    def with_(self, **changes: Any) -> "TensorRecord":
        """A copy with some fields changed (records are immutable)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: raw integers, no formatting."""
        return {
            "path": self.path,
            "shape": list(self.shape),
            "dtype": self.dtype,
            "numel": self.numel,
            "bits": self.bits,
            "stored_bytes": self.stored_bytes,
            "dense_bytes": self.dense_bytes,
            "nnz": self.nnz,
            "role": self.role.value,
            "trainable": self.trainable,
            "storage_key": self.storage_key,
            "device": self.device,
            "meta": _jsonable(dict(self.meta)),
        }


def _jsonable(value: Any) -> Any:
    """Make metadata JSON-safe without losing integers."""
    if hasattr(value, "to_dict") and callable(value.to_dict):
        return _jsonable(value.to_dict())
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "item"):
        try:
            return value.item()
        except (TypeError, ValueError):
            pass
    return str(value)

"""NumPy arrays → tensor records, shared by the classical-ML adapters (sklearn, boosting).

Why a helper: these frameworks keep their learned state in plain NumPy arrays — numeric,
structured (one record per node with named fields) or of Python objects — and the three kinds
need different accounting:

* numeric arrays are one record at ``arr.nbytes``;
* structured arrays (sklearn's tree nodes) become one record per field, so a report can say
  which field dominates, plus a padding record when the record type has alignment holes;
* object arrays of strings are sized by their payload (UTF-8 bytes), the part a file stores.

Storage keys come from the memory address, shape, strides and dtype, so two attributes that
hold the same array (k-NN's ``_fit_X`` and its tree's data) are counted once.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ..core.tensors import Role, TensorRecord

#: Bytes assumed for a number held as a Python object inside an object array.
PY_NUMBER_BYTES = 8


def storage_key(arr: np.ndarray) -> str:
    """Equal for two arrays that view the same memory the same way."""
    address = arr.__array_interface__["data"][0]
    return f"np:{address}:{arr.shape}:{arr.strides}:{arr.dtype.str}"


def dtype_name(dtype: np.dtype) -> str:
    """NumPy dtype → modelsize dtype name (``float64``, ``int64``, ``bool``, ``str160`` …)."""
    return str(dtype.name)


def object_payload_bytes(arr: np.ndarray) -> int:
    """Bytes an object array's elements carry: UTF-8 length of strings, 8 per number."""
    total = 0
    for item in arr.ravel():
        total += _python_value_bytes(item)
    return total


def _python_value_bytes(item: Any) -> int:
    if isinstance(item, str):
        return len(item.encode("utf-8", "surrogatepass"))
    if isinstance(item, (bytes, bytearray)):
        return len(item)
    if isinstance(item, np.ndarray):
        return int(item.nbytes)
    if isinstance(item, (tuple, list)):
        return sum(_python_value_bytes(x) for x in item)
    return PY_NUMBER_BYTES


def count_nonzero(arr: np.ndarray) -> int | None:
    """Non-zero elements of a numeric array; ``None`` for kinds where "zero" has no meaning."""
    if arr.dtype.kind in "biufc":
        return int(np.count_nonzero(arr))
    return None


def array_record(
    path: str,
    arr: np.ndarray,
    role: Role,
    meta: Mapping[str, Any] | None = None,
    key: str | None = None,
) -> TensorRecord:
    """One record for a numeric or object array (not structured: see :func:`field_records`).

    ``key`` replaces the memory-address storage key for arrays built on the fly (from a model
    dump) that do not outlive the call: their address may be reused by the next one.
    """
    extra = dict(meta or {})
    if arr.dtype.kind == "O":
        extra.setdefault("payload", "UTF-8 bytes of strings, 8 bytes per number")
        return TensorRecord(
            path=path,
            shape=arr.shape,
            dtype="object",
            role=role,
            stored_bytes=object_payload_bytes(arr),
            storage_key=key or storage_key(arr),
            meta=extra,
        )
    return TensorRecord(
        path=path,
        shape=arr.shape,
        dtype=dtype_name(arr.dtype),
        role=role,
        bits=arr.dtype.itemsize * 8,
        stored_bytes=int(arr.nbytes),
        nnz=count_nonzero(arr),
        storage_key=key or storage_key(arr),
        meta=extra,
    )


def field_records(
    prefix: str,
    arr: np.ndarray,
    roles: Mapping[str, Role],
    default: Role = Role.INDEX,
) -> list[TensorRecord]:
    """One record per field of a structured array, plus its alignment padding if any.

    ``roles`` maps field names to roles (unlisted fields get ``default``). Field records share
    no storage key with each other: together they are the array's bytes, counted once.
    """
    records: list[TensorRecord] = []
    base_key = storage_key(arr)
    used = 0
    for name in arr.dtype.names or ():
        field_dtype = arr.dtype.fields[name][0]
        used += field_dtype.itemsize
        values = arr[name]
        records.append(
            TensorRecord(
                path=f"{prefix}.{name}" if prefix else name,
                shape=arr.shape + field_dtype.shape,
                dtype=dtype_name(field_dtype.base),
                role=roles.get(name, default),
                bits=field_dtype.base.itemsize * 8,
                stored_bytes=int(field_dtype.itemsize * arr.size),
                nnz=count_nonzero(values),
                storage_key=f"{base_key}:{name}",
                meta={"field_of": prefix or "record"},
            )
        )
    padding = arr.dtype.itemsize - used
    if padding > 0:
        records.append(
            TensorRecord(
                path=f"{prefix}._padding" if prefix else "_padding",
                shape=arr.shape + (padding,),
                dtype="uint8",
                role=Role.OTHER,
                storage_key=f"{base_key}:_padding",
                meta={"why": "alignment holes in the record type"},
            )
        )
    return records

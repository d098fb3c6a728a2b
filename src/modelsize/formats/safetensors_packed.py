"""modelsize's own packed safetensors (``model.mixed.safetensors``): logical tensors, not their parts.

A packed file stores one logical tensor as several safetensors entries (``w::mask`` and ``w::values``
for a bitmask, ``w::packed``/``w::scale``/``w::minimum`` for int4), and its ``__metadata__``
(``format = "modelsize-packed/1"``) names every logical tensor's layout, shape and dtype. Read as
plain safetensors, parameters would be the element count of the parts — the packed bytes. Here
each logical tensor becomes one record: its own shape and element count, the bytes of all its
parts, 4 bits per element for int4, and the non-zero count of a sparse layout.

The layout format is defined by :mod:`modelsize.shrink.layouts`; it is restated here (not imported)
because readers never import the shrink package. Anything that does not add up — a part missing,
an entry no logical tensor claims, a malformed description — falls back to the plain reading
with a note saying why.
"""

from __future__ import annotations

import json
import math
from typing import Any

from ..core import dtypes
from ..core.tensors import TensorRecord
from ._common import role_for_name

PACKED_FORMAT = "modelsize-packed/1"
#: the budget search's mixed-precision file (:mod:`modelsize.shrink.torch.mixed`): only the packed
#: weights are described, each as ``{shape, bits, group, kept}``; every other entry is dense
MIXED_FORMAT = "modelsize-mixed/1"
SEP = "::"
#: the parts each layout stores beside (or instead of) the tensor's own name
PARTS = {"dense": ("",), "bitmask": ("mask", "values"), "csr": ("crow", "col", "values"),
         "int4": ("packed", "scale", "minimum")}
MAX_LAYOUT_JSON = 100 * 1000 * 1000


def packed_records(header: Any) -> tuple[list[TensorRecord] | None, str | None]:
    """The logical records of a packed file, or ``(None, why)`` when it is not one (``why`` is
    ``None`` for an ordinary safetensors file)."""
    meta = header.metadata or {}
    kind = meta.get("format")
    if kind not in (PACKED_FORMAT, MIXED_FORMAT):
        return None, None
    name = header.path.name
    text = meta.get("layouts")
    try:
        if not isinstance(text, str) or len(text) > MAX_LAYOUT_JSON:
            raise ValueError("no layout description")
        layouts = json.loads(text)
        if not isinstance(layouts, dict):
            raise ValueError("the layout description is not an object")
        entries = {e.name: e for e in header.entries}
        records, claimed = [], set()
        for tensor, info in layouts.items():
            record, parts = (_record if kind == PACKED_FORMAT else _mixed_record)(name, tensor, info, entries)
            records.append(record)
            claimed.update(parts)
        if kind == MIXED_FORMAT:  # the weights left dense are stored under their own names
            records += [r for r in header.records() if r.path not in claimed and SEP not in r.path]
            claimed |= {e for e in entries if SEP not in e}
        if claimed != set(entries):
            raise ValueError(f"{len(set(entries) - claimed)} stored entries belong to no logical tensor")
    except (ValueError, KeyError, TypeError) as exc:
        return None, (f"{name}: a modelsize packed file whose layout description does not add up ({exc}); "
                      "read as plain safetensors, so parameters count the packed parts.")
    return records, None


def _record(file: str, tensor: str, info: Any, entries: dict[str, Any]) -> tuple[TensorRecord, list[str]]:
    layout = info["layout"]
    shape = tuple(int(d) for d in info["shape"])
    if layout not in PARTS or any(d < 0 for d in shape):
        raise ValueError(f"tensor {tensor!r} has layout {layout!r} and shape {list(shape)}")
    parts = [tensor if not p else f"{tensor}{SEP}{p}" for p in PARTS[layout]]
    stored = [entries[p] for p in parts]  # KeyError: a part is missing
    numel = math.prod(shape)
    dtype = "int4" if layout == "int4" else dtypes.canonical(str(info["dtype"]))
    bits = 4.0 if layout == "int4" else float(dtypes.get(dtype).bits)
    nnz = math.prod(entries[f"{tensor}{SEP}values"].shape) if layout in ("bitmask", "csr") else None
    size = sum(e.end - e.begin for e in stored)
    record = TensorRecord(path=tensor, shape=shape, dtype=dtype, bits=bits, role=role_for_name(tensor),
                          stored_bytes=size, nnz=nnz, storage_key=_key(file, tensor),
                          meta={"file": file, "layout": layout, "parts": parts, "elements": numel})
    return record, parts


def _mixed_record(file: str, tensor: str, info: Any, entries: dict[str, Any]) -> tuple[TensorRecord, list[str]]:
    shape = tuple(int(d) for d in info["shape"])
    bits = int(info["bits"])
    if bits not in (2, 3, 4, 8, 16, 32) or any(d < 0 for d in shape):
        raise ValueError(f"tensor {tensor!r} has {bits} bits and shape {list(shape)}")
    parts = [e for e in entries if e.startswith(f"{tensor}{SEP}")]
    if not parts:
        raise KeyError(tensor)
    stored = [entries[p] for p in parts]
    size = sum(e.end - e.begin for e in stored)
    dtype = {32: "float32", 16: "float16"}.get(bits, f"int{bits}")
    record = TensorRecord(path=tensor, shape=shape, dtype=dtype, bits=float(bits), role=role_for_name(tensor),
                          stored_bytes=size, storage_key=_key(file, tensor),
                          meta={"file": file, "layout": f"mixed {bits}-bit", "parts": parts,
                                "kept_columns": info.get("kept")})
    return record, parts


def _key(file: str, tensor: str) -> str:
    """One logical tensor's storage: its parts are not one byte range (the file interleaves the parts
    of different tensors by name), so the key names the tensor, not a span."""
    return f"packed:{file}:{tensor}"

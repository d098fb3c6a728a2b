"""Exact size of a safetensors file, from the header arithmetic of its Rust writer.

A safetensors file is an 8-byte little-endian header length, a JSON header, then the tensors'
bytes back to back. The writer (``safetensors::tensor::prepare``) orders tensors by dtype,
widest alignment first (the order of its ``Dtype`` enum, reversed), then by name; gives each
``{"dtype","shape","data_offsets"}`` in that key order; puts ``__metadata__`` first when there is
any; serialises with serde_json (compact, non-ASCII kept as UTF-8 — like Python's
``json.dumps(..., ensure_ascii=False, separators=(",", ":"))``); and pads the JSON with spaces to
a multiple of 8. We build the same header, so the size is exact and costs no tensor read.

Two entry points are mirrored:

* ``save_file(tensors, path, metadata)`` — refuses non-tensors, sparse, non-contiguous and
  memory-sharing tensors (we raise :class:`~modelsize.core.errors.UnsupportedObjectError`
  where it raises);
* ``save_model(module, path)`` — keeps one name per shared storage (the first complete one in
  sorted order), records each dropped name in ``__metadata__`` as ``{dropped: kept}``, and makes
  tensors contiguous. ``dedupe_shared=True`` applies the same to a state dict.

Tensors on the ``meta`` device are sized as their materialised CPU copies (shared meta storages
count as shared); the real writer cannot save them.

``__metadata__`` is a Rust HashMap, so with two or more entries the real file lists them in a
per-process random order: the size is unaffected, the exact bytes (and so the compressed size)
can differ by a few bytes.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Callable

from ..core.errors import UnsupportedObjectError, option_error
from .torch_bytes import tensor_view

#: safetensors ``Dtype`` variants in enum order (the writer sorts by it, descending).
DTYPE_ORDER = ("BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0",
               "F8_E4M3FNUZ", "F8_E5M2FNUZ", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "C64",
               "F64", "I64", "U64")
#: torch dtype name → safetensors dtype (what ``safetensors.torch`` accepts).
TORCH_DTYPES = {
    "bool": "BOOL", "uint8": "U8", "int8": "I8", "float8_e5m2": "F8_E5M2", "float8_e4m3fn": "F8_E4M3",
    "float8_e8m0fnu": "F8_E8M0", "float4_e2m1fn_x2": "F4",
    "float8_e4m3fnuz": "F8_E4M3FNUZ", "float8_e5m2fnuz": "F8_E5M2FNUZ", "int16": "I16",
    "uint16": "U16", "float16": "F16", "bfloat16": "BF16", "int32": "I32", "uint32": "U32",
    "float32": "F32", "complex64": "C64", "float64": "F64", "int64": "I64", "uint64": "U64",
}
_RANK = {name: i for i, name in enumerate(DTYPE_ORDER)}


class SaveFileRefusal(UnsupportedObjectError):
    """``save_file`` refuses these tensors (shared or non-contiguous); ``save_model`` would not."""


@dataclass(frozen=True)
class SafetensorsEntry:
    name: str
    dtype: str  #: safetensors dtype, e.g. "F32"
    shape: tuple[int, ...]
    nbytes: int
    tensor: Any = field(repr=False, compare=False)


@dataclass(frozen=True)
class SafetensorsPlan:
    """The file, entry by entry: header bytes (padded) and tensors in file order."""

    entries: tuple[SafetensorsEntry, ...]
    header: bytes
    metadata: dict[str, str] | None
    dropped: dict[str, str]  #: shared names save_model leaves out → the name it keeps
    meta_tensors: int

    @property
    def data_bytes(self) -> int:
        return sum(e.nbytes for e in self.entries)

    @property
    def total(self) -> int:
        return 8 + len(self.header) + self.data_bytes

    @property
    def payload(self) -> bytes:
        """Everything but the tensor data: the length prefix and the header."""
        return struct.pack("<Q", len(self.header)) + self.header

    def write(self, sink: BinaryIO | Any) -> None:
        """Stream the exact file bytes into ``sink`` (tensor bytes zero-copy where contiguous)."""
        sink.write(self.payload)
        self.feed_data(sink.write)

    def feed_data(self, consume: Callable[[memoryview], Any]) -> None:
        for entry in self.entries:
            if entry.nbytes:
                consume(tensor_view(entry.tensor))


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _json_name(name: str) -> str:
    """``json.dumps(name)``, without the encoder call for the usual plain-ASCII names."""
    if name.isascii() and name.isprintable() and '"' not in name and "\\" not in name:
        return f'"{name}"'
    return _json(name)


def header_bytes(entries: list[SafetensorsEntry], metadata: Mapping[str, str] | None) -> bytes:
    """The JSON header exactly as the Rust writer emits it, space-padded to a multiple of 8."""
    parts = []
    if metadata is not None:
        parts.append('"__metadata__":' + _json(dict(metadata)))
    offset = 0
    for e in entries:
        end = offset + e.nbytes
        shape = ",".join(map(str, e.shape))  # ints: what json.dumps writes, without its overhead
        parts.append(f'{_json_name(e.name)}:{{"dtype":"{e.dtype}","shape":[{shape}],'
                     f'"data_offsets":[{offset},{end}]}}')
        offset = end
    raw = ("{" + ",".join(parts) + "}").encode("utf-8")
    return raw + b" " * (-len(raw) % 8)


# ------------------------------------------------------------------ shared-storage handling


def _storage_key(t: Any) -> tuple[Any, ...] | None:
    """Tensors with equal keys share memory (``safetensors.torch._find_shared_tensors``)."""
    storage = t.untyped_storage()
    nbytes = storage.nbytes()
    if nbytes == 0:
        return None
    if t.device.type == "meta":
        return ("meta", storage._cdata, nbytes)
    if storage.data_ptr() == 0:
        return None
    return (t.device, storage.data_ptr(), nbytes)


def _area(t: Any) -> tuple[int, int]:
    """[start, stop) of the bytes ``t`` spans, relative to its storage."""
    size = t.element_size()
    start = t.storage_offset() * size
    if t.numel() == 0:
        return start, start
    last = sum((s - 1) * st for s, st in zip(t.shape, t.stride()))
    return start, start + last * size + size


def _is_complete(t: Any) -> bool:
    return t.storage_offset() == 0 and t.numel() * t.element_size() == t.untyped_storage().nbytes()


def shared_groups(tensors: Mapping[str, Any]) -> list[set[str]]:
    """Groups of names whose tensors overlap in memory (mirrors safetensors' own grouping)."""
    by_storage: dict[tuple[Any, ...], set[str]] = {}
    for name, t in tensors.items():
        key = _storage_key(t)
        if key is not None:
            by_storage.setdefault(key, set()).add(name)
    groups: list[set[str]] = []
    for names in by_storage.values():
        areas = sorted((*_area(tensors[n]), n) for n in names)
        _, last_stop, first = areas[0]
        current = {first}
        for start, stop, name in areas[1:]:
            if start >= last_stop:
                groups.append(current)
                current = {name}
            else:
                current.add(name)
            last_stop = stop
        groups.append(current)
    return [g for g in groups if len(g) > 1]


def duplicate_names(tensors: Mapping[str, Any]) -> dict[str, str]:
    """``save_model``'s choice: dropped name → kept name, for every shared group."""
    dropped: dict[str, str] = {}
    for group in shared_groups(tensors):
        complete = sorted(n for n in group if _is_complete(tensors[n]))
        if not complete:
            raise UnsupportedObjectError(
                f"safetensors refuses to save the shared tensors {sorted(group)}: none covers its whole "
                "storage. Save .clone()d tensors instead.")
        keep = complete[0]
        for name in sorted(group):
            if name != keep:
                dropped[name] = keep
    return dropped


# ------------------------------------------------------------------------------ planning


def _check_metadata(metadata: Any) -> dict[str, str] | None:
    if metadata is None:
        return None
    if not isinstance(metadata, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise option_error("metadata", "None or a mapping of str to str", metadata)
    return dict(metadata)


def _entry(name: str, t: Any) -> SafetensorsEntry:
    dtype_name = str(t.dtype).removeprefix("torch.")
    dtype = TORCH_DTYPES.get(dtype_name)
    if dtype is None:
        raise UnsupportedObjectError(
            f"safetensors has no dtype for {name!r} ({t.dtype}); supported: {sorted(TORCH_DTYPES)}.")
    shape = tuple(int(s) for s in t.shape)
    if dtype == "F4":  # torch packs two fp4 values per element; the header counts values
        if not shape:
            raise UnsupportedObjectError(f"safetensors refuses the 0-d packed fp4 tensor {name!r}.")
        shape = shape[:-1] + (2 * shape[-1],)
    return SafetensorsEntry(name, dtype, shape, t.numel() * t.element_size(), t)


def plan_safetensors(obj: Any, metadata: Mapping[str, str] | None = None, *,
                     dedupe_shared: bool | None = None) -> SafetensorsPlan:
    """The file ``save_model(obj)`` (a module) or ``save_file(obj)`` (a mapping) writes.

    ``dedupe_shared`` defaults to True for modules (save_model) and False for mappings
    (save_file, which refuses shared tensors); True on a mapping sizes it as save_model would.
    """
    import torch

    user_metadata = _check_metadata(metadata)
    from torch.utils._python_dispatch import is_traceable_wrapper_subclass

    if isinstance(obj, torch.nn.Module):
        tensors: dict[str, Any] = dict(obj.state_dict())
        dedupe = True if dedupe_shared is None else bool(dedupe_shared)
    elif isinstance(obj, Mapping):
        tensors = dict(obj)
        dedupe = bool(dedupe_shared)
    else:
        raise UnsupportedObjectError(
            f"safetensors sizes an nn.Module or a mapping of names to tensors. Got {type(obj).__name__}.")
    for name, t in tensors.items():
        if not isinstance(name, str):
            raise UnsupportedObjectError(f"safetensors needs str keys. Got {name!r}.")
        if not isinstance(t, torch.Tensor):
            raise UnsupportedObjectError(
                f"safetensors stores only tensors; {name!r} is a {type(t).__name__}.")
        if t.layout != torch.strided:
            raise UnsupportedObjectError(
                f"safetensors stores only dense tensors; {name!r} is {t.layout}. Use .to_dense().")
        if is_traceable_wrapper_subclass(t):
            raise UnsupportedObjectError(
                f"safetensors stores only plain tensors; {name!r} is a {type(t).__name__} (a tensor "
                "subclass, e.g. torchao quantization). Save its inner tensors, or use torch.save.")

    dropped: dict[str, str] = {}
    if dedupe:
        dropped = duplicate_names(tensors)
        for name, kept in dropped.items():
            if user_metadata is None:
                user_metadata = {}
            user_metadata.setdefault(name, kept)
            del tensors[name]
    else:
        groups = shared_groups(tensors)
        if groups:
            raise SaveFileRefusal(
                f"safetensors.save_file refuses tensors that share memory: {[sorted(g) for g in groups]}. "
                "Use safetensors.torch.save_model (dedupe_shared=True).")
        for name, t in tensors.items():
            if not t.is_contiguous():
                raise SaveFileRefusal(
                    f"safetensors.save_file refuses the non-contiguous tensor {name!r}; call "
                    ".contiguous() or use save_model (dedupe_shared=True).")

    entries = sorted((_entry(n, t) for n, t in tensors.items()),
                     key=lambda e: (-_RANK[e.dtype], e.name))
    meta_count = sum(1 for e in entries if e.tensor.device.type == "meta")
    return SafetensorsPlan(tuple(entries), header_bytes(entries, user_metadata), user_metadata,
                           dropped, meta_count)


def safetensors_size(obj: Any, metadata: Mapping[str, str] | None = None, *,
                     dedupe_shared: bool | None = None) -> int:
    """Size in bytes of the safetensors file for ``obj`` (see :func:`plan_safetensors`)."""
    return plan_safetensors(obj, metadata, dedupe_shared=dedupe_shared).total

"""safetensors files, sharded checkpoints (``*.safetensors.index.json``): header only.

The format is an 8-byte little-endian header length, a JSON header (name → dtype, shape,
data_offsets) padded with spaces, then the raw tensor bytes. We read the 8 bytes and the JSON
only — never the tensor data — and check what the safetensors library checks: the header is
under 100 MB and inside the file, every offset range lies inside the data area, ranges do not
overlap, and each range holds exactly ``numel × bits / 8`` bytes. Python integers cannot
overflow, so every comparison is exact even for lengths near 2**64.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.report import Report
from ..core.tensors import TensorRecord
from ._common import (BoundedFile, FileLayout, build_report, file_section, invalid, json_value, role_for_name,
                      span_key)
from .source import as_path, prefetch

FORMAT = "safetensors"
#: The safetensors library refuses headers above this size; so do we.
MAX_HEADER_BYTES = 100_000_000
#: Tensors one header (or index) may list; checked on the raw bytes, before the JSON is parsed.
MAX_TENSORS = 500_000
#: JSON items (commas) one header may hold before parsing: 100 MB of "[1.0,1.0,…" would otherwise become
#: 25 million floats (800 MB); a 500,000-tensor header has about 3 million.
MAX_JSON_ITEMS = 8_000_000


def _check_counts(raw: bytes, path: str | os.PathLike[str], fmt: str, key: bytes) -> None:
    """Refuse a header whose tensor or item count is past the caps, before parsing it (bounded memory)."""
    tensors = raw.count(key)
    if tensors > MAX_TENSORS:
        raise invalid(path, fmt, f"it lists {tensors:,} tensors; modelsize reads at most {MAX_TENSORS:,}")
    items = raw.count(b",")
    if items > MAX_JSON_ITEMS:
        raise invalid(path, fmt, f"its JSON holds more than {MAX_JSON_ITEMS:,} items; modelsize reads at most "
                                 f"{MAX_JSON_ITEMS:,} (a 500,000-tensor header holds about 3 million)")

#: safetensors dtype tag → (modelsize dtype, bits per element)
DTYPES: dict[str, tuple[str, float]] = {
    "BOOL": ("bool", 8),
    "U8": ("uint8", 8),
    "I8": ("int8", 8),
    "F8_E5M2": ("float8_e5m2", 8),
    "F8_E4M3": ("float8_e4m3fn", 8),
    "F8_E8M0": ("float8_e8m0fnu", 8),
    "I16": ("int16", 16),
    "U16": ("uint16", 16),
    "F16": ("float16", 16),
    "BF16": ("bfloat16", 16),
    "I32": ("int32", 32),
    "U32": ("uint32", 32),
    "F32": ("float32", 32),
    "F64": ("float64", 64),
    "I64": ("int64", 64),
    "U64": ("uint64", 64),
    "C64": ("complex64", 64),
    "F4": ("float4_e2m1", 4),
    "F6_E2M3": ("float6_e2m3", 6),
    "F6_E3M2": ("float6_e3m2", 6),
}


@dataclass(frozen=True)
class Entry:
    """One tensor as the header declares it (offsets relative to the data area)."""

    name: str
    tag: str
    shape: tuple[int, ...]
    begin: int
    end: int


@dataclass(frozen=True)
class Header:
    """A parsed, validated safetensors header (built once its byte ranges are checked)."""

    path: Path
    file_bytes: int
    header_len: int  #: the JSON length field, padding included
    json_bytes: int  #: JSON without its trailing padding
    entries: tuple[Entry, ...]
    metadata: dict[str, Any] | None
    gaps: int = 0  #: bytes between tensors that no tensor claims
    unused: int = 0  #: bytes after the last tensor
    notes: tuple[str, ...] = ()

    @property
    def data_start(self) -> int:
        return 8 + self.header_len

    def layout(self, label: str | None = None) -> FileLayout:
        tensor_bytes = sum(e.end - e.begin for e in self.entries)
        return FileLayout(
            path=label or self.path.name,
            bytes=self.file_bytes,
            split={
                "header": 8 + self.json_bytes,
                "padding": (self.header_len - self.json_bytes) + self.gaps,
                "tensor_data": tensor_bytes,
                "unused": self.unused,
            },
        )

    def records(self, key_prefix: str = "") -> list[TensorRecord]:
        out = []
        for e in self.entries:
            dtype, bits = DTYPES.get(e.tag, (e.tag.lower(), None))
            if bits is None:  # unknown tag: the range length is the only truth we have
                numel = math.prod(e.shape)
                bits = (e.end - e.begin) * 8 / numel if numel else 0.0
            out.append(
                TensorRecord(
                    path=e.name,
                    shape=e.shape,
                    dtype=dtype,
                    bits=bits,
                    role=role_for_name(e.name),
                    stored_bytes=e.end - e.begin,
                    storage_key=span_key(f"{key_prefix}{self.path.name}", e.begin, e.end - e.begin, e.name),
                    meta={"file": self.path.name, "data_offsets": [e.begin, e.end]},
                )
            )
        return out


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def parse_header(path: str | os.PathLike[str]) -> Header:
    """Read and validate the header of one ``.safetensors`` file (never its tensor data)."""
    with BoundedFile(path, FORMAT) as f:
        if f.size < 8:
            raise f.error(f"it has {f.size} bytes, fewer than the 8-byte header length field")
        n = int.from_bytes(f.read_at(0, 8, "the header length field"), "little")
        if n > MAX_HEADER_BYTES:
            raise f.error(f"the header length field says {n} bytes, above the {MAX_HEADER_BYTES}-byte limit")
        if n > f.size - 8:
            raise f.error(f"the header length field says {n} bytes but only {f.size - 8} bytes follow it")
        raw = f.read_at(8, n, "the JSON header")
        size = f.size
    _check_counts(raw, path, FORMAT, b'"data_offsets"')
    header = json_value(raw, path, FORMAT, "the header")
    if not isinstance(header, dict):
        raise invalid(path, FORMAT, f"the header is a JSON {type(header).__name__}, not an object")
    data_len = size - 8 - n
    metadata = header.pop("__metadata__", None)
    if metadata is not None and not isinstance(metadata, dict):
        raise invalid(path, FORMAT, "'__metadata__' is not a JSON object")
    entries = tuple(_entry(path, name, info, data_len) for name, info in header.items())
    gaps, unused, notes = _check_ranges(as_path(path), entries, data_len)
    return Header(path=as_path(path), file_bytes=size, header_len=n, json_bytes=len(raw.rstrip(b" \x00")),
                  entries=entries, metadata=metadata, gaps=gaps, unused=unused, notes=notes)


def _entry(path: str | os.PathLike[str], name: str, info: Any, data_len: int) -> Entry:
    if not isinstance(info, dict):
        raise invalid(path, FORMAT, f"the header entry for tensor {name!r} is not an object")
    tag, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
    if not isinstance(tag, str):
        raise invalid(path, FORMAT, f"tensor {name!r} has no string 'dtype'")
    if not isinstance(shape, list) or not all(_is_count(d) for d in shape):
        raise invalid(path, FORMAT, f"tensor {name!r} has a 'shape' that is not a list of integers >= 0")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_count(o) for o in offsets)):
        raise invalid(path, FORMAT, f"tensor {name!r} has 'data_offsets' that are not two integers >= 0")
    begin, end = offsets
    if begin > end or end > data_len:
        raise invalid(
            path, FORMAT,
            f"tensor {name!r} has data_offsets [{begin}, {end}] outside the {data_len}-byte data area",
        )
    bits = DTYPES.get(tag, (None, None))[1]
    if bits is not None:
        expected = -(-math.prod(shape) * int(bits) // 8)
        if expected != end - begin:
            raise invalid(
                path, FORMAT,
                f"tensor {name!r} ({tag}, shape {shape}) needs {expected} bytes but its data_offsets "
                f"span {end - begin}",
            )
    return Entry(name=name, tag=tag, shape=tuple(shape), begin=begin, end=end)


def _check_ranges(path: Path, entries: tuple[Entry, ...], data_len: int) -> tuple[int, int, tuple[str, ...]]:
    """Refuse overlapping tensors; the bytes between tensors, after the last one, and the notes."""
    pos = gaps = 0
    previous = None
    for e in sorted(entries, key=lambda e: (e.begin, e.end)):
        if e.begin < pos:
            raise invalid(path, FORMAT, f"tensors {previous!r} and {e.name!r} overlap")
        gaps += e.begin - pos
        pos = e.end
        previous = e.name
    unused = data_len - pos
    notes = []
    unknown = sorted({e.tag for e in entries if e.tag not in DTYPES})
    if unknown:
        notes.append(f"{path.name}: dtype tags {unknown} are not known to modelsize; bits per element "
                     "were derived from each tensor's byte range.")
    if gaps or unused:
        notes.append(f"{path.name}: {gaps + unused} bytes of the data area belong to no "
                     "tensor (the safetensors library rejects such files).")
    return gaps, unused, tuple(notes)


def _section(headers: list[Header], index: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "files": len(headers),
        "header_bytes": sum(8 + h.header_len for h in headers),
        "tensors": sum(len(h.entries) for h in headers),
        "metadata": headers[0].metadata if len(headers) == 1 else {h.path.name: h.metadata for h in headers},
    }
    if index is not None:
        out["index"] = index
    return out


def read_file(path: Path) -> Report:
    """Report for one ``.safetensors`` file."""
    from .safetensors_packed import packed_records

    header = parse_header(path)
    records, why = packed_records(header)  # modelsize's own packed file: logical tensors, not their parts
    notes = [*header.notes, *([why] if why else [])]
    if records is not None:
        notes.append(f"{header.path.name}: a modelsize packed file; {len(records)} logical tensors stored as "
                     f"{len(header.entries)} entries (packed layouts), counted as the tensors they stand for.")
    return build_report(
        path, FORMAT, records if records is not None else header.records(),
        framework=FORMAT, object_type="state_dict",
        sections={"file": file_section(FORMAT, [header.layout()]), FORMAT: _section([header])},
        notes=notes,
    )


def _shard_path(index_path: Path, name: Any, fmt: str = "safetensors index") -> Path:
    """A shard listed by an index must be a plain file next to it (no ``..``, no absolute path)."""
    if not isinstance(name, str) or not name or name != os.path.basename(name) or name in (".", ".."):
        raise invalid(index_path, fmt, f"shard name {name!r} is not a plain file name")
    return index_path.parent / name


def parse_index(path: Path, fmt: str = "safetensors index") -> tuple[dict[str, Any], dict[str, str]]:
    """The index's metadata and its ``weight_map`` (tensor name → shard file name)."""
    with BoundedFile(path, fmt) as f:
        if f.size > MAX_HEADER_BYTES:
            raise f.error(f"it is {f.size} bytes, above the {MAX_HEADER_BYTES}-byte limit for an index")
        raw = f.read_at(0, f.size, "the index")
    _check_counts(raw, path, fmt, b'":')
    index = json_value(raw, path, fmt)
    if not isinstance(index, dict) or not isinstance(index.get("weight_map"), dict):
        raise invalid(path, fmt, "it has no 'weight_map' object")
    meta = index.get("metadata") or {}
    if not isinstance(meta, dict):
        raise invalid(path, fmt, "'metadata' is not an object")
    weight_map = index["weight_map"]
    for shard in set(weight_map.values()):
        _shard_path(path, shard, fmt)
    return meta, weight_map


def read_sharded(index_path: Path) -> tuple[list[TensorRecord], list[Header], dict[str, Any], list[str]]:
    """Records, shard headers, index summary and notes for a sharded checkpoint."""
    meta, weight_map = parse_index(index_path)
    shards = list(dict.fromkeys(weight_map.values()))
    headers: list[Header] = []
    records: list[TensorRecord] = []
    notes: list[str] = []
    prefetch(_shard_path(index_path, shard) for shard in shards)  # remote shards: all headers at once
    for shard in shards:
        shard_path = _shard_path(index_path, shard)
        if not shard_path.is_file():
            raise invalid(index_path, "safetensors index", f"it lists shard {shard!r}, which does not exist")
        header = parse_header(shard_path)
        headers.append(header)
        notes.extend(header.notes)
        names = {e.name for e in header.entries}
        listed = {k for k, v in weight_map.items() if v == shard}
        missing = sorted(listed - names)
        if missing:
            raise invalid(
                index_path, "safetensors index",
                f"it places {missing[0]!r} in {shard!r}, but that shard has no such tensor",
            )
        extra = sorted(names - listed)
        if extra:
            notes.append(f"{shard}: {len(extra)} tensors are not in the index's weight_map (e.g. {extra[0]!r}).")
        records.extend(header.records())
    tensor_bytes = sum(r.stored_bytes or 0 for r in records)
    declared = meta.get("total_size")
    if isinstance(declared, int) and declared != tensor_bytes:
        notes.append(f"The index declares total_size={declared} but the shards hold {tensor_bytes} tensor bytes.")
    summary = {"path": index_path.name, "shards": len(shards), "total_size": declared,
               "metadata": {k: v for k, v in meta.items() if k != "total_size"}}
    seen: set[str] = set()
    for rec in records:
        if rec.path in seen:
            raise invalid(index_path, "safetensors index", f"tensor {rec.path!r} appears in two shards")
        seen.add(rec.path)
    return records, headers, summary, notes


def sharded_report(index_path: Path, config: dict[str, Any] | None = None) -> Report:
    """Report for a sharded checkpoint given its index file."""
    records, headers, summary, notes = read_sharded(index_path)
    layouts = [h.layout() for h in headers]
    index_bytes = index_path.stat().st_size
    layouts.append(FileLayout(path=index_path.name, bytes=index_bytes, split={"index": index_bytes}))
    return build_report(
        index_path, FORMAT, records,
        framework=FORMAT, object_type="sharded_state_dict",
        sections={"file": file_section(FORMAT, layouts), FORMAT: _section(headers, summary)},
        notes=notes,
    )


class SafetensorsReader:
    """One ``.safetensors`` file."""

    name = "safetensors"

    def sniff(self, path: Path, head: bytes) -> bool:
        if not head:
            return False
        if path.name.endswith(".safetensors"):
            return True
        # No magic number: a plausible length field followed by a JSON object.
        return len(head) >= 10 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") <= MAX_HEADER_BYTES

    def read(self, path: Path) -> Report:
        return read_file(path)


class SafetensorsIndexReader:
    """A sharded checkpoint, named by its ``*.safetensors.index.json``."""

    name = "safetensors index"

    def sniff(self, path: Path, head: bytes) -> bool:
        return bool(head) and path.name.endswith(".safetensors.index.json")

    def read(self, path: Path) -> Report:
        return sharded_report(path)

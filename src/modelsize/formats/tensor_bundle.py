"""TensorFlow tensor bundles (``variables.index`` + ``variables.data-*``), read without TensorFlow.

A bundle's index is a LevelDB-style SSTable: data blocks of prefix-compressed key/value
entries, an index block pointing at them and a 48-byte footer ending in a magic number. The
entry with the empty key is a ``BundleHeaderProto`` (shard count); every other entry is a
``BundleEntryProto`` giving a tensor's dtype, shape, shard, offset and size in the data files.
Only the index is read: tensor bytes stay on disk.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from ._common import BoundedFile
from ._protobuf import WireError, fields, signed, varint

MAGIC = 0xDB4775248B80FB57
FOOTER = 48
#: An index bigger than this is refused before it is read (a real one is kilobytes to a few MB).
MAX_INDEX_BYTES = 1 << 30
#: Caps that hold whatever the index claims (real bundles: a few shards, names under 1 KB, < 100k tensors).
MAX_SHARDS = 100_000  #: data files one bundle may name
MAX_KEY_BYTES = 1 << 16  #: one prefix-compressed key, after decompression
MAX_TOTAL_KEY_BYTES = 256 << 20  #: all keys together (a key growing one byte per entry is quadratic)
MAX_ENTRIES = 2_000_000  #: tensor entries in one index
#: TensorFlow DataType enum → (modelsize dtype, bits); 7, 20, 21 hold no fixed-size elements.
TF_DTYPES: dict[int, tuple[str, int]] = {
    1: ("float32", 32), 2: ("float64", 64), 3: ("int32", 32), 4: ("uint8", 8), 5: ("int16", 16), 6: ("int8", 8),
    7: ("string", 0), 8: ("complex64", 64), 9: ("int64", 64), 10: ("bool", 8), 11: ("qint8", 8),
    12: ("quint8", 8), 13: ("qint32", 32), 14: ("bfloat16", 16), 15: ("qint16", 16), 16: ("quint16", 16),
    17: ("uint16", 16), 18: ("complex128", 128), 19: ("float16", 16), 20: ("resource", 0), 21: ("variant", 0),
    22: ("uint32", 32), 23: ("uint64", 64), 24: ("float8_e5m2", 8), 25: ("float8_e4m3fn", 8),
}


@dataclass
class BundleEntry:
    """One tensor of the bundle, as its ``BundleEntryProto`` describes it."""

    key: str
    dtype: str
    bits: int
    shape: tuple[int, ...]
    shard: int
    offset: int
    size: int
    slices: int = 0

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


@dataclass
class Bundle:
    entries: list[BundleEntry] = field(default_factory=list)
    num_shards: int = 1
    index_bytes: int = 0


def snappy_decompress(data: bytes, limit: int) -> bytes:
    """Raw Snappy (LevelDB block compression), with the output bounded by ``limit`` bytes."""
    view = memoryview(data)
    size, pos = varint(view, 0)
    if size > limit:
        raise WireError(f"a compressed block claims {size} bytes, above the {limit}-byte limit")
    out = bytearray()
    while pos < len(view):
        tag = view[pos]
        pos += 1
        kind = tag & 3
        if kind == 0:
            length = tag >> 2
            if length >= 60:
                extra = length - 59
                length = int.from_bytes(view[pos:pos + extra], "little")
                pos += extra
            length += 1
            if pos + length > len(view):
                raise WireError("a snappy literal runs past the block")
            out += view[pos:pos + length]
            pos += length
            continue
        if kind == 1:
            length = ((tag >> 2) & 7) + 4
            offset = ((tag >> 5) << 8) | view[pos]
            pos += 1
        else:
            width = 2 if kind == 2 else 4
            length = (tag >> 2) + 1
            offset = int.from_bytes(view[pos:pos + width], "little")
            pos += width
        if offset == 0 or offset > len(out):
            raise WireError("a snappy copy points before the start of the block")
        for _ in range(length):
            out.append(out[-offset])
        if len(out) > size:
            raise WireError("a snappy block decodes to more bytes than it declared")
    if len(out) != size:
        raise WireError(f"a snappy block decodes to {len(out)} bytes, not the {size} it declared")
    return bytes(out)


def _block(bf: BoundedFile, handle: bytes | memoryview, what: str) -> bytes:
    view = memoryview(handle)
    offset, pos = varint(view, 0)
    size, _ = varint(view, pos)
    raw = bf.read_at(offset, size + 5, what)
    kind = raw[size]
    if kind == 0:
        return raw[:size]
    if kind == 1:
        return snappy_decompress(raw[:size], 64 * max(size, 1 << 16))
    raise WireError(f"{what} uses compression type {kind}, which is neither none nor snappy")


def _entries(block: bytes, budget: list[int] | None = None) -> list[tuple[bytes, memoryview]]:
    """The (key, value) entries of one SSTable block; ``budget`` ([key bytes left]) bounds the keys."""
    view = memoryview(block)
    if len(view) < 4:
        raise WireError("a block is shorter than its restart count")
    restarts = int.from_bytes(view[-4:], "little")
    end = len(view) - 4 - 4 * restarts
    if restarts > len(view) // 4 or end < 0:
        raise WireError(f"a block claims {restarts} restart points in {len(view)} bytes")
    out: list[tuple[bytes, memoryview]] = []
    key = b""
    pos = 0
    while pos < end:
        shared, pos = varint(view, pos)
        unshared, pos = varint(view, pos)
        vlen, pos = varint(view, pos)
        if shared > len(key) or pos + unshared + vlen > end:
            raise WireError("a block entry runs past its block")
        if shared + unshared > MAX_KEY_BYTES:
            raise WireError(f"a key grows to {shared + unshared:,} bytes (prefix compression); at most "
                            f"{MAX_KEY_BYTES:,} are read")
        if budget is not None:
            budget[0] -= shared + unshared
            if budget[0] < 0:
                raise WireError(f"the keys add up to more than {MAX_TOTAL_KEY_BYTES:,} bytes")
        key = key[:shared] + bytes(view[pos:pos + unshared])
        pos += unshared
        out.append((key, view[pos:pos + vlen]))
        pos += vlen
    return out


def _shape(msg: memoryview) -> tuple[int, ...]:
    dims: list[int] = []
    for number, value in fields(msg):
        if number == 2 and isinstance(value, memoryview):
            size = 0
            for n2, v2 in fields(value):
                if n2 == 1 and isinstance(v2, int):
                    size = signed(v2)
            if size < 0:
                raise WireError(f"a tensor has dimension {size}")
            dims.append(size)
    return tuple(dims)


def _entry(key: str, msg: memoryview) -> BundleEntry:
    dtype_id, shape, shard, offset, size, slices = 0, (), 0, 0, 0, 0
    for number, value in fields(msg):
        if number == 1 and isinstance(value, int):
            dtype_id = value
        elif number == 2 and isinstance(value, memoryview):
            shape = _shape(value)
        elif number == 3 and isinstance(value, int):
            shard = signed(value)
        elif number == 4 and isinstance(value, int):
            offset = signed(value)
        elif number == 5 and isinstance(value, int):
            size = signed(value)
        elif number == 7:
            slices += 1
    if min(shard, offset, size) < 0:
        raise WireError(f"tensor {key!r} has a negative shard, offset or size")
    dtype, bits = TF_DTYPES.get(dtype_id, (f"tf_type_{dtype_id}", 0))
    return BundleEntry(key, dtype, bits, shape, shard, offset, size, slices)


def read_index(path: Path) -> Bundle:
    """Every entry of a bundle index; raises our error naming the file when it is not one."""
    with BoundedFile(path, "TensorFlow variables index") as bf:
        if bf.size < FOOTER:
            raise bf.error(f"it is {bf.size} bytes, shorter than the {FOOTER}-byte table footer")
        if bf.size > MAX_INDEX_BYTES:
            raise bf.error(f"it is {bf.size} bytes, above the {MAX_INDEX_BYTES}-byte limit for an index")
        footer = memoryview(bf.read_at(bf.size - FOOTER, FOOTER, "the table footer"))
        if int.from_bytes(footer[-8:], "little") != MAGIC:
            raise bf.error("the table footer does not end in the SSTable magic number")
        try:
            _, pos = varint(footer, 0)
            _, pos = varint(footer, pos)
            index = _block(bf, footer[pos:], "the index block")
            bundle = Bundle(index_bytes=bf.size)
            budget = [MAX_TOTAL_KEY_BYTES]
            seen_blocks: set[bytes] = set()
            for _, handle in _entries(index, budget):
                if bytes(handle) in seen_blocks:  # a repeated block handle: read once
                    continue
                seen_blocks.add(bytes(handle))
                for key, value in _entries(_block(bf, handle, "a data block"), budget):
                    _add_entry(bundle, key, value)
        except WireError as exc:
            raise bf.error(str(exc)) from None
    return bundle


def _add_entry(bundle: Bundle, key: bytes, value: memoryview) -> None:
    if not key:  # the header: the shard count
        for number, v in fields(value):
            if number == 1 and isinstance(v, int):
                if int(v) > MAX_SHARDS:
                    raise WireError(f"the header claims {int(v):,} data shards; at most {MAX_SHARDS:,} are read")
                bundle.num_shards = max(int(v), 1)
        return
    if len(bundle.entries) >= MAX_ENTRIES:
        raise WireError(f"the index lists more than {MAX_ENTRIES:,} tensors")
    bundle.entries.append(_entry(key.decode("utf-8", "replace"), value))


def shard_name(prefix: str, shard: int, num_shards: int) -> str:
    """``variables.data-00000-of-00001``, as TensorFlow names a bundle's data files."""
    return f"{prefix}.data-{shard:05d}-of-{num_shards:05d}"

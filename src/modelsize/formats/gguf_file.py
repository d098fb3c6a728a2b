"""GGUF (v2, v3) files, header only, with a hand-written parser that checks every count.

A GGUF file is a header (magic, version, tensor and key/value counts), the key/value metadata,
one info record per tensor (name, dims, ggml type, offset), alignment padding and the tensor
data. Counts and lengths come from the file, so before looping or allocating we check that the
bytes they need can exist in what is left of the file: a tensor count of 2**50 ends in
:class:`InvalidFileError`, not in a 2**50-iteration loop or a huge list.

Block sizes and bytes per block of every ggml type come from the ``gguf`` package's
``GGML_QUANT_SIZES`` and are registered as modelsize dtypes (Q4_K = 144 bytes per 256 weights
= 4.5 bits per weight), so stored bytes and bits per weight are exact.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from ..core import dtypes
from ..core.optional import require
from ..core.report import Report
from ..core.tensors import Role, TensorRecord
from ._common import FileLayout, build_report, file_section, invalid, span_key
from .declarations import GGUF_MAGIC as MAGIC

FORMAT = "gguf"
MAX_DIMS = 4  #: GGML_MAX_DIMS
MAX_NESTING = 4  #: arrays of arrays
#: Tensors read from one file. Published GGUF files hold a few hundred to a few thousand (a 671B
#: MoE with merged experts about 1,000); each costs about 1 KB of memory through the report, so a
#: 100 MB file of 1-element tensors (1.4 M) took 1.3 GB. Like TFLite's record cap (500,000).
MAX_TENSORS = 500_000
#: Array elements kept in the report's metadata section (the rest are only counted).
KEEP_ITEMS = 16
#: Caps on what the header may claim, each on its own (a sparse file makes "fits in the file" cheap).
#: Published files: ~30-60 keys, vocabularies up to ~262k tokens, merges ~500k, metadata < 50 MB.
MAX_KV = 65_536  #: metadata keys
MAX_STRING = 16 << 20  #: bytes of one string (a chat template is a few KB)
MAX_ARRAY = 1 << 22  #: elements of one metadata array (16x the largest vocabulary)
MAX_ELEMENTS = 1 << 24  #: array elements visited in the whole header, nested arrays included
MAX_HEADER_BYTES = 256 << 20  #: header bytes held in memory (metadata and tensor infos)
#: value type id → (struct format, size); 8 = string, 9 = array
_SCALARS = {0: ("<B", 1), 1: ("<b", 1), 2: ("<H", 2), 3: ("<h", 2), 4: ("<I", 4), 5: ("<i", 4), 6: ("<f", 4),
            7: ("<?", 1), 10: ("<Q", 8), 11: ("<q", 8), 12: ("<d", 8)}
_STRING, _ARRAY = 8, 9
_CHUNK = 1 << 20
_U64 = struct.Struct("<Q")


@dataclass(frozen=True)
class GGMLType:
    id: int
    name: str  #: as ggml names it (Q4_K)
    dtype: str  #: modelsize dtype name
    block_size: int
    block_bytes: int


_TYPES: dict[int, GGMLType] = {}


def ggml_types() -> dict[int, GGMLType]:
    """Every ggml type the installed ``gguf`` package knows, registered as modelsize dtypes once."""
    if _TYPES:
        return _TYPES
    constants = require("gguf.constants", "read GGUF files")
    for qtype, (block, nbytes) in constants.GGML_QUANT_SIZES.items():
        name = qtype.name
        if block == 1 and name[0] in "FI" and name[1:].isdigit():  # F32, F16, I8 …: plain types
            dtype = f"{'float' if name[0] == 'F' else 'int'}{nbytes * 8}"
        elif name == "BF16":
            dtype = "bfloat16"
        else:
            dtype = name.lower()
            if not dtypes.known(dtype):
                dtypes.register(
                    dtypes.DType(dtype, nbytes * 8 / block, "quantized", block, nbytes), f"ggml_{dtype}"
                )
        _TYPES[int(qtype)] = GGMLType(int(qtype), name, dtype, block, nbytes)
    return _TYPES


class _Cursor:
    """Sequential reads over the header, loaded in growing chunks, every length checked first."""

    def __init__(self, fh: BinaryIO, size: int, path: Path) -> None:
        self.fh = fh
        self.size = size
        self.path = path
        self.buf = fh.read(min(size, _CHUNK))
        self.pos = 0
        self.elements = 0  #: array elements visited so far (MAX_ELEMENTS)

    def error(self, defect: str) -> Exception:
        return invalid(self.path, FORMAT, defect)

    def need(self, n: int, what: str) -> None:
        if n > self.size - self.pos:
            raise self.error(f"{what} at offset {self.pos} needs {n} bytes but only {self.size - self.pos} remain")
        end = self.pos + n
        if end > MAX_HEADER_BYTES:
            raise self.error(f"{what} at offset {self.pos} takes the header past {MAX_HEADER_BYTES:,} bytes, "
                             "modelsize's limit for GGUF metadata and tensor infos")
        if end > len(self.buf):
            want = min(self.size, max(end, 2 * len(self.buf))) - len(self.buf)
            self.fh.seek(len(self.buf))
            more = self.fh.read(want)
            self.buf += more
            if end > len(self.buf):
                raise self.error(f"{what} is cut short at offset {len(self.buf)}")

    def unpack(self, fmt: str, size: int, what: str) -> Any:
        self.need(size, what)
        value = struct.unpack_from(fmt, self.buf, self.pos)[0]
        self.pos += size
        return value

    def u32(self, what: str) -> int:
        return self.unpack("<I", 4, what)

    def u64(self, what: str) -> int:
        return self.unpack("<Q", 8, what)

    def string(self, what: str, keep: bool = True) -> str:
        n = self.u64(f"the length of {what}")
        if n > MAX_STRING:
            raise self.error(f"{what} claims a {n:,}-byte string; modelsize reads at most {MAX_STRING:,}")
        self.need(n, what)
        raw = self.buf[self.pos: self.pos + n] if keep else b""
        self.pos += n
        return raw.decode("utf-8", "replace")

    def value(self, vtype: int, what: str, depth: int = 0) -> Any:
        if vtype in _SCALARS:
            fmt, size = _SCALARS[vtype]
            return self.unpack(fmt, size, what)
        if vtype == _STRING:
            return self.string(what)
        if vtype == _ARRAY:
            if depth >= MAX_NESTING:
                raise self.error(f"{what} nests arrays deeper than {MAX_NESTING} levels")
            etype = self.u32(f"the element type of {what}")
            count = self.u64(f"the length of {what}")
            min_size = _SCALARS[etype][1] if etype in _SCALARS else (8 if etype in (_STRING, _ARRAY) else None)
            if min_size is None:
                raise self.error(f"{what} has unknown element type {etype}")
            if count > (self.size - self.pos) // min_size:
                raise self.error(
                    f"{what} claims {count} elements, more than the {self.size - self.pos} bytes left can hold"
                )
            if count > MAX_ARRAY:
                raise self.error(f"{what} claims {count:,} elements; modelsize reads arrays of at most "
                                 f"{MAX_ARRAY:,} (vocabularies hold a few hundred thousand)")
            self.elements += count
            if self.elements > MAX_ELEMENTS:
                raise self.error(f"the metadata arrays hold more than {MAX_ELEMENTS:,} elements in all")
            if etype in _SCALARS and count > KEEP_ITEMS:  # skip the bulk in one step
                fmt, size = _SCALARS[etype]
                items = [self.value(etype, what, depth + 1) for _ in range(KEEP_ITEMS)]
                self.need((count - KEEP_ITEMS) * size, what)
                self.pos += (count - KEEP_ITEMS) * size
            elif etype == _STRING:
                items = self._strings(count, what)
            else:
                items = []
                for i in range(count):
                    item = self.value(etype, what, depth + 1)
                    if i < KEEP_ITEMS:
                        items.append(item)
            return _Array(_type_name(etype), count, items)
        raise self.error(f"{what} has unknown value type {vtype}")


    def _strings(self, count: int, what: str) -> list[str]:
        """A string array (a 128k-token vocabulary): a tight loop, the first few strings kept."""
        items: list[str] = []
        buf, pos, size = self.buf, self.pos, self.size
        buflen = len(buf)
        unpack = _U64.unpack_from
        for i in range(count):
            end = pos + 8
            if end > buflen:
                self.pos = pos
                self.need(8, f"the length of an element of {what}")
                buf, buflen = self.buf, len(self.buf)
            pos = end + unpack(buf, end - 8)[0]
            if pos > buflen:
                if pos > size:
                    self.pos = end
                    raise self.error(f"an element of {what} at offset {end} runs past the end of the file")
                self.pos = end
                self.need(pos - end, f"an element of {what}")
                buf, buflen = self.buf, len(self.buf)
            if i < KEEP_ITEMS:
                items.append(bytes(buf[end:pos]).decode("utf-8", "replace"))
        self.pos = pos
        return items


@dataclass
class _Array:
    element_type: str
    length: int
    first: list[Any]



def _type_name(vtype: int) -> str:
    names = {0: "uint8", 1: "int8", 2: "uint16", 3: "int16", 4: "uint32", 5: "int32", 6: "float32", 7: "bool",
             8: "string", 9: "array", 10: "uint64", 11: "int64", 12: "float64"}
    return names.get(vtype, str(vtype))


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dims: tuple[int, ...]  #: ggml order (ne0 first, the contiguous dimension)
    type: GGMLType
    offset: int
    nbytes: int

    @property
    def shape(self) -> tuple[int, ...]:
        """NumPy/PyTorch order, as the tensor was written."""
        return tuple(reversed(self.dims))


@dataclass(frozen=True)
class GGUFHeader:
    """A parsed GGUF header, built once the tensors' byte ranges are checked."""

    version: int
    metadata: dict[str, Any]
    tensors: tuple[TensorInfo, ...]
    alignment: int
    kv_bytes: int
    info_bytes: int
    data_start: int
    file_bytes: int
    gaps: int = 0  #: bytes between tensors that no tensor claims
    unused: int = 0  #: bytes after the last tensor


def parse(path: Path) -> GGUFHeader:
    """Parse and validate a GGUF header; the tensor data is never read."""
    types = ggml_types()
    with path.open("rb") as fh:
        size = fh.seek(0, 2)
        fh.seek(0)
        c = _Cursor(fh, size, path)
        c.need(4, "the magic number")
        if c.buf[:4] != MAGIC:
            raise c.error(f"it starts with {bytes(c.buf[:4])!r}, not the GGUF magic {MAGIC!r}")
        c.pos = 4
        version = c.u32("the version")
        if version in (2 << 24, 3 << 24):
            raise c.error("it is a big-endian GGUF, which modelsize does not read yet")
        if version not in (2, 3):
            raise c.error(f"version {version} is not supported (2 and 3 are)")
        n_tensors = c.u64("the tensor count")
        n_kv = c.u64("the key/value count")
        # smallest tensor info: 8-byte name length + 4 dims count + 4 type + 8 offset
        if n_tensors > (size - c.pos) // 24:
            raise c.error(f"the header claims {n_tensors} tensors, more than the file's {size} bytes can describe")
        if n_tensors > MAX_TENSORS:
            raise c.error(f"the header claims {n_tensors:,} tensors; modelsize reads at most {MAX_TENSORS:,} "
                          "(published GGUF models hold a few thousand)")
        if n_kv > MAX_KV:
            raise c.error(f"the header claims {n_kv:,} metadata keys; modelsize reads at most {MAX_KV:,} "
                          "(published GGUF models hold a few dozen)")
        if n_kv > (size - c.pos) // 12:
            raise c.error(f"the header claims {n_kv} metadata keys, more than the file's {size} bytes can hold")
        kv_start = c.pos
        metadata: dict[str, Any] = {}
        for i in range(n_kv):
            key = c.string(f"metadata key #{i}")
            vtype = c.u32(f"the type of {key!r}")
            metadata[key] = c.value(vtype, f"metadata {key!r}")
        kv_bytes = c.pos - kv_start
        info_start = c.pos
        infos = []
        for i in range(n_tensors):
            name = c.string(f"the name of tensor #{i}")
            n_dims = c.u32(f"the dimension count of {name!r}")
            if n_dims > MAX_DIMS:
                raise c.error(f"tensor {name!r} has {n_dims} dimensions (at most {MAX_DIMS})")
            dims = tuple(c.u64(f"a dimension of {name!r}") for _ in range(n_dims))
            type_id = c.u32(f"the type of {name!r}")
            offset = c.u64(f"the offset of {name!r}")
            gtype = types.get(type_id)
            if gtype is None:
                raise c.error(f"tensor {name!r} has ggml type {type_id}, which the gguf package does not know")
            if dims and dims[0] % gtype.block_size:
                raise c.error(
                    f"tensor {name!r} has a first dimension of {dims[0]}, not a multiple of "
                    f"{gtype.name}'s block size {gtype.block_size}"
                )
            numel = math.prod(dims)
            infos.append(TensorInfo(name, dims, gtype, offset, numel // gtype.block_size * gtype.block_bytes))
        info_bytes = c.pos - info_start
    alignment = metadata.get("general.alignment", 32)
    if not isinstance(alignment, int) or alignment <= 0 or alignment & (alignment - 1):
        raise invalid(path, FORMAT, f"general.alignment is {alignment!r}, not a power of two")
    data_start = -(-c.pos // alignment) * alignment
    gaps, unused = _check_data(path, tuple(infos), alignment, data_start, size)
    return GGUFHeader(version, metadata, tuple(infos), alignment, kv_bytes, info_bytes, data_start, size, gaps, unused)


def _check_data(path: Path, tensors: tuple[TensorInfo, ...], alignment: int, data_start: int,
                file_bytes: int) -> tuple[int, int]:
    """Refuse misaligned, out-of-file, duplicate or overlapping tensors; the bytes between tensors
    and after the last one."""
    data_len = file_bytes - data_start
    if data_len < 0 and tensors:
        raise invalid(path, FORMAT, f"the tensor data should start at offset {data_start}, past the end")
    pos = gaps = 0
    prev = None
    seen: set[str] = set()
    for t in sorted(tensors, key=lambda t: t.offset):
        if t.name in seen:
            raise invalid(path, FORMAT, f"tensor {t.name!r} appears twice")
        seen.add(t.name)
        if t.offset % alignment:
            raise invalid(path, FORMAT, f"tensor {t.name!r} has offset {t.offset}, not a multiple of {alignment}")
        if t.offset > data_len or t.nbytes > data_len - t.offset:
            raise invalid(
                path, FORMAT,
                f"tensor {t.name!r} needs {t.nbytes} bytes at data offset {t.offset} but the data area has "
                f"{max(data_len, 0)} bytes",
            )
        if t.offset < pos:
            raise invalid(path, FORMAT, f"tensors {prev!r} and {t.name!r} overlap")
        gaps += t.offset - pos
        pos = t.offset + t.nbytes
        prev = t.name
    return gaps, max(data_len - pos, 0)


def _section(h: GGUFHeader) -> dict[str, Any]:
    md = h.metadata
    arch = md.get("general.architecture")
    params = sum(math.prod(t.dims) for t in h.tensors)
    tensor_bytes = sum(t.nbytes for t in h.tensors)
    types: dict[str, int] = {}
    for t in h.tensors:
        types[t.type.name] = types.get(t.type.name, 0) + 1

    def arch_key(name: str) -> Any:
        return md.get(f"{arch}.{name}") if isinstance(arch, str) else None

    return {
        "version": h.version,
        "architecture": arch,
        "name": md.get("general.name"),
        "context_length": arch_key("context_length"),
        "embedding_length": arch_key("embedding_length"),
        "block_count": arch_key("block_count"),
        "file_type": md.get("general.file_type"),
        "quantization_version": md.get("general.quantization_version"),
        "alignment": h.alignment,
        "tensor_count": len(h.tensors),
        "kv_count": len(md),
        "params": params,
        "tensor_bytes": tensor_bytes,
        "bits_per_weight": tensor_bytes * 8 / params if params else None,
        "tensor_types": types,
        "metadata": {k: _plain(v) for k, v in md.items()},
    }


def _plain(value: Any) -> Any:
    """JSON-ready metadata: arrays summarised, non-finite floats as strings."""
    if isinstance(value, _Array):
        return {"type": f"array[{value.element_type}]", "length": value.length,
                "first": [_plain(v) for v in value.first]}
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def read_gguf(path: Path) -> Report:
    h = parse(path)
    records = [
        TensorRecord(
            path=t.name, shape=t.shape, dtype=t.type.dtype, role=Role.PARAMETER, stored_bytes=t.nbytes,
            storage_key=span_key(path.name, t.offset, t.nbytes, t.name),
            meta={"ggml_type": t.type.name, "offset": h.data_start + t.offset},
        )
        for t in h.tensors
    ]
    layout = FileLayout(path.name, h.file_bytes, {
        "header": 24,
        "metadata": h.kv_bytes,
        "tensor_info": h.info_bytes,
        "padding": (h.data_start - 24 - h.kv_bytes - h.info_bytes) + h.gaps if h.tensors else 0,
        "tensor_data": sum(t.nbytes for t in h.tensors),
        "unused": h.unused,
    })
    arch = h.metadata.get("general.architecture")
    kind = arch if isinstance(arch, str) else "gguf"
    notes: list[str] = []
    if not h.tensors:
        tokens = h.metadata.get("tokenizer.ggml.tokens")
        vocab = f" and a vocabulary of {tokens.length} tokens" if isinstance(tokens, _Array) else ""
        notes.append(f"This GGUF file holds no tensors, only {len(h.metadata)} metadata keys{vocab} "
                     "(a vocab-only file, as llama.cpp's tests and tokenizer tools write): 0 parameters is "
                     "what it contains, not a reading error.")
    return build_report(
        path, FORMAT, records, framework="gguf", object_type=kind, kinds={"": kind},
        sections={"file": file_section(FORMAT, [layout]), "gguf": _section(h)},
        notes=notes,
    )


class GGUFReader:
    name = "gguf"

    def sniff(self, path: Path, head: bytes) -> bool:
        return head.startswith(MAGIC)

    def read(self, path: Path) -> Report:
        return read_gguf(path)

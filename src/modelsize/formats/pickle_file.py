"""Pickle and joblib files (scikit-learn models and anything else), analysed without unpickling.

The opcode stream is scanned symbolically (:mod:`.pickle_scan`); compressed joblib files are
decompressed as a stream (decompression only — nothing is unpickled, nothing is kept in
memory beyond a chunk). The report names every array on its attribute path, gives each
object's own state as a METADATA record, and lists the globals loading the file would import.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import pickletools
import struct
import zlib
from pathlib import Path
from typing import Any, BinaryIO, Callable

from ..core.report import Report
from ._common import MAX_EXPANDED, MAX_EXPANSION_RATIO, FileLayout, build_report, file_section, invalid
from .pickle_scan import ScanError, Stream, scan
from .pickle_values import Global, Obj
from .pickle_boosters import decoded_booster_notes
from .pickle_tree import attribute, globals_section, kind_of, security_notes
from .declarations import PICKLE_CODECS, PICKLE_FIRST_BYTES
from .declarations import PICKLE_SUFFIXES as _PICKLE_SUFFIXES

#: the names and the compressed streams' magic bytes are declared once, in the reader's registry entry
PICKLE_SUFFIXES = frozenset(_PICKLE_SUFFIXES)
_CHUNK = 1 << 20
#: A compressed stream is read up to this many decompressed bytes, or RATIO × its compressed size if
#: larger: a 150 KB file cannot make the scanner chew through a gigabyte (a decompression bomb).
MAX_DECOMPRESSED = MAX_EXPANDED
MAX_RATIO = MAX_EXPANSION_RATIO


class _Capped:
    """A decompressed stream that fails once more than ``cap`` bytes come out of it."""

    def __init__(self, fh: Any, cap: int) -> None:
        self._fh = fh
        self.cap = cap
        self.out = 0

    def _count(self, data: bytes) -> bytes:
        self.out += len(data)
        if self.out > self.cap:
            raise ScanError(f"it decompresses to more than {self.cap} bytes (a decompression bomb?); "
                            f"modelsize stops at the larger of {MAX_DECOMPRESSED} bytes and {MAX_RATIO}x "
                            "the compressed size")
        return data

    def read(self, n: int = -1) -> bytes:
        return self._count(self._fh.read(n if 0 <= n <= _CHUNK else _CHUNK))

    def readline(self, limit: int = -1) -> bytes:
        return self._count(self._fh.readline(limit))


def codec_of(head: bytes) -> str | None:
    for magic, name in PICKLE_CODECS:
        if head.startswith(magic):
            return name
    return None


def looks_like_pickle(head: bytes) -> bool:
    """Protocol 2+ pickles start with PROTO; older ones with a container or global opcode."""
    return bool(head) and head[0] in PICKLE_FIRST_BYTES


class _ZlibRaw(io.RawIOBase):
    """A raw zlib stream (joblib's 'zlib' compressor) as a file; output bounded per call."""

    def __init__(self, fh: BinaryIO) -> None:
        self._fh = fh
        self._d = zlib.decompressobj()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        want = len(buffer)
        while True:
            if self._d.unconsumed_tail:
                data = self._d.decompress(self._d.unconsumed_tail, want)
            else:
                chunk = self._fh.read(_CHUNK)
                if not chunk:
                    return 0
                data = self._d.decompress(chunk, want)
            if data:
                buffer[: len(data)] = data
                return len(data)


def _open_decompressed(fh: BinaryIO, codec: str) -> Any:
    if codec == "zlib":
        return io.BufferedReader(_ZlibRaw(fh), _CHUNK)
    if codec == "gzip":
        return gzip.GzipFile(fileobj=fh, mode="rb")
    if codec == "bz2":
        return bz2.BZ2File(fh, mode="rb")
    if codec in ("xz", "lzma"):
        return lzma.LZMAFile(fh, mode="rb")
    if codec == "lz4":
        from ..core.optional import require

        return require("lz4.frame", "read lz4-compressed joblib files").open(fh, mode="rb")
    from ..core.optional import require

    zstd = require("zstandard", "read zstd-compressed joblib files")
    return io.BufferedReader(zstd.ZstdDecompressor().stream_reader(fh), _CHUNK)


#: Errors the stdlib decompressors raise on corrupt input.
_DECOMPRESS_ERRORS = (zlib.error, OSError, EOFError, lzma.LZMAError, ValueError)


def _framework(root: Any) -> str:
    if isinstance(root, Obj) and isinstance(root.cls, Global):
        return root.cls.module.split(".")[0]
    return "pickle"


def _fetcher(path: Path, codec: str | None, cap: int) -> Callable[[int, int], bytes]:
    """Reads ``length`` bytes at ``offset`` of the pickle stream (decompressing again for a joblib codec)."""

    def fetch(offset: int, length: int) -> bytes:
        try:
            with path.open("rb") as fh:
                if codec is None:
                    fh.seek(offset)
                    data = fh.read(length)
                else:
                    stream = Stream(_Capped(_open_decompressed(fh, codec), cap), None)
                    stream.skip(offset)
                    data = stream.read(length)
        except (ScanError, *_DECOMPRESS_ERRORS) as exc:
            raise invalid(path, "joblib" if codec else "pickle", f"a payload at offset {offset} cannot be read ({exc})") from None
        if len(data) != length:
            raise invalid(path, "pickle", f"a {length}-byte payload at offset {offset} runs past the end of the file")
        return data

    return fetch


def read_pickle(path: Path) -> Report:
    """Report for a pickle or joblib file (plain or compressed)."""
    size = os.path.getsize(path)
    with path.open("rb") as fh:
        head = fh.read(8)
        fh.seek(0)
        codec = codec_of(head)
        fmt = "joblib" if path.suffix == ".joblib" or codec else "pickle"
        cap = max(MAX_DECOMPRESSED, MAX_RATIO * size)
        try:
            if codec:
                stream = Stream(_Capped(_open_decompressed(fh, codec), cap), None)
            else:
                stream = Stream(fh, size)
            result = scan(stream)
            trailing = size - result.end if codec is None else 0
        except ScanError as exc:
            from .safety import aborted

            raise aborted(path, fmt, exc) from None
        except _DECOMPRESS_ERRORS as exc:
            raise invalid(path, fmt, f"its {codec} stream cannot be decompressed ({exc})") from None
    if any(m.endswith("numpy_pickle") for m, _ in result.globals):
        fmt = "joblib"
    att = attribute(result, fetch=_fetcher(path, codec, cap), sidecar_base=path)
    stream_bytes = result.end
    sec = {
        "protocol": result.protocol,
        "opcodes": result.opcodes,
        "compression": codec,
        "stream_bytes": stream_bytes,
        "array_bytes": att.array_bytes,
        "padding_bytes": att.padding,
        "encoding_bytes": att.encoding,
        "state_bytes": att.state_bytes,
        "attributed_bytes": att.attributed,
        "attributed_fraction": att.attributed / stream_bytes if stream_bytes else 0.0,
        "arrays": len(result.arrays),
        **globals_section(result),
    }
    if att.boosters:
        sec["boosters"] = att.boosters

    if result.side_files:  # old joblib: arrays in sibling files that joblib.load opens too (judged by .safety)
        sec["side_files"] = [[cls, name if isinstance(name, str) else repr(name)] for cls, name in result.side_files]
    if codec:
        layout = FileLayout(path.name, size, {"compressed_stream": size})
    else:
        layout = FileLayout(path.name, size, {
            "tensor_data": att.array_bytes,
            "padding": att.padding,
            "array_encoding": att.encoding,
            "object_state": att.state_bytes,
            "trailing": trailing,
        })
    notes = security_notes(sec, "pickle.load or joblib.load") + list(result.notes) + att.notes
    notes.extend(decoded_booster_notes(att.boosters))
    if trailing:
        notes.append(f"{trailing} bytes follow the pickle's STOP opcode and were not read.")
    objects = [r for r in att.records if r.dtype == "object" and (r.stored_bytes or 0) > r.dense_bytes]
    if objects:
        notes.append(f"{len(objects)} object arrays or lists (e.g. {objects[0].path!r}) hold pickled Python objects: "
                     "their stored bytes are those objects, more than the 8-byte references their dense size counts; "
                     "they are metadata, not parameters.")
    root_kind = kind_of(result.root.value)
    return build_report(
        path, fmt, att.records,
        framework=_framework(result.root.value),
        object_type=root_kind,
        kinds={"": root_kind, **{k: v for k, v in att.kinds.items() if k}},
        sections={"file": file_section(fmt, [layout, *att.sidecars]), "pickle": sec},
        notes=notes,
    )


def parses_as_pickle(path: Path, limit: int = 4096) -> bool:
    """Whether the file's first bytes are a run of valid pickle opcodes (protocols 0 and 1 have no magic).

    ``torch.load`` and ``pickle.load`` run such a file whatever its name, so the content decides:
    the opcodes must parse up to STOP or to the end of the first ``limit`` bytes.
    """
    try:
        with path.open("rb") as fh:
            data = fh.read(limit)
    except OSError:
        return False
    ops = 0
    try:
        for op, _, _ in pickletools.genops(io.BytesIO(data)):
            ops += 1
            if op.name == "STOP":
                return ops >= 2
    except (ValueError, EOFError, UnicodeDecodeError, struct.error):
        return ops >= 8 and len(data) == limit  # cut off by the limit, not by a bad opcode
    return False


class PickleReader:
    """Pickle and joblib files, plain or compressed, recognised by content whatever their name."""

    name = "pickle/joblib"

    def sniff(self, path: Path, head: bytes) -> bool:
        if not head:
            return False
        if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
            return True
        if path.suffix.lower() in PICKLE_SUFFIXES and (looks_like_pickle(head) or codec_of(head) is not None):
            return True
        return looks_like_pickle(head) and parses_as_pickle(path)

    def read(self, path: Path) -> Report:
        return read_pickle(path)

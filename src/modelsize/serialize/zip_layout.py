"""Byte layout of the zip archives ``torch.save`` writes (caffe2's PyTorchFileWriter over miniz).

Framework-free arithmetic: given the records torch writes (name, byte length) and the archive
name, this module places every local header, alignment field, data block, data descriptor and
central-directory entry exactly where the writer puts them, so the file size is known without
writing a byte. It also emits the header bytes themselves, which lets :mod:`.zip_rewrite` turn
the stream torch writes into a file object (archive name ``archive``) into the stream it writes
to a path (archive name from the file name) — byte for byte — for exact compressed sizes.

What the writer does, and this module mirrors (torch 2.x, ``caffe2/serialize/inline_container.cc``
with miniz 3, initialised with ``MZ_ZIP_FLAG_WRITE_ZIP64``; timestamps are written as zero):

* every record is stored uncompressed under ``<archive>/<name>``;
* each local header carries a private ``FB`` extra field padding the data start to a multiple
  of ``storage_alignment`` (64 by default), computed by ``detail::getPadding``;
* a record of 4 GiB - 1 or more, or one whose header starts at or past that offset, also gets a
  ZIP64 extra field (in the local header and in its central-directory entry), and its data
  descriptor uses 64-bit sizes;
* records with data are followed by a data descriptor (16 bytes, 24 with ZIP64); empty records
  have none;
* the archive always ends with a ZIP64 end-of-central-directory record and locator, then the
  classic end-of-central-directory record.
"""

from __future__ import annotations

import struct
import sys
from dataclasses import dataclass
from typing import Collection, Iterable, Sequence

from ..core.errors import option_error

#: miniz's MZ_UINT32_MAX: sizes and offsets at or above it need ZIP64 fields.
U32_MAX = 0xFFFFFFFF
LOCAL_HEADER = 30
CENTRAL_HEADER = 46
ZIP64_EOCD = 56
ZIP64_LOCATOR = 20
EOCD = 22
DESCRIPTOR_32 = 16
DESCRIPTOR_64 = 24
#: ``kMinProducedFileFormatVersion``: torch.save writes the record ``version`` = ``"3\n"``.
FILE_FORMAT_VERSION = 3
#: ``.data/serialization_id``: two zero-padded 20-digit numbers.
SERIALIZATION_ID_BYTES = 40
#: Name used when torch writes to a file object instead of a path.
BUFFER_ARCHIVE_NAME = "archive"

_UTF8_FLAG = 0x0800
_DESCRIPTOR_FLAG = 0x0008


@dataclass(frozen=True)
class Entry:
    """Where one record lands in the archive."""

    name: str  #: record name without the ``<archive>/`` prefix
    size: int
    header_offset: int
    data_offset: int
    zip64: bool  #: carries a ZIP64 extra field (size or header offset >= 0xFFFFFFFF)
    padding: int  #: alignment bytes inside the ``FB`` extra field

    @property
    def descriptor_bytes(self) -> int:
        if self.size == 0:
            return 0
        return DESCRIPTOR_64 if self.zip64 else DESCRIPTOR_32

    @property
    def end(self) -> int:
        """Offset just past the data descriptor (where the next header starts)."""
        return self.data_offset + self.size + self.descriptor_bytes


@dataclass(frozen=True)
class ZipLayout:
    """The whole archive: entries in write order, central directory, total size."""

    archive: str
    alignment: int
    entries: tuple[Entry, ...]
    central_offset: int
    central_size: int

    @property
    def total(self) -> int:
        return self.central_offset + self.central_size + ZIP64_EOCD + ZIP64_LOCATOR + EOCD

    @property
    def data_bytes(self) -> int:
        return sum(e.size for e in self.entries)


def archive_name(filename: object) -> str:
    """The archive prefix torch uses for ``torch.save(obj, filename)``.

    A path gives its basename up to the last dot (``ckpt/model.v2.pt`` → ``model.v2``; both ``/``
    and ``\\`` separate directories, as in the C++ writer). A non-ASCII path is written through a
    Python file object and, like any file object (``filename=None``), gets ``archive``.
    """
    import os

    if filename is None:
        return BUFFER_ARCHIVE_NAME
    if not isinstance(filename, (str, os.PathLike)):
        raise option_error("filename", "a str, an os.PathLike or None (a file object)", filename)
    name = os.fspath(filename)
    if isinstance(name, bytes):
        raise option_error("filename", "a text path", filename)
    try:
        name.encode("ascii")
    except UnicodeEncodeError:
        return BUFFER_ARCHIVE_NAME
    start = max(name.rfind("/"), name.rfind("\\")) + 1
    base = name[start:]
    dot = base.rfind(".")
    stem = base[:dot] if dot >= 0 else base
    if not stem:
        raise option_error(
            "filename", "a path whose base name has characters before its last dot "
            "(torch.save rejects it otherwise)", filename)
    return stem


def end_of_file_records(written: Collection[str]) -> list[tuple[str, int]]:
    """Records ``PyTorchStreamWriter::writeEndOfFile`` appends after the ones torch wrote."""
    out: list[tuple[str, int]] = []
    if ".data/version" not in written and "version" not in written:
        out.append(("version", len(f"{FILE_FORMAT_VERSION}\n")))
    if "byteorder" not in written:
        out.append(("byteorder", len(sys.byteorder)))
    if ".data/serialization_id" not in written:
        out.append((".data/serialization_id", SERIALIZATION_ID_BYTES))
    return out


def _zip64_extra_len(size: int, offset: int) -> int:
    """Length of miniz's ZIP64 extra field for a record (0 when none is written)."""
    if size < U32_MAX and offset < U32_MAX:
        return 0
    return 4 + (16 if size >= U32_MAX else 0) + (8 if offset >= U32_MAX else 0)


def plan(records: Iterable[tuple[str, int]], archive: str, alignment: int = 64) -> ZipLayout:
    """Lay out ``records`` (in write order, end-of-file records included) under ``archive``."""
    if alignment <= 0:
        raise option_error("alignment", "a positive integer", alignment)
    prefix = archive.encode("utf-8") + b"/"
    entries: list[Entry] = []
    offset = 0
    central = 0
    for name, size in records:
        if size < 0:
            raise option_error("record size", "an integer >= 0", size)
        name_len = len(prefix) + len(name.encode("utf-8"))
        zip64_len = _zip64_extra_len(size, offset)
        # detail::getPadding: the data would start after the fixed header, the name, the ZIP64
        # field and the 4-byte FB field header; pad that position up to the alignment.
        start = offset + LOCAL_HEADER + name_len + zip64_len + 4
        padding = -start % alignment
        data_offset = start + padding
        entry = Entry(name, size, offset, data_offset, zip64_len > 0, padding)
        entries.append(entry)
        offset = entry.end
        central += CENTRAL_HEADER + name_len + zip64_len
    return ZipLayout(archive, alignment, tuple(entries), offset, central)


# ----------------------------------------------------------------------------- header bytes


def _flags(entry: Entry) -> int:
    return _UTF8_FLAG | (_DESCRIPTOR_FLAG if entry.size else 0)


def _full_name(layout: ZipLayout, entry: Entry) -> bytes:
    return f"{layout.archive}/{entry.name}".encode("utf-8")


def _zip64_extra(size: int | None, comp: int | None, offset: int | None) -> bytes:
    fields = [v for v in (size, comp, offset) if v is not None]
    return struct.pack("<HH", 1, 8 * len(fields)) + b"".join(struct.pack("<Q", v) for v in fields)


def local_header(layout: ZipLayout, entry: Entry) -> bytes:
    """Everything from the local-header signature to the first data byte."""
    name = _full_name(layout, entry)
    zip64 = b""
    if entry.zip64:
        big = entry.size >= U32_MAX
        # Written before the data: miniz's compressed size is still 0 at that point.
        zip64 = _zip64_extra(entry.size if big else None, 0 if big else None,
                             entry.header_offset if entry.header_offset >= U32_MAX else None)
    fb = b"FB" + struct.pack("<H", entry.padding) + b"Z" * entry.padding
    fixed = struct.pack("<IHHHHHIIIHH", 0x04034B50, 0, _flags(entry), 0, 0, 0, 0, 0, 0,
                        len(name), len(zip64) + len(fb))
    return fixed + name + zip64 + fb


def data_descriptor(entry: Entry, crc32: int) -> bytes:
    """The descriptor after a record's data (empty for an empty record)."""
    if entry.size == 0:
        return b""
    if entry.zip64:
        return struct.pack("<IIQQ", 0x08074B50, crc32, entry.size, entry.size)
    return struct.pack("<IIII", 0x08074B50, crc32, entry.size, entry.size)


def central_directory(layout: ZipLayout, crc32s: Sequence[int]) -> bytes:
    """Central directory, ZIP64 end record and locator, and the end-of-central-directory record."""
    parts: list[bytes] = []
    for entry, crc in zip(layout.entries, crc32s, strict=True):
        name = _full_name(layout, entry)
        zip64 = b""
        if entry.zip64:
            big = entry.size >= U32_MAX
            zip64 = _zip64_extra(entry.size if big else None, entry.size if big else None,
                                 entry.header_offset if entry.header_offset >= U32_MAX else None)
        size32 = min(entry.size, U32_MAX)
        parts.append(struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, 0, 0, _flags(entry), 0, 0, 0, crc, size32, size32,
            len(name), len(zip64), 0, 0, 0, 0, min(entry.header_offset, U32_MAX)))
        parts.append(name + zip64)
    n = len(layout.entries)
    cd_offset, cd_size = layout.central_offset, layout.central_size
    eocd64_offset = cd_offset + cd_size
    parts.append(struct.pack("<IQHHIIQQQQ", 0x06064B50, ZIP64_EOCD - 12, 0x031E, 0x002D, 0, 0,
                             n, n, cd_size, cd_offset))
    parts.append(struct.pack("<IIQI", 0x07064B50, 0, eocd64_offset, 1))
    parts.append(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, min(n, 0xFFFF), min(n, 0xFFFF),
                             min(cd_size, U32_MAX), min(cd_offset, U32_MAX), 0))
    return b"".join(parts)

"""Turn the archive torch writes to a file object into the archive it writes to a path.

``torch.save(obj, f)`` with a file object names every record ``archive/…``; with a path it uses
the file's stem, which moves every alignment pad, offset and central-directory entry. To
compress the exact bytes of ``model.pt`` without writing it, we let torch stream into
:class:`ZipRewriter`: it knows both layouts (:func:`.zip_layout.plan`), replaces each local
header, data descriptor and the central directory with the ones for the target name, and passes
tensor data through untouched (zero-copy). Header fields torch fills in — CRC-32s — are read from
the incoming descriptors. Timestamps are zero in both streams (torch's writer stores none).

The rewriter checks the incoming stream against the expected layout (every local-header
signature, the total length) and raises :class:`StreamMismatch` on any difference, so a wrong
layout cannot silently produce wrong bytes.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from typing import Any, BinaryIO

from ..core.errors import ModelSizeError
from .zip_layout import ZipLayout, central_directory, data_descriptor, local_header

_HEADER, _DATA, _DESCRIPTOR, _TAIL = range(4)
_LOCAL_SIG = b"PK\x03\x04"


class StreamMismatch(ModelSizeError, RuntimeError):
    """The bytes torch wrote do not have the layout we computed."""


@dataclass(frozen=True)
class _Segment:
    start: int
    end: int
    kind: int
    index: int


def _segments(src: ZipLayout) -> list[_Segment]:
    out: list[_Segment] = []
    for i, e in enumerate(src.entries):
        out.append(_Segment(e.header_offset, e.data_offset, _HEADER, i))
        if e.size:
            out.append(_Segment(e.data_offset, e.data_offset + e.size, _DATA, i))
            out.append(_Segment(e.data_offset + e.size, e.end, _DESCRIPTOR, i))
    out.append(_Segment(src.central_offset, src.total, _TAIL, -1))
    return out


class ZipRewriter(io.RawIOBase):
    """A write-only file object: reads torch's ``src`` stream, writes the ``dst`` stream to ``out``."""

    def __init__(self, out: BinaryIO | Any, src: ZipLayout, dst: ZipLayout) -> None:
        super().__init__()
        if [(e.name, e.size) for e in src.entries] != [(e.name, e.size) for e in dst.entries]:
            raise ValueError("src and dst layouts must hold the same records")
        self._out = out
        self._src, self._dst = src, dst
        self._segments = _segments(src)
        self._seg = 0
        self._pos = 0
        self._crcs = [0] * len(src.entries)
        self._pending = bytearray()  # first bytes of a header, or a whole descriptor
        self._finished = False

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:  # type: ignore[override]
        view = memoryview(data).cast("B")
        n = view.nbytes
        i = 0
        while i < n:
            if self._seg >= len(self._segments):
                raise StreamMismatch(f"torch wrote more than the {self._src.total} bytes expected.")
            seg = self._segments[self._seg]
            take = min(n - i, seg.end - self._pos)
            self._consume(seg, view[i:i + take])
            self._pos += take
            i += take
            if self._pos == seg.end:
                self._seg += 1
        return n

    def _consume(self, seg: _Segment, chunk: memoryview) -> None:
        if seg.kind == _DATA:
            self._out.write(chunk)
            return
        if seg.kind == _TAIL:
            return
        if self._pos == seg.start:
            self._pending.clear()
            if seg.kind == _HEADER:
                self._out.write(local_header(self._dst, self._dst.entries[seg.index]))
        if seg.kind == _HEADER:
            if len(self._pending) < 4:
                self._pending += chunk[:4 - len(self._pending)]
                if len(self._pending) == 4 and self._pending != _LOCAL_SIG:
                    raise StreamMismatch(f"No local header where the layout puts one (offset {seg.start}).")
            return
        self._pending += chunk  # descriptor: keep it whole, then re-emit for the target layout
        if self._pos + len(chunk) == seg.end:
            crc, = struct.unpack_from("<I", self._pending, 4)
            self._crcs[seg.index] = crc
            self._out.write(data_descriptor(self._dst.entries[seg.index], crc))

    def finish(self) -> None:
        """Check the stream was complete and write the target central directory."""
        if self._finished:
            return
        if self._pos != self._src.total:
            raise StreamMismatch(f"torch wrote {self._pos} bytes; the layout expects {self._src.total}.")
        self._out.write(central_directory(self._dst, self._crcs))
        self._finished = True

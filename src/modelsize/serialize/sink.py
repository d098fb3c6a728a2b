"""A write-only file object that counts bytes instead of storing them.

Writers that accept a file object (``pickle.dump``, ``joblib.dump``, ``keras`` savers, …) write
into a :class:`CountingSink`; the count equals the size of the file the same writer would
produce, to the byte, without touching the disk or holding the bytes in memory.

Compressed sizes follow the project's one convention (:mod:`.compress`): a zstd frame told the
content size up front, as the ``zstd`` tool does for a file. :func:`counted` therefore runs the
writer twice when compression is asked — once to learn the size, once into a compressor whose
output is only counted — so the result is exact at any size and nothing is buffered.

Some writers need ``tell()`` (joblib aligns arrays to the file position), so the sink keeps
the position; none of our writers seek backwards — a writer that does must use
:func:`written_size` with a real in-memory buffer instead.
"""

from __future__ import annotations

import io
from typing import Any, Callable

from .base import CompressedSize, CompressionOptions
from .compress import METHOD_EXACT, ByteCounter, _zstd, zstd_size


class CountingSink(io.RawIOBase):
    """Counts bytes written and forwards them to ``forward`` (a compressor) when given."""

    def __init__(self, forward: Any = None) -> None:
        super().__init__()
        self.count = 0
        self._forward = forward

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def write(self, data: Any) -> int:  # type: ignore[override]
        view = memoryview(data).cast("B")
        self.count += view.nbytes
        if self._forward is not None and view.nbytes:
            self._forward.write(view)
        return view.nbytes

    def tell(self) -> int:
        return self.count


def compressed_bytes(data: bytes, compression: CompressionOptions) -> CompressedSize | None:
    """zstd size of an in-memory serialization (``None`` when compression is off)."""
    if not compression.enabled:
        return None
    zstd = _zstd(compression)
    return CompressedSize(compression.codec, compression.level, zstd_size(data, compression.level, zstd),
                          exact=True, method=METHOD_EXACT)


def counted(write: Callable[[Any], Any], compression: CompressionOptions) -> tuple[int, CompressedSize | None]:
    """Run ``write(file_object)`` into a :class:`CountingSink`; return (bytes, compressed size)."""
    sink = CountingSink()
    write(sink)
    if not compression.enabled:
        return sink.count, None
    zstd = _zstd(compression)
    counter = ByteCounter()
    compressor = zstd.ZstdCompressor(level=compression.level).stream_writer(
        counter, size=sink.count, closefd=False, write_return_read=True)
    second = CountingSink(compressor)
    write(second)
    compressor.close()  # zstd raises if the second run wrote a different number of bytes
    packed = CompressedSize(compression.codec, compression.level, counter.count, exact=True, method=METHOD_EXACT)
    return sink.count, packed


def written_size(write: Callable[[Any], Any], compression: CompressionOptions) -> tuple[int, CompressedSize | None]:
    """Like :func:`counted`, for writers that seek (zip, HDF5): write to memory, then count."""
    buffer = io.BytesIO()
    write(buffer)
    data = buffer.getvalue()
    return len(data), compressed_bytes(data, compression)

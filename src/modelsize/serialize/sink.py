"""A write-only file object that counts bytes instead of storing them.

Writers that accept a file object (``pickle.dump``, ``joblib.dump``, ``keras`` savers, …) write
into a :class:`CountingSink`; the count equals the size of the file the same writer would
produce, to the byte, without touching the disk or holding the bytes in memory. When asked, the
sink also measures the zstd-compressed size of the same bytes (exact up to
``CompressionOptions.exact_limit``).

Some writers need ``tell()`` (joblib aligns arrays to the file position), so the sink keeps
the position; none of our writers seek backwards — a writer that does must use
:func:`written_size` with a real in-memory buffer instead.
"""

from __future__ import annotations

import io
from typing import Any, Callable

from .base import CompressedSize, CompressionOptions


class CountingSink(io.RawIOBase):
    """Counts bytes written; optionally measures their zstd-compressed size as well.

    The compressed size is that of ``zstandard.ZstdCompressor(level).compress(file_bytes)``
    — one frame over the whole file, exactly what compressing the written file gives. Up to
    ``CompressionOptions.exact_limit`` bytes are kept to compress in one call at the end (zstd
    picks its parameters from the total size, so streaming without knowing it can differ by a
    few bytes); past the limit the sink switches to streaming and labels the result as not exact.
    """

    def __init__(self, compression: CompressionOptions | None = None) -> None:
        super().__init__()
        self.count = 0
        self._compression = compression if compression is not None and compression.enabled else None
        self._zstd: Any = None
        self._chunks: list[bytes] | None = None
        self._stream: Any = None
        self._streamed = 0
        if self._compression is not None:
            if self._compression.codec != "zstd":
                from ..core.errors import option_error

                raise option_error("codec", "'zstd'", self._compression.codec)
            from ..core.optional import require

            self._zstd = require("zstandard", "measure compressed sizes")
            self._chunks = []

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def write(self, data: Any) -> int:  # type: ignore[override]
        view = memoryview(data).cast("B")
        n = view.nbytes
        self.count += n
        if self._compression is None or not n:
            return n
        if self._chunks is not None:
            self._chunks.append(bytes(view))
            if self.count > self._compression.exact_limit:
                self._stream = self._zstd.ZstdCompressor(level=self._compression.level).compressobj()
                for chunk in self._chunks:
                    self._streamed += len(self._stream.compress(chunk))
                self._chunks = None
        else:
            self._streamed += len(self._stream.compress(view))
        return n

    def tell(self) -> int:
        return self.count

    def compressed(self) -> CompressedSize | None:
        """The compressed size of everything written so far (call once, after writing)."""
        if self._compression is None:
            return None
        level = self._compression.level
        if self._chunks is not None:
            data = b"".join(self._chunks)
            self._chunks = []
            size = len(self._zstd.ZstdCompressor(level=level).compress(data))
            return CompressedSize("zstd", level, size, exact=True, method="full stream")
        self._streamed += len(self._stream.flush())
        return CompressedSize("zstd", level, self._streamed, exact=False,
                              method="streamed, size not pledged (over exact_limit)")


def compressed_bytes(data: bytes, compression: CompressionOptions) -> CompressedSize | None:
    """zstd size of an in-memory serialization (``None`` when compression is off)."""
    if not compression.enabled:
        return None
    sink = CountingSink(compression)
    sink.write(data)
    return sink.compressed()


def counted(write: Callable[[Any], Any], compression: CompressionOptions) -> tuple[int, CompressedSize | None]:
    """Run ``write(file_object)`` into a :class:`CountingSink`; return (bytes, compressed size)."""
    sink = CountingSink(compression)
    write(sink)
    return sink.count, sink.compressed()


def written_size(write: Callable[[Any], Any], compression: CompressionOptions) -> tuple[int, CompressedSize | None]:
    """Like :func:`counted`, for writers that seek (zip, HDF5): write to memory, then count."""
    buffer = io.BytesIO()
    write(buffer)
    data = buffer.getvalue()
    return len(data), compressed_bytes(data, compression)

"""A bounded protobuf wire-format walker, for the few messages the readers need.

TensorFlow's SavedModel keeps its variables' names and shapes in protobufs (``BundleEntryProto``
in ``variables.index``, ``SavedObjectGraph`` in ``saved_model.pb``); an ONNX file is one
``ModelProto``. Reading them needs no generated classes: the wire format is tag, then a varint,
a fixed-width value or a length-prefixed byte string. Every length is checked against the
buffer (or the enclosing message) before it is sliced. :func:`fields` walks a message held in
memory; :class:`Stream` walks one in a file without reading the byte strings it skips.
"""

from __future__ import annotations

from typing import BinaryIO, Iterator, Union

Field = Union[int, memoryview]


class WireError(ValueError):
    """The bytes are not a valid protobuf message (or not the one expected)."""


def varint(buf: memoryview, pos: int) -> tuple[int, int]:
    """The varint at ``pos`` and the position after it."""
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise WireError(f"a varint runs past the end of the {len(buf)}-byte message")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise WireError("a varint is longer than 10 bytes")


def fields(buf: bytes | memoryview) -> Iterator[tuple[int, Field]]:
    """``(field number, value)`` for each field: ints for varint/fixed, a view for byte strings."""
    view = memoryview(buf)
    pos = 0
    n = len(view)
    while pos < n:
        tag, pos = varint(view, pos)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = varint(view, pos)
            yield number, value
        elif wire == 1:
            if pos + 8 > n:
                raise WireError("a 64-bit field runs past the end of the message")
            yield number, int.from_bytes(view[pos:pos + 8], "little")
            pos += 8
        elif wire == 5:
            if pos + 4 > n:
                raise WireError("a 32-bit field runs past the end of the message")
            yield number, int.from_bytes(view[pos:pos + 4], "little")
            pos += 4
        elif wire == 2:
            length, pos = varint(view, pos)
            if length > n - pos:
                raise WireError(f"a field claims {length} bytes but {n - pos} remain")
            yield number, view[pos:pos + length]
            pos += length
        else:
            raise WireError(f"field {number} has wire type {wire}, which this reader does not accept")


def signed(value: int) -> int:
    """A varint read as int64 (negative numbers are written as 10-byte two's complement)."""
    return value - (1 << 64) if value >= 1 << 63 else value


class WireLimit(WireError):
    """A count, length or nesting depth read from the message passed one of the reader's caps."""


class Stream:
    """A protobuf read from a seekable file a window at a time, for messages too large to hold.

    :meth:`fields` walks one message between two file offsets and yields byte-string fields as
    their ``(offset, length)``: a caller reads the ones it needs (:meth:`read`, capped) or walks
    them as nested messages, and every other field is skipped by moving the position, so the
    bytes of a large field (a tensor's data) are never read. Every field walked counts against
    ``max_fields``, so the work is bounded whatever the file claims.
    """

    CHUNK = 8192  #: bytes read at a time: a tensor's data costs at most this much read past its header

    def __init__(self, fh: BinaryIO, size: int, max_fields: int, chunk: int = CHUNK) -> None:
        self.CHUNK = chunk  # a remote file reads larger windows: one request each
        self.fh = fh
        self.size = size
        self.fields_left = max_fields
        self.max_fields = max_fields
        self.bytes_read = 0  #: bytes requested from the file (a test proves tensor data is skipped)
        self._buf = b""
        self._start = 0

    def _fill(self, pos: int, length: int) -> None:
        self.fh.seek(pos)
        self._buf = self.fh.read(max(length, self.CHUNK))
        self._start = pos
        self.bytes_read += len(self._buf)

    def varint(self, pos: int, end: int) -> tuple[int, int]:
        """The varint at file offset ``pos`` of a message ending at ``end``, and the offset after it."""
        i = pos - self._start
        if i < 0 or (i + 10 > len(self._buf) and self._start + len(self._buf) < self.size):
            self._fill(pos, self.CHUNK)
            i = 0
        buf = self._buf
        limit = min(len(buf), end - self._start)
        result = shift = 0
        while True:
            if i >= limit:
                raise WireError(f"a varint at offset {pos} runs past the end of its message")
            b = buf[i]
            i += 1
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result, self._start + i
            shift += 7
            if shift > 63:
                raise WireError(f"a varint at offset {pos} is longer than 10 bytes")

    def read(self, offset: int, length: int) -> bytes:
        """``length`` bytes at ``offset`` (inside a field :meth:`fields` yielded, so inside the file)."""
        i = offset - self._start
        if i < 0 or i + length > len(self._buf):
            self._fill(offset, length)
            i = 0
        data = self._buf[i:i + length]
        if len(data) != length:
            raise WireError(f"the file ends inside a {length}-byte field at offset {offset}")
        return data

    def fields(self, start: int, end: int) -> Iterator[tuple[int, int, int, int]]:
        """``(number, wire type, value, length)`` of each field of the message at ``[start, end)``.

        ``value`` is the integer of a varint or fixed-width field, or the file offset of a byte
        string's first byte (``length`` is then its length; 0 for the other wire types).
        """
        pos = start
        while pos < end:
            self.fields_left -= 1
            if self.fields_left < 0:
                raise WireLimit(f"it holds more than {self.max_fields:,} protobuf fields")
            i = pos - self._start
            buf = self._buf
            if 0 <= i < len(buf) - 2 and pos + 2 <= end and buf[i] < 0x80 and buf[i + 1] < 0x80:
                tag, value, after = buf[i], buf[i + 1], pos + 2  # the common case: one-byte tag and value
            else:
                tag, after = self.varint(pos, end)
                value = -1
            number, wire = tag >> 3, tag & 7
            if number == 0:
                raise WireError(f"a field at offset {pos} has number 0")
            if wire == 0 or wire == 2:
                if value < 0:
                    value, after = self.varint(after, end)
                if wire == 0:
                    pos = after
                    yield number, 0, value, 0
                    continue
                if value > end - after:
                    raise WireError(f"field {number} at offset {after} claims {value} bytes but its message "
                                    f"has {end - after} left")
                pos = after + value
                yield number, 2, after, value
            elif wire == 1 or wire == 5:
                pos = after if value < 0 else after - 1
                width = 8 if wire == 1 else 4
                if width > end - pos:
                    raise WireError(f"a {8 * width}-bit field at offset {pos} runs past the end of its message")
                yield number, wire, int.from_bytes(self.read(pos, width), "little"), 0
                pos += width
            else:
                raise WireError(f"field {number} at offset {pos} has wire type {wire}, which this reader does not "
                                "accept")

    def packed_varints(self, offset: int, length: int, max_count: int) -> list[int]:
        """The varints of a packed repeated field, at most ``max_count`` of them."""
        out: list[int] = []
        pos, end = offset, offset + length
        while pos < end:
            if len(out) >= max_count:
                raise WireLimit(f"a packed field at offset {offset} holds more than {max_count:,} values")
            value, pos = self.varint(pos, end)
            out.append(value)
        return out


def encode_varint(n: int) -> bytes:
    """``n`` (≥ 0) as a protobuf varint: the writer the tests and benchmarks build spec files with."""
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def encode_field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2): tag, length, payload."""
    return encode_varint(number << 3 | 2) + encode_varint(len(payload)) + payload


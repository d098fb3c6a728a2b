"""A bounded protobuf wire-format walker, for the few TensorFlow messages the readers need.

TensorFlow's SavedModel keeps its variables' names and shapes in protobufs (``BundleEntryProto``
in ``variables.index``, ``SavedObjectGraph`` in ``saved_model.pb``). Reading them needs no
generated classes: the wire format is tag, then a varint, a fixed-width value or a
length-prefixed byte string. Every length is checked against the buffer before it is sliced.
"""

from __future__ import annotations

from typing import Iterator, Union

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

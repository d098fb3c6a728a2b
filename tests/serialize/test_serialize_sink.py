"""The counting sink: byte counts and compressed sizes without keeping a file."""

from __future__ import annotations

import os
import pickle

import pytest

zstd = pytest.importorskip("zstandard")

from modelsize.core.errors import OptionError  # noqa: E402
from modelsize.serialize.base import CompressionOptions  # noqa: E402
from modelsize.serialize.sink import CountingSink, counted, written_size  # noqa: E402


def _reference(data: bytes, level: int = 3) -> int:
    cobj = zstd.ZstdCompressor(level=level).compressobj(size=len(data))
    return len(cobj.compress(data)) + len(cobj.flush())


def test_counts_what_a_file_would_hold_and_tells_the_position(tmp_path):
    value = {"a": list(range(1000)), "b": os.urandom(5000)}
    path = tmp_path / "x.pkl"
    path.write_bytes(pickle.dumps(value, protocol=5))
    size, packed = counted(lambda f: pickle.dump(value, f, protocol=5), CompressionOptions())
    assert size == path.stat().st_size
    assert packed.exact and packed.bytes == _reference(path.read_bytes())
    sink = CountingSink()
    sink.write(b"abc")
    sink.write(memoryview(b"de"))
    assert sink.tell() == 5


def test_compressed_size_is_exact_past_the_exact_limit_too():
    data = os.urandom(300) * 100

    def write(f):
        for i in range(0, len(data), 512):
            f.write(data[i : i + 512])

    size, packed = counted(write, CompressionOptions(exact_limit=1000, level=5))
    assert size == len(data)
    assert packed.exact and packed.bytes == _reference(data, level=5)
    assert counted(write, CompressionOptions(enabled=False)) == (len(data), None)


def test_written_size_for_writers_that_seek():
    def write(f):
        f.write(b"x" * 10)
        f.seek(0)
        f.write(b"y")

    size, packed = written_size(write, CompressionOptions(level=1))
    assert size == 10 and packed.level == 1


def test_only_zstd_is_supported():
    with pytest.raises(OptionError, match="'codec' option must be 'zstd'"):
        counted(lambda f: f.write(b"x"), CompressionOptions(codec="gzip"))

"""The counting sink: byte counts and compressed sizes without keeping a file."""

from __future__ import annotations

import os
import pickle

import pytest

zstd = pytest.importorskip("zstandard")

from modelsize.core.errors import OptionError  # noqa: E402
from modelsize.serialize.base import CompressionOptions  # noqa: E402
from modelsize.serialize.sink import CountingSink, counted, written_size  # noqa: E402


def test_counts_what_a_file_would_hold_and_tells_the_position(tmp_path):
    value = {"a": list(range(1000)), "b": os.urandom(5000)}
    path = tmp_path / "x.pkl"
    path.write_bytes(pickle.dumps(value, protocol=5))
    size, packed = counted(lambda f: pickle.dump(value, f, protocol=5), CompressionOptions())
    assert size == path.stat().st_size
    assert packed.exact and packed.bytes == len(zstd.ZstdCompressor(level=3).compress(path.read_bytes()))
    sink = CountingSink()
    sink.write(b"abc")
    sink.write(memoryview(b"de"))
    assert sink.tell() == 5 and sink.compressed() is None


def test_over_the_exact_limit_compression_is_streamed_and_labelled():
    data = os.urandom(300) * 100
    options = CompressionOptions(exact_limit=1000)
    sink = CountingSink(options)
    for i in range(0, len(data), 512):
        sink.write(data[i : i + 512])
    packed = sink.compressed()
    assert sink.count == len(data)
    assert not packed.exact and "over exact_limit" in packed.method
    one_shot = len(zstd.ZstdCompressor(level=3).compress(data))
    assert abs(packed.bytes - one_shot) / one_shot < 0.5  # same order: repetitive data compresses well


def test_written_size_for_writers_that_seek():
    def write(f):
        f.write(b"x" * 10)
        f.seek(0)
        f.write(b"y")

    size, packed = written_size(write, CompressionOptions(level=1))
    assert size == 10 and packed.level == 1


def test_only_zstd_is_supported():
    with pytest.raises(OptionError, match="'codec' option must be 'zstd'"):
        CountingSink(CompressionOptions(codec="gzip"))

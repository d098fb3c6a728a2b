"""The header cache: a second inspect costs only ETag checks, --offline costs nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from modelsize.core.errors import OptionError, RemoteError
from modelsize.formats import remote
from modelsize.formats.remote.cache import Entry, HeaderCache, default_dir
from range_server import LLAMA_70B_PARAMS, RangeServer, write_sparse_safetensors

INDEX = "llama70b/model.safetensors.index.json"


def test_second_inspect_makes_only_etag_checks(server: RangeServer, tmp_path: Path) -> None:
    first = remote.read(server.url(INDEX))
    assert first.sections["remote"]["cache"]["misses"] == 31
    server.log.clear()
    second = remote.read(server.url(INDEX))
    assert second.totals.params == LLAMA_70B_PARAMS
    assert [r.method for r in server.log.requests] == ["HEAD"] * 31  # one ETag check per file
    assert server.log.bytes_sent == 0
    assert second.sections["remote"]["cache"] == {
        "folder": str(tmp_path / "header-cache"), "hits": 31, "misses": 0, "offline": False}


def test_offline_uses_the_cache_only(server: RangeServer) -> None:
    with pytest.raises(RemoteError, match="not in the header cache.*--offline"):
        remote.read(server.url(INDEX), remote.RemoteOptions(offline=True))
    assert server.log.requests == []
    remote.read(server.url(INDEX))
    server.log.clear()
    report = remote.read(server.url(INDEX), remote.RemoteOptions(offline=True))
    assert report.totals.params == LLAMA_70B_PARAMS
    assert server.log.requests == [] and report.sections["remote"]["requests"] == 0
    server.stop()  # no server at all: still answered from the cache
    again = remote.read(server.url(INDEX), remote.RemoteOptions(offline=True))
    assert again.totals.params == LLAMA_70B_PARAMS


def test_changed_file_is_fetched_again(server: RangeServer, served: Path) -> None:
    path = served / "changing.safetensors"
    write_sparse_safetensors(path, [("a", (4, 4))], elem=4, tag="F32")
    assert remote.read(server.url("changing.safetensors")).totals.params == 16
    write_sparse_safetensors(path, [("a", (4, 4)), ("b", (8,))], elem=4, tag="F32")
    os.utime(path, ns=(1, 1))  # a new ETag even within the same mtime tick
    server.log.clear()
    report = remote.read(server.url("changing.safetensors"))
    assert report.totals.params == 24
    assert [r.method for r in server.log.requests] == ["HEAD", "GET"]  # ETag differs: fetched again


def test_cache_folder_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MODELSIZE_CACHE_DIR", str(tmp_path / "a"))
    assert default_dir() == tmp_path / "a"
    monkeypatch.delenv("MODELSIZE_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_dir() == tmp_path / "xdg" / "modelsize" / "remote"


def test_no_cache_and_offline_conflict(server: RangeServer, tmp_path: Path) -> None:
    with pytest.raises(OptionError, match="'offline' option needs the header cache"):
        remote.read(server.url(INDEX), remote.RemoteOptions(offline=True, cache=False))
    remote.read(server.url(INDEX), remote.RemoteOptions(cache=False))
    assert not (tmp_path / "header-cache").exists()


def test_entry_blocks_merge_and_gaps() -> None:
    e = Entry(url="u")
    e.add(0, b"abcd")
    e.add(8, b"ijkl")
    assert e.missing(2, 8) == (4, 8)
    assert e.missing(0, 12) == (4, 8)
    assert e.missing(2, 20) == (4, 22)  # one covering request: coalesced
    e.add(3, b"defgh")
    assert e.blocks == [(0, b"abcdefghijkl")]
    assert e.missing(0, 12) is None and e.slice(5, 3) == b"fgh"


def test_entries_without_validator_are_not_cached(tmp_path: Path) -> None:
    cache = HeaderCache(tmp_path)
    cache.save(Entry(url="u", size=4, validator=None, blocks=[(0, b"abcd")]))
    assert cache.load("u") is None
    cache.save(Entry(url="u", size=4, validator='etag:"x"', blocks=[(0, b"abcd")]))
    loaded = cache.load("u")
    assert loaded is not None and loaded.blocks == [(0, b"abcd")] and loaded.validator == 'etag:"x"'
    (tmp_path / next(p.name for p in tmp_path.glob("*.bin"))).write_bytes(b"ab")  # damaged
    assert cache.load("u") is None


def test_importing_the_remote_layer_loads_no_http_stack() -> None:
    """fsspec, aiohttp and huggingface_hub load only when a remote target is read."""
    import subprocess
    import sys

    code = ("import sys, modelsize, modelsize.formats.remote, modelsize.compute.fit\n"
            "print(sorted(m for m in ('aiohttp', 'fsspec', 'huggingface_hub') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": str(Path(remote.__file__).resolve().parents[3])})
    assert out.stdout.strip() == "[]"

"""Hostile servers: wrong Content-Range, a 2**60 header length, Range ignored, silence, redirects."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from modelsize.core.errors import InvalidFileError, RemoteError
from modelsize.formats import remote
from range_server import RangeServer

INDEX = "llama70b/model.safetensors.index.json"
SHARD = "llama70b/model-00002-of-00030.safetensors"


def test_wrong_content_range_is_refused(server: RangeServer) -> None:
    server.behaviour["wrong_content_range"] = True
    with pytest.raises(RemoteError, match=r"sent bytes 1-16384 .* when bytes 0-16383 were asked for"):
        remote.read(server.url(SHARD))


def test_header_length_of_2_pow_60_stops_after_the_first_block(server: RangeServer, served: Path) -> None:
    path = served / "huge-header.safetensors"
    with path.open("wb") as fh:
        fh.write((1 << 60).to_bytes(8, "little"))
        fh.write(b'{"a": 1}')
        fh.truncate(10 << 30)  # a 10 GiB sparse file
    with pytest.raises(InvalidFileError, match="header length field says 1152921504606846976 bytes"):
        remote.read(server.url("huge-header.safetensors"))
    assert server.log.bytes_sent == 16384 and len(server.log.requests) == 1


def test_server_ignoring_range_is_detected_before_downloading(server: RangeServer) -> None:
    server.behaviour["ignore_range"] = True
    start = time.perf_counter()
    with pytest.raises(RemoteError, match=r"ignored the HTTP Range request .*answered 200 with \d+ bytes"):
        remote.read(server.url(SHARD))
    assert time.perf_counter() - start < 5
    # The shard is 4.6 GB; the client read none of the body (the server may have pushed a socket buffer).
    assert server.log.bytes_sent < 64 << 20


def test_small_file_without_range_support_is_read_whole(server: RangeServer, served: Path) -> None:
    """A file smaller than the first request is the whole answer either way: accepted."""
    from range_server import write_sparse_safetensors

    write_sparse_safetensors(served / "small.safetensors", [("w", (4, 4))], elem=4, tag="F32")
    server.behaviour["ignore_range"] = True
    report = remote.read(server.url("small.safetensors"))
    assert report.totals.params == 16


def test_silent_server_times_out_with_a_clear_error(server: RangeServer) -> None:
    server.behaviour["latency"] = 30.0  # far past the 0.5 s timeout: only the timeout ends the wait
    start = time.perf_counter()
    with pytest.raises(RemoteError, match=r"No answer from .* within 0.5 s \(timeout\).*--timeout"):
        remote.read(server.url(SHARD), remote.RemoteOptions(timeout=0.5, cache=False))
    assert time.perf_counter() - start < 5  # a hang guard: 10× the 0.5 s timeout


def test_server_stalling_mid_answer_times_out(server: RangeServer) -> None:
    server.behaviour["stall_body"] = 30.0  # far past the 0.5 s timeout: only the timeout ends the wait
    start = time.perf_counter()
    with pytest.raises(RemoteError, match=r"within 0.5 s \(timeout\)"):
        remote.read(server.url(SHARD), remote.RemoteOptions(timeout=0.5, cache=False))
    assert time.perf_counter() - start < 5  # a hang guard: 10× the 0.5 s timeout


def test_timeout_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELSIZE_HTTP_TIMEOUT", "7.5")
    assert remote.RemoteOptions().resolved_timeout() == 7.5
    monkeypatch.setenv("MODELSIZE_HTTP_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="MODELSIZE_HTTP_TIMEOUT"):
        remote.RemoteOptions().resolved_timeout()


def test_redirect_to_another_host_is_followed_without_credentials(server: RangeServer, served: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Like huggingface_hub: the redirect is followed, the token never reaches the other host."""
    other = RangeServer(served).start()
    try:
        monkeypatch.setenv("HF_ENDPOINT", server.base)  # the first server is "the Hub": it gets the token
        monkeypatch.setenv("HF_TOKEN", "hf_secret")
        server.behaviour["redirect_to"] = other.base.replace("127.0.0.1", "localhost")
        report = remote.read(server.url(SHARD), remote.RemoteOptions(cache=False))
        assert report.totals.params > 0
        assert server.log.requests[0].headers.get("authorization") == "Bearer hf_secret"
        assert other.log.requests and all("authorization" not in r.headers for r in other.log.requests)
        assert report.sections["remote"]["bytes_transferred"] == other.log.bytes_sent == 16384
    finally:
        other.stop()


def test_plain_urls_never_get_the_hub_token(server: RangeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    monkeypatch.setenv("HF_ENDPOINT", "https://huggingface.co")
    remote.read(server.url(SHARD), remote.RemoteOptions(cache=False))
    assert all("authorization" not in r.headers for r in server.log.requests)


def test_trickling_server_ends_at_the_request_deadline(server: RangeServer) -> None:
    """Issue 26: one byte every 0.2 s never trips the 0.5 s socket timeout; the request deadline
    (4 x --timeout) ends it, in one error, after a bounded number of bytes."""
    from modelsize.formats.remote.transport import REQUEST_DEADLINE_FACTOR

    server.behaviour["trickle"] = 0.2
    try:
        with pytest.raises(RemoteError, match=r"no complete answer within 2 s in all"):
            remote.read(server.url(SHARD), remote.RemoteOptions(timeout=0.5, cache=False))
    finally:
        server.behaviour["trickle"] = None
    # bytes counted, not seconds: at most one byte per 0.2 s over the 2 s deadline (plus scheduling slack)
    assert REQUEST_DEADLINE_FACTOR * 0.5 == 2.0
    assert server.log.bytes_sent <= 2.0 / 0.2 + 5


def test_command_deadline_bounds_many_slow_requests(server: RangeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The per-command deadline (20 x --timeout) holds over every request of the command together."""
    from modelsize.formats.remote import transport

    monkeypatch.setattr(transport, "COMMAND_DEADLINE_FACTOR", 2)
    server.behaviour["trickle"] = 0.2
    try:
        with pytest.raises(RemoteError, match=r"per-command deadline"):
            remote.read(server.url(SHARD), remote.RemoteOptions(timeout=0.5, cache=False))
    finally:
        server.behaviour["trickle"] = None


def test_header_read_is_capped(server: RangeServer) -> None:
    from modelsize.formats.remote.paths import HttpPath, RemoteSession, SessionOptions
    from modelsize.formats.remote.cache import HeaderCache

    session = RemoteSession(SessionOptions(False, HeaderCache(None), 5.0), lambda url: {})
    try:
        with pytest.raises(RemoteError, match=r"reads at most 134,217,728 bytes per request"):
            session.client.run([session.client.get_range(server.url(SHARD), 0, 200 << 20)])
    finally:
        session.close()
    assert server.log.requests == []


def test_redirect_to_another_host_is_said_in_the_report(server: RangeServer, served: Path) -> None:
    other = RangeServer(served).start()
    try:
        server.behaviour["redirect_to"] = other.base.replace("127.0.0.1", "localhost")
        report = remote.read(server.url(SHARD), remote.RemoteOptions(cache=False))
    finally:
        other.stop()
    assert report.sections["remote"]["redirects"]
    assert any("redirected to another host" in n and "localhost" in n for n in report.notes)
    assert report.sections["safety"]["verdict"] == "safe"  # safetensors: numbers and names only


def test_memory_exhausted_on_the_remote_path_is_one_error(server: RangeServer,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A header reader that runs out of memory (or recursion) remotely ends in our error, as it does locally."""
    import modelsize.formats.remote as remote_pkg

    def exhausted(*args: object, **kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr(remote_pkg, "read_path", exhausted)
    with pytest.raises(InvalidFileError, match="ran out of memory on its header"):
        remote.read(server.url(SHARD), remote.RemoteOptions(cache=False))

    def too_deep(*args: object, **kwargs: object) -> None:
        raise RecursionError

    monkeypatch.setattr(remote_pkg, "read_path", too_deep)
    with pytest.raises(InvalidFileError, match="nests too deeply"):
        remote.read(server.url(SHARD), remote.RemoteOptions(cache=False))

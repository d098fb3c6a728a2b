"""HTTP Range reads through fsspec's HTTP filesystem (aiohttp), checked and counted.

fsspec's own ``cat_file(start, end)`` reads the whole response body, so a server that ignores
``Range`` would stream a 40 GB file into memory. Here every response is checked *before* its
body is read: a 206 must carry the ``Content-Range`` that was asked for, a 200 (Range ignored)
is refused unless the whole file is smaller than what was asked, and no more bytes than asked
are ever read. Many reads run concurrently on fsspec's event loop (one ``gather``), which is
what makes a 30-shard checkpoint take one round trip instead of thirty.

Redirects are followed the way aiohttp (and huggingface_hub) follow them: ``Authorization``
and cookies are dropped when the redirect leaves the origin, so a token never reaches another host.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ...core.errors import RemoteError
from ...core.optional import require

_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$")
_UNSATISFIED = re.compile(r"^\s*bytes\s+\*/(\d+)\s*$")
_CHUNK = 1 << 16
#: A request must finish within this many --timeout periods, however slowly the server trickles bytes
#: (the socket timeout alone never fires on a server that sends one byte every timeout - 1 seconds).
REQUEST_DEADLINE_FACTOR = 4
#: A command's header reads must finish within this many --timeout periods in all (default 30 s: 10 minutes);
#: a --download the user asked for is bounded per request only.
COMMAND_DEADLINE_FACTOR = 20
#: Bytes one header read may ask for (a safetensors header is at most 100 MB).
MAX_READ_BYTES = 128 << 20


@dataclass
class Transfer:
    """What went over the network: requests made and body bytes received."""

    requests: int = 0
    bytes: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)  #: URL asked → final URL on another host

    def count(self, kind: str) -> None:
        self.requests += 1
        self.by_kind[kind] = self.by_kind.get(kind, 0) + 1


@dataclass(frozen=True)
class Answer:
    """One response: the bytes asked for (empty for HEAD), the file size and its validator."""

    data: bytes
    size: int | None
    validator: str | None
    exists: bool = True


def validator_of(headers: Any) -> str | None:
    """The cache validator: the ETag, else Last-Modified + length (``None``: cannot validate)."""
    etag = headers.get("ETag")
    if etag:
        return f"etag:{etag}"
    modified = headers.get("Last-Modified")
    return f"modified:{modified}" if modified else None


class HttpClient:
    """Range GETs and HEADs on fsspec's aiohttp session; ``headers_for(url)`` adds auth headers."""

    def __init__(self, timeout: float, headers_for: Callable[[str], dict[str, str]], transfer: Transfer) -> None:
        fsspec_http = require("fsspec.implementations.http", "read remote models over HTTP")
        aiohttp = require("aiohttp", "read remote models over HTTP")
        import time

        self.timeout = timeout
        self.headers_for = headers_for
        self.transfer = transfer
        self._aiohttp = aiohttp
        self.request_deadline = REQUEST_DEADLINE_FACTOR * timeout
        self.command_deadline: float | None = time.monotonic() + COMMAND_DEADLINE_FACTOR * timeout
        self.fs = fsspec_http.HTTPFileSystem(
            skip_instance_cache=True,
            client_kwargs={
                "trust_env": True,  # HTTP(S)_PROXY, NO_PROXY, like huggingface_hub
                "timeout": aiohttp.ClientTimeout(total=REQUEST_DEADLINE_FACTOR * timeout, sock_connect=timeout,
                                                 sock_read=timeout),
                "auto_decompress": False,
            },
        )
        self._session: Any = None

    # ---- running coroutines from synchronous readers
    def run(self, coros: Sequence[Awaitable[Any]]) -> list[Any]:
        """Run ``coros`` concurrently on fsspec's loop; the first failure is raised after all finish."""
        from fsspec.asyn import sync

        import time

        async def gather() -> list[Any]:
            return await asyncio.gather(*coros, return_exceptions=True)

        if self.command_deadline is None:
            results = sync(self.fs.loop, gather)
        else:
            left = self.command_deadline - time.monotonic()
            from fsspec.exceptions import FSTimeoutError

            try:
                results = sync(self.fs.loop, gather, timeout=max(left, 0.001))
            except (FSTimeoutError, asyncio.TimeoutError):
                raise RemoteError(
                    f"The remote reads of this command took longer than {COMMAND_DEADLINE_FACTOR} x {self.timeout:g} s "
                    "(the per-command deadline); the server is too slow or trickles bytes. Allow more time with "
                    "--timeout SECONDS, or download the file and inspect it locally.") from None
        for r in results:
            if isinstance(r, BaseException):
                raise r
        return results

    async def _client(self) -> Any:
        if self._session is None:
            self._session = await self.fs.set_session()
        return self._session

    def close(self) -> None:
        from fsspec.asyn import sync

        if self._session is not None:
            sync(self.fs.loop, self._session.close)
            self._session = None

    # ---- requests
    async def head(self, url: str) -> Answer:
        """Size and validator of ``url`` without its body."""
        session = await self._client()
        try:
            async with session.head(url, headers=self._headers(url), allow_redirects=True) as r:
                self.transfer.count("HEAD")
                self._note_redirect(url, r)
                if r.status == 404:
                    return Answer(b"", None, None, exists=False)
                self._check_status(url, r.status)
                size = r.headers.get("Content-Length")
                return Answer(b"", int(size) if size and size.isdigit() else None, validator_of(r.headers))
        except (asyncio.TimeoutError, self._aiohttp.ClientError) as exc:
            raise self._network_error(url, exc) from exc

    async def get_range(self, url: str, start: int, end: int) -> Answer:
        """Bytes ``[start, end)`` of ``url`` (fewer at the end of the file), never more."""
        if end <= start:
            raise ValueError(f"An empty byte range [{start}, {end}) was asked for {url!r}.")
        if end - start > MAX_READ_BYTES:
            raise RemoteError(f"A header read of {end - start:,} bytes was asked for {url!r}; modelsize reads at most "
                              f"{MAX_READ_BYTES:,} bytes per request remotely. Add --download to read the file "
                              "whole.")
        session = await self._client()
        headers = {**self._headers(url), "Range": f"bytes={start}-{end - 1}", "Accept-Encoding": "identity"}
        try:
            async with session.get(url, headers=headers, allow_redirects=True) as r:
                self.transfer.count("GET")
                self._note_redirect(url, r)
                if r.status == 404:
                    return Answer(b"", None, None, exists=False)
                if r.status == 416:  # asked past the end: the file is shorter (an empty file)
                    m = _UNSATISFIED.match(r.headers.get("Content-Range", ""))
                    return Answer(b"", int(m.group(1)) if m else 0, validator_of(r.headers))
                self._check_status(url, r.status)
                expected, size = self._expected(url, r, start, end)
                data = await self._read(url, r, expected)
                return Answer(data, size, validator_of(r.headers))
        except (asyncio.TimeoutError, self._aiohttp.ClientError) as exc:
            raise self._network_error(url, exc) from exc

    async def download(self, url: str, sink: Callable[[bytes], None], size: int, step: int = 8 << 20) -> None:
        """The whole file, in ``step``-byte Range requests handed to ``sink`` one by one (each request has its
        deadline; the command's deadline no longer applies: the user asked for the download)."""
        self.command_deadline = None
        pos = 0
        while pos < size:
            answer = await self.get_range(url, pos, min(size, pos + step))
            if not answer.data:
                raise RemoteError(f"{url!r} ended at byte {pos} of {size} while downloading it. Try again.")
            sink(answer.data)
            pos += len(answer.data)

    # ---- checks
    def _note_redirect(self, url: str, r: Any) -> None:
        """Remember a redirect that ended on another host (the report says so)."""
        from urllib.parse import urlsplit

        final = str(getattr(r, "url", url))
        if getattr(r, "history", None) and urlsplit(final).hostname != urlsplit(url).hostname:
            self.transfer.redirects[url] = final

    def _headers(self, url: str) -> dict[str, str]:
        return dict(self.headers_for(url))

    def _check_status(self, url: str, status: int) -> None:
        if status in (401, 403):
            raise RemoteError(
                f"{url!r} answered HTTP {status}: access denied. For a gated or private Hugging Face "
                "repository set HF_TOKEN to a token that has access."
            )
        if status >= 400 or status < 200 or status in (204, 304):
            raise RemoteError(f"{url!r} answered HTTP {status}. Check the URL and try again.")

    def _expected(self, url: str, r: Any, start: int, end: int) -> tuple[int, int]:
        """How many body bytes to read and the file size, from a response checked against the request."""
        if r.status == 206:
            raw = r.headers.get("Content-Range", "")
            m = _CONTENT_RANGE.match(raw)
            if not m or m.group(3) == "*":
                raise RemoteError(
                    f"{url!r} answered a Range request with Content-Range {raw!r}, not 'bytes A-B/SIZE'; "
                    "modelsize cannot tell which bytes it sent and stops."
                )
            first, last, size = int(m.group(1)), int(m.group(2)), int(m.group(3))
            if first != start or last < first or last >= size or last != min(end, size) - 1:
                raise RemoteError(
                    f"{url!r} sent bytes {first}-{last} of {size} when bytes {start}-{end - 1} were asked "
                    "for (wrong Content-Range); modelsize stops rather than misread the file."
                )
            length = r.headers.get("Content-Length")
            if length is not None and length.isdigit() and int(length) != last - first + 1:
                raise RemoteError(
                    f"{url!r} announced {length} bytes for the range {first}-{last} ({last - first + 1} bytes). "
                    "The server is misbehaving; try again later."
                )
            return last - first + 1, size
        length = r.headers.get("Content-Length")
        whole = int(length) if length is not None and length.isdigit() else None
        if start == 0 and whole is not None and whole <= end:  # the whole file is smaller than asked
            return whole, whole
        raise RemoteError(
            f"{url!r} ignored the HTTP Range request (it answered {r.status} with "
            f"{f'{whole} bytes' if whole is not None else 'a body of unknown length'}, the whole file). "
            "modelsize reads only headers and stops here rather than download the file; "
            "use a server that supports Range requests, or download the file and inspect it locally."
        )

    async def _read(self, url: str, r: Any, expected: int) -> bytes:
        parts: list[bytes] = []
        got = 0
        while got < expected:
            chunk = await r.content.read(min(_CHUNK, expected - got))
            if not chunk:
                raise RemoteError(f"{url!r} closed the connection after {got} of {expected} bytes. Try again.")
            parts.append(chunk)
            got += len(chunk)
            self.transfer.bytes += len(chunk)
        return b"".join(parts)

    def _network_error(self, url: str, exc: BaseException) -> RemoteError:
        if isinstance(exc, asyncio.TimeoutError):
            return RemoteError(
                f"No answer from {url!r} within {self.timeout:g} s (timeout), or no complete answer within "
                f"{self.request_deadline:g} s in all. Check the network, or allow more time with "
                "--timeout SECONDS (or MODELSIZE_HTTP_TIMEOUT)."
            )
        text = " ".join(str(exc).split()) or type(exc).__name__
        return RemoteError(f"Cannot read {url!r}: {text}. Check the URL, the network and any proxy settings.")

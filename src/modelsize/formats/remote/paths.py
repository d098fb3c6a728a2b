"""Remote files as :class:`~modelsize.formats.source.SourcePath` objects, read through one session.

A :class:`RemoteSession` owns the HTTP client, the header cache and the transfer counters of one
inspect. Its files are read lazily: touching a file fetches its first ``readahead`` bytes (which
also gives its size and ETag), later reads fetch only the bytes not yet held, as one request
each (a read that straddles held bytes is coalesced into the smallest covering range).
:meth:`RemoteSession.prefetch` does the first fetch of many files at once, concurrently.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import quote, unquote, urljoin, urlparse

from ...core.errors import RemoteError
from ..source import SourcePath, Stat
from .cache import Entry, HeaderCache
from .transport import Answer, HttpClient, Transfer

#: First bytes fetched from a file: the header of a typical safetensors shard (3-10 KB) fits, so
#: one request gives its size, its ETag and its whole header; a longer header costs one more.
READAHEAD = 16 * 1024


@dataclass(frozen=True)
class SessionOptions:
    offline: bool
    cache: HeaderCache
    timeout: float
    readahead: int = READAHEAD


class RemoteSession:
    """The network, the cache and the counters behind every remote path of one inspect."""

    def __init__(self, options: SessionOptions, headers_for: Callable[[str], dict[str, str]]) -> None:
        self.options = options
        self.transfer = Transfer()
        self.headers_for = headers_for
        self._client: HttpClient | None = None
        self.entries: dict[str, Entry] = {}
        self.checked: set[str] = set()
        self.dirty: set[str] = set()
        self.cache_hits = 0
        self.cache_misses = 0

    @property
    def client(self) -> HttpClient:
        if self.options.offline:
            raise RemoteError("A network request was needed in --offline mode. Run once without --offline.")
        if self._client is None:
            self._client = HttpClient(self.options.timeout, self.headers_for, self.transfer)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def save(self) -> None:
        """Write what was fetched to the header cache."""
        for url in sorted(self.dirty):
            self.options.cache.save(self.entries[url])
        self.dirty.clear()

    # ---- state of one file
    async def ensure(self, url: str, want_data: bool, immutable: bool = False) -> Entry:
        """The file's entry: from this session, from the cache (validated), or fetched."""
        entry = self.entries.get(url)
        if url in self.checked and entry is not None:
            if want_data and entry.exists and not entry.blocks and entry.size:
                await self._fetch(entry, 0, min(entry.size, self.options.readahead))
            return entry
        cached = self.options.cache.load(url)
        if cached is not None and not (want_data and cached.exists and not cached.blocks and cached.size):
            if self.options.offline or cached.immutable:
                return self._accept(url, cached)
            probe = await self.client.head(url)
            if probe.exists and probe.validator == cached.validator and probe.size in (None, cached.size):
                return self._accept(url, cached)
        if self.options.offline:
            raise RemoteError(
                f"{url!r} is not in the header cache ({self.options.cache.folder}); --offline reads only "
                "the cache. Inspect it once without --offline."
            )
        self.cache_misses += 1
        entry = Entry(url=url, immutable=immutable)
        answer = await (self.client.get_range(url, 0, self.options.readahead) if want_data else self.client.head(url))
        self._absorb(entry, answer, 0)
        self.entries[url] = entry
        self.checked.add(url)
        self.dirty.add(url)
        return entry

    def _accept(self, url: str, entry: Entry) -> Entry:
        self.cache_hits += 1
        self.entries[url] = entry
        self.checked.add(url)
        return entry

    def _absorb(self, entry: Entry, answer: Answer, offset: int) -> None:
        entry.exists = answer.exists
        if not answer.exists:
            return
        if entry.size is not None and answer.size is not None and answer.size != entry.size:
            raise RemoteError(
                f"{entry.url!r} changed size while it was read ({entry.size} then {answer.size} bytes). Try again."
            )
        entry.size = answer.size if answer.size is not None else entry.size
        entry.validator = answer.validator or entry.validator
        entry.add(offset, answer.data)

    async def _fetch(self, entry: Entry, start: int, end: int) -> None:
        answer = await self.client.get_range(entry.url, start, end)
        if not answer.exists:
            raise RemoteError(f"{entry.url!r} disappeared (HTTP 404) while it was read.")
        self._absorb(entry, answer, start)
        self.dirty.add(entry.url)

    def run(self, coros: list[Any]) -> list[Any]:
        if self._client is None and self.options.offline:
            import asyncio

            return [asyncio.run(c) for c in coros]  # offline: everything comes from the cache
        return self.client.run(coros)

    def entry(self, url: str, want_data: bool, immutable: bool = False) -> Entry:
        known = self.entries.get(url)
        if url in self.checked and known is not None and not (
                want_data and known.exists and not known.blocks and known.size):
            return known  # answered from memory: no trip to the event loop's thread
        return self.run([self.ensure(url, want_data, immutable)])[0]

    def read_at(self, url: str, offset: int, length: int, immutable: bool = False) -> bytes:
        entry = self.entry(url, True, immutable)
        if not entry.exists:
            raise RemoteError(f"{url!r} does not exist (HTTP 404). Check the URL.")
        if length <= 0:
            return b""
        gap = entry.missing(offset, length)
        if gap is not None:
            if self.options.offline:
                raise RemoteError(
                    f"Bytes {gap[0]}..{gap[1]} of {url!r} are not in the header cache; --offline reads only "
                    "the cache. Inspect it once without --offline."
                )
            self.run([self._fetch(entry, *gap)])
        return entry.slice(offset, length)

    def prefetch(self, urls: list[tuple[str, bool]]) -> None:
        """First bytes of every ``(url, immutable)`` at once."""
        todo = [(u, imm) for u, imm in dict.fromkeys(urls) if u not in self.checked]
        if todo:
            self.run([self.ensure(u, True, imm) for u, imm in todo])

    def summary(self) -> dict[str, Any]:
        return {
            "requests": self.transfer.requests,
            "requests_by_kind": dict(self.transfer.by_kind),
            "bytes_transferred": self.transfer.bytes,
            "files": len(self.entries),
            "cache": {"folder": str(self.options.cache.folder) if self.options.cache.folder else None,
                      "hits": self.cache_hits, "misses": self.cache_misses, "offline": self.options.offline},
        }


class _RemoteFile(SourcePath):
    """What HTTP and Hub paths share: reads by URL through the session."""

    session: RemoteSession
    immutable = False

    @property
    def url(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def read_at(self, offset: int, length: int) -> bytes:
        return self.session.read_at(self.url, offset, length, self.immutable)

    def stat(self) -> Stat:
        # Sizing a file already probed (a HEAD) needs nothing more; otherwise its first bytes come too.
        known = self.url in self.session.checked and self.session.entries[self.url].size is not None
        entry = self.session.entry(self.url, not known, self.immutable)
        if not entry.exists or entry.size is None:
            raise RemoteError(f"{self!s} does not exist or has no known size. Check the address.")
        return Stat(entry.size)

    def prefetch(self, paths: list[SourcePath]) -> None:
        self.session.prefetch([(p.url, p.immutable) for p in paths if isinstance(p, _RemoteFile) and p.listed()])

    def listed(self) -> bool:
        """Whether the file may exist without asking the server (a Hub listing answers; HTTP cannot)."""
        return True


class HttpPath(_RemoteFile):
    """A file (or the folder of one) at an ``http(s)://`` URL. Plain HTTP cannot list folders."""

    def __init__(self, session: RemoteSession, url: str, folder: bool = False) -> None:
        self.session = session
        self._url = url
        self.folder = folder
        path = urlparse(url).path
        self.name = unquote(posixpath.basename(path.rstrip("/")))

    @property
    def url(self) -> str:
        return self._url

    def __str__(self) -> str:
        return self._url

    def child(self, name: str) -> "HttpPath":
        base = self._url if self.folder else self._url + "/"
        return HttpPath(self.session, urljoin(base, quote(name)))

    @property
    def parent(self) -> "HttpPath":
        parsed = urlparse(self._url)
        path = parsed.path.rstrip("/")
        up = posixpath.dirname(path) if path else ""
        folder = f"{up.rstrip('/')}/"
        return HttpPath(self.session, parsed._replace(path=folder, query="", fragment="").geturl(), folder=True)

    def is_file(self) -> bool:
        return not self.folder and self.session.entry(self._url, False).exists

    def is_dir(self) -> bool:
        return self.folder

    def iterdir(self) -> Iterator[SourcePath]:
        return iter(())


@dataclass(frozen=True)
class HubRepo:
    """A Hugging Face repository at one commit: where it lives and which files it has."""

    endpoint: str
    repo_id: str
    revision: str | None  #: as the user wrote it
    sha: str  #: the commit it resolved to
    files: tuple[str, ...]
    sizes: tuple[tuple[str, int], ...] = ()  #: file sizes the Hub API listed (``blobs=True``)

    def size(self, key: str) -> int | None:
        return dict(self.sizes).get(key)

    def url(self, key: str) -> str:
        return f"{self.endpoint}/{self.repo_id}/resolve/{quote(self.sha, safe='')}/{quote(key)}"


class HubPath(_RemoteFile):
    """A file or folder in a Hugging Face repository (``hf://org/name@rev/path``)."""

    immutable = True  # its URL names a commit

    def __init__(self, session: RemoteSession, repo: HubRepo, key: str) -> None:
        self.session = session
        self.repo = repo
        self.key = key if key.startswith("/") else key.strip("/")
        self.name = posixpath.basename(self.key) if self.key else repo.repo_id.split("/")[-1]

    @property
    def url(self) -> str:
        return self.repo.url(self.key)

    def __str__(self) -> str:
        rev = f"@{self.repo.revision}" if self.repo.revision else ""
        return f"hf://{self.repo.repo_id}{rev}" + (f"/{self.key}" if self.key else "")

    def child(self, name: str) -> "HubPath":
        key = posixpath.normpath(posixpath.join(self.key, name)) if not name.startswith("/") else "/" + name
        return HubPath(self.session, self.repo, key if key != "." else "")

    @property
    def outside(self) -> bool:
        """A key that climbs out of the repository (``../x``, ``/etc/x``): no such file, no parents."""
        return self.key.startswith(("..", "/"))

    @property
    def parent(self) -> "HubPath":
        return self if self.outside else HubPath(self.session, self.repo, posixpath.dirname(self.key))

    def is_file(self) -> bool:
        return not self.outside and self.key in self.repo.files

    def listed(self) -> bool:
        return self.is_file()

    def stat(self) -> Stat:
        """The size the Hub listed, while the file is untouched (ONNX external data: sized, never fetched)."""
        listed = self.repo.size(self.key) if self.is_file() else None
        if listed is not None and self.url not in self.session.checked:
            return Stat(listed)
        return super().stat()

    def is_dir(self) -> bool:
        prefix = f"{self.key}/" if self.key else ""
        return not self.outside and any(f.startswith(prefix) for f in self.repo.files)

    def iterdir(self) -> Iterator[SourcePath]:
        prefix = f"{self.key}/" if self.key else ""
        seen: set[str] = set()
        for f in self.repo.files:
            if f.startswith(prefix):
                first = f[len(prefix):].split("/")[0]
                if first not in seen:
                    seen.add(first)
                    yield HubPath(self.session, self.repo, prefix + first)

"""A disk cache of the header bytes read from remote files, keyed by URL and validator.

An entry holds the byte ranges a reader asked for (the header, an index, a config), the file's
size, and what proves it is still the same file: its ETag (or Last-Modified), or — for a
Hugging Face URL that names a commit — nothing, since a commit never changes. A second inspect
of the same file then costs one ETag check (a HEAD) or no request at all; ``--offline`` uses
the entries as they are.

Where: ``$MODELSIZE_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/modelsize/remote`` (``~/.cache``
when unset). Each entry is two files named by the SHA-256 of the URL: ``.json`` (metadata) and
``.bin`` (the ranges, end to end), written atomically so a crash never leaves half an entry.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENV_VAR = "MODELSIZE_CACHE_DIR"
_VERSION = 1


def default_dir() -> Path:
    """The cache folder the environment asks for (see the module docstring)."""
    explicit = os.environ.get(ENV_VAR)
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(xdg) / "modelsize" / "remote"


@dataclass
class Entry:
    """What is known about one remote file."""

    url: str
    size: int | None = None
    validator: str | None = None
    immutable: bool = False
    exists: bool = True
    blocks: list[tuple[int, bytes]] = field(default_factory=list)  #: sorted, non-overlapping

    def add(self, offset: int, data: bytes) -> None:
        """Merge ``data`` at ``offset`` into the blocks (adjacent and overlapping blocks join)."""
        if not data:
            return
        spans = sorted([*self.blocks, (offset, data)], key=lambda b: b[0])
        merged: list[tuple[int, bytearray]] = []
        for start, chunk in spans:
            if merged and start <= merged[-1][0] + len(merged[-1][1]):
                m_start, m_data = merged[-1]
                tail = start + len(chunk) - (m_start + len(m_data))
                if tail > 0:
                    m_data.extend(chunk[len(chunk) - tail:])
            else:
                merged.append((start, bytearray(chunk)))
        self.blocks = [(s, bytes(d)) for s, d in merged]

    def missing(self, offset: int, length: int) -> tuple[int, int] | None:
        """The smallest range ``[a, b)`` covering what of ``[offset, offset+length)`` is not held."""
        end = offset + length
        gaps: list[tuple[int, int]] = []
        pos = offset
        for start, data in self.blocks:
            stop = start + len(data)
            if stop <= pos:
                continue
            if start >= end:
                break
            if start > pos:
                gaps.append((pos, start))
            pos = max(pos, stop)
        if pos < end:
            gaps.append((pos, end))
        return (gaps[0][0], gaps[-1][1]) if gaps else None

    def slice(self, offset: int, length: int) -> bytes:
        """``length`` bytes at ``offset``, which must all be held."""
        for start, data in self.blocks:
            if start <= offset and offset + length <= start + len(data):
                return data[offset - start: offset - start + length]
        raise KeyError((offset, length))

    def held(self) -> int:
        return sum(len(d) for _, d in self.blocks)


class HeaderCache:
    """Entries on disk under ``folder``; ``folder=None`` disables the cache."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder

    def _stem(self, key: str) -> Path:
        assert self.folder is not None
        return self.folder / hashlib.sha256(key.encode("utf-8")).hexdigest()

    def load(self, url: str) -> Entry | None:
        if self.folder is None:
            return None
        stem = self._stem(url)
        try:
            meta = json.loads(stem.with_suffix(".json").read_text("utf-8"))
            raw = stem.with_suffix(".bin").read_bytes()
        except (OSError, ValueError):
            return None
        if not isinstance(meta, dict) or meta.get("version") != _VERSION or meta.get("url") != url:
            return None
        entry = Entry(url=url, size=meta.get("size"), validator=meta.get("validator"),
                      immutable=bool(meta.get("immutable")), exists=bool(meta.get("exists", True)))
        pos = 0
        for offset, length in meta.get("blocks", []):
            if pos + length > len(raw):
                return None  # a damaged entry is as good as none
            entry.blocks.append((offset, raw[pos: pos + length]))
            pos += length
        return entry

    def save(self, entry: Entry) -> None:
        if self.folder is None or not entry.exists or (entry.validator is None and not entry.immutable):
            return  # nothing proves a later file is the same one: do not cache it
        self.folder.mkdir(parents=True, exist_ok=True)
        stem = self._stem(entry.url)
        meta = {"version": _VERSION, "url": entry.url, "size": entry.size, "validator": entry.validator,
                "immutable": entry.immutable, "exists": entry.exists,
                "blocks": [[o, len(d)] for o, d in entry.blocks]}
        _atomic_write(stem.with_suffix(".bin"), b"".join(d for _, d in entry.blocks))
        _atomic_write(stem.with_suffix(".json"), json.dumps(meta).encode("utf-8"))

    # Small JSON documents (a Hub revision's commit and file list) under a key of their own.
    def load_doc(self, key: str) -> Any:
        if self.folder is None:
            return None
        try:
            return json.loads(self._stem(key).with_suffix(".doc.json").read_text("utf-8"))
        except (OSError, ValueError):
            return None

    def save_doc(self, key: str, doc: Any) -> None:
        if self.folder is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        _atomic_write(self._stem(key).with_suffix(".doc.json"), json.dumps(doc).encode("utf-8"))


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)

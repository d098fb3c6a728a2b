"""Where a reader's bytes come from: a local file, or a remote one read with HTTP Range requests.

Readers are written against a small subset of :mod:`pathlib` (``name``, ``suffix``, ``parent``,
``/``, ``is_file()``, ``stat().st_size``, ``open("rb")``, ``glob()``, ``iterdir()``). A local
file is a :class:`pathlib.Path`; a remote file is a :class:`SourcePath` that implements the same
subset on top of :meth:`SourcePath.read_at`, so every reader works on remote files without
knowing it, and reads only the bytes its parser asks for.

The helpers here are what readers call instead of ``Path(x)`` or ``os.path.getsize(x)``, so a
remote path passes through them untouched.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO


@dataclass(frozen=True)
class Stat:
    """What ``stat()`` returns for a remote file: its size (the only field readers use)."""

    st_size: int


class SourcePath:
    """A file or folder that is not on the local disk; subclasses implement the abstract methods.

    ``str()`` is the full location (a URL) used in messages; ``name`` the last part.
    """

    name: str = ""

    # ---- to implement
    def read_at(self, offset: int, length: int) -> bytes:  # pragma: no cover - abstract
        raise NotImplementedError

    def stat(self) -> Stat:  # pragma: no cover - abstract
        raise NotImplementedError

    def is_file(self) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def is_dir(self) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def child(self, name: str) -> "SourcePath":  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def parent(self) -> "SourcePath":  # pragma: no cover - abstract
        raise NotImplementedError

    def iterdir(self) -> Iterator["SourcePath"]:  # pragma: no cover - abstract
        raise NotImplementedError

    def prefetch(self, paths: list["SourcePath"]) -> None:
        """Make the first bytes of ``paths`` available, in parallel where the source can."""

    # ---- pathlib subset built on the above
    def __truediv__(self, name: str) -> "SourcePath":
        return self.child(str(name))

    @property
    def suffix(self) -> str:
        return os.path.splitext(self.name)[1]

    @property
    def stem(self) -> str:
        return os.path.splitext(self.name)[0]

    def exists(self) -> bool:
        return self.is_dir() or self.is_file()

    def resolve(self) -> "SourcePath":
        return self

    @property
    def parents(self) -> list["SourcePath"]:
        out: list[SourcePath] = []
        p = self
        while True:
            up = p.parent
            if str(up) == str(p):
                return out
            out.append(up)
            p = up

    def glob(self, pattern: str) -> Iterator["SourcePath"]:
        import fnmatch

        return (p for p in self.iterdir() if fnmatch.fnmatchcase(p.name, pattern))

    def open(self, mode: str = "rb") -> BinaryIO:
        if mode != "rb":
            raise ValueError(f"Remote files open only for reading ('rb'). Got {mode!r}.")
        return SourceFile(self)  # type: ignore[return-value]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SourcePath) and str(other) == str(self)

    def __lt__(self, other: "SourcePath") -> bool:
        return str(self) < str(other)

    def __hash__(self) -> int:
        return hash(str(self))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class SourceFile(io.RawIOBase):
    """A seekable, read-only file object whose reads are :meth:`SourcePath.read_at` calls."""

    def __init__(self, source: SourcePath) -> None:
        super().__init__()
        self.source = source
        self.size = source.stat().st_size
        self.pos = 0
        self.name = str(source)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self.pos, 2: self.size}[whence]
        if base + offset < 0:
            raise ValueError(f"Cannot seek to a negative position ({base + offset}).")
        self.pos = base + offset
        return self.pos

    def readinto(self, buffer: Any) -> int:
        n = max(0, min(len(buffer), self.size - self.pos))
        if n == 0:
            return 0
        data = self.source.read_at(self.pos, n)
        buffer[: len(data)] = data
        self.pos += len(data)
        return len(data)

    def readall(self) -> bytes:
        data = self.source.read_at(self.pos, max(0, self.size - self.pos))
        self.pos += len(data)
        return data


def as_path(target: str | os.PathLike[str] | SourcePath) -> Path | SourcePath:
    """``Path(target)``, except that a remote path is returned as it is."""
    return target if isinstance(target, SourcePath) else Path(target)


def name_of(target: str | os.PathLike[str] | SourcePath) -> str:
    """The last part of a local or remote path."""
    return as_path(target).name


def is_remote(target: Any) -> bool:
    return isinstance(target, SourcePath)


def prefetch(paths: Iterable[Path | SourcePath]) -> None:
    """Fetch the first bytes of every remote file in ``paths`` at once (nothing to do locally)."""
    remote = [p for p in paths if isinstance(p, SourcePath)]
    if remote:
        remote[0].prefetch(remote)

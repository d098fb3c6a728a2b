"""Pick the reader for a file or folder and read it: detection from the readers' declarations.

The readers and what recognises their files are declared in :mod:`.declarations` (``FORMATS``; its view
``READERS``, ``class name -> reader``, is re-exported here). A reader class has ``name``,
``sniff(path, head) -> bool`` (``head``: the file's first 64 bytes, empty for a folder) and
``read(path) -> Report``; recognising a file imports only the reader whose declaration matches it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..core.errors import InvalidFileError, TargetError, UnsupportedObjectError
from ..core.registry import Registry
from ..core.report import Report
from ._common import require_regular
from .declarations import FORMATS, PROBE_BYTES, READERS, declaration, detect
from .source import is_remote

__all__ = ["FORMATS", "READERS", "read", "reader_for"]


def _load(entry: str) -> Any:
    """The reader instance of an entry (its name or its ``"module:Class"`` string)."""
    return READERS[entry if entry in READERS else Registry.name_of(entry)]


def _head(path: Path) -> bytes:
    if path.is_dir():
        return b""
    try:
        with path.open("rb") as fh:
            return fh.read(PROBE_BYTES)
    except OSError as exc:
        raise TargetError(f"Cannot read {str(path)!r}: {exc.strerror}. Check the path and its permissions.") from exc


def _format_name(entry: str) -> str:
    """A reader's name from its declaration (a plugin reader, which declares nothing, is loaded for it)."""
    decl = declaration(entry)
    return decl.name if decl is not None else READERS[entry].name


def reader_for(path: str | os.PathLike[str]) -> Any:
    """The reader that recognises ``path``, or our error naming the file."""
    p = Path(path)
    if is_remote(path):
        raise TargetError(f"{str(path)!r} is remote: read it with modelsize.formats.registry.read.")
    if not p.exists():
        raise TargetError(f"No such file or folder: {str(p)!r}. Check the path.")
    require_regular(p)
    head = _head(p)
    if p.is_file() and p.stat().st_size == 0:
        raise InvalidFileError(f"{str(p)!r} is empty (0 bytes): it is not a model file.")
    entry = detect(p, head)
    if entry is not None:
        return READERS[entry]
    known = ", ".join(_format_name(e) for e in READERS) or "none installed"
    raise UnsupportedObjectError(
        f"{str(p)!r} is not a model file modelsize can read (known formats: {known}). "
        "For a Python object, pass 'package.module:attr' or 'path/to/file.py:attr'."
    )
def read(path: str | os.PathLike[str]) -> Report:
    """Report for a model file or folder (local, or a remote path: see formats/remote).

    Whatever a hostile file makes a reader do, the caller gets our error: running out of memory
    or of recursion depth becomes :class:`InvalidFileError` with one line, never a traceback.
    """
    if is_remote(path):  # a shard of a remote folder, say: header readers only, no download
        from .remote.dispatch import read_path

        return read_path(path, read_local=read)  # type: ignore[arg-type]
    reader = reader_for(path)
    try:
        from .safety import Readers, with_safety

        return with_safety(reader.read(Path(path)), Path(path), Readers(read, reader_for))
    except MemoryError:
        raise InvalidFileError(
            f"{str(path)!r} could not be read: the {reader.name} reader ran out of memory on it. "
            "The file may be hostile or corrupt; if it is a real model, report it with the file's size."
        ) from None
    except RecursionError:
        raise InvalidFileError(
            f"{str(path)!r} could not be read: its structure nests too deeply for the {reader.name} reader. "
            "The file may be hostile or corrupt."
        ) from None

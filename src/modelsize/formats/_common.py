"""Shared pieces of the file readers: bounded reads, our error, the report and its file section.

A reader never trusts a length from a file: :class:`BoundedFile` checks every read against the
file size *before* allocating, so a header that claims 2**60 bytes ends in
:class:`~modelsize.core.errors.InvalidFileError` instead of a memory blow-up.
"""

from __future__ import annotations

import mmap
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Iterable, Mapping

from ..core.errors import InvalidFileError, ModelSizeError
from ..core.report import Report, Source
from ..core.tensors import Role, TensorRecord
from ..core.tree import Component, from_flat
from .source import as_path, is_remote, name_of

#: Names that are buffers (running statistics, counters), not learned parameters, in state dicts.
_BUFFER_SUFFIXES = ("running_mean", "running_var", "num_batches_tracked", "inv_freq")


def invalid(path: str | os.PathLike[str], fmt: str, defect: str) -> InvalidFileError:
    """Our error for a broken file: which file, which format, what is wrong, what to do."""
    return InvalidFileError(
        f"{str(path)!r} is not a valid {fmt} file: {defect}. "
        "The file may be truncated or corrupt; re-download or re-export it."
    )


def map_file(path: Path, fmt: str) -> mmap.mmap:
    """The file mapped read-only, so a reader touches only the pages its walk visits (a 2 GB TFLite
    file costs what its tables cost); a file that cannot be mapped (empty, a FIFO) is invalid, not
    a traceback. Use it as a context manager: the map is closed when the walk ends."""
    with Path(path).open("rb") as fh:
        try:
            return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except (ValueError, OSError) as exc:
            raise invalid(path, fmt, f"it cannot be mapped ({exc})") from None


def json_value(raw: bytes, path: str | os.PathLike[str], fmt: str, what: str = "it") -> Any:
    """``raw`` parsed as UTF-8 JSON, or our error saying ``what`` of the file is not."""
    import json

    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise invalid(path, fmt, f"{what} is not valid UTF-8 JSON ({type(exc).__name__})") from None


def json_object(raw: bytes, path: str | os.PathLike[str], fmt: str, what: str = "it") -> dict[str, Any]:
    """:func:`json_value` that must be a JSON object (a config, a Keras metadata file)."""
    value = json_value(raw, path, fmt, what)
    if not isinstance(value, dict):
        raise invalid(path, fmt, f"{what} is not a JSON object")
    return value


_FILE_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
               (stat.S_ISBLK, "a block device"))


def require_regular(path: str | os.PathLike[str]) -> None:
    """Refuse anything but a regular file *before* opening it: opening a FIFO blocks forever.

    Symbolic links are followed (a Hugging Face cache links its shards), so the check is on
    what the link points to. A remote path has no local mode: its reader checks the answers.
    """
    if is_remote(path):
        return
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return  # a missing file is reported by whoever opens it, with its own wording
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return
    kind = next((label for test, label in _FILE_KINDS if test(mode)), "not a regular file")
    raise InvalidFileError(
        f"{str(path)!r} is {kind}, not a regular file: modelsize reads only regular files, "
        "since reading anything else can block forever. Copy the model into a regular file."
    )


#: A compressed member is read up to this many bytes, or RATIO × its compressed size if larger.
MAX_EXPANDED = 256 << 20
MAX_EXPANSION_RATIO = 100


def check_expansion(path: str | os.PathLike[str], fmt: str, what: str, compressed: int, expanded: int) -> None:
    """Refuse a compressed member that claims to expand past the limit (a decompression bomb)."""
    cap = max(MAX_EXPANDED, MAX_EXPANSION_RATIO * compressed)
    if expanded > cap:
        raise invalid(path, fmt, f"{what} expands from {compressed} to {expanded} bytes, past the {cap}-byte limit "
                      f"(the larger of {MAX_EXPANDED} bytes and {MAX_EXPANSION_RATIO}x the compressed size)")


def outside_notes(folder: Path, files: Iterable[Path]) -> list[str]:
    """A note naming each file read from outside ``folder`` once links are resolved.

    A remote folder has no links to resolve: its files come from the URLs the index names.
    """
    if is_remote(folder):
        return []
    root = folder.resolve()
    out = []
    for f in dict.fromkeys(files):
        real = f.resolve()
        if not real.is_relative_to(root):
            out.append(f"{f.name} was read from outside the folder: it links to {str(real)!r}.")
    return out


def role_for_name(path: str) -> Role:
    """Best guess of a state-dict entry's role from its name (files do not say)."""
    return Role.BUFFER if path.rsplit(".", 1)[-1] in _BUFFER_SUFFIXES else Role.PARAMETER


def span_key(where: str, offset: int, nbytes: int, path: str) -> str:
    """Storage key for bytes at ``offset`` in ``where``: equal only for the same non-empty bytes.

    Empty tensors occupy no bytes and may sit at the same offset as the next tensor, so they
    get a key of their own rather than appearing to share its storage.
    """
    return f"{where}@{offset}+{nbytes}" if nbytes else f"path:{path}"


class BoundedFile:
    """Random-access reads from one file, each checked against the file size first."""

    def __init__(self, path: str | os.PathLike[str], fmt: str) -> None:
        self.path = as_path(path)  # a local Path or a remote SourcePath (see formats/source.py)
        self.fmt = fmt
        require_regular(path)
        try:
            self._fh: BinaryIO = self.path.open("rb")
        except OSError as exc:
            if isinstance(exc, ModelSizeError):  # a remote file's network error says what to do itself
                raise
            raise invalid(path, fmt, f"it cannot be opened ({exc.strerror})") from exc
        self.size = self._fh.seek(0, os.SEEK_END)

    def __enter__(self) -> "BoundedFile":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._fh.close()

    def error(self, defect: str) -> InvalidFileError:
        return invalid(self.path, self.fmt, defect)

    def check_range(self, offset: int, length: int, what: str) -> None:
        """Raise unless ``[offset, offset + length)`` lies inside the file."""
        if offset < 0 or length < 0 or offset > self.size or length > self.size - offset:
            raise self.error(
                f"{what} needs {length} bytes at offset {offset} but the file has only {self.size} bytes"
            )

    def read_at(self, offset: int, length: int, what: str) -> bytes:
        """Exactly ``length`` bytes at ``offset`` (checked before reading)."""
        self.check_range(offset, length, what)
        self._fh.seek(offset)
        data = self._fh.read(length)
        if len(data) != length:  # the file shrank while we read it
            raise self.error(f"{what} is cut short at offset {offset + len(data)}")
        return data


@dataclass(frozen=True)
class FileLayout:
    """How one file's bytes split into named parts (tensor data, header, padding …)."""

    path: str
    bytes: int
    split: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        split = {k: int(v) for k, v in self.split.items() if v}
        other = self.bytes - sum(split.values())
        if other:
            split["other"] = other
        return {"path": self.path, "bytes": int(self.bytes), "split": split}


def file_section(fmt: str, layouts: Iterable[FileLayout]) -> dict[str, Any]:
    """The ``file`` section: total bytes on disk and their split, per file and overall."""
    files = [layout.to_dict() for layout in layouts]
    split: dict[str, int] = {}
    for f in files:
        for k, v in f["split"].items():
            split[k] = split.get(k, 0) + v
    return {"format": fmt, "bytes": sum(f["bytes"] for f in files), "split": split, "files": files}


def build_report(
    path: str | os.PathLike[str],
    fmt: str,
    records: list[TensorRecord],
    *,
    framework: str,
    object_type: str,
    sections: Mapping[str, Any] | None = None,
    notes: Iterable[str] = (),
    kinds: Mapping[str, str] | None = None,
    attrs: Mapping[str, Mapping[str, Any]] | None = None,
    root: Component | None = None,
    details: Mapping[str, Any] | None = None,
) -> Report:
    """A report for a file: records grouped into a tree by dotted name unless ``root`` is given."""
    kinds = dict(kinds or {})
    if root is None:
        root = from_flat(records, root_name=name_of(path), root_kind=kinds.pop("", object_type), kinds=kinds,
                         attrs=attrs)
    return Report(
        root=root,
        source=Source(framework=framework, object_type=object_type, target=str(path), format=fmt,
                      details=dict(details or {})),
        sections=dict(sections or {}),
        notes=tuple(notes),
    )

"""Which reader reads a remote path: the header readers run remotely, the rest only downloaded.

Called by :mod:`modelsize.formats.registry` for remote paths and by :mod:`.` for targets; it
imports neither (the local reader for a downloaded copy is passed in), so no import circle. Which
formats are read remotely, and how, is each format's ``remote`` declaration
(:mod:`modelsize.formats.declarations`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from ...core.errors import InvalidFileError, RemoteError, UnsupportedObjectError
from ...core.report import Report
from ..declarations import PROBE_BYTES, READERS, declaration, detect, suffixes
from ..source import SourcePath
from .paths import _RemoteFile

#: Remote modes read by range requests (``whole`` formats are read only downloaded).
REMOTE_READ = ("header", "bounded")
#: The readers read remotely (declared ``remote="header"`` or ``"bounded"``), in the declarations' order.
HEADER_READERS = tuple(entry for entry in READERS.specs() if getattr(declaration(entry), "remote", None) in REMOTE_READ)


def read_path(path: SourcePath, allow_download: bool = False,
              read_local: Callable[[Path], Report] | None = None) -> Report:
    """Read a remote file or folder with the first header reader that recognises it.

    ``read_local`` reads a downloaded copy (the formats registry's ``read``); it is passed in so
    that this module, which the registry calls for remote paths, never imports the registry.
    """
    if path.is_dir():
        head = b""
        _refuse_pickle_only_folder(path)
    else:
        size = path.stat().st_size
        if size == 0:
            raise InvalidFileError(f"{str(path)!r} is empty (0 bytes): it is not a model file.")
        head = path.read_at(0, min(PROBE_BYTES, size))
    entry = detect(path, head, HEADER_READERS)
    if entry is not None:
        if getattr(declaration(entry), "remote", None) == "bounded" and not allow_download:
            _check_whole_size(path, READERS[entry].name)
        return READERS[entry].read(path)
    if path.is_dir():
        files = sorted(p.name for p in path.iterdir() if _weights(p.name, REMOTE_READ))
        if files:  # a GGUF repository: one file per quantization, no config.json
            listed = ", ".join(files[:8]) + (", …" if len(files) > 8 else "")
            raise UnsupportedObjectError(
                f"{str(path)!r} has no config.json and several weight files ({listed}). Point at one of them, "
                f"e.g. {str(path / files[0])!r}.")
        raise UnsupportedObjectError(f"{str(path)!r} holds no weights modelsize reads remotely ({_remote_names()}). "
                                     "Point at a weight file.")
    if not allow_download or read_local is None:
        raise UnsupportedObjectError(
            f"{str(path)!r} is not a file whose headers modelsize reads remotely ({_remote_names()}). "
            f"Pickle checkpoints (torch.save, .bin, .pkl) and Keras, HDF5 or TFLite files need the whole "
            f"stream even for a static scan ({path.stat().st_size:,} bytes here); modelsize downloads it only "
            "when asked: add --download (allow_download=True), or inspect a safetensors/GGUF version."
        )
    return _download_and_read(path, read_local)


#: A ``remote="bounded"`` format (an ONNX protobuf is its own header) is read whole; above this, only
#: with allow_download.
MAX_REMOTE_WHOLE_BYTES = 64 << 20


def _check_whole_size(path: SourcePath, name: str) -> None:
    size = path.stat().st_size
    if size > MAX_REMOTE_WHOLE_BYTES:
        raise UnsupportedObjectError(
            f"{str(path)!r} is a {name} file of {size:,} bytes, read whole: its weights are inside it (no "
            f"external data), and reading it means downloading all of it (modelsize reads such remote files up "
            f"to {MAX_REMOTE_WHOLE_BYTES >> 20} MiB). Add --download (allow_download=True) to read it anyway."
        )


def _remote_names() -> str:
    """The formats read remotely, as their entries name them (``gguf, safetensors, onnx`` …)."""
    return ", ".join(d.name for e in HEADER_READERS if (d := declaration(e)) is not None and d.suffixes)


def _weights(name: str, modes: tuple[str, ...]) -> bool:
    """Whether ``name`` ends like the files of a format declared with one of these ``remote`` modes."""
    return name.lower().endswith(suffixes(remote=modes))


def _refuse_pickle_only_folder(path: SourcePath) -> None:
    names = [p.name for p in path.iterdir()]
    if any(_weights(n, REMOTE_READ) for n in names):
        return
    whole = [n for n in names if _weights(n, ("whole",))]
    if whole:
        raise UnsupportedObjectError(
            f"{str(path)!r} has only pickle-based or other whole-file weights ("
            f"{', '.join(whole)[:200]}); their headers are not "
            "at the start, so modelsize does not read them remotely. Point at one file with --download, "
            "or download the repository."
        )


def _download_and_read(path: SourcePath, read_local: Callable[[Path], Report]) -> Report:
    """The whole file into a temporary folder, then the local reader (static, nothing executed)."""

    if not isinstance(path, _RemoteFile):
        raise RemoteError(f"{str(path)!r} cannot be downloaded.")
    size = path.stat().st_size
    with tempfile.TemporaryDirectory(prefix="modelsize-") as folder:
        local = Path(folder) / (path.name or "model")
        with local.open("wb") as fh:
            path.session.run([path.session.client.download(path.url, fh.write, size)])
        report = read_local(local)
    notes = (*report.notes, f"Downloaded the whole file ({size:,} bytes) to read it: its format needs the "
                            "whole stream. It was scanned statically and deleted.")
    return replace(report, source=replace(report.source, target=str(path)), notes=notes)

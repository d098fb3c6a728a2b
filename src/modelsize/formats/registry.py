"""Pick the reader for a file or folder by its magic bytes and name, importing readers lazily.

Each entry is ``"module:Class"``; a reader class has ``name``, ``sniff(path, head) -> bool``
(``head`` is the first 64 bytes, empty for a folder) and ``read(path) -> Report``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..core.errors import InvalidFileError, TargetError, UnsupportedObjectError
from ..core.registry import Registry
from ..core.report import Report

#: Order matters: specific magic numbers before extension-only guesses. Other packages add
#: readers through the ``modelsize.readers`` entry-point group (sniffed after these).
READERS = Registry("reader", instantiate=True, group="modelsize.readers", entries=[
    "modelsize.formats.hf_folder:HuggingFaceFolderReader",  # folders only: answers no to files at once
    "modelsize.formats.gguf_file:GGUFReader",
    "modelsize.formats.tflite_file:TFLiteReader",
    "modelsize.formats.torch_file:TorchReader",
    "modelsize.formats.torch_file:TorchIndexReader",
    "modelsize.formats.keras_file:KerasReader",
    "modelsize.formats.keras_file:H5Reader",
    "modelsize.formats.safetensors_file:SafetensorsIndexReader",
    "modelsize.formats.safetensors_file:SafetensorsReader",
    "modelsize.formats.onnx_file:OnnxReader",
    "modelsize.formats.pickle_file:PickleReader",
])


def _load(entry: str) -> Any:
    """The reader instance of an entry (its name or its ``"module:Class"`` string)."""
    return READERS[entry if entry in READERS else Registry.name_of(entry)]


def _head(path: Path) -> bytes:
    if path.is_dir():
        return b""
    try:
        with path.open("rb") as fh:
            return fh.read(64)
    except OSError as exc:
        raise TargetError(f"Cannot read {str(path)!r}: {exc.strerror}. Check the path and its permissions.") from exc


def reader_for(path: str | os.PathLike[str]) -> Any:
    """The reader that recognises ``path``, or our error naming the file."""
    p = Path(path)
    if not p.exists():
        raise TargetError(f"No such file or folder: {str(p)!r}. Check the path.")
    head = _head(p)
    if p.is_file() and p.stat().st_size == 0:
        raise InvalidFileError(f"{str(p)!r} is empty (0 bytes): it is not a model file.")
    for reader in READERS.values():
        if reader.sniff(p, head):
            return reader
    known = ", ".join(r.name for r in READERS.values()) or "none installed"
    raise UnsupportedObjectError(
        f"{str(p)!r} is not a model file modelsize can read (known formats: {known}). "
        "For a Python object, pass 'package.module:attr' or 'path/to/file.py:attr'."
    )


def read(path: str | os.PathLike[str]) -> Report:
    """Report for a model file or folder."""
    return reader_for(path).read(Path(path))

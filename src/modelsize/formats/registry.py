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
from ._common import require_regular
from .source import is_remote

#: Order matters: specific magic numbers before extension-only guesses. Other packages add
#: readers through the ``modelsize.readers`` entry-point group (sniffed after these).
READERS = Registry("reader", instantiate=True, group="modelsize.readers", entries=[
    "modelsize.formats.tfjs_file:TFJSReader",  # model.json with a weightsManifest (file or folder) only
    "modelsize.formats.openvino_file:OpenVINOReader",  # IR .xml (<net>), its .bin beside it, or a folder with one
    "modelsize.formats.coreml_file:CoreMLReader",  # .mlmodel by suffix, .mlpackage folders
    "modelsize.formats.hf_folder:HuggingFaceFolderReader",  # folders only: answers no to files at once
    "modelsize.formats.savedmodel_file:SavedModelReader",  # folders with saved_model.pb / variables.index
    "modelsize.formats.gguf_file:GGUFReader",
    "modelsize.formats.tflite_file:TFLiteReader",
    "modelsize.formats.executorch_file:ExecuTorchReader",  # flatbuffer identifier ET12 at offset 4
    "modelsize.formats.fasttext_file:FastTextReader",  # magic 793712314 at offset 0, whatever the suffix
    "modelsize.formats.torch_file:TorchReader",
    "modelsize.formats.torch_file:TorchIndexReader",
    "modelsize.formats.keras_file:KerasReader",
    "modelsize.formats.keras_file:H5Reader",
    "modelsize.formats.safetensors_file:SafetensorsIndexReader",
    "modelsize.formats.safetensors_file:SafetensorsReader",
    "modelsize.formats.onnx_file:OnnxReader",
    "modelsize.formats.booster_file:XGBoostReader",  # .json/.ubj claimed only when they hold a learner
    "modelsize.formats.booster_file:LightGBMReader",  # model text: "tree\nversion=v…"
    "modelsize.formats.catboost_file:CatBoostReader",  # .cbm: "CBM1" + FlatBuffers model core

    "modelsize.formats.numpy_file:NumpyReader",  # .npy / .npz by their magic
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
    if is_remote(path):
        raise TargetError(f"{str(path)!r} is remote: read it with modelsize.formats.registry.read.")
    if not p.exists():
        raise TargetError(f"No such file or folder: {str(p)!r}. Check the path.")
    require_regular(p)
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

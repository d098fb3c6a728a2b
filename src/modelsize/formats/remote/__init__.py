"""Inspect models before downloading them: ``https://…`` files and ``hf://`` repositories, header-only.

The file readers run unchanged on remote paths (see :mod:`modelsize.formats.source`); only the
bytes their parsers ask for are fetched, with HTTP Range requests. Formats whose header is at the
start or indexed are read remotely: safetensors (single, sharded), GGUF, ONNX (its protobuf; the
external data files are listed and sized, never fetched) and Hugging Face folders. Pickle-based
checkpoints (``torch.save``, ``.pkl``) and zip/flatbuffer/HDF5 files need their whole stream even
for a static scan, so they are downloaded (to a temporary folder, then read by the local reader,
nothing executed) only when the caller allows it (``allow_download=True``, ``--download``).

The report gains a ``remote`` section: requests made, bytes transferred, cache hits.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ...core.errors import OptionError, RemoteError, TargetError, UnsupportedObjectError, option_error
from ...core.report import Report
from ..source import SourcePath
from .cache import HeaderCache, default_dir
from .paths import HttpPath, HubPath, RemoteSession, SessionOptions

SCHEMES = ("http://", "https://", "hf://")
TIMEOUT_ENV = "MODELSIZE_HTTP_TIMEOUT"
DEFAULT_TIMEOUT = 30.0

#: Readers whose parsers touch only a file's first bytes or an index: safe to run remotely.
HEADER_READERS = (
    "modelsize.formats.hf_folder:HuggingFaceFolderReader",
    "modelsize.formats.gguf_file:GGUFReader",
    "modelsize.formats.safetensors_file:SafetensorsIndexReader",
    "modelsize.formats.safetensors_file:SafetensorsReader",
    "modelsize.formats.onnx_file:OnnxReader",
)
_WHOLE_FILE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".joblib", ".keras", ".h5", ".hdf5",
                        ".tflite", ".zip")


def is_remote_target(target: Any) -> bool:
    """Whether ``target`` is a string naming a remote model (``http(s)://``, ``hf://``)."""
    return isinstance(target, str) and target.lower().startswith(SCHEMES)


@dataclass(frozen=True)
class RemoteOptions:
    """How to read a remote target. Stored as given, checked in :func:`read`."""

    offline: bool = False  #: use the header cache only, make no request
    cache: bool = True  #: keep fetched headers in the cache
    cache_dir: str | os.PathLike[str] | None = None  #: default: $MODELSIZE_CACHE_DIR, else XDG cache home
    timeout: float | None = None  #: seconds without an answer; default $MODELSIZE_HTTP_TIMEOUT or 30
    allow_download: bool = False  #: download whole files when the format needs it (pickles …)
    sibling_config: bool = False  #: for a single file or index, also read the config.json beside it (--fit)

    def resolved_timeout(self) -> float:
        value: Any = self.timeout
        if value is None:
            raw = os.environ.get(TIMEOUT_ENV)
            try:
                value = float(raw) if raw else DEFAULT_TIMEOUT
            except ValueError:
                raise option_error(TIMEOUT_ENV, "a number of seconds > 0", raw) from None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise option_error("timeout", "a number of seconds > 0", value)
        return float(value)

    def header_cache(self) -> HeaderCache:
        if not self.cache:
            if self.offline:
                raise OptionError("The 'offline' option needs the header cache, but 'cache' is False. "
                                  "Turn one of them off.")
            return HeaderCache(None)
        return HeaderCache(Path(self.cache_dir) if self.cache_dir is not None else default_dir())


def read(target: str, options: RemoteOptions | None = None) -> Report:
    """Report for a remote model, reading only headers; see the module docstring."""
    from . import hub

    options = options or RemoteOptions()
    if not is_remote_target(target):
        raise TargetError(f"{target!r} is not a remote target. Give an https:// URL or hf://ORG/NAME.")
    if target.lower().startswith(hub.PREFIX) and not options.offline and hub.hub_offline():
        options = replace(options, offline=True)  # HF_HUB_OFFLINE=1: the user's own "no network" switch
    cache = options.header_cache()
    session = RemoteSession(SessionOptions(options.offline, cache, options.resolved_timeout()), hub.headers_for)
    api_calls = 0
    try:
        if target.lower().startswith(hub.PREFIX):
            repo_id, revision, key = hub.parse(target)
            repo, api_calls = hub.resolve(repo_id, revision, cache, options.offline, options.resolved_timeout())
            path: SourcePath = HubPath(session, repo, key)
            if not path.exists():
                raise TargetError(f"hf://{repo_id} has no file or folder {key!r} at revision "
                                  f"{revision or 'main'}. Files: {', '.join(repo.files[:8])}.")
        else:
            resolved = hub.blob_to_resolve(target)  # a Hub web page: read the file it shows
            path = HttpPath(session, resolved or target)
        report = read_path(path, options)
        if options.sibling_config and "config" not in report.sections and path.is_file():
            report = _with_sibling_config(report, path)
        session.save()
    finally:
        session.close()
    section = session.summary()
    section["api_calls"] = api_calls  # its JSON answer is not in bytes_transferred (file bytes only)
    section["requests"] += api_calls
    if api_calls:
        section["requests_by_kind"]["API"] = api_calls
    if isinstance(path, HubPath):
        section["repository"] = {"repo_id": path.repo.repo_id, "revision": path.repo.revision,
                                 "commit": path.repo.sha, "endpoint": path.repo.endpoint}
    note = (f"Read remotely, headers only: {section['bytes_transferred']:,} bytes transferred in "
            f"{section['requests']} requests ({section['cache']['hits']} files from the header cache).")
    return replace(report, source=replace(report.source, target=target),
                   notes=(*report.notes, note)).with_section("remote", section)


def read_path(path: SourcePath, options: RemoteOptions | None = None) -> Report:
    """Read a remote file or folder with the first header reader that recognises it."""
    from .. import registry

    options = options or RemoteOptions()
    if path.is_dir():
        head = b""
        _refuse_pickle_only_folder(path)
    else:
        size = path.stat().st_size
        if size == 0:
            from ...core.errors import InvalidFileError

            raise InvalidFileError(f"{str(path)!r} is empty (0 bytes): it is not a model file.")
        head = path.read_at(0, min(64, size))
    for entry in HEADER_READERS:
        reader = registry._load(entry)
        if reader.sniff(path, head):
            if entry.endswith(":OnnxReader") and not options.allow_download:
                _check_onnx_size(path)
            return reader.read(path)
    if path.is_dir():
        files = sorted(p.name for p in path.iterdir() if p.name.endswith((".gguf", ".onnx", ".safetensors")))
        if files:  # a GGUF repository: one file per quantization, no config.json
            listed = ", ".join(files[:8]) + (", …" if len(files) > 8 else "")
            raise UnsupportedObjectError(
                f"{str(path)!r} has no config.json and several weight files ({listed}). Point at one of them, "
                f"e.g. {str(path / files[0])!r}.")
        raise UnsupportedObjectError(f"{str(path)!r} holds no weights modelsize reads remotely (safetensors, "
                                     "GGUF, ONNX). Point at a weight file.")
    if not options.allow_download:
        raise UnsupportedObjectError(
            f"{str(path)!r} is not a safetensors, GGUF or ONNX file, whose headers modelsize reads remotely. "
            f"Pickle checkpoints (torch.save, .bin, .pkl) and Keras, HDF5 or TFLite files need the whole "
            f"stream even for a static scan ({path.stat().st_size:,} bytes here); modelsize downloads it only "
            "when asked: add --download (allow_download=True), or inspect a safetensors/GGUF version."
        )
    return _download_and_read(path)


#: An ONNX protobuf is read whole (it is its own header); above this, only with allow_download.
MAX_REMOTE_ONNX_BYTES = 64 << 20


def _check_onnx_size(path: SourcePath) -> None:
    size = path.stat().st_size
    if size > MAX_REMOTE_ONNX_BYTES:
        raise UnsupportedObjectError(
            f"{str(path)!r} is an ONNX protobuf of {size:,} bytes: its weights are inside it (no external data), "
            f"and reading it means downloading all of it (modelsize reads remote ONNX files up to "
            f"{MAX_REMOTE_ONNX_BYTES >> 20} MiB). Add --download (allow_download=True) to read it anyway."
        )


def _with_sibling_config(report: Report, path: SourcePath) -> Report:
    """The ``config`` section from the ``config.json`` next to a remote file, when there is one."""
    from ..hf_folder import _config_section, read_config

    if not (path.parent / "config.json").is_file():
        return report
    config = read_config(path.parent)  # type: ignore[arg-type]
    return report.with_section("config", _config_section(config)) if config is not None else report


def _refuse_pickle_only_folder(path: SourcePath) -> None:
    names = [p.name for p in path.iterdir()]
    if any(n.endswith((".safetensors", ".safetensors.index.json", ".gguf", ".onnx")) for n in names):
        return
    if any(n.endswith(_WHOLE_FILE_SUFFIXES) for n in names):
        raise UnsupportedObjectError(
            f"{str(path)!r} has only pickle-based or other whole-file weights ("
            f"{', '.join(n for n in names if n.endswith(_WHOLE_FILE_SUFFIXES))[:200]}); their headers are not "
            "at the start, so modelsize does not read them remotely. Point at one file with --download, "
            "or download the repository."
        )


def _download_and_read(path: SourcePath) -> Report:
    """The whole file into a temporary folder, then the local reader (static, nothing executed)."""
    from .. import registry
    from .paths import _RemoteFile

    if not isinstance(path, _RemoteFile):
        raise RemoteError(f"{str(path)!r} cannot be downloaded.")
    size = path.stat().st_size
    with tempfile.TemporaryDirectory(prefix="modelsize-") as folder:
        local = Path(folder) / (path.name or "model")
        with local.open("wb") as fh:
            path.session.run([path.session.client.download(path.url, fh.write, size)])
        report = registry.read(local)
    notes = (*report.notes, f"Downloaded the whole file ({size:,} bytes) to read it: its format needs the "
                            "whole stream. It was scanned statically and deleted.")
    return replace(report, source=replace(report.source, target=str(path)), notes=notes)

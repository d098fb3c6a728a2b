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
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ...core.errors import OptionError, TargetError, option_error
from ...core.report import Report
from ..source import SourcePath
from .cache import HeaderCache, default_dir
from .dispatch import read_path
from .paths import HttpPath, HubPath, RemoteSession, SessionOptions

SCHEMES = ("http://", "https://", "hf://")
TIMEOUT_ENV = "MODELSIZE_HTTP_TIMEOUT"
DEFAULT_TIMEOUT = 30.0

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
    config_alone: bool = False  #: a config.json alone is a target (the fine-tuning planner builds it on meta)

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
        from .. import registry

        alone = _config_alone(path) if options.config_alone else None
        report = alone if alone is not None else _read_bounded(target, path, options, registry.read)
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
    notes = [note]
    redirects = session.transfer.redirects
    if redirects:
        first, final = next(iter(redirects.items()))
        section["redirects"] = dict(redirects)
        notes.append(f"{len(redirects)} request(s) were redirected to another host (e.g. {first!r} → {final!r}); "
                     "credentials were not sent there.")
    report = replace(report, source=replace(report.source, target=target),
                     notes=(*report.notes, *notes)).with_section("remote", section)
    return report.with_section("safety", _remote_safety(report, path))


def _read_bounded(target: str, path: SourcePath, options: RemoteOptions, read_local: Any) -> Report:
    """``read_path`` with the local path's guarantee: memory or recursion exhausted by a hostile header
    is our one-line error, never a traceback."""
    from ...core.errors import InvalidFileError

    try:
        return read_path(path, options.allow_download, read_local=read_local)
    except MemoryError:
        raise InvalidFileError(f"{target!r} could not be read: the reader ran out of memory on its header. The "
                               "file may be hostile or corrupt.") from None
    except RecursionError:
        raise InvalidFileError(f"{target!r} could not be read: its header nests too deeply. The file may be "
                               "hostile or corrupt.") from None


def _pickled(name: str) -> bool:
    """Whether a loader may unpickle the file ``name`` of a remote folder (its format is declared
    ``unpickles``); a header-only read does not judge it."""
    from ..declarations import suffixes

    return name.lower().endswith(suffixes(unpickles=True))


def _remote_safety(report: Report, path: SourcePath) -> dict[str, Any]:
    """The safety section of a remote read: its own streams (a downloaded pickle was judged whole) and, for
    a folder, every pickled file it lists that was not read (unknown: inspect it with --download)."""
    from ..safety import report_streams, summarize

    if "safety" in report.sections and not path.is_dir():  # a downloaded file, judged whole by the local reader
        return dict(report.sections["safety"])
    streams = [dict(s, file=s.get("file") or path.name) for s in report_streams(report)]
    if path.is_dir():
        streams = [s for s in streams if s["verdict"] == "safe"]  # the header-read weights
        streams += [{"file": p.name, "stream": "file", "verdict": "unknown", "dangerous": [], "unknown": [],
                     "format_only": True, "why": "a pickled file of the remote folder, not read (inspect it with --download to judge it)"}
                    for p in sorted(path.iterdir(), key=lambda p: p.name) if _pickled(p.name)]
    return summarize(streams or [{"file": path.name, "stream": "folder", "verdict": "unknown", "dangerous": [],
                                  "unknown": [], "format_only": True, "why": "nothing in it was judged"}])


def _config_alone(path: SourcePath) -> Report | None:
    """A report holding only the whole ``config.json`` (as its ``config`` section) when ``path`` is that file, or a
    folder with it and no weights; None otherwise. The planner builds the architecture from it on meta."""
    from .._common import build_report
    from ..declarations import suffixes
    from ..hf_config import read_config

    weights = suffixes(exclude=("huggingface folder",))
    if path.is_file() and path.name == "config.json":
        folder = path.parent
    elif path.is_dir() and (path / "config.json").is_file() and not any(
            p.name.lower().endswith(weights) for p in path.iterdir()):
        folder = path
    else:
        return None
    config = read_config(folder)  # type: ignore[arg-type]
    if config is None:
        return None
    return build_report(str(path), "config.json", [], framework="huggingface",
                        object_type=str(config.get("model_type") or "config"), sections={"config": config},
                        notes=("config.json alone: no weights read; the parameters are those of the architecture "
                               "built from it.",))


def _with_sibling_config(report: Report, path: SourcePath) -> Report:
    """The ``config`` section from the ``config.json`` next to a remote file, when there is one."""
    from ..hf_config import config_section, read_config

    if not (path.parent / "config.json").is_file():
        return report
    config = read_config(path.parent)  # type: ignore[arg-type]
    return report.with_section("config", config_section(config)) if config is not None else report

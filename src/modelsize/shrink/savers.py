"""Writing a shrunk model to disk and reading it back: one saver per file format.

The before/after comparison is about files that exist: each saver writes a real file, its
size is read from the file system, its zstd size is computed from its bytes, and it is loaded
back into a *wiped* model (every value overwritten with NaN or zero), whose outputs must equal
the shrunk model's. A format that silently drops something (a mask, a scale, a new shape)
therefore shows up as a failed round trip instead of a too-good size.

This module is framework-free: it times, sizes and compares; each framework's savers live in
its own subpackage (PyTorch's in :mod:`modelsize.shrink.torch.savers`).
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import InvalidFileError, internal_error, is_our_bug
from ..core.optional import require
from .protocols import Backend, Saver

#: zstd level of the compressed sizes (the level ``modelsize inspect`` reports).
ZSTD_LEVEL = 3
#: samples whose outputs are compared after reloading
CHECK_SAMPLES = 256


def zstd_file_size(path: str | os.PathLike[str], level: int = ZSTD_LEVEL) -> int:
    """Exact zstd size of a file's bytes (one frame with the content size in its header)."""
    from ..serialize.compress import ByteCounter

    zstd = require("zstandard", "measure compressed sizes")
    size = os.path.getsize(path)
    counter = ByteCounter()
    writer = zstd.ZstdCompressor(level=level).stream_writer(counter, size=size, closefd=False)
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            writer.write(chunk)
    writer.close()
    return counter.count


@dataclass(frozen=True)
class RoundTrip:
    """One file: its size, compressed size, and whether reloading reproduced the outputs."""

    format: str
    bytes: int | None
    compressed_bytes: int | None
    reproduces: bool | None
    max_abs_diff: float | None
    loads_into: str | None = None
    save_s: float | None = None
    load_s: float | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format, "bytes": self.bytes, "compressed_bytes": self.compressed_bytes,
            "compressed_codec": f"zstd-{ZSTD_LEVEL}" if self.compressed_bytes is not None else None,
            "reproduces": self.reproduces, "max_abs_diff": self.max_abs_diff, "loads_into": self.loads_into,
            "save_s": self.save_s, "load_s": self.load_s, "note": self.note,
        }


def round_trip(backend: Backend, saver: Saver, model: Any, original: Any, check_X: np.ndarray,
               directory: Path, stem: str) -> RoundTrip:
    """Save ``model`` with ``saver`` under ``directory``, reload it, compare outputs on ``check_X``."""
    reason = saver.check(model)
    if reason:
        return RoundTrip(saver.name, None, None, None, None, note=reason)
    path = directory / f"{stem}{saver.suffix}"
    with warnings.catch_warnings():  # torch's own deprecation chatter while (un)pickling
        warnings.simplefilter("ignore")
        return _round_trip(backend, saver, model, original, check_X, path)


def _round_trip(backend: Backend, saver: Saver, model: Any, original: Any, check_X: np.ndarray,
                path: Path) -> RoundTrip:
    start = time.perf_counter()
    try:
        saver.save(model, path)
    except (RuntimeError, TypeError, ValueError, AttributeError, NotImplementedError) as exc:
        # The framework refused to write this model in this format (e.g. an FX GraphModule
        # cannot be pickled whole): a fact to report, not a failure of the run. A saver's own
        # bug is not the framework's refusal.
        if is_our_bug(exc):
            raise internal_error(exc, f"writing the {saver.name} file") from exc
        return RoundTrip(saver.name, None, None, None, None, note=f"the framework refused ({type(exc).__name__}: {_short(exc)})")
    saved = time.perf_counter()
    nbytes = path.stat().st_size
    compressed = zstd_file_size(path)
    like = backend.wiped_copy(original if saver.loads_into == "original" else model)
    start_load = time.perf_counter()
    try:
        reloaded = saver.load(path, like)
    except (RuntimeError, KeyError, ValueError, TypeError, InvalidFileError) as exc:
        # A file that does not load back is a finding about the format, reported with its size.
        if is_our_bug(exc):
            raise internal_error(exc, f"reading the {saver.name} file back") from exc
        return RoundTrip(saver.name, nbytes, compressed, False, None, saver.loads_into,
                         note=f"reloading failed ({type(exc).__name__}: {_short(exc)})")
    loaded = time.perf_counter()
    load_note = getattr(saver, "load_note", None)
    want = backend.predict(model, check_X)
    got = backend.predict(reloaded, check_X)
    same_shape = want.shape == got.shape
    diff = float(np.max(np.abs(want - got))) if same_shape and want.size else (0.0 if same_shape else None)
    reproduces = bool(same_shape and np.array_equal(want, got))
    return RoundTrip(saver.name, nbytes, compressed, reproduces, diff, saver.loads_into,
                     round(saved - start, 4), round(loaded - start_load, 4), load_note)


def _short(exc: BaseException, limit: int = 160) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"

"""Formats modelsize recognises but cannot read yet: refused by name, with what to do instead.

A user who points modelsize at a CoreML package should learn which format it is and that it
is not supported — not that it "is not a model file". (fastText files have their own reader.)
"""

from __future__ import annotations

from pathlib import Path

from ..core.errors import UnsupportedObjectError
from ..core.report import Report

def _coreml_package(path: Path) -> bool:
    return path.is_dir() and (path.suffix.lower() == ".mlpackage" or (
        (path / "Manifest.json").is_file() and (path / "Data" / "com.apple.CoreML").is_dir()))


def known_format(path: Path, head: bytes) -> str | None:
    """The name of a recognised but unsupported format, or ``None``."""
    if _coreml_package(path):
        return "CoreML package (.mlpackage)"
    if path.is_file() and path.suffix.lower() == ".mlmodel":
        return "CoreML model (.mlmodel)"
    return None


class KnownUnsupportedReader:
    """Claims recognised unsupported formats only to refuse them with a clear message."""

    name = "refused: CoreML"

    def sniff(self, path: Path, head: bytes) -> bool:
        return known_format(path, head) is not None

    def read(self, path: Path) -> Report:
        head = b""
        if path.is_file():
            with path.open("rb") as fh:
                head = fh.read(8)
        fmt = known_format(path, head) or "this format"
        raise UnsupportedObjectError(
            f"{str(path)!r} is a {fmt}, which modelsize cannot read yet. "
            "Load it with its own library and pass the live model, or convert it to ONNX first."
        )

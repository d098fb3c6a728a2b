"""Native gradient-boosting model files: XGBoost ``.json`` / ``.ubj`` and LightGBM model text.

These files *are* the trees (no header separate from the data), so the reader parses the whole
file with :mod:`.booster_decode` — the parser a pickled booster's payload goes through — and
builds the live adapter's component (:func:`modelsize.adapters.boosting.booster_component`):
same trees, records, roles and tree summary as ``modelsize.inspect`` on the loaded booster.
Nothing is loaded by XGBoost or LightGBM. A file is claimed by its content: a ``.json`` only
when it is an XGBoost model, a text file only when it starts as LightGBM model text.
"""

from __future__ import annotations

from pathlib import Path

from ..core.report import Report
from ._common import FileLayout, build_report, file_section, invalid
from .booster_decode import DecodeError, decode

#: A booster file larger than this is refused rather than read into memory.
MAX_BOOSTER_FILE = 4 << 30
_SNIFF_BYTES = 4096


def _read(path: Path, fmt: str) -> bytes:
    size = path.stat().st_size
    if size > MAX_BOOSTER_FILE:
        raise invalid(path, fmt, f"it is {size} bytes; modelsize reads booster files up to {MAX_BOOSTER_FILE} bytes")
    return path.read_bytes()


def read_booster(path: Path, fmt: str) -> Report:
    """Report for an XGBoost or LightGBM model file."""
    from ..adapters.boosting import booster_component

    data = _read(path, fmt)
    try:
        decoded = decode(data, "")
    except DecodeError as exc:
        raise invalid(path, fmt, str(exc)) from None
    kind = {"xgboost": "XGBoostBooster", "lightgbm": "LightGBMBooster"}[decoded.library]
    root = booster_component(path.name, kind, "", decoded.records, decoded.children, decoded.attrs)
    layout = FileLayout(path.name, len(data), {"model": len(data)})
    summary = {k: v for k, v in root.attrs.items() if k != "fitted"}
    notes = [f"{decoded.library} model read whole ({decoded.encoding}): the file holds only the trees. Records give "
             "the arrays the library keeps in memory (their dtypes), not the bytes of the file's encoding."]
    return build_report(path, fmt, [], framework=decoded.library, object_type=kind, root=root,
                        sections={"file": file_section(fmt, [layout]), "booster": summary}, notes=notes,
                        details={"encoding": decoded.encoding})


def _head(path: Path) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(_SNIFF_BYTES)
    except OSError:
        return b""


class XGBoostReader:
    """XGBoost model files: JSON (``.json``) or UBJSON (``.ubj``), recognised by their ``learner`` object."""

    name = "xgboost"

    def sniff(self, path: Path, head: bytes) -> bool:
        if not head.lstrip().startswith(b"{"):
            return False
        start = _head(path)
        rest = start.lstrip()[1:].lstrip()
        if rest.startswith(b'"'):  # JSON: XGBoost writes the "learner" object first (feature names may be long)
            return rest.startswith(b'"learner"') and rest[9:].lstrip()[:2] in (b":{", b": ")
        return rest[:1] in (b"L", b"i", b"U", b"l") and b"\x07learner{" in start[:32]  # UBJSON: typed length, key

    def read(self, path: Path) -> Report:
        return read_booster(path, "xgboost-ubj" if not _head(path).lstrip()[1:].lstrip().startswith(b'"')
                            else "xgboost-json")


class LightGBMReader:
    """LightGBM model text (``save_model("model.txt")``), recognised by its ``tree`` / ``version=`` start."""

    name = "lightgbm"

    def sniff(self, path: Path, head: bytes) -> bool:
        return head.startswith((b"tree\nversion=v", b"tree\r\nversion=v"))

    def read(self, path: Path) -> Report:
        return read_booster(path, "lightgbm-text")

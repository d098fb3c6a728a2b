"""The numbers a budget is checked against, read from a report's JSON dict.

Both sides of a comparison (the model now and a baseline saved with ``modelsize inspect
--format json``) go through the same functions, so a growth limit always compares like with like:
file bytes with file bytes, safetensors bytes with safetensors bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..core.errors import ModelSizeError

#: names a user may write for the format of a file section (``--format pt`` on a ``.pt`` file)
_FILE_ALIASES = {"pt": "pytorch", "pth": "pytorch", "torch": "pytorch", "torch.save": "pytorch"}


class BudgetError(ModelSizeError, ValueError):
    """A budget cannot be checked: the asked-for size is not known for this target, a bad baseline."""


@dataclass(frozen=True)
class Measured:
    """One measured quantity and what it is, e.g. ``(12345, "safetensors bytes")``."""

    value: int
    what: str


def params(data: Mapping[str, Any]) -> Measured:
    """Unique parameters (shared storage counted once)."""
    return Measured(int(data["totals"]["params"]), "params")


def size(data: Mapping[str, Any], fmt: str | None = None, compressed: bool = False) -> Measured:
    """The size a byte budget is about.

    No format: the file's bytes on disk for a file or folder target, else the bytes of the
    model's tensors in memory. A format: that format's serialized size (live models carry one
    per format; a file only its own). ``compressed``: that size after zstd.
    """
    sections = data.get("sections") or {}
    file_section = sections.get("file")
    formats = sections.get("formats") or []
    if fmt is None and not compressed:
        if isinstance(file_section, Mapping) and file_section.get("bytes") is not None:
            return Measured(int(file_section["bytes"]), "file bytes")
        return Measured(int(data["totals"]["stored_bytes"]), "tensor bytes")
    entry = _format_entry(formats, fmt)
    if entry is not None:
        if compressed:
            packed = entry.get("compressed") or {}
            if packed.get("bytes") is None:
                raise BudgetError(f"The compressed size of format {entry['format']!r} is not known for "
                                  f"{_name(data)}. Measure it with compression on, or drop 'compressed'.")
            return Measured(int(packed["bytes"]), f"{entry['format']} zstd bytes")
        if entry.get("bytes") is None:
            reason = entry.get("note") or "the format cannot store this model"
            raise BudgetError(f"The size in format {entry['format']!r} is not known for {_name(data)}: {reason}.")
        return Measured(int(entry["bytes"]), f"{entry['format']} bytes")
    if isinstance(file_section, Mapping) and not compressed:
        own = str(file_section.get("format") or "")
        if fmt is None or _FILE_ALIASES.get(fmt.lower(), fmt.lower()) == own.lower():
            return Measured(int(file_section["bytes"]), f"{own} file bytes")
    known = [str(e.get("format")) for e in formats]
    if isinstance(file_section, Mapping):
        known.append(f"{file_section.get('format')} (the file itself)")
    wanted = f"format {fmt!r}" if fmt else "a format"
    extra = " compressed" if compressed else ""
    raise BudgetError(f"The{extra} size in {wanted} is not known for {_name(data)}. "
                      f"Known: {', '.join(known) or 'none'}. Drop 'format' or name one of these.")


def _format_entry(formats: list[Mapping[str, Any]], fmt: str | None) -> Mapping[str, Any] | None:
    """The formats-section entry for ``fmt``: exact name first, then the name before '('
    (``torch.save`` → ``torch.save(state_dict)``); no format: the first entry with a size."""
    if fmt is None:
        return next((e for e in formats if e.get("bytes") is not None), None)
    wanted = fmt.strip().lower()
    for entry in formats:
        if str(entry.get("format", "")).lower() == wanted:
            return entry
    for entry in formats:
        if str(entry.get("format", "")).lower().split("(")[0] == wanted:
            return entry
    return None


def _name(data: Mapping[str, Any]) -> str:
    source = data.get("source") or {}
    target = source.get("target")
    return repr(target) if target else f"this {source.get('framework', '')} model".replace("  ", " ")

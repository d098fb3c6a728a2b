"""The typed shape of report sections, so renderers read data instead of guessing.

A section value is either plain JSON-ready data (mappings, lists, numbers, strings) or an
object that follows :class:`Section` — it has ``to_dict()`` returning that data (a compute
profile, a shrink run, a list of format sizes). :func:`section_data` is the one conversion
every renderer and ``Report.to_dict`` use; the TypedDicts below name the fields the table
renderer reads from the sections it draws.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, TypedDict, runtime_checkable

from .tensors import _jsonable


@runtime_checkable
class Section(Protocol):
    """A section object: its JSON-ready data comes from ``to_dict()``."""

    def to_dict(self) -> dict[str, Any]: ...


def section_data(value: Any) -> Any:
    """The JSON-ready data of a section value (a :class:`Section`, or plain data), nested too."""
    return _jsonable(value)


def section_items(value: Any) -> list[dict[str, Any]]:
    """A list section (``formats``, a shrink run's results) as a list of dicts; ``None`` → ``[]``."""
    if value is None:
        return []
    items = value if isinstance(value, (list, tuple)) else [value]
    out = [section_data(item) for item in items]
    for item in out:
        if not isinstance(item, Mapping):
            raise TypeError(f"A list section holds mappings or objects with to_dict(). Got {type(item).__name__}.")
    return out


class FileSection(TypedDict, total=False):
    """``sections["file"]``: the model file's bytes and how they split (from a format reader)."""

    path: str
    bytes: int
    split: dict[str, int]
    files: list[dict[str, Any]]


class FormatEntry(TypedDict, total=False):
    """One item of ``sections["formats"]``: a serialized format's exact (and compressed) size."""

    format: str
    bytes: int | None
    compressed_bytes: int | None
    note: str | None

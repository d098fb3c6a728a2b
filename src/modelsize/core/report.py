"""Report: the one result type every adapter, reader, compute pass and recipe produces.

A report holds the component tree, where it came from, and named sections that later stages
add (``formats`` for serialized sizes, ``compute`` for FLOPs …). Sections are JSON-ready data
or objects with ``to_dict()``. Reports are immutable: ``with_section`` returns a new one.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Mapping

from . import totals as _totals
from .sections import section_data
from .tensors import _jsonable
from .tree import Component
from .units import format_bytes, format_count

SCHEMA_VERSION = "1.0"


@dataclass(frozen=True)
class Source:
    """What was measured: the framework or file format, the object's type, the target string."""

    framework: str
    object_type: str
    target: str | None = None
    format: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "framework": self.framework,
            "object_type": self.object_type,
            "target": self.target,
            "format": self.format,
            "details": _jsonable(dict(self.details)),
        }


@dataclass(frozen=True)
class Report:
    """A measured model: tree + source + sections + notes (warnings a user should read)."""

    root: Component
    source: Source
    sections: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)
    notes: tuple[str, ...] = ()

    @cached_property
    def totals(self) -> _totals.Totals:
        """Totals over the whole tree, shared storage counted once."""
        return _totals.compute(self.root.iter_tensors())

    def subtotals(self, component: Component) -> _totals.Totals:
        """Totals of one subtree (shared storage counted once within it)."""
        return _totals.compute(component.iter_tensors())

    def with_section(self, name: str, value: Any) -> "Report":
        """A new report with section ``name`` set to ``value``."""
        sections = dict(self.sections)
        sections[name] = value
        return replace(self, sections=sections)

    def with_notes(self, *notes: str) -> "Report":
        """A new report with notes appended."""
        return replace(self, notes=self.notes + tuple(notes))

    def __repr__(self) -> str:
        """``<Report pytorch Net: 1,490 params, 5.82 KiB stored, 4 tensors>`` — never the whole tree."""
        t = self.totals
        what = self.source.target or self.source.object_type
        return (f"<Report {self.source.framework} {what}: {format_count(t.params)} params, "
                f"{format_bytes(t.stored_bytes)} stored, {t.tensors} tensors>")

    def _repr_html_(self) -> str:
        """A table in Jupyter (components, parameters, stored bytes), drawn by ``render/notebook.py``:
        looked up by name, because ``core/`` imports nothing of modelsize above it."""
        return importlib.import_module("modelsize.render.notebook").report_html(self)

    def to_frame(self) -> Any:
        """A pandas DataFrame: one row per component (subtree totals) and per tensor, raw integers
        (built by ``render/notebook.py``, looked up by name like :meth:`_repr_html_`)."""
        return importlib.import_module("modelsize.render.notebook").to_frame(self)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict, validated by ``schema/report.schema.json``."""
        sections = {
            name: section_data(value)
            for name, value in self.sections.items()
        }
        return {
            "schema_version": SCHEMA_VERSION,
            "source": self.source.to_dict(),
            "totals": self.totals.to_dict(),
            "tree": self.root.to_dict(),
            "sections": sections,
            "notes": list(self.notes),
        }

"""The result of comparing two reports: plain, immutable data, JSON-ready through ``to_dict``.

Numbers are raw integers. A :class:`Delta` carries both sides, so a renderer never recomputes
(``ratio`` is new / old: 0.25 for an int8 copy of a float32 model, ``None`` when old is 0 or a
side is unknown).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["added", "removed", "renamed", "changed", "unchanged"]
STATUSES: tuple[Status, ...] = ("added", "removed", "renamed", "changed", "unchanged")
DIFF_SCHEMA_VERSION = "1.0"


@dataclass(frozen=True)
class Delta:
    """One number on both sides."""

    old: int | None
    new: int | None

    @property
    def delta(self) -> int | None:
        if self.old is None or self.new is None:
            return None
        return self.new - self.old

    @property
    def ratio(self) -> float | None:
        """new / old (1.0: same; 0.25: a quarter of the size)."""
        if self.old is None or self.new is None or self.old == 0:
            return None
        return self.new / self.old

    @property
    def growth(self) -> float | None:
        """(new − old) / old, the relative change."""
        ratio = self.ratio
        return None if ratio is None else ratio - 1.0

    def to_dict(self) -> dict[str, Any]:
        return {"old": self.old, "new": self.new, "delta": self.delta, "ratio": self.ratio}


@dataclass(frozen=True)
class TensorSide:
    """What a tensor is on one side of the diff."""

    path: str
    shape: tuple[int, ...]
    dtype: str
    role: str
    numel: int
    stored_bytes: int
    nnz: int | None
    shared_with: str | None = None  #: the path whose storage this tensor shares (tied weights), counted there

    @property
    def sparsity(self) -> float | None:
        if self.nnz is None or self.numel == 0:
            return None
        return 1.0 - self.nnz / self.numel

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "shape": list(self.shape), "dtype": self.dtype, "role": self.role,
                "numel": self.numel, "stored_bytes": self.stored_bytes, "nnz": self.nnz, "sparsity": self.sparsity,
                "shared_with": self.shared_with}


@dataclass(frozen=True)
class TensorDiff:
    """One tensor matched (or not) across the two models. ``changes`` names what differs."""

    status: Status
    old: TensorSide | None
    new: TensorSide | None
    changes: tuple[str, ...] = ()

    @property
    def path(self) -> str:
        return (self.new or self.old).path  # type: ignore[union-attr]

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "old": self.old.to_dict() if self.old else None,
                "new": self.new.to_dict() if self.new else None, "changes": list(self.changes)}


@dataclass(frozen=True)
class ComponentDiff:
    """One component (layer, block) matched across the two models, with its subtotals."""

    status: Status
    old_path: str | None
    new_path: str | None
    old_kind: str | None
    new_kind: str | None
    depth: int
    params: Delta
    stored_bytes: Delta
    old_dtypes: tuple[str, ...]
    new_dtypes: tuple[str, ...]
    old_sparsity: float | None
    new_sparsity: float | None
    changes: tuple[str, ...] = ()

    @property
    def path(self) -> str:
        return self.new_path if self.new_path is not None else (self.old_path or "")

    @property
    def label(self) -> str:
        """``old → new`` for a rename, else the path (``(model)`` for the root)."""
        if self.status == "renamed":
            return f"{self.old_path} → {self.new_path}"
        return self.path or "(model)"

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "old_path": self.old_path, "new_path": self.new_path,
                "old_kind": self.old_kind, "new_kind": self.new_kind, "depth": self.depth,
                "params": self.params.to_dict(), "stored_bytes": self.stored_bytes.to_dict(),
                "old_dtypes": list(self.old_dtypes), "new_dtypes": list(self.new_dtypes),
                "old_sparsity": self.old_sparsity, "new_sparsity": self.new_sparsity, "changes": list(self.changes)}


@dataclass(frozen=True)
class FormatDelta:
    """A serialized size on both sides (``format`` is e.g. ``safetensors`` or ``file on disk``)."""

    format: str
    bytes: Delta
    compressed: Delta
    old_label: str | None = None  #: what the old side is, when it differs (``pytorch`` file vs ``safetensors``)
    new_label: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"format": self.format, "bytes": self.bytes.to_dict(), "compressed": self.compressed.to_dict(),
                "old_label": self.old_label, "new_label": self.new_label}


@dataclass(frozen=True)
class Side:
    """Which model a side is."""

    target: str | None
    framework: str
    format: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "framework": self.framework, "format": self.format}


@dataclass(frozen=True)
class ModelDiff:
    """Everything that differs between two models, and what did not."""

    old: Side
    new: Side
    totals: dict[str, Delta]
    size: Delta  #: the size growth is judged on (file bytes when both are files, else tensor bytes)
    size_what: str
    bytes_by_dtype: dict[str, Delta]
    bytes_by_role: dict[str, Delta]
    sparsity: tuple[float | None, float | None]
    formats: tuple[FormatDelta, ...]
    components: tuple[ComponentDiff, ...]
    tensors: tuple[TensorDiff, ...]
    notes: tuple[str, ...] = field(default=())

    def counts(self, of: str = "components") -> dict[str, int]:
        items = self.components if of == "components" else self.tensors
        return {status: sum(1 for i in items if i.status == status) for status in STATUSES}

    @property
    def identical_content(self) -> bool:
        """No tensor added, removed, renamed or changed (formats may still differ)."""
        return all(t.status == "unchanged" for t in self.tensors)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, validated by ``schema/diff.schema.json``."""
        return {
            "schema_version": DIFF_SCHEMA_VERSION,
            "old": self.old.to_dict(),
            "new": self.new.to_dict(),
            "size": {"what": self.size_what, **self.size.to_dict()},
            "totals": {name: d.to_dict() for name, d in self.totals.items()},
            "sparsity": {"old": self.sparsity[0], "new": self.sparsity[1]},
            "bytes_by_dtype": {k: d.to_dict() for k, d in self.bytes_by_dtype.items()},
            "bytes_by_role": {k: d.to_dict() for k, d in self.bytes_by_role.items()},
            "formats": [f.to_dict() for f in self.formats],
            "summary": {"components": self.counts("components"), "tensors": self.counts("tensors")},
            "components": [c.to_dict() for c in self.components],
            "tensors": [t.to_dict() for t in self.tensors],
            "notes": list(self.notes),
        }

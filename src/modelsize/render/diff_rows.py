"""Rows of a model diff, as strings, shared by the text table and the Markdown renderer.

One place decides what a diff shows (which components, how a change is worded), so the terminal
and the pull-request comment never disagree.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..core.units import Base, format_bytes, format_count
from ..diff.model import ComponentDiff, Delta, ModelDiff, TensorDiff


def signed_bytes(value: int | None, base: Base) -> str:
    if value is None:
        return "n/a"
    return ("+" if value > 0 else "") + format_bytes(value, base)


def signed_count(value: int | None) -> str:
    if value is None:
        return "n/a"
    return ("+" if value > 0 else "") + format_count(value)


def ratio(delta: Delta) -> str:
    """``×0.25`` (new / old); ``new`` when the old side is 0, ``gone`` when the new side is."""
    if delta.old is None or delta.new is None:
        return "n/a"
    if delta.old == 0:
        return "=" if delta.new == 0 else "new"
    return f"×{delta.new / delta.old:.3f}"


def arrow(old: str | None, new: str | None) -> str:
    if old == new:
        return old or ""
    return f"{old or '—'} → {new or '—'}"


def bytes_pair(delta: Delta, base: Base) -> str:
    return arrow(format_bytes(delta.old, base) if delta.old is not None else None,
                 format_bytes(delta.new, base) if delta.new is not None else None)


def count_pair(delta: Delta) -> str:
    return arrow(format_count(delta.old) if delta.old is not None else None,
                 format_count(delta.new) if delta.new is not None else None)


def component_changes(c: ComponentDiff) -> str:
    """What changed, in words: ``dtype float32 → qint8``, ``sparsity 0.0% → 80.0%``, ``kind …``."""
    words = []
    if c.old_dtypes != c.new_dtypes and c.old_dtypes and c.new_dtypes:
        words.append(f"dtype {'+'.join(c.old_dtypes)} → {'+'.join(c.new_dtypes)}")
    if c.old_sparsity is not None and c.new_sparsity is not None and abs(c.old_sparsity - c.new_sparsity) >= 0.0005:
        words.append(f"sparsity {100 * c.old_sparsity:.1f}% → {100 * c.new_sparsity:.1f}%")
    if "shape" in c.changes:
        words.append("shape")
    if "tensors added" in c.changes:
        words.append("tensors added")
    if "tensors removed" in c.changes:
        words.append("tensors removed")
    return ", ".join(words)


def shown_components(diff: ModelDiff, depth: int, everything: bool = False) -> Iterator[ComponentDiff]:
    """Components up to ``depth`` below the root that differ (all of them with ``everything``)."""
    for c in diff.components:
        if c.depth == 0 or c.depth > depth:
            continue
        if everything or c.status != "unchanged":
            yield c


def tensor_change(t: TensorDiff) -> str:
    o, n = t.old, t.new
    if o is None or n is None:
        side = o or n
        return f"{'x'.join(map(str, side.shape)) or 'scalar'} {side.dtype}"  # type: ignore[union-attr]
    words = []
    if o.path != n.path:
        words.append(f"renamed from {o.path}")
    if o.shape != n.shape:
        words.append(f"shape {'x'.join(map(str, o.shape))} → {'x'.join(map(str, n.shape))}")
    if o.dtype != n.dtype:
        words.append(f"dtype {o.dtype} → {n.dtype}")
    if o.role != n.role:
        words.append(f"role {o.role} → {n.role}")
    if "sparsity" in t.changes and o.sparsity is not None and n.sparsity is not None:
        words.append(f"sparsity {100 * o.sparsity:.1f}% → {100 * n.sparsity:.1f}%")
    if o.stored_bytes != n.stored_bytes and not words:
        words.append("stored bytes")
    return ", ".join(words)


def summary_line(diff: ModelDiff, of: str) -> str:
    counts = diff.counts(of)
    return ", ".join(f"{n} {status}" for status, n in counts.items())

"""Compare two reports: match tensors and components, then compute every delta.

Matching, in order:

1. by path (the same name on both sides);
2. the rest by **shape and position**: among unmatched tensors with the same leaf name
   (``weight``) and shape, the k-th old one pairs with the k-th new one — so ``layers.3`` renamed
   ``blocks.3`` is a rename, not one removal and one addition. Components follow their tensors.

Everything else is added or removed. Components are compared on subtotals (shared storage
counted once inside each), tensors on shape, dtype, role, stored bytes and sparsity.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Mapping

from ..core.report import Report
from ..core.tensors import TensorRecord
from ..core.tree import Component
from .model import ComponentDiff, Delta, FormatDelta, ModelDiff, Side, Status, TensorDiff, TensorSide

TOTAL_FIELDS = ("params", "stored_bytes", "dense_bytes", "param_bytes", "buffer_bytes", "unique_tensors")


def compare(old: Report, new: Report) -> ModelDiff:
    """Everything that differs between ``old`` and ``new`` (any two reports: files, live models, formats)."""
    old_tensors = _unique_by_path(old.root)
    new_tensors = _unique_by_path(new.root)
    owners = {"old": _owners(old.root), "new": _owners(new.root)}
    pairs, added, removed = _match(old_tensors, new_tensors)

    def side(rec: TensorRecord, which: str) -> TensorSide:
        return _side(rec, owners[which].get(rec.path))

    tensor_diffs = [_tensor_diff(side(o, "old"), side(n, "new")) for o, n in pairs]
    tensor_diffs += [TensorDiff("removed", side(o, "old"), None) for o in removed]
    tensor_diffs += [TensorDiff("added", None, side(n, "new")) for n in added]
    renames = _component_renames(pairs)
    components = _component_diffs(old, new, renames, {t.path: t for t in tensor_diffs if t.new},
                                   {t.old.path: t for t in tensor_diffs if t.old})
    ot, nt = old.totals, new.totals
    size, what = _size(old, new)
    return ModelDiff(
        old=_model_side(old), new=_model_side(new),
        totals={name: Delta(getattr(ot, name), getattr(nt, name)) for name in TOTAL_FIELDS},
        size=size, size_what=what,
        bytes_by_dtype=_keyed(ot.bytes_by_dtype, nt.bytes_by_dtype),
        bytes_by_role=_keyed(ot.bytes_by_role, nt.bytes_by_role),
        sparsity=(ot.sparsity, nt.sparsity),
        formats=_formats(old, new),
        components=tuple(components),
        tensors=tuple(tensor_diffs),
        notes=_notes(old, new),
    )


def _unique_by_path(root: Component) -> dict[str, TensorRecord]:
    out: dict[str, TensorRecord] = {}
    for rec in root.iter_tensors():
        out.setdefault(rec.path, rec)
    return out


def _owners(root: Component) -> dict[str, str]:
    """Alias path → the path of the first reference to the same storage (tied weights)."""
    first: dict[str, str] = {}
    out: dict[str, str] = {}
    for rec in root.iter_tensors():
        key = rec.storage_key or f"path:{rec.path}"
        owner = first.setdefault(key, rec.path)
        if owner != rec.path:
            out[rec.path] = owner
    return out


def _leaf(path: str) -> str:
    return path.rsplit(".", 1)[-1]


def _parent(path: str) -> str:
    return path.rsplit(".", 1)[0] if "." in path else ""


def _match(old: dict[str, TensorRecord], new: dict[str, TensorRecord]
           ) -> tuple[list[tuple[TensorRecord, TensorRecord]], list[TensorRecord], list[TensorRecord]]:
    pairs = [(old[p], new[p]) for p in old if p in new]
    old_left = [rec for p, rec in old.items() if p not in new]
    new_left = [rec for p, rec in new.items() if p not in old]
    queues: dict[tuple[str, tuple[int, ...]], list[TensorRecord]] = defaultdict(list)
    for rec in new_left:
        queues[(_leaf(rec.path), rec.shape)].append(rec)
    removed = []
    for rec in old_left:
        queue = queues.get((_leaf(rec.path), rec.shape))
        if queue:
            pairs.append((rec, queue.pop(0)))
        else:
            removed.append(rec)
    added = [rec for queue in queues.values() for rec in queue]
    order = {p: i for i, p in enumerate(new)}
    added.sort(key=lambda r: order[r.path])
    return pairs, added, removed


def _side(rec: TensorRecord, shared_with: str | None = None) -> TensorSide:
    return TensorSide(rec.path, rec.shape, rec.dtype, rec.role.value, rec.numel, int(rec.stored_bytes or 0), rec.nnz,
                      shared_with)


def _tensor_diff(o: TensorSide, n: TensorSide) -> TensorDiff:
    changes = [name for name, a, b in (("shape", o.shape, n.shape), ("dtype", o.dtype, n.dtype),
                                       ("role", o.role, n.role), ("stored_bytes", o.stored_bytes, n.stored_bytes))
               if a != b]
    if o.sparsity is not None and n.sparsity is not None and abs(o.sparsity - n.sparsity) > 1e-12:
        changes.append("sparsity")
    status: Status = "renamed" if o.path != n.path else ("changed" if changes else "unchanged")
    return TensorDiff(status, o, n, tuple(changes))


def _component_renames(pairs: list[tuple[TensorRecord, TensorRecord]]) -> dict[str, str]:
    """Old component path → new path, from tensors matched under different names (ancestors too,
    while the path tails agree: ``layers.3.attn`` → ``blocks.3.attn`` gives ``layers`` → ``blocks``)."""
    renames: dict[str, str] = {}
    for old, new in pairs:
        a, b = _parent(old.path), _parent(new.path)
        while a != b and a and b:
            renames.setdefault(a, b)
            if _leaf(a) != _leaf(b):
                break
            a, b = _parent(a), _parent(b)
    return renames


def _subtree_info(report: Report) -> dict[str, tuple[Component, int]]:
    out: dict[str, tuple[Component, int]] = {}
    stack = [(report.root, 0)]
    while stack:
        node, depth = stack.pop()
        out[node.path] = (node, depth)
        stack.extend((child, depth + 1) for child in reversed(node.children))
    return out


def _component_diffs(old: Report, new: Report, renames: dict[str, str],
                     by_new: Mapping[str, TensorDiff], by_old: Mapping[str, TensorDiff]) -> list[ComponentDiff]:
    old_nodes, new_nodes = _subtree_info(old), _subtree_info(new)
    out: list[ComponentDiff] = []
    matched_new: set[str] = set()
    for path, (node, depth) in old_nodes.items():
        target = path if path in new_nodes else renames.get(path)
        if target is None or target not in new_nodes or target in matched_new:
            out.append(_component(old, new, node, None, depth, "removed", by_old, by_new))
            continue
        matched_new.add(target)
        out.append(_component(old, new, node, new_nodes[target][0], depth, None, by_old, by_new))
    for path, (node, depth) in new_nodes.items():
        if path not in matched_new:
            out.append(_component(old, new, None, node, depth, "added", by_old, by_new))
    order = {p: i for i, p in enumerate(new_nodes)}
    old_order = {p: i for i, p in enumerate(old_nodes)}
    out.sort(key=lambda c: (order.get(c.new_path or "", len(order) + old_order.get(c.old_path or "", 0))))
    return out


def _component(old: Report, new: Report, o: Component | None, n: Component | None, depth: int,
               status: Status | None, by_old: Mapping[str, TensorDiff], by_new: Mapping[str, TensorDiff]) -> ComponentDiff:
    ot = old.subtotals(o) if o is not None else None
    nt = new.subtotals(n) if n is not None else None
    changes: list[str] = []
    if status is None:
        if o.path != n.path:  # type: ignore[union-attr]
            changes.append("path")
        if o.kind != n.kind and depth > 0:  # type: ignore[union-attr]
            changes.append("kind")  # the root's kind names the container (OrderedDict, state_dict), not a layer
        for name, a, b in (("params", ot.params, nt.params), ("stored_bytes", ot.stored_bytes, nt.stored_bytes),  # type: ignore[union-attr]
                           ("dtype", sorted(ot.bytes_by_dtype), sorted(nt.bytes_by_dtype))):  # type: ignore[union-attr]
            if a != b:
                changes.append(name)
        inner = {c for rec in n.iter_tensors() if (t := by_new.get(rec.path)) for c in t.changes}  # type: ignore[union-attr]
        inner |= {"tensors added"} if any(by_new.get(r.path) and by_new[r.path].status == "added"
                                          for r in n.iter_tensors()) else set()  # type: ignore[union-attr]
        inner |= {"tensors removed"} if any(by_old.get(r.path) and by_old[r.path].status == "removed"
                                            for r in o.iter_tensors()) else set()  # type: ignore[union-attr]
        changes += sorted(c for c in inner if c not in changes)
        renamed = o.path != n.path  # type: ignore[union-attr]
        status = "renamed" if renamed else ("changed" if changes else "unchanged")
    return ComponentDiff(
        status=status,
        old_path=o.path if o is not None else None,
        new_path=n.path if n is not None else None,
        old_kind=o.kind if o is not None else None,
        new_kind=n.kind if n is not None else None,
        depth=depth,
        params=Delta(ot.params if ot else None, nt.params if nt else None),
        stored_bytes=Delta(ot.stored_bytes if ot else None, nt.stored_bytes if nt else None),
        old_dtypes=tuple(ot.bytes_by_dtype) if ot else (),
        new_dtypes=tuple(nt.bytes_by_dtype) if nt else (),
        old_sparsity=ot.sparsity if ot else None,
        new_sparsity=nt.sparsity if nt else None,
        changes=tuple(changes),
    )


def _keyed(old: Mapping[str, int], new: Mapping[str, int]) -> dict[str, Delta]:
    keys = list(dict.fromkeys([*old, *new]))
    return {k: Delta(old.get(k, 0), new.get(k, 0)) for k in keys}


def _model_side(report: Report) -> Side:
    return Side(report.source.target, report.source.framework, report.source.format)


def _file(report: Report) -> Mapping[str, Any] | None:
    section = report.sections.get("file")
    return section if isinstance(section, Mapping) and section.get("bytes") is not None else None


def _size(old: Report, new: Report) -> tuple[Delta, str]:
    of, nf = _file(old), _file(new)
    if of is not None and nf is not None:
        return Delta(int(of["bytes"]), int(nf["bytes"])), "file bytes"
    return Delta(old.totals.stored_bytes, new.totals.stored_bytes), "tensor bytes"


def _format_sizes(report: Report) -> dict[str, tuple[int | None, int | None]]:
    out: dict[str, tuple[int | None, int | None]] = {}
    for entry in report.sections.get("formats") or ():
        data = entry.to_dict() if hasattr(entry, "to_dict") else entry
        packed = data.get("compressed") or {}
        out[str(data["format"])] = (data.get("bytes"), packed.get("bytes"))
    return out


def _formats(old: Report, new: Report) -> tuple[FormatDelta, ...]:
    rows: list[FormatDelta] = []
    of, nf = _file(old), _file(new)
    if of is not None or nf is not None:
        old_fmt = str(of.get("format")) if of else None
        new_fmt = str(nf.get("format")) if nf else None
        rows.append(FormatDelta("file on disk", Delta(of["bytes"] if of else None, nf["bytes"] if nf else None),
                                Delta(None, None), old_fmt, new_fmt))
    osz, nsz = _format_sizes(old), _format_sizes(new)
    for name in dict.fromkeys([*osz, *nsz]):
        ob, oc = osz.get(name, (None, None))
        nb, nc = nsz.get(name, (None, None))
        rows.append(FormatDelta(name, Delta(ob, nb), Delta(oc, nc)))
    return tuple(rows)


def _notes(old: Report, new: Report) -> tuple[str, ...]:
    notes = []
    if old.source.format and new.source.format and old.source.format != new.source.format:
        notes.append(f"The two sides are stored in different formats ({old.source.format} → {new.source.format}); "
                     "'file on disk' compares the files as written.")
    return tuple(notes)

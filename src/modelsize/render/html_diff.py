"""``modelsize diff OLD NEW -o diff.html``: the treemap coloured by growth, with the diff's tables.

Boxes are sized by the larger of a component's old and new bytes (so removed parts stay
visible) and coloured by new / old: greens shrank, reds grew, grey is unchanged, purple is new
and a pale outline is gone. Hover shows both sizes exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..core.report import Report
from ..core.units import Base, format_bytes
from ..diff.model import ModelDiff
from . import diff_rows as rows
from .html_page import cards, e, legend, page, table
from .html_treemap import Node, svg

UNCHANGED, ADDED, REMOVED = "#d0d7de", "#8250df", "#f6f8fa"
GROWTH_LEGEND = {"×0.25 or less": "#1a7f37", "×0.5": "#6fbf73", "unchanged": UNCHANGED, "×2": "#f08c84",
                 "×4 or more": "#b42318", "added": ADDED, "removed": REMOVED}


def growth_colour(old: int, new: int) -> str:
    """Green for shrinking, red for growing, on a log scale clipped at ×4 either way."""
    if old == new:
        return UNCHANGED
    if old == 0:
        return ADDED
    if new == 0:
        return REMOVED
    x = max(-1.0, min(1.0, math.log2(new / old) / 2))
    grey = (0xd0, 0xd7, 0xde)
    end = (0xb4, 0x23, 0x18) if x > 0 else (0x1a, 0x7f, 0x37)
    t = abs(x) ** 0.7
    mix = [round(g + (c - g) * t) for g, c in zip(grey, end)]
    return "#" + "".join(f"{c:02x}" for c in mix)


@dataclass
class _Acc:
    old: int = 0
    new: int = 0
    children: dict[str, "_Acc"] = field(default_factory=dict)
    tensor: bool = False


def build_tree(diff: ModelDiff, base: Base = "iec") -> Node:
    """One box per component and tensor of either side, keyed by its new path (old path if removed)."""
    top = _Acc()
    for t in diff.tensors:
        path = t.new.path if t.new else t.old.path  # type: ignore[union-attr]
        # a tied weight is drawn once, where its storage is first referenced (as the totals count it)
        old = t.old.stored_bytes if t.old and t.old.shared_with is None else 0
        new = t.new.stored_bytes if t.new and t.new.shared_with is None else 0
        node = top
        node.old, node.new = node.old + old, node.new + new
        parts = path.split(".")
        for i, part in enumerate(parts):
            node = node.children.setdefault(part, _Acc())
            node.old, node.new = node.old + old, node.new + new
            node.tensor = i == len(parts) - 1
    status = {c.path: c for c in diff.components}
    tensors = {t.path: t for t in diff.tensors}
    top_paths = {c.path for c in diff.components if c.depth == 1}
    return _node("", "(model)", top, status, tensors, top_paths, base)


def _node(path: str, label: str, acc: _Acc, status: dict, tensors: dict, top_paths: set, base: Base) -> Node:
    item = tensors.get(path) if acc.tensor else status.get(path)
    state = item.status if item is not None else ("unchanged" if acc.old == acc.new else "changed")
    delta = acc.new - acc.old
    ratio = rows.ratio(_Pair(acc.old, acc.new))
    tip = [f"{path or '(model)'}  [{state}]",
           f"old {acc.old:,} bytes ({format_bytes(acc.old, base)})",
           f"new {acc.new:,} bytes ({format_bytes(acc.new, base)})",
           f"change {rows.signed_bytes(delta, base)} ({delta:+,} bytes), {ratio}"]
    if item is not None and getattr(item, "status", "") == "renamed":
        tip.append(f"renamed from {item.old_path if hasattr(item, 'old_path') else item.old.path}")
    node = Node(label=label, path=path, value=max(acc.old, acc.new), tip="\n".join(tip),
                fills={"growth": growth_colour(acc.old, acc.new)}, top=path in top_paths,
                data={"old-bytes": acc.old, "new-bytes": acc.new, "delta": delta, "status": state})
    node.children = [_node(f"{path}.{name}" if path else name, name, child, status, tensors, top_paths, base)
                     for name, child in acc.children.items()]
    return node


@dataclass
class _Pair:
    old: int | None
    new: int | None


def diff_html(diff: ModelDiff, old: Report | None = None, new: Report | None = None, base: Base = "iec") -> str:
    """The diff page: summary, treemap coloured by growth, components, dtypes, formats, notes."""
    root = build_tree(diff, base)
    old_name = diff.old.target or diff.old.framework
    new_name = diff.new.target or diff.new.framework
    size, params = diff.size, diff.totals["params"]
    growth = f"{100 * size.growth:+.2f}%" if size.growth is not None else "n/a"
    body = [f"<h1>Model diff <span class=\"sub\">{e(old_name)} → {e(new_name)}</span></h1>",
            cards([(rows.bytes_pair(size, base), diff.size_what, f"{size.old:,} → {size.new:,} bytes"),
                   (f"{rows.signed_bytes(size.delta, base)} ({growth})", "size change", f"{size.delta:+,} bytes"
                    if size.delta is not None else "n/a"),
                   (rows.count_pair(params), "parameters", f"{rows.signed_count(params.delta)} parameters"),
                   (rows.summary_line(diff, "components"), "components", rows.summary_line(diff, "tensors") + " tensors")]),
            "<h2>Treemap coloured by growth</h2>",
            "<div class=\"controls\"><span class=\"sub\">box area: the larger of old and new bytes; hover for both</span></div>",
            legend("growth", GROWTH_LEGEND, True), svg(root, "growth")]
    comps = list(rows.shown_components(diff, 2))
    if comps:
        differ = sum(1 for c in diff.components if c.depth > 0 and c.status != "unchanged")
        counted = (f"{len(comps)} shown" if len(comps) == differ else
                   f"{len(comps)} shown, to depth 2, of the {differ} that differ at any depth")
        body += [f"<h2>Components that differ ({counted})</h2>",
                 table(["Component", "Status", "Kind", "Params", "Δ params", "Bytes", "Δ bytes", "Ratio", "Changes"],
                       [[c.label, c.status, rows.arrow(c.old_kind, c.new_kind), rows.count_pair(c.params),
                         rows.signed_count(c.params.delta), rows.bytes_pair(c.stored_bytes, base),
                         rows.signed_bytes(c.stored_bytes.delta, base), rows.ratio(c.stored_bytes),
                         rows.component_changes(c)] for c in comps], left=3, cls="components-table")]
    else:
        body.append("<p class=\"sub\">No component differs.</p>")
    dtypes = {k: d for k, d in diff.bytes_by_dtype.items() if d.delta}
    if dtypes:
        body += ["<h2>Bytes by dtype</h2>", table(["Dtype", "Bytes", "Δ bytes"], [
            [k, rows.bytes_pair(d, base), rows.signed_bytes(d.delta, base)] for k, d in dtypes.items()])]
    if diff.formats:
        body += ["<h2>Serialized size per format</h2>", table(["Format", "Bytes", "Δ bytes", "Ratio", "zstd"], [
            [f.format if f.old_label == f.new_label else f"{f.format} ({rows.arrow(f.old_label, f.new_label)})",
             rows.bytes_pair(f.bytes, base), rows.signed_bytes(f.bytes.delta, base), rows.ratio(f.bytes),
             rows.bytes_pair(f.compressed, base) if (f.compressed.old or f.compressed.new) else ""]
            for f in diff.formats])]
    if diff.notes:
        body += ["<h2>Notes</h2>", "<ul class=\"notes\">" + "".join(f"<li>{e(n)}</li>" for n in diff.notes) + "</ul>"]
    data = {"kind": "diff", "old": diff.old.to_dict(), "new": diff.new.to_dict(),
            "size": {"what": diff.size_what, **size.to_dict()},
            "top": [{"path": n.path, "label": n.label, "old_bytes": n.data["old-bytes"], "new_bytes": n.data["new-bytes"],
                     "status": n.data["status"]} for n in root.children],
            "params": params.to_dict(), "summary": diff.counts()}
    return page(f"modelsize diff — {old_name} → {new_name}", "\n".join(body), data)

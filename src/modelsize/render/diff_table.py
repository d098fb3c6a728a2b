"""A model diff as a plain-text table for the terminal (``modelsize diff OLD NEW``)."""

from __future__ import annotations

import textwrap

from ..core.units import Base, format_bytes
from ..diff.model import ModelDiff
from . import diff_rows as rows
from .shorten import middle
from .whole_cells import EMPTY, GAP, MIN_LABEL, abbreviate_units

#: tensors listed one by one before the rest is summarised (JSON lists them all)
MAX_TENSOR_ROWS = 40


def _grid(header: list[str], body: list[list[str]], right: set[int], width: int | None = None) -> list[str]:
    """A plain-text table; with ``width``, laid out so every cell is whole within it (as
    :func:`.whole_cells.fitted` does for rich tables): empty columns dropped, units abbreviated,
    then the columns after the first stacked into several tables that repeat the first, and text
    (never number) cells wrapped at spaces."""
    widths = _widths(header, body)
    if width is None or _span(widths) <= width:
        return _lines(header, body, right, widths)
    keep = [0] + [i for i in range(1, len(header)) if any(r[i].strip() not in EMPTY for r in body)]
    header, body = [header[i] for i in keep], [[r[i] for i in keep] for r in body]
    right = {keep.index(i) for i in right if i in keep}
    body = [[r[0], *(abbreviate_units(c) for c in r[1:])] for r in body]
    widths = _widths(header, body)
    if _span(widths) <= width:
        return _lines(header, body, right, widths)
    label = min(widths[0], max(MIN_LABEL, width // 3))
    room = width - label - GAP  # the widest a column beside the label may be: text wraps to it
    sized = [min(w, room) if i not in right else w for i, w in enumerate(widths)]
    groups: list[list[int]] = [[]]
    for i in range(1, len(header)):
        if groups[-1] and _span([label, *(sized[j] for j in groups[-1]), sized[i]]) > width:
            groups.append([])
        groups[-1].append(i)
    out: list[str] = []
    for group in groups:
        cols = [0, *group]
        rows = [[middle(r[0], label), *(r[j] for j in group)] for r in body]
        out += ([""] if out else []) + _lines([header[j] for j in cols], rows, {cols.index(j) for j in right if j in cols},
                                              [label, *(sized[j] for j in group)])
    return out


def _widths(header: list[str], body: list[list[str]]) -> list[int]:
    return [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]


def _span(widths: list[int]) -> int:
    return sum(widths) + GAP * (len(widths) - 1)


def _lines(header: list[str], body: list[list[str]], right: set[int], widths: list[int]) -> list[str]:
    """The rows at ``widths``; a text cell wider than its column wraps at spaces onto more lines."""
    def fmt(row: list[str]) -> list[str]:
        parts = [[c] if len(c) <= w or i in right else textwrap.wrap(c, w, break_long_words=False) or [""]
                 for i, (c, w) in enumerate(zip(row, widths))]
        lines = []
        for n in range(max(len(p) for p in parts)):
            cells = [(p[n] if n < len(p) else "") for p in parts]
            lines.append("  ".join(c.rjust(w) if i in right else c.ljust(w)
                                   for i, (c, w) in enumerate(zip(cells, widths))).rstrip())
        return lines

    return [*fmt(header), "  ".join("-" * w for w in widths), *(line for r in body for line in fmt(r))]


def diff_table(diff: ModelDiff, base: Base = "iec", depth: int = 2, everything: bool = False,
               width: int | None = None) -> str:
    """Header with the size change, then components, tensors, dtypes, roles and formats that differ.

    ``width``: the terminal's columns; every table then fits it with numbers whole (see :func:`_grid`).
    ``None`` (files, pipes): one row per line, however wide."""
    old_name = diff.old.target or diff.old.framework
    new_name = diff.new.target or diff.new.framework
    size = diff.size
    growth = f"{100 * size.growth:+.2f}%" if size.growth is not None else "n/a"
    params = diff.totals["params"]
    lines = [
        f"modelsize diff  {old_name}  →  {new_name}",
        f"Size ({diff.size_what}): {rows.bytes_pair(size, base)}  ({rows.signed_bytes(size.delta, base)}, "
        f"{growth}, {rows.ratio(size)})",
        f"Params: {rows.count_pair(params)}  ({rows.signed_count(params.delta)}, {rows.ratio(params)})",
        f"Tensor bytes: {rows.bytes_pair(diff.totals['stored_bytes'], base)}  "
        f"({rows.signed_bytes(diff.totals['stored_bytes'].delta, base)}, {rows.ratio(diff.totals['stored_bytes'])})",
        f"Components: {rows.summary_line(diff, 'components')}",
        f"Tensors: {rows.summary_line(diff, 'tensors')}",
    ]
    comps = list(rows.shown_components(diff, depth, everything))
    lines.append("")
    if comps:
        body = [[c.label, c.status, rows.arrow(c.old_kind, c.new_kind), rows.count_pair(c.params),
                 rows.signed_count(c.params.delta), rows.bytes_pair(c.stored_bytes, base),
                 rows.signed_bytes(c.stored_bytes.delta, base), rows.ratio(c.stored_bytes), rows.component_changes(c)]
                for c in comps]
        lines += _grid(["Component", "Status", "Kind", "Params", "Δ params", "Bytes", "Δ bytes", "Ratio", "Changes"],
                       body, {3, 4, 5, 6, 7}, width)
    else:
        lines.append(f"No component differs (depth {depth}).")
    tensors = [t for t in diff.tensors if t.status != "unchanged"]
    if tensors:
        lines.append("")
        body = [[t.path, t.status,
                 rows.signed_bytes((t.new.stored_bytes if t.new else 0) - (t.old.stored_bytes if t.old else 0), base),
                 rows.tensor_change(t)] for t in tensors[:MAX_TENSOR_ROWS]]
        lines += _grid(["Tensor", "Status", "Δ bytes", "Change"], body, {2}, width)
        if len(tensors) > MAX_TENSOR_ROWS:
            lines.append(f"… and {len(tensors) - MAX_TENSOR_ROWS} more tensors (--format json lists every one).")
    for title, table in (("Dtype", diff.bytes_by_dtype), ("Role", diff.bytes_by_role)):
        changed = {k: d for k, d in table.items() if d.delta}
        if changed:
            lines.append("")
            lines += _grid([title, "Bytes", "Δ bytes"],
                           [[k, rows.bytes_pair(d, base), rows.signed_bytes(d.delta, base)] for k, d in changed.items()],
                           {1, 2}, width)
    if diff.formats:
        lines.append("")
        body = []
        for f in diff.formats:
            name = f.format if f.old_label == f.new_label else f"{f.format} ({rows.arrow(f.old_label, f.new_label)})"
            comp = rows.bytes_pair(f.compressed, base) if (f.compressed.old or f.compressed.new) else ""
            body.append([name, rows.bytes_pair(f.bytes, base), rows.signed_bytes(f.bytes.delta, base),
                         rows.ratio(f.bytes), comp])
        lines += _grid(["Format", "Bytes", "Δ bytes", "Ratio", "zstd"], body, {1, 2, 3, 4}, width)
    for note in diff.notes:
        note = f"Note: {note}"
        lines += textwrap.wrap(note, width, break_long_words=False, break_on_hyphens=False) if width else [note]
    return "\n".join(lines) + "\n"


__all__ = ["diff_table", "format_bytes"]

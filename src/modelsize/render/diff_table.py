"""A model diff as a plain-text table for the terminal (``modelsize diff OLD NEW``)."""

from __future__ import annotations

from ..core.units import Base, format_bytes
from ..diff.model import ModelDiff
from . import diff_rows as rows

#: tensors listed one by one before the rest is summarised (JSON lists them all)
MAX_TENSOR_ROWS = 40


def _grid(header: list[str], body: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]

    def fmt(row: list[str]) -> str:
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))]
        return "  ".join(cells).rstrip()

    return [fmt(header), "  ".join("-" * w for w in widths), *(fmt(r) for r in body)]


def diff_table(diff: ModelDiff, base: Base = "iec", depth: int = 2, everything: bool = False) -> str:
    """Header with the size change, then components, tensors, dtypes, roles and formats that differ."""
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
                       body, {3, 4, 5, 6, 7})
    else:
        lines.append(f"No component differs (depth {depth}).")
    tensors = [t for t in diff.tensors if t.status != "unchanged"]
    if tensors:
        lines.append("")
        body = [[t.path, t.status,
                 rows.signed_bytes((t.new.stored_bytes if t.new else 0) - (t.old.stored_bytes if t.old else 0), base),
                 rows.tensor_change(t)] for t in tensors[:MAX_TENSOR_ROWS]]
        lines += _grid(["Tensor", "Status", "Δ bytes", "Change"], body, {2})
        if len(tensors) > MAX_TENSOR_ROWS:
            lines.append(f"… and {len(tensors) - MAX_TENSOR_ROWS} more tensors (--format json lists every one).")
    for title, table in (("Dtype", diff.bytes_by_dtype), ("Role", diff.bytes_by_role)):
        changed = {k: d for k, d in table.items() if d.delta}
        if changed:
            lines.append("")
            lines += _grid([title, "Bytes", "Δ bytes"],
                           [[k, rows.bytes_pair(d, base), rows.signed_bytes(d.delta, base)] for k, d in changed.items()],
                           {1, 2})
    if diff.formats:
        lines.append("")
        body = []
        for f in diff.formats:
            name = f.format if f.old_label == f.new_label else f"{f.format} ({rows.arrow(f.old_label, f.new_label)})"
            comp = rows.bytes_pair(f.compressed, base) if (f.compressed.old or f.compressed.new) else ""
            body.append([name, rows.bytes_pair(f.bytes, base), rows.signed_bytes(f.bytes.delta, base),
                         rows.ratio(f.bytes), comp])
        lines += _grid(["Format", "Bytes", "Δ bytes", "Ratio", "zstd"], body, {1, 2, 3, 4})
    for note in diff.notes:
        lines.append(f"Note: {note}")
    return "\n".join(lines) + "\n"


__all__ = ["diff_table", "format_bytes"]

"""A model diff as GitHub-flavoured Markdown, for a pull-request comment."""

from __future__ import annotations

from ..core.units import Base
from ..diff.model import ModelDiff
from . import diff_rows as rows

MAX_TENSOR_ROWS = 40


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], body: list[list[str]], right: set[int]) -> list[str]:
    align = ["---:" if i in right else "---" for i in range(len(header))]
    return ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |",
            *("| " + " | ".join(_cell(c) for c in r) + " |" for r in body)]


def diff_markdown(diff: ModelDiff, base: Base = "iec", depth: int = 2, everything: bool = False) -> str:
    """A summary line, then tables of changed components, tensors, dtypes and formats."""
    size = diff.size
    growth = f"{100 * size.growth:+.2f}%" if size.growth is not None else "n/a"
    old_name = diff.old.target or diff.old.framework
    new_name = diff.new.target or diff.new.framework
    out = [f"### Model size: `{old_name}` → `{new_name}`", "",
           f"**{diff.size_what}: {rows.bytes_pair(size, base)} ({rows.signed_bytes(size.delta, base)}, {growth})** · "
           f"params {rows.count_pair(diff.totals['params'])} ({rows.signed_count(diff.totals['params'].delta)})", "",
           f"Components: {rows.summary_line(diff, 'components')}. Tensors: {rows.summary_line(diff, 'tensors')}.", ""]
    comps = list(rows.shown_components(diff, depth, everything))
    if comps:
        out += _table(["Component", "Status", "Params", "Δ params", "Bytes", "Δ bytes", "Ratio", "Changes"],
                      [[f"`{c.label}`", c.status, rows.count_pair(c.params), rows.signed_count(c.params.delta),
                        rows.bytes_pair(c.stored_bytes, base), rows.signed_bytes(c.stored_bytes.delta, base),
                        rows.ratio(c.stored_bytes), rows.component_changes(c)] for c in comps], {2, 3, 4, 5, 6})
        out.append("")
    tensors = [t for t in diff.tensors if t.status != "unchanged"]
    if tensors:
        body = [[f"`{t.path}`", t.status,
                 rows.signed_bytes((t.new.stored_bytes if t.new else 0) - (t.old.stored_bytes if t.old else 0), base),
                 rows.tensor_change(t)] for t in tensors[:MAX_TENSOR_ROWS]]
        out += ["<details><summary>Tensors that differ</summary>", ""]
        out += _table(["Tensor", "Status", "Δ bytes", "Change"], body, {2})
        if len(tensors) > MAX_TENSOR_ROWS:
            out.append(f"\n… and {len(tensors) - MAX_TENSOR_ROWS} more.")
        out += ["", "</details>", ""]
    dtypes = {k: d for k, d in diff.bytes_by_dtype.items() if d.delta}
    if dtypes:
        out += _table(["Dtype", "Bytes", "Δ bytes"],
                      [[k, rows.bytes_pair(d, base), rows.signed_bytes(d.delta, base)] for k, d in dtypes.items()], {1, 2})
        out.append("")
    if diff.formats:
        out += _table(["Format", "Bytes", "Δ bytes", "Ratio"],
                      [[f.format if f.old_label == f.new_label else f"{f.format} ({rows.arrow(f.old_label, f.new_label)})",
                        rows.bytes_pair(f.bytes, base), rows.signed_bytes(f.bytes.delta, base), rows.ratio(f.bytes)]
                       for f in diff.formats], {1, 2, 3})
        out.append("")
    out += [f"> {note}" for note in diff.notes]
    return "\n".join(out).rstrip() + "\n"

"""The human-readable report: a tree table of components, totals, serialized sizes and notes.

Built with rich and returned as a string (plain text unless ``color=True``), so the CLI decides
where it goes. Every size carries its unit: ``KiB``/``MiB`` divide by 1024, ``kB``/``MB`` by 1000
(``base="si"``); the two are never mixed in one table.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from io import StringIO
from typing import Any

from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from ..core import units
from ..core.errors import option_error
from ..core.report import Report
from ..core.tensors import Role
from ..core.totals import Totals, unique_records
from ..core.tree import Component
from . import compute_block, finetune_block, fit_block, labels, shorten
from .whole_cells import Column, fitted

#: Shared tensors this small are listed as one folded line in the totals block.
TINY_SHARED_BYTES = 64

#: Sections this table shows; others are listed by name (they are in the JSON output).
_RENDERED_SECTIONS = frozenset({"formats", "file", "compute", "fit", "remote",  # remote: summed up in a note
                                "layer_shapes", "safety"})  # safety: the header's verdict line

_BASE_NOTE = {
    "iec": "Sizes in IEC units: 1 KiB = 1,024 bytes, 1 MiB = 1,024² bytes.",
    "si": "Sizes in SI units: 1 kB = 1,000 bytes, 1 MB = 1,000² bytes.",
}


def table(
    report: Report,
    depth: int = 2,
    base: units.Base = "iec",
    *,
    width: int = 100,
    color: bool = False,
) -> str:
    """Render ``report`` as text.

    ``depth`` is how many levels below the model are shown as rows; deeper components are
    folded into their ancestor's row (its numbers cover the whole subtree). ``base`` picks
    IEC (``MiB``) or SI (``MB``) units for every size. ``width`` is the line width to lay out
    for; ``color`` adds ANSI styles (for a terminal).
    """
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
        raise option_error("depth", "an integer >= 0", depth)
    if base not in _BASE_NOTE:
        raise option_error("base", "'iec' or 'si'", base)
    if isinstance(width, bool) or not isinstance(width, int) or width < 40:
        raise option_error("width", "an integer >= 40", width)

    parts: list[RenderableType] = [_header(report), _tree_table(report, depth, base, width), _totals(report, base)]
    on_disk = report.sections.get("file")
    if isinstance(on_disk, Mapping) and isinstance(on_disk.get("bytes"), int):
        parts.append(_file_block(on_disk, base))
    formats = report.sections.get("formats")
    if formats is not None:
        parts.append(_formats(labels.section_items(formats), base, width))
    parts.extend(compute_block.renderables(report, depth, base))
    parts.extend(finetune_block.renderables(report, base) if finetune_block.plan_section(report) is not None
                 else fit_block.renderables(report, base, width))
    others = sorted(name for name in report.sections if name not in _RENDERED_SECTIONS)
    notes = list(report.notes)
    if others:
        notes.append(f"Also in this report (see --format json): {', '.join(others)}.")
    notes.append(_BASE_NOTE[base])
    parts.append(_notes(notes))
    return _to_text(Group(*_spaced(parts)), width, color)


# --------------------------------------------------------------------------- blocks


def _header(report: Report) -> Text:
    src = report.source
    text = Text()
    text.append(report.root.name or src.object_type, style="bold")
    what = [src.framework]
    if src.format:
        what.append(src.format)
    what.append(src.object_type)
    text.append(f"  ({' · '.join(what)})", style="dim")
    if src.target:
        text.append(f"\ntarget: {src.target}", style="dim")
    verdict = labels.safety_line(report)
    if verdict is not None:  # the safety verdict of a file or folder (SECURITY.md): never only in JSON
        text.append("\nsafety: ", style="dim")
        style = {"safe": "green"}.get(verdict.split(" ")[0], "bold red")
        text.append(verdict, style=style)
    return text


def _tree_table(report: Report, depth: int, base: units.Base, width: int = 100,
                with_shapes: bool = True) -> RenderableType:
    """One row per component; long names are shortened in the middle, numbers are never cut. When
    the notes column would be narrower than :data:`.shorten.MIN_NOTES`, the notes are listed under
    the table, one line per note named by its component, instead of folded two letters a line.

    With a ``layer_shapes`` section (``inspect --input``) each row also shows the shapes going
    into and out of the component, as torchinfo and Keras' ``summary()`` do.
    """
    owners = labels.alias_owners(report)
    layer_shapes = (report.sections.get("layer_shapes") or {}) if with_shapes else {}
    rows = []
    for node, level, folded, guide in _tree_rows(report.root, depth):
        sub = report.totals if level == 0 else report.subtotals(node)
        name = node.name if level else (node.name or "(model)")
        io = layer_shapes.get(node.path, {}) if isinstance(layer_shapes, Mapping) else {}
        rows.append((guide, name, level, node.kind, units.format_count(sub.params),
                     units.format_bytes(sub.stored_bytes, base), _dtypes(sub),
                     "\n".join(_row_notes(node, sub, folded, owners, base, is_root=level == 0)),
                     _shape_text(io.get("input")), _shape_text(io.get("output"))))
    shown = bool(layer_shapes)
    numbers = [max([len(h)] + [len(r[i]) for r in rows]) for h, i in (("Params", 4), ("Stored", 5), ("Dtypes", 6))]
    if shown:
        numbers += [max([len(h)] + [len(r[i]) for r in rows]) for h, i in (("Input", 8), ("Output", 9))]
    has_notes = any(r[7] for r in rows)  # no notes at all: no Notes column, and its gap is room for names
    name_limit, kind_limit = shorten.name_budget(width, sum(numbers) + (6 if shown else 0) - (0 if has_notes else 3),
                                                 max(len(r[3]) for r in rows), notes=has_notes)
    if shown and any(len(r[0]) + len(r[1]) > name_limit for r in rows):
        # names would be cut (``fe…ion`` for two different layers): the shapes get a table of their own
        return Group(_tree_table(report, depth, base, width, with_shapes=False), Text(""),
                     _shapes_table([(r[0], r[1], r[8], r[9]) for r in rows], width))
    cells = []
    for guide, name, level, kind, params, stored, dtypes, notes, shape_in, shape_out in rows:
        label = Text(guide, style="dim")
        label.append(shorten.middle(name, max(4, name_limit - len(guide))), style="bold" if level == 0 else "")
        shapes = [Text(shape_in), Text(shape_out)] if shown else []
        cells.append((label, Text(shorten.middle(kind, kind_limit)), shapes, params, stored, dtypes, notes, name))
    used = (max(len("Component"), *(c[0].cell_len for c in cells)) + max(len("Kind"), *(c[1].cell_len for c in cells))
            + sum(numbers) + shorten.GAPS // 5 * (len(numbers) + 2))
    below = any(c[6] for c in cells) and width - used < shorten.MIN_NOTES  # too narrow: notes go under the table
    grid = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold", expand=False)
    grid.add_column("Component", no_wrap=True)
    grid.add_column("Kind", style="cyan", no_wrap=True)
    if shown:
        grid.add_column("Input", no_wrap=True, min_width=numbers[3])
        grid.add_column("Output", no_wrap=True, min_width=numbers[4])
    grid.add_column("Params", justify="right", no_wrap=True, min_width=numbers[0])
    grid.add_column("Stored", justify="right", no_wrap=True, min_width=numbers[1])
    grid.add_column("Dtypes", no_wrap=True, min_width=numbers[2])
    beside = has_notes and not below
    if beside:
        grid.add_column("Notes", overflow="fold")
    for label, kind, shapes, params, stored, dtypes, notes, _name in cells:
        grid.add_row(label, kind, *shapes, Text(params), Text(stored), Text(dtypes), *([Text(notes)] if beside else []))
    if not below:
        return grid
    lines = Text("Notes per component", style="bold")
    for *_cells, notes, name in cells:
        for note in notes.splitlines():
            lines.append(f"\n{name}: {note}")
    return Group(grid, Text(""), lines)


def _shapes_table(rows: list[tuple[str, str, str, str]], width: int) -> Table:
    """``--input`` shapes beside each component's tree label, when they do not fit in the main table."""
    shape_w = max(len("Output"), *(len(r[3]) for r in rows)) + max(len("Input"), *(len(r[2]) for r in rows))
    limit = max(shorten.MIN_NAME, width - shape_w - 4)
    grid = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold", expand=False,
                 title="Shapes (--input)", title_justify="left", title_style="bold")
    grid.add_column("Component", no_wrap=True)
    grid.add_column("Input", no_wrap=True)
    grid.add_column("Output", no_wrap=True)
    for guide, name, shape_in, shape_out in rows:
        label = Text(guide, style="dim")
        label.append(shorten.middle(name, max(4, limit - len(guide))))
        grid.add_row(label, Text(shape_in), Text(shape_out))
    return grid


#: A component with more children than this shows only the largest :data:`FOLD_SHOW` of them, then one
#: "… N more" row covering the rest: a 200,000-node flat graph renders in linear time, on one screen.
FOLD_AT = 60
FOLD_SHOW = 50


def _shape_text(shapes: Any) -> str:
    """``[[1, 784]]`` → ``1×784``; several tensors joined with ``, ``; none → ``""``."""
    if not shapes:
        return ""
    return ", ".join("×".join(str(d) for d in shape) or "scalar" for shape in shapes)


def _tree_rows(root: Component, max_depth: int) -> Iterator[tuple[Component, int, bool, str]]:
    """``(component, level, folded, guide)`` depth first; ``guide`` is the ``│ ├─ └─`` prefix."""
    stack: list[tuple[Component, int, str, bool, bool]] = [(root, 0, "", True, False)]
    while stack:
        node, level, inherited, last, more = stack.pop()
        folded = more or (level >= max_depth and bool(node.children))
        yield node, level, folded, ("" if level == 0 else inherited + ("└─ " if last else "├─ "))
        if folded:
            continue
        below = "" if level == 0 else inherited + ("   " if last else "│  ")
        children = _shown_children(node)
        count = len(children)
        for i in range(count - 1, -1, -1):
            child, is_more = children[i]
            stack.append((child, level + 1, below, i == count - 1, is_more))


def _shown_children(node: Component) -> list[tuple[Component, bool]]:
    """The children to show as rows: all of them, or the largest few in order plus one "more" row."""
    children = node.children
    if len(children) <= FOLD_AT:
        return [(c, False) for c in children]
    sizes = [sum(r.stored_bytes or 0 for r in c.iter_tensors()) for c in children]
    keep = set(sorted(range(len(children)), key=lambda i: (-sizes[i], i))[:FOLD_SHOW])
    rest = tuple(c for i, c in enumerate(children) if i not in keep)
    kinds = Counter(c.kind for c in rest).most_common(2)
    kind = ", ".join(f"{k} ×{n:,}" for k, n in kinds) + (" …" if len(kinds) < len(set(c.kind for c in rest)) else "")
    more = Component(name=f"… {len(rest):,} more", kind=kind, path=f"{node.path}[…]", children=rest)
    return [(c, False) for i, c in enumerate(children) if i in keep] + [(more, True)]


def _dtypes(sub: Totals, limit: int = 3) -> str:
    """The subtree's dtypes, largest share first; the totals block lists them all."""
    names = list(sub.bytes_by_dtype)
    if not names:
        return "—"
    more = f" +{len(names) - limit}" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def _row_notes(
    node: Component, sub: Totals, folded: bool, owners: dict[str, str], base: units.Base, is_root: bool
) -> list[str]:
    records = list(node.iter_tensors()) if folded else list(node.tensors)
    notes = labels.own_flags(node)
    notes += labels.shared_notes(records, owners, node.path)
    if not is_root:  # the totals block breaks the whole model down by role
        notes += labels.role_notes(sub, base)
    if folded:
        hidden = sum(1 for _ in node.walk()) - 1
        nested = labels.nested_flag_counts(node)
        inside = "".join(f", {count} {flag}" for flag, count in nested.items())
        notes.append(f"+{hidden} nested components{inside}")
    return notes


def _totals(report: Report, base: units.Base) -> Table:
    totals = report.totals
    grid = Table.grid(padding=(0, 2))
    grid.title = "Totals"
    grid.title_justify = "left"
    grid.title_style = "bold"
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")

    def size(n: int) -> str:
        return _exact_size(n, base)

    def by(mapping: dict[str, int], label: Callable[[str], str] = str) -> str:
        return "\n".join(f"{label(k)} {units.format_bytes(v, base)}" for k, v in mapping.items()) or "—"

    rows: list[tuple[str, str]] = [
        ("Parameters (unique)", units.format_count(totals.params)),
        ("Parameters per reference", _per_reference(totals)),
        ("Trainable", units.format_count(totals.trainable_params)),
        ("Non-trainable", units.format_count(totals.non_trainable_params)),
    ]
    unknown = totals.trainability_unknown_params
    if unknown:
        rows.append(("Trainability unknown", units.format_count(unknown)))
    rows += [
        ("Buffers", f"{_elements(totals.buffers)}, {units.format_bytes(totals.buffer_bytes, base)}"),
        ("Stored (effective)", size(totals.stored_bytes)),
        ("Dense (apparent)", size(totals.dense_bytes)),
        ("Stored by dtype", by(totals.bytes_by_dtype)),
        ("Stored by role", by(totals.bytes_by_role, labels.role_label)),
        ("Sparsity", _sparsity(report)),
        ("Tensors", f"{units.format_count(totals.tensors)} references, {units.format_count(totals.unique_tensors)} unique"),
    ]
    # tiny shared constants (a TFLite shape vector read by 40 reshapes) fold into one line
    tiny = [g for g in totals.shared if g.stored_bytes <= TINY_SHARED_BYTES]
    fold_tiny = len(tiny) > 1
    for group in totals.shared:
        if fold_tiny and group.stored_bytes <= TINY_SHARED_BYTES:
            continue
        rows.append((
            "Shared",
            f"{labels.alias_list(group.aliases)} → {group.owner} "
            f"({_elements(group.numel)}, {units.format_bytes(group.stored_bytes, base)} counted once)",
        ))
    if fold_tiny:
        refs = sum(len(g.aliases) for g in tiny)
        rows.append(("Shared", f"{len(tiny)} tiny tensors (≤ {TINY_SHARED_BYTES} B each, "
                               f"{units.format_bytes(sum(g.stored_bytes for g in tiny), base)} in all) "
                               f"shared by {refs} more references, each counted once"))
    for label, value in rows:
        grid.add_row(Text(label), Text(value))
    return grid


def _exact_size(n: int, base: units.Base) -> str:
    """``397.54 KiB (407,080 bytes)``; just ``56 B`` when there is nothing to round."""
    text = units.format_bytes(n, base)
    return text if text.endswith(" B") else f"{text} ({units.format_count(n)} bytes)"


def _file_block(section: Mapping[str, Any], base: units.Base) -> Table:
    """The ``file`` section of file readers: bytes on disk and what they are made of."""
    grid = Table.grid(padding=(0, 2))
    grid.title = "On disk"
    grid.title_justify = "left"
    grid.title_style = "bold"
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    files = section.get("files")
    count = f" in {len(files)} files" if isinstance(files, list) and len(files) > 1 else ""
    fmt = f" ({section['format']})" if section.get("format") else ""
    grid.add_row(Text(f"File size{fmt}"), Text(_exact_size(section["bytes"], base) + count))
    split = section.get("split")
    if isinstance(split, Mapping):
        for part, nbytes in sorted(split.items(), key=lambda kv: -kv[1] if isinstance(kv[1], int) else 0):
            if isinstance(nbytes, int):
                grid.add_row(Text(f"  {labels.role_label(str(part))}"), Text(units.format_bytes(nbytes, base)))
    return grid


def _elements(n: int) -> str:
    return f"{units.format_count(n)} element{'' if n == 1 else 's'}"


def _per_reference(totals: Totals) -> str:
    text = units.format_count(totals.params_per_reference)
    extra = totals.params_per_reference - totals.params
    if extra:
        text += f" (a naive sum counts {units.format_count(extra)} shared parameters again)"
    return text


def _sparsity(report: Report) -> str:
    totals = report.totals
    if totals.sparsity is None or totals.params_nnz is None:
        skipped = (report.source.details or {}).get("nonzeros", {}).get("skipped")
        return f"not counted ({skipped})" if skipped else "n/a (parameter values not readable)"
    unique, _ = unique_records(report.root.iter_tensors())
    readable = sum(r.numel for r in unique if r.role is Role.PARAMETER and r.nnz is not None)
    return (
        f"{units.format_ratio(totals.sparsity)} zeros ({units.format_count(totals.params_nnz)} non-zero "
        f"of {units.format_count(readable)} parameters)"
    )


#: the serialized-size table's columns, for :func:`.whole_cells.fitted` when it does not fit as one table
_FORMAT_COLUMNS = (Column("Format", "Format", "left"), Column("Size"), Column("Bytes"), Column("Exact", "Exact", "left"),
                   Column("Method", "Method", "left"), Column("Compressed", "zstd", "left"))


def _formats(items: list[dict[str, Any]], base: units.Base, width: int = 100) -> RenderableType:
    """The serialized sizes; where one table would not fit ``width`` (the compressed size folded to
    ``362.`` / ``94``), it is laid out by :func:`.whole_cells.fitted` so every size stays whole."""
    if not items:
        return Text("Serialized size: no format could be sized for this model.", style="dim")
    cells = [[str(item.get("format", "?")), _about(item) + units.format_bytes(item.get("bytes"), base),
              _about(item) + units.format_count(item.get("bytes")), "exact" if item.get("exact") else "estimate",
              str(item.get("method", "?")), _compressed(item.get("compressed"), base)] for item in items]
    natural = sum(max(len(c.name), *(len(r[i]) for r in cells)) for i, c in enumerate(_FORMAT_COLUMNS))
    if natural + 3 * (len(_FORMAT_COLUMNS) - 1) > width:
        return _with_footnotes(Group(*fitted(_FORMAT_COLUMNS, cells, width, "Serialized size")), items)
    grid = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold", expand=False)
    grid.title = "Serialized size"
    grid.title_justify = "left"
    grid.title_style = "bold"
    grid.add_column("Format", no_wrap=True)
    grid.add_column("Size", justify="right", no_wrap=True)
    grid.add_column("Bytes", justify="right", no_wrap=True)
    grid.add_column("Exact", no_wrap=True)
    grid.add_column("Method", no_wrap=True)
    grid.add_column("Compressed", overflow="fold")
    for item in items:
        nbytes = item.get("bytes")
        name = str(item.get("format", "?"))
        about = _about(item)
        grid.add_row(
            Text(name),
            Text(about + units.format_bytes(nbytes, base)),
            Text(about + units.format_count(nbytes)),
            Text("exact" if item.get("exact") else "estimate"),
            Text(str(item.get("method", "?"))),
            Text(_compressed(item.get("compressed"), base)),
        )
    return _with_footnotes(grid, items)


def _about(item: dict[str, Any]) -> str:
    """``≈ `` before a size that is an estimate with its bound (the bound is in the format's note)."""
    return "≈ " if item.get("bounds") and item.get("bytes") is not None else ""


def _with_footnotes(table: RenderableType, items: list[dict[str, Any]]) -> RenderableType:
    """The table, then each format note once with the formats it applies to."""
    footnotes: dict[str, list[str]] = {}  # note -> formats it applies to (notes repeat across formats)
    for item in items:
        if item.get("note"):
            footnotes.setdefault(str(item["note"]), []).append(str(item.get("format", "?")))
    if not footnotes:
        return table
    text = Text()
    for note, names in footnotes.items():
        text.append(f"\n{', '.join(names)}: ", style="bold")
        text.append(note)
    return Group(table, text)


def _compressed(comp: dict[str, Any] | None, base: units.Base) -> str:
    """``97.66 KiB (zstd-3, exact)`` or ``≈ 87.89 KiB ± 5.0% (zstd-3, sampled chunks)``."""
    if not comp:
        return "—"
    size = units.format_bytes(comp.get("bytes"), base)
    codec = f"{comp.get('codec', '?')}-{comp.get('level', '?')}"
    if comp.get("exact"):
        return f"{size} ({codec}, exact)"
    bound = comp.get("error_bound")
    pm = f" ± {units.format_ratio(bound)}" if bound is not None else ""
    return f"≈ {size}{pm} ({codec}, {comp.get('method', 'estimate')})"


def _notes(notes: list[str]) -> Text:
    text = Text("Notes", style="bold")
    for note in notes:
        text.append(f"\n• {note}")
    return text


# --------------------------------------------------------------------------- output


def _spaced(parts: list[RenderableType]) -> list[RenderableType]:
    out: list[RenderableType] = []
    for i, part in enumerate(parts):
        if i:
            out.append(Text(""))
        out.append(part)
    return out


def _to_text(renderable: RenderableType, width: int, color: bool) -> str:
    console = Console(
        file=StringIO(),
        width=width,
        force_terminal=color,
        color_system="standard" if color else None,
        no_color=not color,
        highlight=False,
        markup=False,
        emoji=False,
        legacy_windows=False,
    )
    console.print(renderable)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"

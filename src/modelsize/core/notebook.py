"""How a :class:`~modelsize.core.report.Report` shows itself in Jupyter and pandas.

``_repr_html_`` gives notebooks a table (one row per component, its subtree's parameters and
bytes, IEC units); ``to_frame`` one row per component and per tensor as a DataFrame, raw
integers like the JSON. Standard library only (pandas loaded lazily through ``require``),
because ``core/`` imports nothing else.
"""

from __future__ import annotations

import html
from typing import Any

from .optional import require
from .units import format_bytes, format_count

# Annotations name Report and Component as strings only: this module is imported by
# core/report.py, so importing it back (even for type checking) would make an import circle.
Report = Component = Any

#: rows shown in a notebook before the table says how many were left out
MAX_HTML_ROWS = 60
FRAME_COLUMNS = ("kind", "path", "name", "type", "shape", "dtype", "role", "params", "stored_bytes", "dense_bytes",
                 "depth")


def short_repr(report: "Report") -> str:
    """``<Report pytorch Net: 1,490 params, 5.82 KiB stored, 4 tensors>`` — never the whole tree."""
    t = report.totals
    what = report.source.target or report.source.object_type
    return (f"<Report {report.source.framework} {what}: {format_count(t.params)} params, "
            f"{format_bytes(t.stored_bytes)} stored, {t.tensors} tensors>")


def _rows(report: "Report") -> list[tuple[int, "Component"]]:
    rows: list[tuple[int, Component]] = []

    def visit(node: "Component", depth: int) -> None:
        rows.append((depth, node))
        for child in node.children:
            visit(child, depth + 1)

    visit(report.root, 0)
    return rows


def report_html(report: "Report") -> str:
    """An HTML table: component, type, parameters, stored bytes (IEC), with the totals first."""
    t = report.totals
    title = html.escape(report.source.target or report.source.object_type)
    body = []
    rows = _rows(report)
    for depth, node in rows[:MAX_HTML_ROWS]:
        sub = report.subtotals(node)
        name = "&nbsp;" * 4 * depth + html.escape(node.name or node.path or node.kind)
        body.append(f"<tr><td style='text-align:left'>{name}</td><td style='text-align:left'>{html.escape(node.kind)}"
                    f"</td><td>{format_count(sub.params)}</td><td>{format_bytes(sub.stored_bytes)}</td></tr>")
    if len(rows) > MAX_HTML_ROWS:
        body.append(f"<tr><td colspan=4>… {len(rows) - MAX_HTML_ROWS} more components (Report.to_frame() has them "
                    "all)</td></tr>")
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in report.notes)
    return (f"<div class='modelsize-report'><p><b>{title}</b> ({html.escape(report.source.framework)}): "
            f"{format_count(t.params)} parameters, {format_bytes(t.stored_bytes)} stored</p>"
            "<table><thead><tr><th style='text-align:left'>component</th><th style='text-align:left'>type</th>"
            "<th>params</th><th>stored</th></tr></thead><tbody>" + "".join(body) + "</tbody></table>"
            + (f"<ul>{notes}</ul>" if notes else "") + "</div>")


def frame_rows(report: "Report") -> list[dict[str, Any]]:
    """One dict per component (``kind='component'``, subtree totals) and per tensor (``kind='tensor'``)."""
    out: list[dict[str, Any]] = []
    for depth, node in _rows(report):
        sub = report.subtotals(node)
        out.append({"kind": "component", "path": node.path, "name": node.name, "type": node.kind, "shape": None,
                    "dtype": None, "role": None, "params": sub.params, "stored_bytes": sub.stored_bytes,
                    "dense_bytes": sub.dense_bytes, "depth": depth})
        for tensor in node.tensors:
            record = tensor.to_dict()
            out.append({"kind": "tensor", "path": record.get("path"), "name": str(record.get("path", "")).split(".")[-1],
                        "type": node.kind, "shape": tuple(record.get("shape") or ()), "dtype": record.get("dtype"),
                        "role": record.get("role"), "params": record.get("numel"),
                        "stored_bytes": record.get("stored_bytes"), "dense_bytes": record.get("dense_bytes"),
                        "depth": depth + 1})
    return out


def to_frame(report: "Report") -> Any:
    """A pandas DataFrame of :func:`frame_rows` (needs pandas)."""
    pandas = require("pandas", "build a DataFrame from a report")
    return pandas.DataFrame(frame_rows(report), columns=list(FRAME_COLUMNS))


def html_table(headers: list[str], rows: list[list[Any]], caption: str = "") -> str:
    """A plain HTML table of already-formatted cells (shrink and sweep results use it in notebooks)."""
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape('–' if c is None else str(c))}</td>" for c in row) + "</tr>"
                   for row in rows)
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

"""How reports, sweep results and shrink runs show themselves in Jupyter and pandas.

``Report._repr_html_`` gives notebooks a table (one row per component, its subtree's parameters
and bytes, IEC units); ``Report.to_frame`` one row per component and per tensor as a DataFrame,
raw integers like the JSON; ``SweepResult`` and ``ShrinkRun`` show their trials and their
before/after rows. The data models' hooks look this module up by name
(``importlib.import_module("modelsize.render.notebook")``), so ``core/``, ``factors/`` and
``shrink/`` never import ``render/``. Standard library only (pandas loaded through ``require``).
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from ..core.optional import require
from ..core.report import Report
from ..core.tree import Component
from ..core.units import format_bytes, format_count

if TYPE_CHECKING:  # pragma: no cover - showing a Report loads neither sweeps nor shrink
    from ..factors.results import SweepResult
    from ..shrink.result import ShrinkRun, Side

#: rows shown in a notebook before the table says how many were left out
MAX_HTML_ROWS = 60
FRAME_COLUMNS = ("kind", "path", "name", "type", "shape", "dtype", "role", "params", "stored_bytes", "dense_bytes",
                 "depth")


def _rows(report: Report) -> list[tuple[int, Component]]:
    rows: list[tuple[int, Component]] = []

    def visit(node: Component, depth: int) -> None:
        rows.append((depth, node))
        for child in node.children:
            visit(child, depth + 1)

    visit(report.root, 0)
    return rows


def report_html(report: Report) -> str:
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


def frame_rows(report: Report) -> list[dict[str, Any]]:
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


def to_frame(report: Report) -> Any:
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


def sweep_result_html(result: SweepResult) -> str:
    """The trials as a table: factors, status and the headline metrics (IEC bytes)."""
    from ..factors.results import HEADLINE_METRICS

    metrics = [m for m in HEADLINE_METRICS if any(t.metrics.get(m) is not None for t in result.trials)]

    def cell(metric: str, value: Any) -> Any:
        if value is None:
            return None
        if metric.endswith("bytes"):
            return format_bytes(value)
        return f"{value:,}" if isinstance(value, int) else f"{value:.4g}"

    rows = [[*(t.factors.get(f) for f in result.factors), t.status, *(cell(m, t.metrics.get(m)) for m in metrics)]
            for t in result.trials]
    return html_table([*result.factors, "status", *metrics], rows, caption=f"{result.name} [{result.spec_hash}]")


def shrink_run_html(run: ShrinkRun) -> str:
    """The before/after table: one row for the original and one per recipe."""

    def row(name: str, side: Side) -> list[Any]:
        latency = side.latency_ns
        return [name, format_count(side.params) if side.params is not None else None,
                format_bytes(side.stored_bytes) if side.stored_bytes is not None else None,
                format_bytes(side.file_bytes) if side.file_bytes is not None else None,
                f"{side.score:.4f}" if side.score is not None else None,
                f"{latency / 1e6:.3g} ms" if latency is not None else None]

    rows = [row("original", run.results[0].before)] if run.results else []
    rows += [row(r.recipe, r.after) for r in run.results]
    return html_table(["model", "params", "in memory", "saved file", "score", "latency (median)"], rows)

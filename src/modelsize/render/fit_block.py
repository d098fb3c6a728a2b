"""The ``fit`` section ("will it fit?") as a table: one row per way to run the model, with margins.

A pure function of the report; sizes follow the table's unit base, the margin is signed
(negative: that many bytes short).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import RenderableType
from rich.text import Text

from ..core import units
from ..core.report import Report
from .whole_cells import Column, fitted


#: the fit table's columns: full header, the short one used when the full ones do not fit
COLUMNS = (Column("Option", "Option", "left"), Column("Bits/weight", "Bits"), Column("Weights", "Weights"),
           Column("Train state", "State"), Column("KV cache", "KV"), Column("Activations", "Activ."),
           Column("Overhead", "Overh."), Column("Total", "Total"), Column("Fits", "Fits", "center"),
           Column("Margin", "Margin"))


def _fit_data(report: Report) -> Mapping[str, Any] | None:
    data = report.sections.get("fit")
    return data if isinstance(data, Mapping) and isinstance(data.get("options"), list) else None


def _table(data: Mapping[str, Any], base: units.Base) -> tuple[str, list[list[str]], list[str]]:
    """The title, the rows as text and the notes: what the terminal and the HTML page both show."""
    training = bool(data.get("training"))
    title = (f"Will it fit in {units.format_bytes(data['budget_bytes'], base)}? "
             f"({'training' if training else 'inference'}, {data['seq_len']:,} tokens × batch {data['batch']})")
    rows = []
    for row in data["options"]:
        bits = row.get("bits_per_weight")
        rows.append([
            str(row["name"]),
            f"{bits:.2f}" if isinstance(bits, (int, float)) else "n/a",
            units.format_bytes(row["weights_bytes"], base),
            units.format_bytes(row["training_state_bytes"], base) if training else "—",
            units.format_bytes(row["kv_cache_bytes"], base) if not training else "—",
            units.format_bytes(row["activation_bytes"], base),
            units.format_bytes(row["overhead_bytes"], base),
            units.format_bytes(row["total_bytes"], base),
            "yes" if row.get("fits") else "no",
            _signed(row["margin_bytes"], base),
        ])
    return title, rows, [*data.get("assumptions", []), *data.get("notes", [])]


def renderables(report: Report, base: units.Base, width: int = 100) -> list[RenderableType]:
    """The fit table of ``report`` (none when it has no fit section), every number and verdict whole
    at ``width`` columns (:func:`.whole_cells.fitted`: empty columns dropped, headers and units
    shortened, then stacked)."""
    data = _fit_data(report)
    if data is None:
        return []
    title, cells, notes = _table(data, base)
    rows = []
    for row in cells:
        styled = [Text(cell) for cell in row]
        styled[7].stylize("bold")
        styled[8].stylize("green" if row[8] == "yes" else "red")
        rows.append(styled)
    lines = Text()
    for i, line in enumerate(notes):
        lines.append(("\n" if i else "") + f"• {line}", style="dim")
    return [*fitted(COLUMNS, rows, width, title), lines]


def html(report: Report, base: units.Base) -> str:
    """The same table for the HTML report ("" when the report has no fit section)."""
    import html as _html

    data = _fit_data(report)
    if data is None:
        return ""
    e = _html.escape
    title, cells, notes = _table(data, base)
    left = ' class="l"'
    head = "".join(f"<th{left if j == 0 else ''}>{e(c.name)}</th>" for j, c in enumerate(COLUMNS))
    body = "".join("<tr>" + "".join(f"<td{left if j == 0 else ''}>{e(cell)}</td>" for j, cell in enumerate(row))
                   + "</tr>" for row in cells)
    return "\n".join([f"<h2>{e(title)}</h2>",
                       f'<table class="fit-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>',
                       '<ul class="notes">' + "".join(f"<li>{e(n)}</li>" for n in notes) + "</ul>"])


def _signed(n: Any, base: units.Base) -> str:
    if not isinstance(n, int):
        return "n/a"
    return ("+" if n >= 0 else "-") + units.format_bytes(abs(n), base)

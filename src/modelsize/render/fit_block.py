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


def renderables(report: Report, base: units.Base, width: int = 100) -> list[RenderableType]:
    """The fit table of ``report`` (none when it has no fit section), every number and verdict whole
    at ``width`` columns (:func:`.whole_cells.fitted`: empty columns dropped, headers and units
    shortened, then stacked)."""
    data = report.sections.get("fit")
    if not isinstance(data, Mapping) or not isinstance(data.get("options"), list):
        return []
    what = "training" if data.get("training") else "inference"
    title = (f"Will it fit in {units.format_bytes(data['budget_bytes'], base)}? ({what}, "
             f"{data['seq_len']:,} tokens × batch {data['batch']})")
    training = bool(data.get("training"))
    rows = []
    for row in data["options"]:
        bits = row.get("bits_per_weight")
        fits = bool(row.get("fits"))
        rows.append([
            Text(str(row["name"])),
            Text(f"{bits:.2f}" if isinstance(bits, (int, float)) else "n/a"),
            Text(units.format_bytes(row["weights_bytes"], base)),
            Text(units.format_bytes(row["training_state_bytes"], base) if training else "—"),
            Text(units.format_bytes(row["kv_cache_bytes"], base) if not training else "—"),
            Text(units.format_bytes(row["activation_bytes"], base)),
            Text(units.format_bytes(row["overhead_bytes"], base)),
            Text(units.format_bytes(row["total_bytes"], base), style="bold"),
            Text("yes" if fits else "no", style="green" if fits else "red"),
            Text(_signed(row["margin_bytes"], base)),
        ])
    lines = Text()
    for i, line in enumerate([*data.get("assumptions", []), *data.get("notes", [])]):
        lines.append(("\n" if i else "") + f"• {line}", style="dim")
    return [*fitted(COLUMNS, rows, width, title), lines]


def _signed(n: Any, base: units.Base) -> str:
    if not isinstance(n, int):
        return "n/a"
    return ("+" if n >= 0 else "-") + units.format_bytes(abs(n), base)

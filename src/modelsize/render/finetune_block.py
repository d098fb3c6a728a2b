"""The fine-tuning plan (``fit`` section with ``planner: finetune``) as tables: terminal and HTML.

Two tables that each fit 80 columns: the methods side by side (full / LoRA / QLoRA × gradient
checkpointing: trainable parameters, weights, training state, activations, total, fits, the
smallest GPU count that fits), then where each row's training state goes (NF4 base, gradients,
optimizer, communication buffers, overhead, margin). Every size is per GPU. Pure functions of the
report; the HTML report shows the same rows (:func:`html`).
"""

from __future__ import annotations

import html as _html
from collections.abc import Mapping
from typing import Any

from ..core import units
from ..core.report import Report

MAIN = ("Setup", "Trains", "Weights", "State", "Activ.", "Total", "Fits", "GPUs")
DETAIL = ("Setup", "NF4 base", "Gradients", "Optimizer", "Comm", "Overhead", "Margin")
_PRECISION = 1  #: one decimal: every cell of both tables fits 80 columns


def plan_section(report: Report) -> Mapping[str, Any] | None:
    """The report's fit section when the fine-tuning planner made it."""
    data = report.sections.get("fit")
    if isinstance(data, Mapping) and data.get("planner") == "finetune" and isinstance(data.get("options"), list):
        return data
    return None


def _size(n: Any, base: units.Base) -> str:
    return units.format_bytes(n, base, _PRECISION) if isinstance(n, int) else "n/a"


def _signed(n: Any, base: units.Base) -> str:
    if not isinstance(n, int):
        return "n/a"
    return ("+" if n >= 0 else "-") + units.format_bytes(abs(n), base, _PRECISION)


def _count(n: int) -> str:
    for step, suffix in ((10**9, " B"), (10**6, " M"), (10**3, " k")):
        if n >= step:
            return f"{n / step:.3g}{suffix}" if n / step < 1000 else f"{n / step:,.0f}{suffix}"
    return str(n)


def _fits(row: Mapping[str, Any]) -> str:
    return {True: "yes", False: "no", None: "?"}[row.get("fits")]


def _gpus(row: Mapping[str, Any], data: Mapping[str, Any]) -> str:
    n = row.get("min_gpus")
    if n is None:
        return "—" if data.get("budget_bytes") is None or row.get("activation_bytes") is None else ">1024"
    return str(n)


def title(data: Mapping[str, Any], base: units.Base) -> str:
    gpus = data.get("gpus", 1)
    shard = f", {data['shard']}" if gpus > 1 else ""
    budget = _size(data.get("budget_bytes"), base)
    inputs = str(data.get("inputs") or "")
    shape = (f"batch {data['batch']} × {data['seq_len']:,} tokens" if not inputs or inputs.startswith("input_ids")
             else inputs.split(" (")[0])
    return (f"Will fine-tuning fit in {budget} per GPU? ({gpus} GPU{'s' if gpus > 1 else ''}{shard}, "
            f"{data['optimizer']}, {data['precision']}, {shape})")


def rows(data: Mapping[str, Any], base: units.Base) -> tuple[list[list[str]], list[list[str]]]:
    """The cells of both tables; the setup asked for is marked ``*``."""
    main, detail = [], []
    for r in data["options"]:
        name = str(r["name"]) + ("*" if r.get("selected") else "")
        main.append([name, _count(int(r["trainable_params"])), _size(r["weights_bytes"], base),
                     _size(r["training_state_bytes"], base), _size(r.get("activation_bytes"), base),
                     _size(r["total_bytes"], base), _fits(r), _gpus(r, data)])
        detail.append([name, _size(r["quantized_base_bytes"], base) if r["quantized_base_bytes"] else "—",
                       _size(r["gradient_bytes"], base), _size(r["optimizer_bytes"], base),
                       _size(r["comm_bytes"], base), _size(r["overhead_bytes"], base), _signed(r.get("margin_bytes"), base)])
    return main, detail


def footnotes(data: Mapping[str, Any]) -> list[str]:
    shard = next((r.get("min_gpus_shard") for r in data["options"]), "zero3")
    lines = [f"* the setup asked for. Trains: trainable parameters. State: gradients alive at the step's peak + "
             f"optimizer state and master weights. GPUs: the fewest that fit this per-GPU batch under {shard}. "
             f"LoRA rank {data['rank']} on {data['lora_modules']} modules ({_targets(data)}).",
             f"Source: {data.get('source')}; traced inputs: {data.get('inputs') or 'none'}."]
    return lines + [*data.get("assumptions", []), *data.get("notes", [])]


def _targets(data: Mapping[str, Any]) -> str:
    t = data.get("target_modules")
    return t if isinstance(t, str) else ",".join(t or [])


def renderables(report: Report, base: units.Base) -> list[Any]:
    """The two rich tables and the notes (none when the report has no plan)."""
    data = plan_section(report)
    if data is None:
        return []
    from rich import box
    from rich.table import Table
    from rich.text import Text

    main, detail = rows(data, base)
    out: list[Any] = []
    for i, (header, cells) in enumerate(((MAIN, main), (DETAIL, detail))):
        grid = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold", padding=(0, 0, 0, 1),
                     title=title(data, base) if i == 0 else "Training state and margin, per GPU",
                     title_justify="left", title_style="bold")
        for j, name in enumerate(header):
            grid.add_column(name, justify="left" if j == 0 else "right", no_wrap=True)
        for r, row in zip(data["options"], cells):
            styled = [Text(c) for c in row]
            if i == 0:
                styled[6].stylize("green" if r.get("fits") else "red")
            grid.add_row(*styled, style="bold" if r.get("selected") else None)
        out.append(grid)
    lines = Text()
    for k, line in enumerate(footnotes(data)):
        lines.append(("\n" if k else "") + f"• {line}", style="dim")
    out.append(lines)
    return out


def html(report: Report, base: units.Base) -> str:
    """The same tables for the HTML report ("" when the report has no plan)."""
    data = plan_section(report)
    if data is None:
        return ""
    e = _html.escape
    main, detail = rows(data, base)
    parts = [f"<h2>{e(title(data, base))}</h2>"]
    left = ' class="l"'
    for header, cells, cls in ((MAIN, main, "finetune-table"), (DETAIL, detail, "finetune-detail")):
        head = "".join(f"<th{left if j == 0 else ''}>{e(h)}</th>" for j, h in enumerate(header))
        body = "".join("<tr>" + "".join(f"<td{left if j == 0 else ''}>{e(c)}</td>" for j, c in enumerate(r))
                       + "</tr>" for r in cells)
        parts.append(f"<table class=\"{cls}\"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    parts.append("<ul class=\"notes\">" + "".join(f"<li>{e(n)}</li>" for n in footnotes(data)) + "</ul>")
    return "\n".join(parts)

"""Text, CSV and plot renderings of a :class:`~modelsize.shrink.budget.search.BudgetResult` (pure
functions: no printing).

The plot is a standalone HTML page with an inline SVG (no dependency, opens anywhere), or a
PNG through matplotlib when the path ends in ``.png``.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from ..core import units
from ..core.optional import require


def _score(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}"


def table(result: Any, base: units.Base = "iec") -> str:
    """The chosen model, the frontier, the per-layer allocation and the search's cost."""
    o, c = result.original, result.chosen
    lines = []
    goal = []
    if result.budget_bytes is not None:
        goal.append(f"budget {units.format_bytes(result.budget_bytes, base)} ({result.budget_bytes:,} B)")
    if result.goal.max_drop is not None:
        goal.append(f"max drop {result.goal.max_drop:g} points")
    lines.append(f"Goal: {', '.join(goal)}. Metric: {result.metric} (×100); search on validation, "
                 "numbers on test.")
    lines.append(f"Original: {units.format_bytes(o.file_bytes, base)} ({o.format}), test {_score(o.test_score)}, "
                 f"validation {_score(o.val_score)}")
    if c is not None:
        ratio = f"{o.file_bytes / c.file_bytes:.1f}×" if o.file_bytes and c.file_bytes else "n/a"
        lines.append(f"Chosen:   {c.label}")
        lines.append(f"          {units.format_bytes(c.file_bytes, base)} ({c.file_bytes:,} B, {ratio} smaller, "
                     f"{c.format}), test {_score(c.test_score)}, validation {_score(c.val_score)}")
    lines.append("")
    lines.append("Pareto frontier (bytes of the written file vs validation score):")
    head = f"  {'file':>12} {'bytes':>10} {'val':>7} {'test':>7}  candidate"
    lines.append(head)
    for f in result.frontier:
        mark = "*" if c is not None and f is c else " "
        lines.append(f"{mark} {units.format_bytes(f.file_bytes, base):>12} {f.file_bytes:>10,} {_score(f.val_score):>7} "
                     f"{_score(f.test_score):>7}  {f.label}")
    if c is not None and c.allocation:
        lines.append("")
        lines.append("Per-layer allocation of the chosen model:")
        lines.append(f"  {'layer':<20} {'bits':>4} {'group':>5} {'sparsity':>8} {'weights':>9} {'bytes':>9}")
        for row in c.allocation:
            lines.append(f"  {row['layer'] or '(model)':<20} {row['bits']:>4} {row['group'] or '-':>5} "
                         f"{100 * row['sparsity']:>7.1f}% {row['weights']:>9,} {row['bytes']:>9,}")
    lines.append("")
    lines.append(f"Search cost: {len(result.candidates)} candidates written, reloaded and scored in "
                 f"{result.seconds:.1f} s.")
    lines.extend(f"Note: {n}" for n in result.notes)
    return "\n".join(lines) + "\n"


def csv_text(result: Any) -> str:
    """One row per candidate: label, kind, bytes, scores, on the frontier, chosen."""
    import csv
    import io

    frontier = {id(f) for f in result.frontier}
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["label", "kind", "file_bytes", "format", "val_score", "test_score", "frontier", "chosen"])
    for c in [result.original, *result.candidates]:
        writer.writerow([c.label, c.kind, c.file_bytes, c.format, c.val_score, c.test_score,
                         id(c) in frontier, c is result.chosen])
    return buf.getvalue()


def _points(result: Any) -> list[tuple[float, float, str, str]]:
    frontier = {id(f) for f in result.frontier}
    out = []
    for c in [result.original, *result.candidates]:
        if c.file_bytes is None or c.test_score is None:
            continue
        kind = "chosen" if c is result.chosen else ("frontier" if id(c) in frontier else c.kind)
        out.append((float(c.file_bytes), 100 * float(c.test_score), kind, c.label))
    return out


COLORS = {"chosen": "#d62728", "frontier": "#1f77b4", "mixed": "#9ecae1", "recipe": "#ff7f0e", "original": "#2ca02c"}


def html_plot(result: Any) -> str:
    """A standalone HTML page: test score vs file bytes (log scale), frontier joined."""
    import math

    pts = _points(result)
    if not pts:
        return "<!doctype html><p>No candidate to plot.</p>"
    w, h, pad = 760, 440, 60
    xs = [math.log10(p[0]) for p in pts]
    ys = [p[1] for p in pts]
    x0, x1 = min(xs), max(xs) + 1e-9
    y0, y1 = min(ys) - 1, max(ys) + 1

    def X(v: float) -> float:
        return pad + (math.log10(v) - x0) / (x1 - x0) * (w - 2 * pad)

    def Y(v: float) -> float:
        return h - pad - (v - y0) / (y1 - y0) * (h - 2 * pad)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">',
             f'<line x1="{pad}" y1="{h - pad}" x2="{w - pad}" y2="{h - pad}" stroke="#333"/>',
             f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{h - pad}" stroke="#333"/>',
             f'<text x="{w / 2}" y="{h - 15}" text-anchor="middle">file bytes (log scale)</text>',
             f'<text x="15" y="{h / 2}" transform="rotate(-90 15 {h / 2})" text-anchor="middle">'
             f'test {html.escape(result.metric)} (%)</text>']
    for decade in range(math.floor(x0), math.ceil(x1) + 1):
        for mult in (1, 2, 5):
            v = mult * 10**decade
            if x0 <= math.log10(v) <= x1:
                parts.append(f'<text x="{X(v):.1f}" y="{h - pad + 15}" text-anchor="middle">'
                             f'{html.escape(units.format_bytes(v))}</text>')
    for i in range(6):
        v = y0 + i * (y1 - y0) / 5
        parts.append(f'<text x="{pad - 5}" y="{Y(v) + 4:.1f}" text-anchor="end">{v:.1f}</text>')
    line = sorted((X(f.file_bytes), Y(100 * f.test_score)) for f in result.frontier if f.test_score is not None)
    if len(line) > 1:
        parts.append('<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="'
                     + " ".join(f"{a:.1f},{b:.1f}" for a, b in line) + '"/>')
    for bx, sy, kind, label in pts:
        parts.append(f'<circle cx="{X(bx):.1f}" cy="{Y(sy):.1f}" r="{6 if kind == "chosen" else 4}" '
                     f'fill="{COLORS.get(kind, "#999")}"><title>{html.escape(label)}: {int(bx):,} B, '
                     f'{sy:.2f}</title></circle>')
    if result.budget_bytes:
        bx = X(result.budget_bytes) if x0 <= math.log10(result.budget_bytes) <= x1 else None
        if bx is not None:
            parts.append(f'<line x1="{bx:.1f}" y1="{pad}" x2="{bx:.1f}" y2="{h - pad}" stroke="#d62728" '
                         'stroke-dasharray="4 3"/>')
    legend = "".join(f'<span style="color:{c}">● {k}</span> &nbsp; ' for k, c in COLORS.items())
    return ("<!doctype html><meta charset='utf-8'><title>modelsize budget frontier</title>"
            f"<h3>Pareto frontier: bytes on disk vs test {html.escape(result.metric)}</h3>"
            + "".join(parts) + "</svg>" + f"<p>{legend} (dashed line: the budget)</p>")


def write_plot(result: Any, path: str | Path) -> Path:
    """Write the plot: ``.png`` through matplotlib, anything else as HTML."""
    path = Path(path)
    if path.suffix.lower() == ".png":
        require("matplotlib", "draw PNG plots")
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fig = Figure(figsize=(7, 4.5))  # its own Agg canvas: pyplot's backend and figures are left alone
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        for bx, sy, kind, _label in _points(result):
            ax.scatter(bx, sy, color=COLORS.get(kind, "#999"), s=40 if kind == "chosen" else 16, label=kind)
        line = sorted((f.file_bytes, 100 * f.test_score) for f in result.frontier if f.test_score is not None)
        if line:
            ax.plot(*zip(*line), color="#1f77b4", linewidth=1)
        if result.budget_bytes:
            ax.axvline(result.budget_bytes, color="#d62728", linestyle="--", linewidth=1)
        ax.set_xscale("log")
        ax.set_xlabel("file bytes")
        ax.set_ylabel(f"test {result.metric} (%)")
        handles, labels = ax.get_legend_handles_labels()
        unique = dict(zip(labels, handles))
        ax.legend(unique.values(), unique.keys(), fontsize=8)
        fig.tight_layout()
        fig.savefig(path, dpi=100)
    else:
        path.write_text(html_plot(result), encoding="utf-8")
    return path

"""Shrink results as an HTML page: size vs accuracy of every recipe, the Pareto frontier marked.

:func:`shrink_html` takes what the shrink runner already returns (a ``ShrinkRun``, a list of
``ShrinkResult`` or their dicts). A recipe is on the frontier when no other model (the original
included) is at most as large *and* at least as accurate, with one of the two strictly better.
Size is the primary saved file's bytes (what ships), or the tensors' bytes when no file was written.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

from ..core.units import Base, format_bytes
from .html_page import cards, e, page, table
from .shrink_block import results_of

W, H, LEFT, RIGHT, TOP, BOTTOM = 900, 460, 80, 30, 20, 50


@dataclass(frozen=True)
class Point:
    """One model on the plot."""

    label: str
    size: int
    score: float
    original: bool = False


def points(run: Any) -> tuple[list[Point], list[str]]:
    """Plotted points (original first) and the recipes left out, with why."""
    before, results = results_of(run)
    out: list[Point] = []
    skipped: list[str] = []
    if before is not None:
        size = before.get("file_bytes") or before.get("stored_bytes")
        if size is not None and before.get("score") is not None:
            out.append(Point("original", int(size), float(before["score"]), True))
    for r in results:
        after = r.get("after") or {}
        size = after.get("file_bytes") or after.get("stored_bytes")
        if r.get("status") == "failed":
            skipped.append(f"{r.get('recipe')}: failed ({r.get('error')})")
            continue
        if size is None or after.get("score") is None:
            skipped.append(f"{r.get('recipe')}: {'no size' if size is None else 'no score'} measured")
            continue
        out.append(Point(str(r.get("recipe")), int(size), float(after["score"])))
    return out, skipped


def pareto(pts: Sequence[Point]) -> list[Point]:
    """Points no other point dominates (smaller-or-equal size and higher-or-equal score, one strictly)."""
    front = []
    for p in pts:
        dominated = any(q.size <= p.size and q.score >= p.score and (q.size < p.size or q.score > p.score)
                        for q in pts)
        if not dominated:
            front.append(p)
    return sorted(front, key=lambda p: p.size)


def _scale(values: list[float], lo_px: float, hi_px: float, log: bool) -> Any:
    lo, hi = min(values), max(values)
    if log:
        lo, hi = math.log10(lo), math.log10(hi)
    if hi == lo:
        lo, hi = lo - 1, hi + 1
    pad = (hi - lo) * 0.08
    lo, hi = lo - pad, hi + pad

    def f(v: float) -> float:
        x = math.log10(v) if log else v
        return lo_px + (x - lo) / (hi - lo) * (hi_px - lo_px)
    return f, (lo, hi)


def nice_ticks(lo: float, hi: float, count: int = 5) -> tuple[list[float], float]:
    """Round tick values (steps of 1, 2, 2.5 or 5 × 10ᵏ) inside ``[lo, hi]``, at most ``count``+1, and the step."""
    span = hi - lo
    if not span > 0:
        return [lo], 1.0
    magnitude = 10 ** math.floor(math.log10(span / count))
    for m in (1, 2, 2.5, 5, 10, 20):  # the finest round step giving at most count + 1 ticks
        step = m * magnitude
        first = math.ceil(lo / step - 1e-9)
        ticks = [round(k * step, 12) for k in range(first, math.floor(hi / step + 1e-9) + 1)]
        if len(ticks) <= count + 1:
            break
    return ticks, step


def _decimals(step: float) -> int:
    return max(0, -math.floor(math.log10(step) + 1e-9) + (1 if round(step / 10 ** math.floor(math.log10(step)), 6)
                                                          == 2.5 else 0))


def percent_ticks(lo: float, hi: float) -> list[tuple[float, str]]:
    """Score ticks: round percentages, as many decimals as the step needs, so no two labels are equal."""
    ticks, step = nice_ticks(lo, hi)
    return [(v, f"{v:.{_decimals(step)}f}%") for v in ticks]


def byte_ticks(lo: float, hi: float, log: bool, base: Base) -> list[tuple[float, str]]:
    """Size ticks at round values of one unit (``16 KiB``, ``32 KiB`` …; on a log axis 1-2-5 steps)."""
    factor = 1024.0 if base == "iec" else 1000.0
    names = ("B", "KiB", "MiB", "GiB", "TiB") if base == "iec" else ("B", "kB", "MB", "GB", "TB")
    lo = max(lo, 1.0)
    power = min(len(names) - 1, max(0, int(math.log(max(hi, 1.0), factor))))
    unit = factor ** power
    if log:
        values = [m * 10 ** k * unit for k in range(-6, 8) for m in (1, 2, 5)]
        ticks = [v for v in values if lo <= v <= hi]
        if len(ticks) > 6:
            ticks = ticks[:: math.ceil(len(ticks) / 6)]
        step = min((b - a for a, b in zip(ticks, ticks[1:])), default=unit) / unit
    else:
        scaled, step = nice_ticks(lo / unit, hi / unit)
        ticks = [v * unit for v in scaled]
    digits = 0 if log else _decimals(step)
    return [(v, f"{v / unit:.{digits}f} {names[power]}" if digits else f"{v / unit:g} {names[power]}") for v in ticks]


def scatter_svg(pts: Sequence[Point], front: Sequence[Point], base: Base) -> str:
    sizes = [float(p.size) for p in pts]
    log = max(sizes) / max(min(sizes), 1) > 8
    fx, (xlo, xhi) = _scale(sizes, LEFT, W - RIGHT, log)
    fy, (ylo, yhi) = _scale([100 * p.score for p in pts], H - BOTTOM, TOP, False)
    out = [f'<svg id="scatter" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="100%" '
           'role="img" aria-label="size versus score">',
           f'<rect x="{LEFT}" y="{TOP}" width="{W - LEFT - RIGHT}" height="{H - TOP - BOTTOM}" fill="#fff" stroke="#d0d7de"/>']
    for v, text in percent_ticks(ylo, yhi):
        y = fy(v)
        out.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eaeef2"/>'
                   f'<text x="{LEFT - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">{text}</text>')
    for v, text in byte_ticks(10 ** xlo if log else xlo, 10 ** xhi if log else xhi, log, base):
        x = fx(v)
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{H - BOTTOM}" stroke="#eaeef2"/>'
                   f'<text x="{x:.1f}" y="{H - BOTTOM + 16}" font-size="11" text-anchor="middle">{e(text)}</text>')
    out.append(f'<text x="{(LEFT + W - RIGHT) / 2}" y="{H - 8}" font-size="12" text-anchor="middle">size of the saved '
               f'file{" (log scale)" if log else ""}</text><text x="16" y="{(TOP + H - BOTTOM) / 2}" font-size="12" '
               f'text-anchor="middle" transform="rotate(-90 16 {(TOP + H - BOTTOM) / 2})">score</text>')
    if len(front) > 1:
        coords = " ".join(f"{fx(p.size):.1f},{fy(100 * p.score):.1f}" for p in front)
        out.append(f'<polyline id="pareto-line" points="{coords}" fill="none" stroke="#bf3989" stroke-width="2" '
                   'stroke-dasharray="6 3"/>')
    on_front = {id(p) for p in front}
    for p in pts:
        x, y = fx(p.size), fy(100 * p.score)
        fill = "#24292f" if p.original else ("#bf3989" if id(p) in on_front else "#8c959f")
        tip = f"{p.label}\n{p.size:,} bytes ({format_bytes(p.size, base)})\nscore {100 * p.score:.2f}%"
        tip += "\non the Pareto frontier" if id(p) in on_front else ""
        out.append(f'<g class="pt" data-recipe="{e(p.label)}" data-bytes="{p.size}" data-score="{p.score}" '
                   f'data-pareto="{1 if id(p) in on_front else 0}" data-tip="{e(tip)}">'
                   f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{7 if id(p) in on_front else 5}" fill="{fill}" '
                   f'stroke="#fff" stroke-width="1.5"/><text x="{x + 9:.1f}" y="{y - 7:.1f}" font-size="11">'
                   f'{e(p.label)}</text></g>')
    out.append("</svg>")
    return "".join(out)


def shrink_html(run: Any, base: Base = "iec", title: str | None = None) -> str:
    """The results page of one shrink run."""
    pts, skipped = points(run)
    front = pareto(pts)
    _, results = results_of(run)
    metric = (results[0].get("metric") if results else None) or "score"
    name = title or "Shrink results"
    body = [f"<h1>{e(name)} <span class=\"sub\">size vs {e(metric)}</span></h1>"]
    if pts:
        original = next((p for p in pts if p.original), None)
        best = min(front, key=lambda p: p.size)
        body.append(cards([
            (format_bytes(original.size, base) if original else "n/a", "original size",
             f"{original.size:,} bytes" if original else ""),
            (str(len(results)), "recipes", ", ".join(str(r.get("recipe")) for r in results)),
            (str(len(front)), "on the Pareto frontier", ", ".join(p.label for p in front)),
            (format_bytes(best.size, base), f"smallest on the frontier ({best.label})", f"{best.size:,} bytes")]))
        body += ["<h2>Size vs score</h2>", "<div class=\"sub\">Pink: the Pareto frontier (no other model is both "
                 "smaller and more accurate). Hover a point for exact numbers.</div>", scatter_svg(pts, front, base)]
    else:
        body.append("<p>No recipe has both a size and a score to plot.</p>")
    on_front = {p.label for p in front}
    rows = []
    for p in pts:
        base_score = next((q.score for q in pts if q.original), None)
        change = f"{100 * (p.score - base_score):+.2f}" if base_score is not None and not p.original else ""
        rows.append([p.label, format_bytes(p.size, base), f"{p.size:,}", f"{100 * p.score:.2f}%", change,
                     "yes" if p.label in on_front else ""])
    body += ["<h2>Models</h2>", table(["Model", "Size", "Exact bytes", "Score", "Δ points", "Pareto"], rows,
                                      cls="shrink-table")]
    if skipped:
        body += ["<h2>Not plotted</h2>", "<ul class=\"notes\">" + "".join(f"<li>{e(s)}</li>" for s in skipped) + "</ul>"]
    data = {"kind": "shrink", "metric": metric,
            "points": [{"label": p.label, "bytes": p.size, "score": p.score, "original": p.original,
                        "pareto": p.label in on_front} for p in pts]}
    return page(name, "\n".join(body), data)

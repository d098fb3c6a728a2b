"""A treemap drawn as plain SVG: squarified layout computed here, so the page needs no library.

:class:`Node` is the generic box (label, area value, fill colours, hover text, data attributes);
the report, diff and shrink pages build nodes their own way and share :func:`svg`. Layout is
the squarified algorithm of Bruls, Huizing and van Wijk (2000): rows of boxes whose aspect
ratios stay near 1, so small components remain visible and labels fit.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Mapping

WIDTH, HEIGHT = 1200, 680
HEADER = 15  #: px of label bar on a box that has children
PAD = 2


@dataclass
class Node:
    """One box. ``value`` is its area (bytes); children's values add up to at most the parent's."""

    label: str
    path: str
    value: float
    fills: Mapping[str, str]  #: colour mode ("dtype", "role", "growth") -> CSS colour
    tip: str  #: hover text, exact numbers
    data: Mapping[str, str | int | float | None] = field(default_factory=dict)  #: data-* attributes
    children: list["Node"] = field(default_factory=list)
    top: bool = False  #: a top-level component (tests and the legend look these up)

    def count(self) -> int:
        return 1 + sum(c.count() for c in self.children)


Rect = tuple[float, float, float, float]


def squarify(values: list[float], rect: Rect) -> list[Rect]:
    """Boxes for ``values`` (sorted largest first by the caller) filling ``rect`` in proportion."""
    x, y, w, h = rect
    total = sum(values)
    if total <= 0 or w <= 0 or h <= 0:
        return [(x, y, 0.0, 0.0) for _ in values]
    scale = w * h / total
    areas = [v * scale for v in values]
    out: list[Rect] = []
    i = 0
    while i < len(areas):
        side = min(w, h)
        row = [areas[i]]
        j = i + 1
        while j < len(areas) and _worst(row + [areas[j]], side) <= _worst(row, side):
            row.append(areas[j])
            j += 1
        row_sum = sum(row)
        if w >= h:  # lay the row as a column on the left
            col_w = row_sum / h if h else 0
            yy = y
            for a in row:
                bh = a / col_w if col_w else 0
                out.append((x, yy, col_w, bh))
                yy += bh
            x, w = x + col_w, w - col_w
        else:  # a row along the top
            row_h = row_sum / w if w else 0
            xx = x
            for a in row:
                bw = a / row_h if row_h else 0
                out.append((xx, y, bw, row_h))
                xx += bw
            y, h = y + row_h, h - row_h
        i = j
    return out


def _worst(row: list[float], side: float) -> float:
    s = sum(row)
    if s <= 0 or side <= 0:
        return float("inf")
    return max(max(side * side * r / (s * s), (s * s) / (side * side * r)) if r > 0 else float("inf") for r in row)


def _attr(name: str, value: object) -> str:
    return f' {name}="{html.escape(str(value), quote=True)}"'


def svg(root: Node, mode: str, width: int = WIDTH, height: int = HEIGHT) -> str:
    """The treemap of ``root``'s children as an ``<svg>`` element, coloured by ``mode``."""
    parts = [f'<svg id="treemap" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'width="100%" role="img" aria-label="treemap of stored bytes">']
    _children(root, (0.0, 0.0, float(width), float(height)), mode, parts, 1)
    parts.append("</svg>")
    return "".join(parts)


def _children(node: Node, rect: Rect, mode: str, parts: list[str], depth: int) -> None:
    items = sorted((c for c in node.children if c.value > 0), key=lambda c: -c.value)
    for child, box in zip(items, squarify([c.value for c in items], rect)):
        _box(child, box, mode, parts, depth)


def _box(node: Node, box: Rect, mode: str, parts: list[str], depth: int) -> None:
    x, y, w, h = box
    cls = "tm-node tm-top" if node.top else "tm-node"
    attrs = _attr("class", cls) + _attr("data-path", node.path) + _attr("data-label", node.label)
    attrs += _attr("data-depth", depth)
    for key, value in node.data.items():
        if value is not None:
            attrs += _attr(f"data-{key}", value)
    for key, value in node.fills.items():
        attrs += _attr(f"data-fill-{key}", value)
    parts.append(f"<g{attrs}><title>{html.escape(node.tip)}</title>")
    fill = node.fills.get(mode, "#ccc")
    parts.append(f'<rect x="{x:.2f}" y="{y:.2f}" width="{max(w, 0):.2f}" height="{max(h, 0):.2f}" '
                 f'fill="{fill}" stroke="#fff" stroke-width="{1 if depth > 1 else 1.5}"/>')
    has_kids = any(c.value > 0 for c in node.children)
    fits = w > 28 and h > 13
    font = 11 if depth == 1 else 10
    if node.top or fits:
        # top components always carry their label in the DOM; it is hidden when the box is too small
        max_chars = max(int((w - 6) / (font * 0.6)), 0)
        text = node.label if len(node.label) <= max_chars else node.label[: max(max_chars - 1, 0)] + "…"
        hidden = "" if fits and text else ' visibility="hidden"'
        parts.append(f'<text class="tm-label" x="{x + 3:.2f}" y="{y + 11:.2f}" font-size="{font}"{hidden}'
                     f'{_attr("data-full", node.label)}>{html.escape(text if fits else node.label)}</text>')
    if has_kids and w > 2 * PAD + 4 and h > HEADER + PAD + 4:
        inner = (x + PAD, y + HEADER, w - 2 * PAD, h - HEADER - PAD)
        _children(node, inner, mode, parts, depth + 1)
    parts.append("</g>")

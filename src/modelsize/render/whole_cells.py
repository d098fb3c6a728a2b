"""Tables whose numbers and verdicts are never cut, at any terminal width.

rich shrinks columns that do not fit and ends them with "…": ``128.4…`` for a size, ``y…`` for
"yes". A number cut that way is worse than no number. :func:`fitted` lays a table out in steps
until every cell is whole, each step only where the one before was not enough:

1. drop the columns that are empty for every row (``—`` everywhere, e.g. training state on an
   inference run);
2. shorten the headers (``Bits/weight`` → ``Bits``, ``Activations`` → ``Activ.``);
3. abbreviate the units in the cells (``12.55 GiB`` → ``12.55Gi``, ``322.12 MiB`` → ``322.12Mi``);
4. stack: the columns after the first are split into several tables, each repeating the first
   (label) column, so each fits the width.

Only when stacked may the first (label) column be shortened, in the middle
(:func:`.shorten.middle`), to a third of the width and never below :data:`MIN_LABEL` characters.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rich import box
from rich.table import Table
from rich.text import Text

from .shorten import middle

#: the narrowest the label column is squeezed to in a stacked table
MIN_LABEL = 10
#: columns between two cells (collapsed padding of 1 on each side, plus rich's separator)
GAP = 2
#: a cell that counts as empty when every row has it
EMPTY = {"", "—", "-", "n/a"}

_UNIT = re.compile(r"(\d) ([KMGTPE]?)(i?)B\b")


@dataclass(frozen=True)
class Column:
    """A column's full header, its short header, and how its cells line up."""

    name: str
    short: str = ""
    justify: str = "right"


def abbreviate_units(text: str) -> str:
    """``12.55 GiB`` → ``12.55Gi``, ``1.20 MB`` → ``1.20M``, ``800 B`` → ``800B``."""
    return _UNIT.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3)}" if m.group(2) else f"{m.group(1)}B", text)


def _widths(headers: Sequence[str], rows: Sequence[Sequence[Text]]) -> list[int]:
    return [max([len(h)] + [r[i].cell_len for r in rows]) for i, h in enumerate(headers)]


def _span(widths: Sequence[int]) -> int:
    return sum(widths) + GAP * (len(widths) - 1)


def _table(headers: Sequence[str], columns: Sequence[Column], rows: Sequence[Sequence[Text]], widths: Sequence[int],
           title: str | None) -> Table:
    grid = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True, padding=(0, 1),
                 header_style="bold", title=title, title_justify="left", title_style="bold")
    for index, (header, column) in enumerate(zip(headers, columns)):
        if index == 0:
            grid.add_column(header, justify=column.justify, no_wrap=True, overflow="ellipsis",  # type: ignore[arg-type]
                            width=widths[0])
        else:
            grid.add_column(header, justify=column.justify, no_wrap=True, min_width=widths[index])  # type: ignore[arg-type]
    for cells in rows:
        grid.add_row(*cells)
    return grid


def _drop_empty(columns: list[Column], rows: list[list[Text]]) -> tuple[list[Column], list[list[Text]]]:
    keep = [0] + [i for i in range(1, len(columns)) if any(r[i].plain.strip() not in EMPTY for r in rows)]
    return [columns[i] for i in keep], [[r[i] for i in keep] for r in rows]


def _label_fits(widths: list[int], width: int) -> bool:
    """Whether the row fits with every cell whole, the label included (recipe names are not cut
    mid-word while stacking can keep them whole)."""
    return _span(widths) <= width


def fitted(columns: Sequence[Column], rows: Sequence[Sequence[str | Text]], width: int,
           title: str | None = None) -> list[Table]:
    """One table (or a stack of tables) showing every cell whole within ``width`` columns."""
    cols = list(columns)
    cells = [[c if isinstance(c, Text) else Text(str(c)) for c in r] for r in rows]
    if not cells:
        return [_table([c.name for c in cols], cols, [], _widths([c.name for c in cols], []), title)]
    cols, cells = _drop_empty(cols, cells)
    for step in ("full", "short", "units"):
        if step == "short":
            headers = [c.short or c.name for c in cols]
        elif step == "units":
            for r in cells:
                for i in range(1, len(r)):
                    r[i] = Text(abbreviate_units(r[i].plain), style=r[i].style)
        else:
            headers = [c.name for c in cols]
        widths = _widths(headers, cells)
        if _label_fits(widths, width):
            return [_table(headers, cols, _cut_labels(cells, widths[0]), widths, title)]
    return _stacked(headers, cols, cells, widths, width, title)


def _cut_labels(rows: Sequence[Sequence[Text]], limit: int) -> list[list[Text]]:
    return [[Text(middle(r[0].plain, limit), style=r[0].style), *r[1:]] for r in rows]


def _stacked(headers: list[str], cols: list[Column], cells: list[list[Text]], widths: list[int], width: int,
             title: str | None) -> list[Table]:
    """Split the columns after the label into groups that fit beside it."""
    label = min(widths[0], max(MIN_LABEL, width // 3))
    groups: list[list[int]] = [[]]
    for i in range(1, len(cols)):
        trial = [label, *(widths[j] for j in groups[-1]), widths[i]]
        if groups[-1] and _span(trial) > width:
            groups.append([])
        groups[-1].append(i)
    tables = []
    for n, group in enumerate(groups):
        keep = [0, *group]
        part = [[r[j] for j in keep] for r in _cut_labels(cells, label)]
        tables.append(_table([headers[j] for j in keep], [cols[j] for j in keep], part,
                             [label, *(widths[j] for j in group)], title if n == 0 else None))
    return tables

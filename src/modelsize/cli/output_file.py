"""``-o/--output FILE``: write the command's data to a file, in the format its extension names.

.json and .csv use the command's own JSON/CSV; .txt the plain table; .md and .html a minimal
wrapping of the plain table (a fenced block / a ``<pre>``) until the full Markdown and HTML
renderers land (``render/markdown.py``, ``render/html*.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..core.errors import option_error

EXTENSIONS = (".json", ".csv", ".md", ".html", ".txt")


def format_for(path: str) -> str:
    """The output format an ``--output`` file's extension names (``report.json`` → ``json``)."""
    suffix = Path(path).suffix.lower()
    if suffix not in EXTENSIONS:
        raise option_error("output", "a file ending in " + ", ".join(EXTENSIONS), path)
    return suffix[1:]


def write(path: str, render: Callable[[str], str]) -> str:
    """Render for the file's format (``render('json' | 'csv' | 'table')``) and write it; returns the format."""
    kind = format_for(path)
    if kind in ("json", "csv"):
        text = render(kind)
    elif kind == "md":
        text = "```text\n" + render("table").rstrip("\n") + "\n```\n"
    elif kind == "html":
        import html

        text = ("<!doctype html><meta charset='utf-8'><pre>" + html.escape(render("table")) + "</pre>\n")
    else:
        text = render("table")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    return kind

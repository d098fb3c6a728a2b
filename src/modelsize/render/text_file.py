"""A command's text output (the table people read on a terminal) as a Markdown or HTML file, for
``-o out.md`` / ``-o out.html`` where a command has no richer page of its own: the same text,
fenced or preformatted, so the file shows exactly what the terminal showed.
"""

from __future__ import annotations

import html


def as_markdown(text: str) -> str:
    """The text in a fenced ``text`` block."""
    return "```text\n" + text.rstrip("\n") + "\n```\n"


def as_html(text: str) -> str:
    """A minimal UTF-8 page with the text preformatted and escaped."""
    return "<!doctype html><meta charset='utf-8'><pre>" + html.escape(text) + "</pre>\n"

"""The one writer of every file and folder a command writes (``-o``, ``--html``, ``--plot``, ``--out``,
``--save-dir``), with one set of rules:

* the format comes from the extension; an extension the option does not know is a usage error
  (exit 2), raised by :func:`prepare_file` before any model, data or framework is loaded;
* parent folders are created (also before the work, so a path that cannot be written is found
  before minutes of it);
* a path that cannot be written is one error line and exit 1 (:class:`OutputError`), never a
  traceback;
* ``-o`` means "also write": stdout keeps the command's data in ``--format``.

For ``-o`` of a report-like result (:data:`EXTENSIONS`), .json and .csv are the command's own
JSON/CSV, .txt the plain table, .md and .html a minimal wrapping of the plain table (a fenced
block / a ``<pre>``). Free of the parser.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from ..core.errors import ModelSizeError, option_error

#: ``-o FILE`` of a result shown as table / JSON / CSV: extension → kind
EXTENSIONS = (".json", ".csv", ".md", ".html", ".txt")
REPORT_KINDS: Mapping[str, str] = {ext: ext[1:] for ext in EXTENSIONS}
#: an HTML page (``report -o``, ``shrink --html``)
HTML_KINDS: Mapping[str, str] = {".html": "html", ".htm": "html"}


class OutputError(ModelSizeError, OSError):
    """A file or folder a command was asked to write cannot be written (exit 1)."""


def kind_for(path: str | os.PathLike[str], kinds: Mapping[str, str] = REPORT_KINDS, option: str = "output") -> str:
    """The format ``path``'s extension names (``report.json`` → ``json``); an OptionError (exit 2) when
    the option does not write that extension."""
    suffix = Path(path).suffix.lower()
    if suffix not in kinds:
        raise option_error(option, "a file ending in " + ", ".join(sorted(kinds)), str(path))
    return kinds[suffix]


def format_for(path: str) -> str:
    """The ``-o`` format of a report-like result (``report.json`` → ``json``)."""
    return kind_for(path)


def prepare_file(path: str | os.PathLike[str] | None, kinds: Mapping[str, str] = REPORT_KINDS,
                 option: str = "output") -> str | None:
    """Check ``path`` before any work: its extension (exit 2) and that its folder exists or can be
    made (exit 1). Returns the kind, ``None`` for no path."""
    if path is None:
        return None
    kind = kind_for(path, kinds, option)
    target = Path(path)
    if target.is_dir():
        raise OutputError(f"Cannot write the '{option}' file {str(path)!r}: it is a folder. Give a file path.")
    _make_folder(target.parent, option, str(path))
    return kind


def prepare_folder(path: str | os.PathLike[str] | None, option: str) -> Path | None:
    """Create the folder ``path`` (and its parents) before any work; exit 1 when it cannot be written."""
    if path is None:
        return None
    folder = Path(path)
    _make_folder(folder, option, str(path))
    return folder


def _make_folder(folder: Path, option: str, asked: str) -> None:
    with writing(asked, option):
        folder.mkdir(parents=True, exist_ok=True)
        if not os.access(folder, os.W_OK | os.X_OK):
            raise PermissionError(13, "Permission denied")


@contextmanager
def writing(path: str | os.PathLike[str], option: str) -> Iterator[None]:
    """Turn an ``OSError`` raised while writing ``path`` (by us or a library: matplotlib, pyarrow,
    a framework's save) into one :class:`OutputError` line."""
    try:
        yield
    except OutputError:
        raise
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise OutputError(f"Cannot write the '{option}' path {str(path)!r}: {reason}. "
                          "Give a path in a folder you can write to.") from exc


def write_text(path: str | os.PathLike[str], text: str, option: str = "output") -> None:
    """Write ``text`` (UTF-8, ending with one newline) to ``path``, making its folder."""
    with writing(path, option):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")


def write(path: str, render: Callable[[str], str], option: str = "output") -> str:
    """Render for the file's format (``render('json' | 'csv' | 'table')``) and write it; returns the format."""
    kind = kind_for(path, REPORT_KINDS, option)
    if kind in ("json", "csv"):
        text = render(kind)
    elif kind in ("md", "html"):
        from ..render import text_file

        text = text_file.as_markdown(render("table")) if kind == "md" else text_file.as_html(render("table"))
    else:
        text = render("table")
    write_text(path, text, option)
    return kind

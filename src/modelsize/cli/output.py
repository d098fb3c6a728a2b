"""The one output sink: stdout carries only data, everything a person reads goes to stderr.

``modelsize inspect ... --format json | jq`` must work, so hints, progress and warnings never
touch stdout. Streams are looked up at write time (not bound at import), so tests capturing
``sys.stdout`` see everything.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TextIO

from .exit_codes import one_line

if TYPE_CHECKING:  # pragma: no cover
    from ..core.report import Report

OutputFormat = Literal["table", "json", "csv"]
FORMATS: tuple[OutputFormat, ...] = ("table", "json", "csv")

#: Table width when stdout is not a terminal (files, pipes): wide enough not to wrap rows.
PIPE_WIDTH = 120


@dataclass
class Settings:
    """Run-wide output settings, set by the flags every command takes (``--quiet``,
    ``--no-progress``, ``--verbose``, ``--width``) before the command's body runs."""

    quiet: bool = False
    progress: bool = True
    verbose: bool = False
    width: int | None = None


#: The one settings object of this process (the CLI runs one command per process).
SETTINGS = Settings()


def base_for(si: bool) -> str:
    """The unit base the renderers take for ``--si``: 'si' or 'iec'."""
    return "si" if si else "iec"


def reset_settings() -> None:
    """Back to defaults (each :func:`modelsize.cli.app.run` starts from them)."""
    SETTINGS.__init__()  # type: ignore[misc]


class Output:
    """Writes data to stdout and messages to stderr."""

    def data(self, text: str) -> None:
        """Write data (a rendered report) to stdout, ending with one newline."""
        _write(sys.stdout, text if text.endswith("\n") else text + "\n")

    def hint(self, text: str) -> None:
        """A note for the person at the terminal (stderr); silenced by ``--quiet``."""
        if not SETTINGS.quiet:
            self._err(text)

    def progress(self, text: str) -> None:
        """Progress, shown only when stderr is a terminal (logs stay clean) and not turned off."""
        if self.progress_enabled():
            self._err(text)

    @staticmethod
    def progress_enabled() -> bool:
        """Whether progress may be drawn: stderr is a terminal, and neither ``--quiet`` nor ``--no-progress``."""
        return SETTINGS.progress and not SETTINGS.quiet and _isatty(sys.stderr)

    def warning(self, text: str) -> None:
        """A warning (stderr), one line; silenced by ``--quiet``."""
        if not SETTINGS.quiet:
            self._err(f"Warning: {one_line(text)}")

    def error(self, text: str) -> None:
        """An error message (stderr), always one line."""
        self._err(f"Error: {one_line(text)}")

    def raw_error(self, text: str) -> None:
        """Multi-line diagnostic text such as a debug traceback (stderr)."""
        self._err(text.rstrip("\n"))

    def report(self, report: "Report", fmt: OutputFormat, depth: int, base: str) -> None:
        """Render ``report`` in ``fmt`` and write it as data."""
        from .. import render

        if fmt == "json":
            self.data(render.json_text(report))
        elif fmt == "csv":
            self.data(render.csv_text(report))
        else:
            self.data(render.table(report, depth=depth, base=base, width=self.width(), color=self.color()))

    @staticmethod
    def color() -> bool:
        """Colour only for a terminal; files and pipes get plain text."""
        return _isatty(sys.stdout)

    @staticmethod
    def width() -> int:
        """``--width``, else ``$COLUMNS``, else the terminal's width, else :data:`PIPE_WIDTH` (files, pipes)."""
        if SETTINGS.width is not None:
            return SETTINGS.width
        columns = os.environ.get("COLUMNS", "").strip()
        if columns.isdigit() and int(columns) > 0:
            return int(columns)
        if _isatty(sys.stdout):
            import shutil  # a terminal only: with bz2 and lzma, shutil is a few ms of every piped command

            return shutil.get_terminal_size((PIPE_WIDTH, 24)).columns
        return PIPE_WIDTH

    @staticmethod
    def _err(text: str) -> None:
        _write(sys.stderr, text + "\n")


def _write(stream: TextIO, text: str) -> None:
    """Write and flush; a terminal that cannot show a character (→, •) gets '?' instead of a crash."""
    try:
        stream.write(text)
    except UnicodeEncodeError:
        encoding = getattr(stream, "encoding", None) or "ascii"
        stream.write(text.encode(encoding, "replace").decode(encoding))
    stream.flush()


def _isatty(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except ValueError:  # closed stream
        return False

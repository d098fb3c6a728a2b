"""Options that several commands take, each declared once (an :class:`~modelsize.cli.params.Opt`), with
their parsers; and :func:`common_flags`, the flags every command takes.

Values are checked here, at parse time, so a bad value is a usage error (exit 2) with our one
message template: ``The 'depth' option must be an integer >= 0. Got -1.`` An option only one
command takes is declared beside that command (``--fit`` in :mod:`.remote_options`, ``--recipe``
in :mod:`.shrink_cmd`); ``tests/cli/test_cli_declarations.py`` checks that no flag is declared twice.
"""

from __future__ import annotations

import functools
import re
from typing import Annotated, Any

from ..core.errors import option_error
from .errors import usage_problem
from .output import FORMATS, SETTINGS, OutputFormat, base_for  # noqa: F401 - base_for: the verbs take it from here
from .params import Opt, params_of, with_flags


def at_least(option: str, low: float) -> Any:
    """A check refusing values under ``low`` in our one template."""
    integer = isinstance(low, int)

    def check(value: Any) -> Any:
        if value is not None and value < low:
            kind = "an integer" if integer else "a number"
            raise usage_problem(option_error(option, f"{kind} >= {low:g}", value))
        return value

    return check


def parse_depth(value: Any) -> int:
    """``--depth``: an integer >= 0 (0 shows the model as one row)."""
    if isinstance(value, int) and not isinstance(value, bool):
        depth = value
    else:
        text = str(value).strip()
        if not re.fullmatch(r"[+-]?\d+", text):
            raise usage_problem(option_error("depth", "an integer >= 0", value))
        depth = int(text)
    if depth < 0:
        raise usage_problem(option_error("depth", "an integer >= 0", depth))
    return depth


def parse_format(value: Any) -> OutputFormat:
    """``--format``: one of table, json, csv (case-insensitive)."""
    return choice("format", FORMATS)(value)


def choice(option: str, allowed: tuple[str, ...], template: str | None = None) -> Any:
    """A parser taking one of ``allowed`` (case-insensitive), else a usage error in our template."""
    def parse(value: Any) -> Any:
        text = str(value).strip().lower()
        if text not in allowed:
            words = template or "one of " + ", ".join(repr(a) for a in allowed)
            raise usage_problem(option_error(option, words, value))
        return text
    return parse


def parse_jobs(value: object) -> int:
    """``--jobs``: worker processes, an integer >= 1."""
    text = str(value).strip()
    if not text.isdigit() or int(text) < 1:
        raise usage_problem(option_error("jobs", "an integer >= 1", value))
    return int(text)


def parse_shape(value: object, option: str = "input-shape") -> tuple[int, ...]:
    """One shape syntax everywhere: ``28x28x1`` or ``28,28,1`` (spaces allowed) → ``(28, 28, 1)``."""
    text = str(value).strip()
    if not re.fullmatch(r"\d+(\s*[xX×,]\s*\d+)*", text):
        raise usage_problem(option_error(option, "positive integers separated by 'x' or ',', e.g. 28x28x1 or "
                                                 "28,28,1 (one sample, no batch axis)", value))
    shape = tuple(int(d) for d in re.split(r"\s*[xX×,]\s*", text))
    if any(d <= 0 for d in shape):
        raise usage_problem(option_error(option, "positive integers, e.g. 28x28x1 or 28,28,1", value))
    return shape


DEPTH = Opt("--depth", "-d", parser=parse_depth, metavar="N",
            help="Show components nested up to N levels below the model (0: the model alone). "
                 "Deeper components are folded into their parent's row. Table output only.")
FORMAT = Opt("--format", "-f", parser=parse_format, metavar="[table|json|csv]",
             help="table for people; json (raw integers, schema in schema/report.schema.json) or "
                  "csv (one row per component and per tensor) for programs.")
SI_FLAG = Opt("--si", help="Print sizes in SI units (kB, MB: powers of 1000) instead of IEC (KiB, MiB: powers of 1024).")
OUTPUT = Opt("--output", "-o", metavar="FILE",
             help="Also write the result to FILE, in the format its extension names: "
                  ".json, .csv, .md, .html or .txt (the table).")
OUT = Opt("--out", metavar="PATH", help="Where to write the files.")  # -o is --output everywhere
NO_FORMATS = Opt("--no-formats", help="Skip serialized sizes per format (torch.save, safetensors …).")
NO_COMPRESS = Opt("--no-compress", help="Skip the zstd-compressed size of each format.")
REQUIRE_SAFE = Opt("--require-safe", help="Exit 4 unless the safety verdict is 'safe' (every pickle stream a loader "
                   "would run judged, only allowlisted globals; SECURITY.md). For CI and model-registry hooks.")
INPUT_SHAPE = Opt("--input-shape", metavar="SHAPE",
                  help="The shape of one sample, e.g. 28x28x1 or 28,28,1 (no batch axis).")
STORE = Opt("--store", metavar="PATH",
            help="SQLite sweep store (default: $MODELSIZE_SWEEP_STORE or ./modelsize-sweeps.db).")
JOBS = Opt("--jobs", "-j", parser=parse_jobs, metavar="N", help="Local worker processes (1: run in this process).")

Depth = Annotated[int, DEPTH]
Format = Annotated[str, FORMAT]
SI = Annotated[bool, SI_FLAG]
Output_ = Annotated[str | None, OUTPUT]
NoFormats = Annotated[bool, NO_FORMATS]
NoCompress = Annotated[bool, NO_COMPRESS]
RequireSafe = Annotated[bool, REQUIRE_SAFE]
Store = Annotated[str | None, STORE]
Jobs = Annotated[int, JOBS]


def _quiet(value: bool) -> None:
    if value:
        SETTINGS.quiet = True


def _no_progress(value: bool) -> None:
    if value:
        SETTINGS.progress = False


def _verbose(value: bool) -> None:
    if value:
        from .logging_setup import enable_verbose

        enable_verbose()


def _width(value: int | None) -> None:
    if value is not None:
        SETTINGS.width = at_least("width", 40)(value)


QUIET = Opt("--quiet", "-q", eager=_quiet,
            help="Only data on stdout and errors on stderr: no hints, warnings or progress.")
NO_PROGRESS = Opt("--no-progress", eager=_no_progress,
                  help="No progress display on stderr (shown only on a terminal anyway).")
VERBOSE = Opt("--verbose", "-v", eager=_verbose,
              help="Let the frameworks' log lines and warnings through (TensorFlow, absl, oneDNN, torchao …); "
                   "inspect also prints where the time went (import, build, measure, render) on stderr.")
WIDTH = Opt("--width", metavar="N", eager=_width,
            help="Table width in characters (default: $COLUMNS or the terminal's width).")


def common_flags(
    quiet: Annotated[bool, QUIET] = False,
    no_progress: Annotated[bool, NO_PROGRESS] = False,
    verbose: Annotated[bool, VERBOSE] = False,
    width: Annotated[int | None, WIDTH] = None,
) -> None:
    """The flags every command takes; they set :data:`modelsize.cli.output.SETTINGS` as they are parsed,
    so no command's function has a parameter for them (:func:`with_common_flags` adds them)."""


@functools.lru_cache(maxsize=1)
def common_params() -> tuple[Any, ...]:
    """The click parameters of :func:`common_flags`, built once and shared by every command."""
    return params_of(common_flags)


def with_common_flags(command: Any) -> Any:
    """``command`` (every subcommand of a group) with the flags every command takes."""
    return with_flags(command, common_params())

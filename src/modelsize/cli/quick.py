"""``modelsize inspect`` on the common command lines without loading typer, click or pydantic.

Issue 20: on a 70B checkpoint read from its headers, building the typer app (typer 0.29 checks
every option with a pydantic ``TypeAdapter``) cost about 250 ms, five times reading the headers.
The common command lines — a local file, folder or ``module:attr`` target with ``--format``,
``--depth``, ``--si``, ``--no-formats``, ``--exact-formats``, ``--no-compress``, ``--exact-compress``, ``--nnz``,
``--output`` and the common flags — are parsed here instead and run by the same body as the
typer command (:func:`modelsize.cli.inspect_run.run`). Anything else (help, a remote target,
another option, a value this parser does not take exactly as written, a repeated option) returns
``None`` from :func:`parse`, and the full command line handles it: both paths never disagree,
because this one only accepts what it can read without doubt, and
``tests/cli/test_cli_quick.py`` runs the same command lines through both.
"""

from __future__ import annotations

import errno
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .output import FORMATS, SETTINGS, OutputFormat, base_for, reset_settings

#: flag → (field, value) for options without a value
_SWITCHES: dict[str, tuple[str, Any]] = {
    "--si": ("si", True), "--no-formats": ("no_formats", True), "--exact-formats": ("exact_formats", True),
    "--no-compress": ("no_compress", True),
    "--exact-compress": ("exact_compress", True), "--nnz": ("nnz", True), "--no-nnz": ("nnz", False),
    "--quiet": ("quiet", True), "-q": ("quiet", True), "--no-progress": ("no_progress", True),
    "--verbose": ("verbose", True), "-v": ("verbose", True), "--require-safe": ("require_safe", True),
}
#: option → field, for options that take a value (``--format json`` or ``--format=json``)
_VALUED: dict[str, str] = {"--format": "fmt", "-f": "fmt", "--depth": "depth", "-d": "depth",
                           "--width": "width", "--output": "output", "-o": "output"}
_REMOTE = ("http://", "https://", "hf://")
_WIDTH_MIN = 40  #: as the common ``--width`` flag


@dataclass(frozen=True)
class QuickArgs:
    """One ``inspect`` command line this module can run."""

    target: str
    fmt: OutputFormat = "table"
    depth: int = 2
    si: bool = False
    no_formats: bool = False
    exact_formats: bool = False
    no_compress: bool = False
    exact_compress: bool = False
    nnz: bool | None = None
    output: str | None = None
    quiet: bool = False
    no_progress: bool = False
    verbose: bool = False
    width: int | None = None
    require_safe: bool = False


def parse(argv: Sequence[str]) -> QuickArgs | None:
    """The command line as :class:`QuickArgs`, or ``None`` when the full command line must read it."""
    if len(argv) < 2 or argv[0] != "inspect":
        return None
    fields: dict[str, Any] = {}
    target: str | None = None
    args = list(argv[1:])
    while args:
        arg = args.pop(0)
        name, eq, inline = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if name in _SWITCHES and not eq:
            key, value = _SWITCHES[name]
        elif name in _VALUED:
            if not eq and not args:
                return None
            key, value = _VALUED[name], _value(_VALUED[name], inline if eq else args.pop(0))
            if value is None:
                return None
        elif not arg.startswith("-") and target is None:
            key, value, target = "target", arg, arg
        else:
            return None  # help, an option of the full command, a second positional, "--"
        if key in fields:
            return None  # repeated: the full parser's rules decide
        fields[key] = value
    if target is None or target.lower().startswith(_REMOTE) or not target.strip():
        return None
    if fields.get("exact_formats") and fields.get("no_formats"):
        return None  # contradictory: the full parser says why
    return QuickArgs(**fields)


def _value(key: str, text: str) -> Any:
    """The option's value when it is unambiguous, else ``None`` (the full parser explains the problem)."""
    if key == "fmt":
        return text if text in FORMATS else None
    if key in ("depth", "width"):
        if not re.fullmatch(r"\d+", text):
            return None
        number = int(text)
        return number if key == "depth" or number >= _WIDTH_MIN else None
    return text if text and not text.startswith("-") else None


def run(argv: Sequence[str]) -> int | None:
    """Run ``argv`` if :func:`parse` takes it; ``None`` when the full command line must run it."""
    args = parse(argv)
    if args is None:
        return None
    from .guard import guarded
    from .logging_setup import quiet_frameworks

    reset_settings()
    SETTINGS.quiet, SETTINGS.progress, SETTINGS.width = args.quiet, not args.no_progress, args.width
    try:
        with quiet_frameworks():
            return guarded(lambda: _inspect(args))
    except KeyboardInterrupt:  # as click does
        sys.stderr.write("\nAborted!\n")
        return 1
    except OSError as exc:
        if exc.errno != errno.EPIPE:
            raise
        return 1  # `modelsize inspect … | head`: the reader left; exit 1 without a traceback, as click does


def _inspect(args: QuickArgs) -> None:
    from ..serialize.base import CompressionOptions
    from . import inspect_run

    def prepare(resolved: Any) -> inspect_run.InspectRequest:
        compression = CompressionOptions(enabled=not args.no_compress,
                                         exact_limit=sys.maxsize if args.exact_compress
                                         else CompressionOptions.exact_limit)
        options = dict(formats=not args.no_formats, compression=compression, target=args.target, input_shape=None,
                       nnz=None if resolved.is_file else args.nnz)
        if args.exact_formats and not resolved.is_file:
            options["exact_formats"] = True
        return inspect_run.InspectRequest(args.target, resolved, options, args.fmt, args.depth, base_for(args.si),
                                          args.output, require_safe=args.require_safe)

    inspect_run.run(args.target, prepare, verbose=args.verbose, output=args.output)

"""Flags every command takes: ``--quiet``, ``--no-progress``, ``--verbose``, ``--width``.

They are added to each command when the command group loads it (:func:`add_to`), so a new verb
gets them without declaring them, and they only set :data:`modelsize.cli.output.SETTINGS`:
no command body needs a parameter for them.
"""

from __future__ import annotations

import functools
from typing import Annotated, Any

import typer

from .output import SETTINGS


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
        from .options import at_least

        SETTINGS.width = at_least("width", 40)(value)


_donor = typer.Typer(add_completion=False)


@_donor.command()
def _flags(
    quiet: Annotated[bool, typer.Option("--quiet", "-q", callback=_quiet, expose_value=False, is_eager=True,
                                        help="Only data on stdout and errors on stderr: no hints, warnings or "
                                             "progress.")] = False,
    no_progress: Annotated[bool, typer.Option("--no-progress", callback=_no_progress, expose_value=False,
                                              is_eager=True, help="No progress display on stderr (shown only on "
                                                                  "a terminal anyway).")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", callback=_verbose, expose_value=False, is_eager=True,
                                          help="Also show the frameworks' log lines and warnings (TensorFlow, "
                                               "absl, torchao …).")] = False,
    width: Annotated[int | None, typer.Option("--width", metavar="N", callback=_width, expose_value=False,
                                              is_eager=True, help="Table width in characters (default: $COLUMNS "
                                                                  "or the terminal's width).")] = None,
) -> None:
    """Only a carrier: its parameters are the common flags, built by typer itself."""


@functools.lru_cache(maxsize=1)
def _common_params() -> tuple[Any, ...]:
    """Built once: typer's parameter building reads type hints, which is slow to repeat per command."""
    return tuple(typer.main.get_command(_donor).params)


def add_to(command: Any) -> Any:
    """Add the common flags to ``command`` (and to every subcommand of a group), once."""
    subcommands = getattr(command, "commands", None)
    if isinstance(subcommands, dict):
        for sub in subcommands.values():
            add_to(sub)
        return command
    for param in command.params:
        conventional_metavar(param)
    taken = {opt for p in command.params for opt in getattr(p, "opts", ())}
    for flag in _common_params():
        if not taken.intersection(flag.opts):
            command.params.append(flag)
    return command


def conventional_metavar(param: Any) -> None:
    """Usage lines as people expect them: ``TARGET`` (required) or ``[SWEEP]`` (optional), never
    typer's ``{target}``; and no ``<str>`` / ``<int range>`` type tags after names that say enough."""
    if getattr(param, "param_type_name", "") != "argument":
        return
    name = (param.metavar or param.name or "").upper() if param.metavar is None else param.metavar
    if param.metavar is None:
        param.metavar = name
    shown = name if param.required else f"[{name}]"
    param._usage_display_name = lambda: shown + ("..." if param.nargs != 1 else "")
    param.display_type_rich = lambda ctx: None

"""Usage errors for the typer commands, and (re-exported) the exit-code map of
:mod:`modelsize.cli.exit_codes`."""

from __future__ import annotations

import typer

from ..core.errors import OptionError
from .exit_codes import (  # noqa: F401 - the exit-code map lives in a typer-free module (cli/quick.py)
    DEBUG_ENV,
    EXIT_BUDGET,
    EXIT_ERROR,
    EXIT_OK,
    EXIT_USAGE,
    debug_enabled,
    exit_code_for,
    format_traceback,
    one_line,
)


class UsageProblem(typer.BadParameter):
    """A usage error whose message already follows our template.

    click prefixes parameter errors with "Invalid value for ..."; our messages already say
    which option failed, so the message is shown as written. Exit code 2 like every usage error.
    """

    exit_code = EXIT_USAGE

    def format_message(self) -> str:
        return self.message


def argument_error(name: str, allowed: str, got: object) -> OptionError:
    """Like :func:`~modelsize.core.errors.option_error`, for a positional argument (``SWEEP``, ``NAME``):
    people call those arguments, not options."""
    return OptionError(f"The {name!r} argument must be {allowed}. Got {got!r}.")


def usage_problem(error: OptionError) -> UsageProblem:
    """Turn a library option error into a usage error for the parser."""
    return UsageProblem(str(error))

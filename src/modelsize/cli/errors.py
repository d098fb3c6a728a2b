"""Usage errors of the command line (:mod:`modelsize.cli.params`), and (re-exported) the exit-code
map of :mod:`modelsize.cli.exit_codes`."""

from __future__ import annotations

from collections.abc import Sequence

from click.exceptions import BadParameter, NoSuchOption

from ..core.errors import OptionError
from .exit_codes import (  # noqa: F401 - the exit-code map, re-exported for the commands
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


class UsageProblem(BadParameter):
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


def in_our_voice(exc: NoSuchOption) -> NoSuchOption:
    """The parser's unknown-option error in our voice (the same error when it already speaks it).

    click words an unknown option ``No such option: --verbos (Possible options: --verbose)``; we
    say it as for an unknown command (``No such command 'inspec'. Did you mean 'inspect'?``):
    ``No such option '--verbos'. Did you mean '--verbose'?``. Exit code 2, usage line kept.
    """
    if isinstance(exc, _OurNoSuchOption):
        return exc
    return _OurNoSuchOption(exc.option_name, message=unknown_option_message(exc.option_name, exc.possibilities),
                            ctx=exc.ctx)


class _OurNoSuchOption(NoSuchOption):
    """An unknown option whose message is already in our voice (shown as written)."""

    def format_message(self) -> str:
        return self.message


def unknown_option_message(option: str, close: Sequence[str] | None) -> str:
    """``No such option '--verbos'. Did you mean '--verbose'?`` (two or more: ``'--fit' or '--format'``)."""
    text = f"No such option {option!r}."
    names = [repr(name) for name in sorted(close or ())]
    if names:
        text += " Did you mean " + (names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]) + "?"
    return text

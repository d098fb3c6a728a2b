"""Exit codes and the error → exit-code map, free of the parser (:mod:`.guard` applies them
around every command's body).

Only modelsize's own errors (:class:`~modelsize.core.errors.ModelSizeError` subclasses) become
one-line messages; anything else is a bug and keeps its traceback. ``MODELSIZE_DEBUG=1`` adds
the traceback to our own errors too.
"""

from __future__ import annotations

import os

from ..core.errors import ComputationError, ModelSizeError, OptionError, UnsafeModelError
from ..shrink.budget.errors import BudgetNotMetError

EXIT_OK = 0
EXIT_ERROR = 1  #: the work failed: bad target, unreadable file, unsupported object, missing extra
EXIT_USAGE = 2  #: the command line itself is wrong: unknown option, value out of range
EXIT_BUDGET = 3  #: a size budget was exceeded or cannot be met (``check``, ``diff --fail-on-growth``, ``shrink --budget``)
EXIT_UNSAFE = 4  #: ``inspect --require-safe``: the safety verdict is not 'safe' (SECURITY.md)

#: First match wins; order from specific to general.
_EXIT_CODES: tuple[tuple[type[ModelSizeError], int], ...] = (
    (ComputationError, EXIT_ERROR),  #: an option error inside our own calls: the work failed
    (OptionError, EXIT_USAGE),
    (BudgetNotMetError, EXIT_BUDGET),
    (UnsafeModelError, EXIT_UNSAFE),
    (ModelSizeError, EXIT_ERROR),
)

DEBUG_ENV = "MODELSIZE_DEBUG"


def exit_code_for(exc: ModelSizeError) -> int:
    """Exit code for one of our errors."""
    for cls, code in _EXIT_CODES:
        if isinstance(exc, cls):
            return code
    return EXIT_ERROR  # pragma: no cover - ModelSizeError is the last entry


def debug_enabled() -> bool:
    """Whether ``MODELSIZE_DEBUG`` asks for tracebacks (any value but empty, 0, false, no)."""
    return os.environ.get(DEBUG_ENV, "").strip().lower() not in ("", "0", "false", "no", "off")


def one_line(text: str) -> str:
    """Collapse a message onto one line: scripts read the first line of stderr."""
    return " ".join(str(text).split())


def format_traceback(exc: BaseException) -> str:
    """The traceback of ``exc`` (with its causes) as text, for ``MODELSIZE_DEBUG=1``."""
    import traceback

    return "".join(traceback.format_exception(exc))

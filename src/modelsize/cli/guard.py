"""The CLI's error policy around every command's body.

Our own errors become one line on stderr and an exit code (plus the traceback with
``MODELSIZE_DEBUG=1``); anything else propagates: it is a bug.
"""

from __future__ import annotations

from collections.abc import Callable

from ..core.errors import ModelSizeError
from .exit_codes import debug_enabled, exit_code_for, format_traceback
from .output import Output


def guarded(body: Callable[[], object]) -> int:
    """Run ``body``; 0, or the exit code of the modelsize error it raised (reported on stderr)."""
    try:
        body()
    except ModelSizeError as exc:
        out = Output()
        if debug_enabled():
            out.raw_error(format_traceback(exc))
        out.error(str(exc))
        return exit_code_for(exc)
    return 0

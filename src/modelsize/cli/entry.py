"""The ``modelsize`` command: the quick path for common ``inspect`` command lines, else the full app.

Nothing here imports typer: :mod:`modelsize.cli.quick` runs what it can parse without doubt, and
only the rest loads :mod:`modelsize.cli.app` (typer, click, pydantic: about 250 ms).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``) and return the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    from .quick import run as run_quick

    code = run_quick(args)
    if code is not None:
        return code
    from .app import run as run_full

    return run_full(args)


def main() -> int:
    """Console-script entry point (``modelsize``, ``python -m modelsize``)."""
    return run(sys.argv[1:])

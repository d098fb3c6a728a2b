"""The ``modelsize`` console script: the one command line of :mod:`modelsize.cli.app`.

Kept as the script's import path (``modelsize.cli.entry:main``); every command line, the common
``modelsize inspect FILE`` included, is parsed by the one parser there.
"""

from __future__ import annotations

from .app import main, run

__all__ = ["main", "run"]

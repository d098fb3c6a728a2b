"""The demo tour's data types, below every module that contributes a step.

``demo_cmd`` builds the tour from steps that live in other command modules (``shrink_cmd``,
``study_cmd`` …); those modules need :class:`DemoSettings` too, so it lives here and every
arrow points down to it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class DemoSettings:
    """What every step may honour."""

    base: str = "iec"
    width: int = 100
    color: bool = False


@dataclass(frozen=True)
class DemoStep:
    """One section of the tour: a title and a function that returns the text to show."""

    title: str
    run: Callable[[DemoSettings], str]

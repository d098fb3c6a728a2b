"""Where one CLI run's wall time went, for ``-v``: startup, import, build, measure, render.

The steps are recorded only while :func:`recording` is active, so library code paths stay
free of timing work. For a ``module:attr`` target the user's own import and model build are
shown apart from modelsize's measuring, because they are usually most of the time.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_active: ContextVar["Timings | None"] = ContextVar("modelsize_timings", default=None)


class Timings:
    """Named wall-clock steps, in the order they ran."""

    def __init__(self) -> None:
        self.steps: list[tuple[str, float]] = []
        self._started = time.perf_counter()

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.steps.append((name, time.perf_counter() - start))

    def summary(self) -> str:
        """``Timing: startup 0.41 s, import 0.82 s, build 1.20 s, measure 0.03 s, render 0.01 s; total 2.47 s``."""
        parts = []
        startup = process_age() - (time.perf_counter() - self._started)
        if startup > 0:
            parts.append(f"startup {startup:.3f} s")
        parts += [f"{name} {seconds:.3f} s" for name, seconds in self.steps]
        return f"Timing: {', '.join(parts)}; total {process_age():.3f} s (wall clock, since the process started)"


def process_age() -> float:
    """Seconds since this process started (Linux /proc), else since timing began."""
    try:
        with open("/proc/self/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        with open("/proc/uptime") as fh:
            uptime = float(fh.read().split()[0])
        import os

        return max(uptime - int(fields[19]) / os.sysconf("SC_CLK_TCK"), 0.0)
    except (OSError, ValueError, IndexError, AttributeError):
        timings = _active.get()
        return time.perf_counter() - timings._started if timings else 0.0


@contextmanager
def recording() -> Iterator[Timings]:
    """Record :func:`step` calls made inside the block."""
    timings = Timings()
    token = _active.set(timings)
    try:
        yield timings
    finally:
        _active.reset(token)


@contextmanager
def step(name: str) -> Iterator[None]:
    """Time the block as ``name`` when a recording is active; otherwise do nothing."""
    timings = _active.get()
    if timings is None:
        yield
        return
    with timings.step(name):
        yield

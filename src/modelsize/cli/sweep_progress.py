"""The progress bar of ``modelsize sweep run`` and ``modelsize study run`` (stderr).

The engine only yields events; this module turns them into a rich progress bar — done,
failed, elapsed, ETA — drawn on stderr when stderr is a terminal, so stdout stays data. The
result tables are ``render/sweep_table.py``'s.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator

from ..factors.runners import Event, Finished, Started, TrialDone


def with_progress(events: Iterable[Event], show: bool, label: str | None = None) -> Iterator[Event]:
    """Pass events through, drawing a progress bar on stderr while trials finish: done of total,
    failed, elapsed and the ETA from the trials measured so far. ``label`` names the bar (default:
    the sweep's name)."""
    if not show:
        yield from events
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("[red]{task.fields[failed]} failed"), TimeElapsedColumn(), TextColumn("ETA"),
        TimeRemainingColumn(), console=Console(file=sys.stderr), transient=False,
        # stdout is data: rich's default redirect would send our JSON to the terminal (stderr). Our own
        # status lines (stderr) are redirected: rich prints them above the bar, not into it.
        redirect_stdout=False, redirect_stderr=True,
    )
    task = None
    progress.start()
    try:
        for event in events:
            if isinstance(event, Started):
                # stored trials are done from the start: the ETA comes from the trials run now only
                task = progress.add_task(label or event.name, total=event.total, failed=0, completed=event.cached)
                if event.cached:
                    progress.reset(task, total=event.total, completed=event.cached, failed=0)
            elif isinstance(event, TrialDone) and task is not None and not event.cached:
                progress.update(task, completed=event.done, failed=event.failed)
            elif isinstance(event, TrialDone) and task is not None:
                progress.update(task, failed=event.failed)
            elif isinstance(event, Finished):
                progress.stop()  # the bar is done before any data is written
            yield event
    finally:
        progress.stop()

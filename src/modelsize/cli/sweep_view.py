"""What ``modelsize sweep`` shows people: the progress bar (stderr) and result tables (stdout).

The engine only yields events; this module turns them into a rich progress bar — done,
failed, elapsed, ETA — drawn on stderr when stderr is a terminal, so stdout stays data.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterable, Iterator
from typing import Any

from ..render.laws import sentence as law_sentence
from ..core import units
from ..factors.laws import LawFit
from ..factors.results import SweepResult
from ..factors.runners import Event, Finished, Started, TrialDone

#: Result columns of the table, with how to show them.
TABLE_METRICS: tuple[tuple[str, str, str], ...] = (
    ("params", "params", "count"),
    ("stored_bytes", "stored", "bytes"),
    ("serialized_bytes", "file", "bytes"),
    ("compressed_bytes", "zstd", "bytes"),
    ("score", "score", "score"),
    ("train_time_s", "train s", "seconds"),
    ("latency_s", "latency ms", "ms"),
)


#: version of ``schema/sweep.schema.json`` that :func:`json_text` follows
SCHEMA_VERSION = "1.0"


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


def _cell(value: Any, kind: str, base: units.Base) -> str:
    if value is None:
        return "–"
    if kind == "bytes":
        return units.format_bytes(value, base)
    if kind == "count":
        return units.format_count(value)
    if kind == "ms":
        return f"{value * 1000:.3g}"
    if kind == "seconds":
        return f"{value:.3g}"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def table(result: SweepResult, laws: list[LawFit], base: units.Base, width: int, color: bool) -> str:
    """The results as a table (one row per trial) followed by the growth laws' sentences."""
    from rich.console import Console
    from rich.table import Table

    grid = Table(title=f"{result.name}  [{result.spec_hash}]", title_justify="left")
    factors = [f for f in result.factors]
    for name in factors:
        grid.add_column(name)
    grid.add_column("status")
    present = [(key, head, kind) for key, head, kind in TABLE_METRICS if any(t.metrics.get(key) is not None for t in result.trials)]
    for _, head, _ in present:
        grid.add_column(head, justify="right")
    for t in result.trials:
        status = t.status if t.ok else f"{t.status}: {(t.error or '')[:60]}"
        grid.add_row(*[str(t.factors.get(f)) for f in factors], status,
                     *[_cell(t.metrics.get(key), kind, base) for key, _, kind in present])
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=color, color_system="standard" if color else None)
    console.print(grid)
    lines = []  # plain lines, never wrapped: scripts grep them and people copy them
    if laws:
        lines.append("Growth laws (chosen by leave-one-value-out cross-validation):")
        lines += [f"  • {law_sentence(law)}" for law in laws]
    if result.failed:
        lines.append(f"{len(result.failed)} of {len(result.trials)} trials did not finish; "
                     "their errors are in the table and in 'modelsize sweep export'.")
    return buffer.getvalue() + "".join(line + "\n" for line in lines)


def json_text(result: SweepResult, laws: list[LawFit]) -> str:
    """Everything as JSON (``schema/sweep.schema.json``): trials with raw numbers, and the fitted laws."""
    data = {"schema_version": SCHEMA_VERSION, "spec_hash": result.spec_hash, "name": result.name, "factors": list(result.factors),
            "trials": [t.to_dict() for t in result.trials], "laws": [{**law.to_dict(), "sentence": law_sentence(law)} for law in laws]}
    return json.dumps(data, indent=2, default=str)


def summary(event: Finished) -> str:
    result = event.result
    return (f"{result.name}: {len(result.trials)} trials — {event.ran} run, {event.cached} from the store, "
            f"{len(result.failed)} failed ({event.elapsed_s:.1f} s). Sweep id {result.spec_hash}.")


"""A sweep's results for ``modelsize sweep``'s stdout: the table (one row per trial, then the growth
laws in words), the JSON (``schema/sweep.schema.json``) and the one-line summary of a run.

Pure functions: the CLI prints what they return (its progress bar is ``cli/sweep_progress.py``).
"""

from __future__ import annotations

import io
import json
from typing import Any

from ..core import units
from ..factors.law_words import sentence as law_sentence
from ..factors.laws import LawFit
from ..factors.results import SweepResult
from ..factors.runners import Finished

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


"""The shrink section as text: one before/after table, then what each technique found.

Pure functions of the data (a :class:`~modelsize.shrink.result.ShrinkRun`, ShrinkResults or
their dicts). Ratios read "× smaller" / "× faster" (before ÷ after, > 1 is better); score
changes are in percentage points; latency is the median of batch-1 passes in µs or ms.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from ..core import units
from ..core.report import Report
from ..core.sections import Section, section_data
from .whole_cells import Column, fitted




def _data(item: Any) -> dict[str, Any]:
    return dict(section_data(item))


def results_of(run: Any) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """``(before, [result dicts])`` from a ShrinkRun, a sequence of results, or their dicts."""
    if isinstance(run, Report):
        run = run.sections.get("shrink")
    if run is None:
        return None, []
    if isinstance(run, (Mapping, Section)):
        data = _data(run)
        if "results" in data:  # a ShrinkRun: the original measured once, one result per recipe
            return data.get("before"), [dict(r) for r in data["results"]]
        return data.get("before"), [data]  # one ShrinkResult
    items = [_data(r) for r in run]
    return (items[0].get("before") if items else None), items


def latency_text(ns: int | None) -> str:
    """``48.1 µs``, ``1.53 ms``."""
    if ns is None:
        return "n/a"
    if ns < 1_000_000:
        return f"{ns / 1000:.1f} µs"
    return f"{ns / 1_000_000:.2f} ms"


def _times(x: float | None) -> str:
    return "" if x is None else f"{x:.2f}×"


def _score(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.2f}%"


def _points(x: float | None) -> str:
    return "" if x is None else f"{x:+.2f}"


def _size(n: int | None, base: units.Base) -> str:
    return units.format_bytes(n, base, precision=1)


def _main_table(before: Mapping[str, Any], results: Sequence[Mapping[str, Any]], base: units.Base,
                metric: str | None, width: int = 100) -> list[Table]:
    """One row per model; every number whole at ``width`` (:func:`.whole_cells.fitted`)."""
    rows: list[list[str]] = []

    def row(label: str, side: Mapping[str, Any], deltas: Mapping[str, Any] | None) -> None:
        d = deltas or {}
        rows.append([
            label,
            units.format_count(side.get("params")),
            _size(side.get("stored_bytes"), base),
            _size(side.get("file_bytes"), base),
            _times(d.get("file_ratio")),
            _size(side.get("compressed_bytes"), base),
            _score(side.get("score")) if metric else "n/a",
            _points(d.get("score_change_points")),
            _latency_cell(side.get("latency")),
            _faster_cell(d),
            _reload(side),
        ])

    row("original", before, None)
    for result in results:
        row(str(result.get("recipe")), result["after"], result.get("deltas") or {})
        if result.get("status") == "failed":  # nothing measured: the row says so, the reason is below
            rows[-1] = [rows[-1][0], "failed", *[""] * 8, "—"]
    score = metric or "score"
    columns = [Column("Model", "Model", "left"), Column("Params", "Params"), Column("In memory", "Memory"),
               Column("Saved file", "File"), Column("smaller", "×"), Column("zstd", "zstd"),
               Column(score, score if len(score) <= 5 else score[:3] + "."), Column("Δ", "Δ"), Column("Latency", "Latency"), Column("faster", "×"),
               Column("Reload", "Reload", "left")]
    cells = [[Text(r[0], style="bold" if i == 0 else ""), *(Text(c) for c in r[1:])] for i, r in enumerate(rows)]
    return fitted(columns, cells, width)


def _latency_cell(latency: Mapping[str, Any] | None) -> str:
    """``1.23 ms ±8%``: the median of the interleaved rounds and their spread."""
    if not latency:
        return latency_text(None)
    text = latency_text(latency.get("median_ns"))
    spread = latency.get("spread")
    return f"{text} ±{spread / 2:.0%}" if isinstance(spread, (int, float)) else text


def _faster_cell(deltas: Mapping[str, Any]) -> str:
    """The latency ratio — or why there is none (different runtimes, too noisy to say)."""
    problem = deltas.get("latency_problem")
    if problem == "runtimes differ":
        return "≠runtime"
    if problem == "spread too wide":
        return "noisy"
    return _times(deltas.get("latency_ratio"))


def latency_notes(before: Mapping[str, Any], results: Sequence[Mapping[str, Any]]) -> list[str]:
    """Footnotes for the latency columns: which rows ran on another runtime, which were too noisy."""
    notes = []
    base_mode = (before.get("latency") or {}).get("mode")
    for result in results:
        problem = (result.get("deltas") or {}).get("latency_problem")
        mode = ((result.get("after") or {}).get("latency") or {}).get("mode")
        if problem == "runtimes differ":
            notes.append(f"{result.get('recipe')}: runs on {mode}, the original on {base_mode}; their latencies are "
                         "not compared as a ratio.")
        elif problem == "spread too wide":
            notes.append(f"{result.get('recipe')}: the timing rounds disagree by more than half their median (a busy "
                         "machine?); no ratio is given. Run again with more --latency-runs or fewer other jobs.")
    return notes


def _reload(side: Mapping[str, Any]) -> str:
    written = [f for f in side.get("files", []) if f.get("bytes") is not None]
    if not written:
        return "not saved"
    ok = sum(1 for f in written if f.get("reproduces"))
    return f"{ok}/{len(written)} ✓" if ok == len(written) else f"{ok}/{len(written)} ✗"


def highlights(result: Mapping[str, Any], base: units.Base = "iec") -> list[str]:
    """The facts a technique adds (sparsity, channel → parameter ratio, baseline student …)."""
    details = result.get("details") or {}
    steps = details.get("steps")
    parts = list(steps.values()) if isinstance(steps, Mapping) else [details]
    after = result.get("after") or {}
    lines: list[str] = []
    for d in parts:
        if "sparsity_of_pruned_weights" in d:
            layouts = sorted({v for v in (d.get("layouts") or {}).values()})
            lines.append(f"{100 * d['sparsity_of_pruned_weights']:.1f}% of {units.format_count(d['pruned_weights'])} "
                         f"weights are zero ({d.get('scope')}); stored as {', '.join(layouts)}; the masked state dict "
                         f"torch.nn.utils.prune saves would be {units.format_bytes(d.get('masked_state_dict_bytes'), base)}")
        if "channel_ratio" in d:
            lines.append(f"{100 * d['channel_ratio']:.0f}% of channels removed → {100 * d['param_ratio']:.1f}% of "
                         f"parameters kept ({units.format_count(d['params_before'])} → "
                         f"{units.format_count(d['params_after'])}); {d.get('channel_to_param_rule')}")
        if "student_distilled" in d:
            dist, alone = d["student_distilled"], d.get("student_alone")
            text = (f"student {units.format_count(dist.get('params'))} params: distilled {_score(dist.get('score'))}")
            if alone:
                text += f", trained alone {_score(alone.get('score'))} (same init, data order and epochs)"
            teacher = d.get("teacher") or {}
            text += f"; teacher {_score(teacher.get('score'))}"
            lines.append(text)
        if "bits_per_weight" in d:
            lines.append(f"{d['bits_per_weight']:.2f} bits per weight on disk (4-bit codes + float16 scale and "
                         f"minimum per {d['group_size']} weights)")
        if "dtype" in d and "tensors_cast" in d:
            lines.append(f"{d['tensors_cast']} tensors cast to {d['dtype']}")
    written = [f for f in after.get("files", []) if f.get("bytes") is not None]
    if written:
        lines.insert(0, "files: " + "; ".join(
            f"{f['format']} {units.format_bytes(f['bytes'], base)} (zstd {units.format_bytes(f.get('compressed_bytes'), base)})"
            for f in written))
    for f in after.get("files", []):
        if f.get("bytes") is None and f.get("note"):
            lines.append(f"{f['format']} not written: {f['note']}")
    return lines


def _details_block(results: Sequence[Mapping[str, Any]], base: units.Base) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.title = "What each recipe did"
    grid.title_justify = "left"
    grid.title_style = "bold"
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    for result in results:
        lines = highlights(result, base)
        if result.get("status") == "failed" and not any("failed:" in n for n in result.get("notes", [])):
            lines.append(f"failed: {result.get('error')}")
        for note in result.get("notes", []):
            lines.append(note)
        grid.add_row(Text(str(result.get("recipe"))), Text("\n".join(f"• {line}" for line in lines) or "—"))
    return grid


def renderables(run: Any, base: units.Base = "iec", width: int = 100) -> list[RenderableType]:
    """The shrink blocks (none when there is nothing to show)."""
    before, results = results_of(run)
    if before is None or not results:
        return []
    metric = results[0].get("metric")
    files = Text(f"Saved file: the recipe's own format (see below; original: {before.get('primary_format')}); "
                 "smaller/faster: original ÷ shrunk; zstd: level 3 of that file; Δ: change in percentage points; "
                 "Reload: files whose reload into a wiped model gave bit-identical outputs; "
                 "Latency: median of batch-1 CPU passes in rounds alternating original and shrunk (after a "
                 "warm-up, threads pinned), ± half the spread between rounds." + "".join(
                     " " + n for n in latency_notes(before, results)), style="dim")
    return [*_main_table(before, results, base, metric, width), files, _details_block(results, base)]


def table(run: Any, base: units.Base = "iec", *, width: int = 100, color: bool = False) -> str:
    """The before/after table and each recipe's findings, as text."""
    parts = renderables(run, base, width)
    if not parts:
        return "No shrink results.\n"
    spaced: list[RenderableType] = []
    for part in parts:
        if spaced:
            spaced.append(Text(""))
        spaced.append(part)
    console = Console(file=io.StringIO(), width=width, color_system="standard" if color else None,
                      force_terminal=color, no_color=not color, highlight=False, soft_wrap=False)
    console.print(Group(*spaced))
    return console.file.getvalue()  # type: ignore[attr-defined]


CSV_FIELDS = ("recipe", "params", "stored_bytes", "primary_format", "file_bytes", "compressed_bytes", "file_ratio",
              "score", "score_change_points", "latency_median_ns", "latency_ratio", "round_trips_ok", "error")


def csv_text(run: Any) -> str:
    """One CSV row for the original and one per recipe (raw integers)."""
    before, results = results_of(run)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    rows = ([("original", before, {}, True, None)] if before else []) + \
        [(r["recipe"], r["after"], r.get("deltas") or {}, r.get("round_trips_ok"), r.get("error")) for r in results]
    for label, side, deltas, ok, error in rows:
        writer.writerow([label, side.get("params"), side.get("stored_bytes"), side.get("primary_format"),
                         side.get("file_bytes"), side.get("compressed_bytes"), deltas.get("file_ratio"),
                         side.get("score"), deltas.get("score_change_points"),
                         (side.get("latency") or {}).get("median_ns"), deltas.get("latency_ratio"), ok, error])
    return out.getvalue()

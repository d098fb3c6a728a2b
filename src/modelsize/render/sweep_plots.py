"""Plots of a sweep: static PNG (matplotlib, Agg canvas) and interactive HTML (plotly).

Each plot is one metric against one factor: the trials as points (one colour per setting of
the other factors) and, for a numeric factor, the chosen growth law as a line, labelled with
its sentence. Axes turn logarithmic when a positive factor spans more than a factor of 10 —
a power law is then a straight line. No pyplot: the figure draws on its own Agg canvas, so
the caller's matplotlib backend and global state are left alone.
"""

from __future__ import annotations

import html as _html
import math
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import option_error
from ..core.optional import require
from ..core.units import format_bytes
from ..factors.grid import NON_AXIS
from ..factors.law_words import label, unit
from ..factors.law_words import sentence as law_sentence
from ..factors.laws import LawFit
from ..factors.results import HEADLINE_METRICS, SweepResult


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "x"


def _series(result: SweepResult, metric: str, factor: str) -> list[tuple[dict[str, Any], list[Any], list[float]]]:
    """Points grouped by the other factors' values: (group, xs, ys)."""
    others = [f for f in result.factors if f != factor and f not in NON_AXIS]
    groups: dict[str, tuple[dict[str, Any], list[Any], list[float]]] = {}
    for t in result.ok:
        value = t.metrics.get(metric)
        if value is None or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
            continue
        group = {f: t.factors.get(f) for f in others}
        entry = groups.setdefault(repr(list(group.values())), (group, [], []))
        entry[1].append(t.factors.get(factor))
        entry[2].append(float(value))
    return list(groups.values())


def _is_numeric(xs: Sequence[Any]) -> bool:
    return all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in xs)


def _log_axes(xs: Sequence[float], ys: Sequence[float]) -> tuple[bool, bool]:
    def wide(values: Sequence[float]) -> bool:
        return len(values) > 1 and min(values) > 0 and max(values) / min(values) > 10

    return wide(xs), wide(ys)


def _law_for(laws: Sequence[LawFit], group: dict[str, Any]) -> LawFit | None:
    return next((law for law in laws if dict(law.group) == group), None)


def axis_label(metric: str) -> str:
    """``stored bytes (bytes, IEC)``: the metric's name with its unit."""
    kind = unit(metric)
    if kind == "bytes":
        return f"{label(metric)} (IEC: KiB, MiB)"
    return f"{label(metric)} ({kind})" if kind else label(metric)


def _curve(law: LawFit, log_x: bool, log_y: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The law's curve over the data's own x range only, finite points only (and > 0 on a log axis)."""
    if log_x and law.x_min > 0:
        xs = np.geomspace(law.x_min, law.x_max, 100)
    else:
        xs = np.linspace(law.x_min, law.x_max, 100)
    with np.errstate(all="ignore"):
        ys = law.predict(xs)
    keep = np.isfinite(ys) & ((ys > 0) if log_y else True)
    return xs[keep], ys[keep]


def _group_label(group: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in group.items()) or "trials"


def _prepare(result: SweepResult, metric: str, factor: str) -> tuple[list[Any], list[LawFit], bool]:
    if factor not in result.factors:
        raise option_error("factor", "a factor of the sweep: " + ", ".join(result.factors), factor)
    series = _series(result, metric, factor)
    if not series:
        raise option_error("metric", "a metric with numbers in at least one successful trial", metric)
    numeric = _is_numeric([x for _, xs, _ in series for x in xs])
    laws = result.laws(metrics=[metric], factors=[factor]) if numeric and factor in result.numeric_factors() else []
    return series, laws, numeric


def png(result: SweepResult, metric: str, factor: str, path: str | os.PathLike[str]) -> Path:
    """Write one PNG: ``metric`` against ``factor`` with the fitted law(s)."""
    require("matplotlib", "draw PNG plots")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    series, laws, numeric = _prepare(result, metric, factor)
    fig = Figure(figsize=(7, 4.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    categories = list(dict.fromkeys(str(x) for _, xs, _ in series for x in xs))
    all_x: list[float] = []
    all_y: list[float] = []
    for group, xs, ys in series:
        x_plot = [float(x) for x in xs] if numeric else [categories.index(str(x)) for x in xs]
        all_x += x_plot
        all_y += ys
        points = ax.scatter(x_plot, ys, s=22, label=_group_label(group))
        law = _law_for(laws, group)
        if law is not None and law.fits:  # no curve for "no simple law fits"
            lx, ly = _curve(law, *_log_axes(x_plot, ys))
            ax.plot(lx, ly, color=points.get_facecolor()[0], linewidth=1.2, label=f"{law.law} fit")
    log_x, log_y = _log_axes(all_x, all_y) if numeric else (False, _log_axes([1], all_y)[1])
    ax.set_xscale("log" if log_x else "linear")
    ax.set_yscale("log" if log_y else "linear")
    if not numeric:
        ax.set_xticks(range(len(categories)), categories, rotation=20)
    ax.set_xlabel(factor)
    ax.set_ylabel(axis_label(metric))
    if unit(metric) == "bytes":  # the CLI's units: IEC (KiB, MiB), never raw byte counts
        from matplotlib.ticker import FuncFormatter

        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: format_bytes(int(v)) if v >= 0 else ""))
        if not log_y and all_y:  # ticks at round values of one unit (16 KiB, 32 KiB), not at 20,000 bytes
            from .html_shrink import byte_ticks

            low, high = ax.get_ylim()
            ticks = byte_ticks(max(low, 0.0), high, False, "iec")
            if len(ticks) >= 2:
                ax.set_yticks([v for v, _ in ticks], [t for _, t in ticks])
    ax.set_title(f"{label(metric)} against {factor}", fontsize=10)
    if laws:
        import textwrap

        fig.text(0.01, 0.01, "\n".join(textwrap.wrap("; ".join(law_sentence(l) for l in laws), 140)), fontsize=7,
                 va="bottom")
        fig.subplots_adjust(bottom=0.22)
    ax.grid(True, which="both", alpha=0.3)
    if len(series) > 1 or laws:
        ax.legend(fontsize=7)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, format="png")
    return out


def figure(result: SweepResult, metric: str, factor: str) -> Any:
    """A plotly figure of ``metric`` against ``factor`` with the fitted law(s)."""
    go = require("plotly.graph_objects", "draw interactive HTML plots")
    series, laws, numeric = _prepare(result, metric, factor)
    fig = go.Figure()
    all_x: list[float] = []
    all_y: list[float] = []
    for group, xs, ys in series:
        name = _group_label(group)
        fig.add_trace(go.Scatter(x=list(xs) if numeric else [str(x) for x in xs], y=ys, mode="markers", name=name))
        if numeric:
            all_x += [float(x) for x in xs]
        all_y += ys
        law = _law_for(laws, group)
        if law is not None and law.fits:
            lx, ly = _curve(law, *_log_axes([float(x) for x in xs], ys))
            fig.add_trace(go.Scatter(x=lx.tolist(), y=ly.tolist(), mode="lines", name=f"{law.law} fit ({name})",
                                     hovertext=law_sentence(law)))
    log_x, log_y = _log_axes(all_x, all_y) if numeric else (False, _log_axes([1], all_y)[1])
    fig.update_layout(
        title=f"{label(metric)} against {factor}" + (f"<br><sup>{law_sentence(laws[0])}</sup>" if len(laws) == 1 else ""),
        xaxis={"title": factor, "type": "log" if log_x else ("linear" if numeric else "category")},
        yaxis={"title": axis_label(metric), "type": "log" if log_y else "linear"},
        template="plotly_white", height=450,
    )
    return fig


def html(result: SweepResult, path: str | os.PathLike[str], metrics: Sequence[str] | None = None,
         factors: Sequence[str] | None = None) -> Path:
    """One self-contained HTML page (plotly.js embedded once, works offline): laws, then one plot per pair."""
    pio = require("plotly.io", "write interactive HTML plots")
    pairs = plot_pairs(result, metrics, factors)
    laws = [law for factor in {f for _, f in pairs} if factor in result.numeric_factors()
            for law in result.laws(metrics=[m for m, f in pairs if f == factor], factors=[factor])]
    parts = [f"<h1>{_html.escape(result.name)}</h1>",
             f"<p>Sweep {result.spec_hash}: {len(result.trials)} trials, {len(result.failed)} failed.</p>"]
    if laws:
        parts.append("<h2>Growth laws</h2><ul>" + "".join(f"<li>{_html.escape(law_sentence(l))}</li>" for l in laws) + "</ul>")
    for i, (metric, factor) in enumerate(pairs):
        parts.append(pio.to_html(figure(result, metric, factor), full_html=False, include_plotlyjs=(i == 0)))
    page = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>" + _html.escape(result.name) +
            "</title></head><body style='font-family: sans-serif; max-width: 1000px; margin: auto'>" +
            "\n".join(parts) + "</body></html>")
    out = Path(path)
    out.write_text(page, encoding="utf-8")
    return out


def plot_pairs(result: SweepResult, metrics: Sequence[str] | None = None,
               factors: Sequence[str] | None = None) -> list[tuple[str, str]]:
    """(metric, factor) pairs to plot: by default the headline metrics against every factor but the seed."""
    available = result.numeric_metrics()
    chosen_metrics = list(metrics) if metrics else [m for m in HEADLINE_METRICS if m in available]
    for metric in chosen_metrics:
        if metric not in available:
            raise option_error("metric", "a numeric metric of this sweep: " + ", ".join(available), metric)
    axis = [f for f in result.factors if f not in NON_AXIS or (f == "factory" and len(result.factors) == 1)]
    chosen_factors = list(factors) if factors else axis
    for factor in chosen_factors:
        if factor not in result.factors:
            raise option_error("factor", "a factor of the sweep: " + ", ".join(result.factors), factor)
    return [(m, f) for f in chosen_factors for m in chosen_metrics]


def write_all(result: SweepResult, folder: str | os.PathLike[str], metrics: Sequence[str] | None = None,
              factors: Sequence[str] | None = None, png_files: bool = True, html_file: bool = True) -> list[Path]:
    """PNG per (metric, factor) and one HTML page into ``folder``; returns the paths written."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    if png_files:
        for metric, factor in plot_pairs(result, metrics, factors):
            written.append(png(result, metric, factor, out / f"{slug(metric)}-vs-{slug(factor)}.png"))
    if html_file:
        written.append(html(result, out / f"{slug(result.name)}.html", metrics, factors))
    return written

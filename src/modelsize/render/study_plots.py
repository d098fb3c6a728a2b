"""A study's figures: several series on one pair of axes, each with its fitted law (PNG, Agg)."""

from __future__ import annotations

import os
from pathlib import Path

from ..core.optional import require
from ..factors.law_words import label
from ..factors.studies.base import PlotSpec
from ..factors.studies.outcome import StudyOutcome
from ..factors.studies.verdict import MissingEvidence, law, series


def study_png(outcome: StudyOutcome, plot: PlotSpec, path: str | os.PathLike[str]) -> Path | None:
    """Draw ``plot`` from the outcome's results; ``None`` when no series has a point to draw."""
    require("matplotlib", "draw the studies' plots")
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.2), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    drawn = 0
    all_x: list[float] = []
    all_y: list[float] = []
    for s in plot.series:
        result = outcome.results.get(s.part)
        if result is None:
            continue
        try:
            xs, ys = series(result, s.metric, s.factor)
        except MissingEvidence:
            continue
        fit = law(result, s.metric, s.factor)
        points = ax.plot(xs, ys, "o", label=s.label + (f" — {fit.law}" if fit else ""))[0]
        if fit is not None:
            grid = np.linspace(fit.x_min, fit.x_max, 100)
            ax.plot(grid, fit.predict(grid), color=points.get_color(), linewidth=1.1)
        drawn += 1
        all_x += xs
        all_y += ys
    if not drawn:
        return None

    def wide(values: list[float]) -> bool:
        return min(values) > 0 and max(values) / min(values) > 20

    if wide(all_x):
        ax.set_xscale("log")
    if wide(all_y):
        ax.set_yscale("log")
    ax.set_xlabel(plot.series[0].factor)
    ax.set_ylabel(plot.ylabel or label(plot.series[0].metric))
    ax.set_title(plot.title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, format="png")
    return out

"""A sweep's results: one row per trial, factors then metrics; tables, exports and laws.

Rows are plain dicts (no pandas needed); :meth:`SweepResult.frame` gives a pandas DataFrame,
:meth:`SweepResult.to_csv` and :meth:`SweepResult.to_parquet` write files, and
:meth:`SweepResult.laws` fits growth laws of each metric against each numeric factor.
"""

from __future__ import annotations

import csv
import importlib
import io
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..core.errors import OptionError, computation_error, option_error
from ..core.optional import require
from .grid import NON_AXIS
from .types import TrialResult

if TYPE_CHECKING:  # pragma: no cover
    from .laws import LawFit

#: Columns every row has, after the factors.
META_COLUMNS = ("trial", "seed", "status", "error", "duration_s", "worker")
#: Metrics the CLI fits laws for by default (when present).
HEADLINE_METRICS = ("params", "stored_bytes", "serialized_bytes", "compressed_bytes", "score", "train_time_s",
                    "latency_s")


@dataclass(frozen=True)
class SweepResult:
    """The trials of one sweep, in grid order."""

    spec_hash: str
    name: str
    factors: tuple[str, ...]
    trials: tuple[TrialResult, ...]

    def __repr__(self) -> str:
        return (f"<SweepResult {self.name!r} [{self.spec_hash}]: {len(self.trials)} trials, "
                f"{len(self.ok)} ok, {len(self.trials) - len(self.ok)} failed>")

    def _repr_html_(self) -> str:
        """The trials as a table in Jupyter, drawn by ``render/notebook.py`` (looked up by name:
        ``factors/`` never imports ``render/``, which imports this module)."""
        return importlib.import_module("modelsize.render.notebook").sweep_result_html(self)

    @property
    def ok(self) -> tuple[TrialResult, ...]:
        return tuple(t for t in self.trials if t.ok)

    @property
    def failed(self) -> tuple[TrialResult, ...]:
        """Trials that failed or ran out of time."""
        return tuple(t for t in self.trials if not t.ok)

    # ------------------------------------------------------------------ rows

    def metrics(self) -> list[str]:
        """Metric names in first-seen order."""
        names: dict[str, None] = {}
        for trial in self.trials:
            names.update(dict.fromkeys(trial.metrics))
        return list(names)

    def columns(self) -> list[str]:
        factors = [f for f in self.factors if f != "seed"]
        metrics = [m for m in self.metrics() if m not in factors and m not in META_COLUMNS]
        return ["trial", *factors, "seed", "status", *metrics, "duration_s", "worker", "error"]

    def records(self) -> list[dict[str, Any]]:
        """One flat dict per trial: trial key, factors, seed, status, metrics, duration, worker, error."""
        rows = []
        for t in self.trials:
            row: dict[str, Any] = {"trial": t.key}
            row.update({f: t.factors.get(f) for f in self.factors if f != "seed"})
            row.update(seed=t.seed, status=t.status)
            row.update({k: v for k, v in t.metrics.items() if k not in row})
            row.update(duration_s=t.duration_s, worker=t.worker, error=t.error)
            rows.append(row)
        return rows

    def numeric_factors(self) -> list[str]:
        """Factors with at least three distinct numbers among successful trials (x-axes for laws)."""
        out = []
        for name in self.factors:
            if name in NON_AXIS:
                continue
            values = [t.factors.get(name) for t in self.ok]
            if values and all(_is_number(v) for v in values) and len(set(values)) >= 3:
                out.append(name)
        return out

    def numeric_metrics(self) -> list[str]:
        """Metrics that are numbers (not all missing) in successful trials."""
        out = []
        for name in self.metrics():
            values = [t.metrics.get(name) for t in self.ok]
            present = [v for v in values if v is not None]
            if present and all(_is_number(v) for v in present):
                out.append(name)
        return out

    # ------------------------------------------------------------------ exports

    def frame(self) -> Any:
        """A pandas DataFrame, one row per trial (columns as :meth:`columns`)."""
        pandas = require("pandas", "build a DataFrame of sweep results")
        return pandas.DataFrame(self.records(), columns=self.columns())

    def to_csv(self, path: str | os.PathLike[str] | None = None) -> str:
        """CSV text (written to ``path`` too when given). Lists become JSON-like text."""
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=self.columns(), extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in self.records():
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
        text = buffer.getvalue()
        if path is not None:
            with open(path, "w", encoding="utf-8", newline="") as fh:
                fh.write(text)
        return text

    def to_parquet(self, path: str | os.PathLike[str]) -> None:
        """A Parquet file (needs pandas and pyarrow). List-valued factors are stored as text."""
        require("pyarrow", "write Parquet files")
        frame = self.frame()
        for column in frame.columns:
            if frame[column].map(lambda v: isinstance(v, (list, tuple, dict))).any():
                frame[column] = frame[column].map(lambda v: None if v is None else str(v))
        frame.to_parquet(path, index=False)

    # ------------------------------------------------------------------ analysis

    def laws(self, metrics: Sequence[str] | None = None, factors: Sequence[str] | None = None,
             confidence: float = 0.95) -> list["LawFit"]:
        """Fit growth laws of each metric against each numeric factor (see :mod:`.laws`).

        With several factors, one law is fitted per combination of the other factors (seeds
        pooled), so every fit sees one factor move and everything else fixed.
        """
        from .laws import fit_law

        if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0 < confidence < 1:
            raise option_error("confidence", "a number between 0 and 1 (exclusive)", confidence)
        numeric = self.numeric_factors()
        chosen_factors = list(factors) if factors is not None else numeric
        for name in chosen_factors:
            if name not in numeric:
                raise option_error("factor", "a factor with at least three numeric values: " + (", ".join(numeric) or "none"), name)
        available = self.numeric_metrics()
        chosen_metrics = list(metrics) if metrics is not None else available
        for name in chosen_metrics:
            if name not in available:
                raise option_error("metric", "a numeric metric of this sweep: " + ", ".join(available), name)
        fits = []
        for factor in chosen_factors:
            others = [f for f in self.factors if f != factor and f not in NON_AXIS]
            groups: dict[str, list[TrialResult]] = {}
            for t in self.ok:
                groups.setdefault(repr([t.factors.get(f) for f in others]), []).append(t)
            for members in groups.values():
                group = {f: members[0].factors.get(f) for f in others}
                for metric in chosen_metrics:
                    pairs = [(float(t.factors[factor]), float(t.metrics[metric])) for t in members
                             if t.metrics.get(metric) is not None and math.isfinite(float(t.metrics[metric]))]
                    if len({x for x, _ in pairs}) >= 3:
                        xs, ys = zip(*pairs)
                        try:
                            fits.append(fit_law(xs, ys, metric=metric, factor=factor, group=group,
                                                confidence=confidence))
                        except OptionError as exc:  # the points are ours, not the caller's options
                            raise computation_error(exc, f"fitting a law of {metric!r} against {factor!r}") from exc
        return fits


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)

"""Growth laws in words: the sentence, the formula and the numbers of a :class:`~modelsize.factors.laws.LawFit`.

The fit (``factors/laws.py``) is data — coefficients, exponent, interval, whether a law fits at
all; this module words it. The sentence is part of a sweep's results (the sweep and study JSON
carry it, the studies' verdicts quote it), so it sits with the fit, below ``render/``, which
shows it in tables, plots and pages. Rules that keep the words honest:

* a law is stated only when the fit says one fits (``fit.fits``); otherwise the sentence says
  "no simple law fits" and why (spread too wide, exponent interval crossing 0, too few points);
* the verb agrees with the exponent: a straight line whose log-log slope is far from 1 is called
  a straight line with an offset, not "linear growth";
* coefficients are rounded to their significance, and terms too small to change the metric over
  the data's range (``-1.279e-13·x``) are left out of formulas.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .laws import LawFit

LABELS = {
    "params": "parameters", "stored_bytes": "stored bytes", "serialized_bytes": "serialized bytes",
    "compressed_bytes": "compressed bytes", "train_time_s": "training time", "latency_s": "latency",
    "peak_rss_bytes": "peak RSS", "train_rss_delta_bytes": "training memory", "data_bytes": "training-data bytes",
}
#: units of the metrics above, for axis labels
UNITS = {"params": "count", "train_time_s": "s", "latency_s": "s"}
#: how far from 1 a straight line's log-log slope may be and still be called "linear" (proportional)
LINEAR_SLOPE_TOLERANCE = 0.2
#: a formula term changing the metric by less than this share of its largest value is noise
NEGLIGIBLE_TERM = 1e-6


def label(metric: str) -> str:
    """A metric's name for people: ``stored_bytes`` → "stored bytes", ``format:skops`` → "skops file bytes"."""
    if metric.startswith("format:"):
        return f"{metric[7:]} file bytes"
    if metric.startswith("zstd:"):
        return f"zstd-compressed {metric[5:]} bytes"
    return LABELS.get(metric, metric.replace("_", " "))


def unit(metric: str) -> str | None:
    """The unit of a metric's raw values (``bytes``, ``s``, ``count``), or ``None`` when unknown."""
    if metric.endswith("bytes") or metric.startswith(("format:", "zstd:")):
        return "bytes"
    return UNITS.get(metric)


def number(value: float, sign: bool = False) -> str:
    """4 significant digits, thousands separated, no exponent for everyday magnitudes."""
    if value == 0 or not math.isfinite(value):
        text = f"{value:g}"
    elif 1e-3 <= abs(value) < 1e15:
        digits = max(0, 3 - int(math.floor(math.log10(abs(value)))))
        text = f"{round(value, digits):,.{digits}f}"
    else:
        text = f"{value:.4g}"
    return ("+" if sign and value >= 0 else "") + text


def _verb(name: str, singular: str, plural: str) -> str:
    return plural if name.endswith(("bytes", "parameters", "params")) else singular


def _where(fit: "LawFit") -> str:
    return " (at " + ", ".join(f"{k}={v}" for k, v in fit.group.items()) + ")" if fit.group else ""


def _expo(fit: "LawFit") -> str:
    if fit.exponent is None:
        return ""
    pct = f"{fit.confidence * 100:g}% CI"
    ci = f", {pct} {fit.exponent_ci[0]:.2f} to {fit.exponent_ci[1]:.2f}" if fit.exponent_ci else ""
    return f"log-log exponent {fit.exponent:.2f}{ci}"


def formula(fit: "LawFit") -> str:
    """The chosen law as a formula in the factor, negligible terms left out (``y = 3.2·x² + 15``)."""
    c, x = fit.coefficients, fit.factor
    if fit.law == "power":
        return f"{number(c['a'])}·{x}^{c['b']:.2f}"
    if fit.law == "logarithmic":
        return f"{number(c['a'])} {number(c['b'], sign=True)}·ln {x}"
    terms = {"quadratic": (("c", 2), ("b", 1), ("a", 0)), "linear": (("b", 1), ("a", 0))}.get(fit.law, (("a", 0),))
    scale = max(abs(fit.x_min), abs(fit.x_max), 1e-300)
    size = max(abs(c.get(k, 0.0)) * scale**p for k, p in terms) or 1.0
    parts = []
    for key, power in terms:
        value = c.get(key, 0.0)
        if abs(value) * scale**power < NEGLIGIBLE_TERM * size:
            continue  # numerical noise, not part of the law
        var = "" if power == 0 else (f"·{x}" if power == 1 else f"·{x}²")
        parts.append(number(value, sign=bool(parts)) + var)
    return " ".join(parts) or "0"


def sentence(fit: "LawFit") -> str:
    """One sentence stating the chosen law — or that none fits — from the fit's numbers only."""
    name, factor = label(fit.metric), fit.factor
    where = _where(fit)
    if not fit.fits:
        why = {"spread": f"the points scatter too much for any candidate (best R² "
                         f"{'n/a' if fit.r2 is None else f'{fit.r2:.2f}'})",
               "ci_crosses_zero": "the log-log exponent's interval includes 0, so even the direction is uncertain",
               "too_few_points": f"{fit.n_points} points are too few to tell laws apart"}.get(fit.reason or "", "")
        rng = f"{number(fit.y_min)} to {number(fit.y_max)}"
        return (f"no simple law fits {name} against {factor}{where}: values from {rng} over {factor}="
                f"{fit.x_min:g}…{fit.x_max:g}" + (f"; {why}" if why else ""))
    r2 = f"R² {fit.r2:.3f}" if fit.r2 is not None else "R² n/a"
    ends = fit.predict([fit.x_min, fit.x_max])
    grow = _verb(name, "grows", "grow") if bool(ends[1] >= ends[0]) else _verb(name, "falls", "fall")
    if fit.law == "constant":
        stays = _verb(name, "does", "do")
        return (f"{name} {stays} not change with {factor}{where}: {number(fit.y_mean)} from {factor}={fit.x_min:g} "
                f"to {fit.x_max:g} (largest deviation {fit.y_max_deviation:.1%})")
    if fit.law == "power":
        pct = f"{fit.confidence * 100:g}% CI"
        ci = f" ({pct} {fit.exponent_ci[0]:.2f} to {fit.exponent_ci[1]:.2f})" if fit.exponent_ci else ""
        return f"{name} {grow} as {factor}^{fit.coefficients['b']:.2f}{where}{ci}, {r2}"
    expo = _expo(fit)
    if fit.law == "linear":
        slope = number(fit.coefficients["b"], sign=True)
        proportional = fit.exponent is not None and abs(fit.exponent - 1) <= LINEAR_SLOPE_TOLERANCE
        how = "linearly" if proportional else "along a straight line with an offset"
        return f"{name} {grow} {how} with {factor}{where}: {slope} per unit ({expo}), {r2}"
    if fit.law == "quadratic":
        return f"{name} {grow} quadratically with {factor}{where}: {formula(fit)} ({expo}), {r2}"
    per_doubling = fit.coefficients["b"] * math.log(2)
    return (f"{name} {grow} logarithmically with {factor}{where}: {number(per_doubling, sign=True)} per doubling "
            f"({expo}), {r2}")

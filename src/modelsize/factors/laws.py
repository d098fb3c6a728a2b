"""Growth laws: which simple curve explains a metric against a factor, chosen by cross-validation.

Candidates, with their number of coefficients:

=============  ======================  ==
constant       y = a                   1
linear         y = a + b·x             2
power          y = a·x^b               2   (fitted on log-log axes; x, y > 0)
logarithmic    y = a + b·ln x          2   (x > 0)
quadratic      y = a + b·x + c·x²      3
=============  ======================  ==

Each candidate is scored by leave-one-value-out cross-validation (every point at one x value is
predicted from a fit to the others; root-mean-square error in the metric's own units). The
law chosen is the simplest one whose error is within 10 % of the best (plus a millionth of the
metric's mean, so numerically exact fits tie): a straight line that fits as well as a parabola
is reported as a straight line. Independently, the log-log slope gives the growth exponent
with a t-based confidence interval — "bytes ∝ n^1.00 (95 % CI 0.98–1.02)" — and the sentence
that reports a fit is built from these numbers only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.errors import option_error

LAWS = ("constant", "linear", "power", "logarithmic", "quadratic")
N_COEFFICIENTS = {"constant": 1, "linear": 2, "power": 2, "logarithmic": 2, "quadratic": 3}
#: A candidate within this relative distance of the best CV error counts as just as good.
REL_TOLERANCE = 0.10
#: ... and so does one within this fraction of the metric's mean absolute value.
ABS_TOLERANCE = 1e-6

LABELS = {
    "params": "parameters", "stored_bytes": "stored bytes", "serialized_bytes": "serialized bytes",
    "compressed_bytes": "compressed bytes", "train_time_s": "training time", "latency_s": "latency",
    "peak_rss_bytes": "peak RSS", "train_rss_delta_bytes": "training memory", "data_bytes": "training-data bytes",
}


@dataclass(frozen=True)
class Candidate:
    """One law fitted to all points, with its cross-validated error (``None``: not applicable)."""

    law: str
    coefficients: Mapping[str, float]
    cv_rmse: float | None
    r2: float | None
    note: str | None = None

    @property
    def n_coefficients(self) -> int:
        return N_COEFFICIENTS[self.law]


@dataclass(frozen=True)
class LawFit:
    """The law chosen for one metric against one factor (other factors fixed at ``group``)."""

    metric: str
    factor: str
    law: str
    coefficients: Mapping[str, float]
    r2: float | None
    cv_rmse: float | None
    n_points: int
    x_min: float
    x_max: float
    exponent: float | None
    exponent_ci: tuple[float, float] | None
    confidence: float
    candidates: tuple[Candidate, ...]
    sentence: str
    group: Mapping[str, Any] = field(default_factory=dict)

    def predict(self, x: Any) -> np.ndarray:
        """The chosen law's values at ``x``."""
        return predict(self.law, self.coefficients, np.asarray(x, dtype=float))

    def candidate(self, law: str) -> Candidate:
        return next(c for c in self.candidates if c.law == law)

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric, "factor": self.factor, "group": dict(self.group), "law": self.law,
            "coefficients": dict(self.coefficients), "r2": self.r2, "cv_rmse": self.cv_rmse,
            "n_points": self.n_points, "x_min": self.x_min, "x_max": self.x_max, "exponent": self.exponent,
            "exponent_ci": list(self.exponent_ci) if self.exponent_ci else None, "confidence": self.confidence,
            "sentence": self.sentence,
            "candidates": [{"law": c.law, "coefficients": dict(c.coefficients), "cv_rmse": c.cv_rmse, "r2": c.r2,
                            "note": c.note} for c in self.candidates],
        }


# ---------------------------------------------------------------------------- single laws


def _lstsq(columns: list[np.ndarray], y: np.ndarray) -> np.ndarray:
    design = np.column_stack(columns)
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    return coef


def fit_single(law: str, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Least-squares coefficients of one law (power: on log-log axes)."""
    ones = np.ones_like(x)
    if law == "constant":
        return {"a": float(np.mean(y))}
    if law == "linear":
        a, b = _lstsq([ones, x], y)
        return {"a": float(a), "b": float(b)}
    if law == "quadratic":
        scale = float(np.max(np.abs(x))) or 1.0  # conditioning: fit on x/scale, then undo
        a, b, c = _lstsq([ones, x / scale, (x / scale) ** 2], y)
        return {"a": float(a), "b": float(b / scale), "c": float(c / scale**2)}
    if law == "logarithmic":
        a, b = _lstsq([ones, np.log(x)], y)
        return {"a": float(a), "b": float(b)}
    if law == "power":
        log_a, b = _lstsq([ones, np.log(x)], np.log(y))
        return {"a": float(math.exp(log_a)), "b": float(b)}
    raise option_error("law", "one of " + ", ".join(LAWS), law)


def predict(law: str, c: Mapping[str, float], x: np.ndarray) -> np.ndarray:
    if law == "constant":
        return np.full_like(x, c["a"], dtype=float)
    if law == "linear":
        return c["a"] + c["b"] * x
    if law == "quadratic":
        return c["a"] + c["b"] * x + c["c"] * x**2
    if law == "logarithmic":
        return c["a"] + c["b"] * np.log(x)
    if law == "power":
        return c["a"] * np.power(x, c["b"])
    raise option_error("law", "one of " + ", ".join(LAWS), law)


def _applicable(law: str, x: np.ndarray, y: np.ndarray) -> str | None:
    """Why ``law`` cannot be fitted to these points, or ``None``."""
    need = N_COEFFICIENTS[law] + 1
    if len(np.unique(x)) < need:
        return f"needs {need} distinct values of the factor for cross-validation"
    if law in ("power", "logarithmic") and np.any(x <= 0):
        return "needs factor values > 0"
    if law == "power" and np.any(y <= 0):
        return "needs metric values > 0"
    return None


def r_squared(y: np.ndarray, fitted: np.ndarray) -> float | None:
    total = float(np.sum((y - y.mean()) ** 2))
    if total <= 0:
        return None
    return 1.0 - float(np.sum((y - fitted) ** 2)) / total


def cv_rmse(law: str, x: np.ndarray, y: np.ndarray) -> float:
    """Leave-one-value-out RMSE: every point at one x predicted from a fit to the other x values."""
    errors = np.empty_like(y)
    for value in np.unique(x):
        held = x == value
        coef = fit_single(law, x[~held], y[~held])
        errors[held] = predict(law, coef, x[held]) - y[held]
    return float(np.sqrt(np.mean(errors**2)))


# ---------------------------------------------------------------------------- exponent


def log_log_exponent(x: np.ndarray, y: np.ndarray, confidence: float) -> tuple[float | None, tuple[float, float] | None]:
    """Slope of ln y on ln x and its confidence interval (points with x, y > 0 only)."""
    keep = (x > 0) & (y > 0)
    lx, ly = np.log(x[keep]), np.log(y[keep])
    if len(np.unique(lx)) < 2:
        return None, None
    sxx = float(np.sum((lx - lx.mean()) ** 2))
    slope = float(np.sum((lx - lx.mean()) * (ly - ly.mean())) / sxx)
    dof = len(lx) - 2
    if dof < 1:
        return slope, None
    residuals = ly - (ly.mean() + slope * (lx - lx.mean()))
    se = math.sqrt(float(np.sum(residuals**2)) / dof / sxx)
    half = t_quantile(0.5 + confidence / 2, dof) * se
    return slope, (slope - half, slope + half)


def t_quantile(p: float, dof: int) -> float:
    """Student's t quantile (SciPy when installed; else the normal quantile, slightly narrow for few points)."""
    try:
        from scipy import stats
    except ImportError:  # pragma: no cover - scipy comes with scikit-learn
        from statistics import NormalDist

        return NormalDist().inv_cdf(p)
    return float(stats.t.ppf(p, dof))


# ---------------------------------------------------------------------------- choosing


def fit_law(x: Sequence[float], y: Sequence[float], *, metric: str = "y", factor: str = "x",
            laws: Sequence[str] = LAWS, group: Mapping[str, Any] | None = None, confidence: float = 0.95) -> LawFit:
    """Fit every law in ``laws`` to the points and choose one by cross-validated error."""
    xs = np.asarray(x, dtype=float)
    ys = np.asarray(y, dtype=float)
    if xs.shape != ys.shape or xs.ndim != 1:
        raise option_error("x", "a sequence of numbers as long as y", f"{xs.shape} vs {ys.shape}")
    if not 0 < confidence < 1:
        raise option_error("confidence", "a number between 0 and 1 (exclusive)", confidence)
    for law in laws:
        if law not in LAWS:
            raise option_error("laws", "names among " + ", ".join(LAWS), law)
    if len(np.unique(xs)) < 2 or not np.all(np.isfinite(xs)) or not np.all(np.isfinite(ys)):
        raise option_error("x", "at least two distinct finite values (with finite y)", sorted(set(xs.tolist())))
    candidates = []
    for law in laws:
        why = _applicable(law, xs, ys)
        if why is not None:
            candidates.append(Candidate(law, {}, None, None, why))
            continue
        coef = fit_single(law, xs, ys)
        candidates.append(Candidate(law, coef, cv_rmse(law, xs, ys), r_squared(ys, predict(law, coef, xs))))
    chosen = choose(candidates, ys)
    exponent, ci = log_log_exponent(xs, ys, confidence)
    fit = LawFit(
        metric=metric, factor=factor, law=chosen.law, coefficients=chosen.coefficients, r2=chosen.r2,
        cv_rmse=chosen.cv_rmse, n_points=len(xs), x_min=float(xs.min()), x_max=float(xs.max()),
        exponent=exponent, exponent_ci=ci, confidence=confidence, candidates=tuple(candidates), sentence="",
        group=dict(group or {}),
    )
    return _with_sentence(fit, ys)


def choose(candidates: Sequence[Candidate], y: np.ndarray) -> Candidate:
    """The simplest candidate whose CV error is within the tolerance of the best one's."""
    scored = [c for c in candidates if c.cv_rmse is not None]
    if not scored:  # fewer than 2 distinct x: only the mean can be given
        return Candidate("constant", {"a": float(np.mean(y))}, None, None, "too few points to cross-validate")
    best = min(c.cv_rmse for c in scored if c.cv_rmse is not None)
    limit = best * (1 + REL_TOLERANCE) + ABS_TOLERANCE * float(np.mean(np.abs(y)))
    good = [c for c in scored if c.cv_rmse is not None and c.cv_rmse <= limit]
    return min(good, key=lambda c: (c.n_coefficients, c.cv_rmse))


# ---------------------------------------------------------------------------- the sentence


def label(metric: str) -> str:
    """A metric's name for people: ``stored_bytes`` → "stored bytes", ``format:skops`` → "skops file bytes"."""
    if metric.startswith("format:"):
        return f"{metric[7:]} file bytes"
    if metric.startswith("zstd:"):
        return f"zstd-compressed {metric[5:]} bytes"
    return LABELS.get(metric, metric.replace("_", " "))


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


def _with_sentence(fit: LawFit, y: np.ndarray) -> LawFit:
    from dataclasses import replace

    return replace(fit, sentence=sentence(fit, y))


def sentence(fit: LawFit, y: np.ndarray) -> str:
    """One sentence stating the chosen law, computed from the fit's numbers."""
    name, factor, c = label(fit.metric), fit.factor, fit.coefficients
    r2 = f"R² {fit.r2:.3f}" if fit.r2 is not None else "R² n/a"
    pct = f"{fit.confidence * 100:g}% CI"
    expo = ""
    if fit.exponent is not None:
        ci = f", {pct} {fit.exponent_ci[0]:.2f} to {fit.exponent_ci[1]:.2f}" if fit.exponent_ci else ""
        expo = f"log-log exponent {fit.exponent:.2f}{ci}"
    ends = fit.predict([fit.x_min, fit.x_max])
    rising = bool(ends[1] >= ends[0])
    grow = _verb(name, "grows", "grow") if rising else _verb(name, "falls", "fall")
    where = ""
    if fit.group:
        where = " (at " + ", ".join(f"{k}={v}" for k, v in fit.group.items()) + ")"
    if fit.law == "constant":
        mean = float(np.mean(y))
        spread = float(np.max(np.abs(y - mean)) / abs(mean)) if mean else float(np.max(np.abs(y)))
        stays = _verb(name, "does", "do")
        return (f"{name} {stays} not change with {factor}{where}: {number(mean)} from {factor}={fit.x_min:g} "
                f"to {fit.x_max:g} (largest deviation {spread:.1%})")
    if fit.law == "power":
        ci = f" ({pct} {fit.exponent_ci[0]:.2f} to {fit.exponent_ci[1]:.2f})" if fit.exponent_ci else ""
        return f"{name} {grow} as {factor}^{c['b']:.2f}{where}{ci}, {r2}"
    if fit.law == "linear":
        return f"{name} {grow} linearly with {factor}{where}: {number(c['b'], sign=True)} per unit ({expo}), {r2}"
    if fit.law == "quadratic":
        return (f"{name} {grow} quadratically with {factor}{where}: {number(c['c'])}·x² {number(c['b'], sign=True)}·x "
                f"{number(c['a'], sign=True)} "
                f"({expo}), {r2}")
    per_doubling = c["b"] * math.log(2)
    return f"{name} {grow} logarithmically with {factor}{where}: {number(per_doubling, sign=True)} per doubling ({expo}), {r2}"


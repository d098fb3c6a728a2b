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
is reported as a straight line; a law whose shape the exponent contradicts gives way to the power or
linear law (:func:`agree_with_exponent`). Independently, the log-log slope gives the growth exponent
with a t-based confidence interval — "bytes ∝ n^1.00 (95 % CI 0.98–1.02)" — and the sentence
that reports a fit is built from these numbers only. A fit also records whether any law fits at
all (``fits``/``reason``); the wording lives in :mod:`modelsize.factors.law_words`, so a fit stays data.
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

#: below this R² no candidate is said to fit (the points scatter around every curve)
MIN_R2 = 0.9
#: a constant fits only when every point is within this share of the mean
MAX_CONSTANT_DEVIATION = 0.05


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
    group: Mapping[str, Any] = field(default_factory=dict)
    #: whether the chosen law explains the points; when not, ``reason`` says why (data, not words:
    #: "spread", "ci_crosses_zero", "too_few_points") and renderers say "no simple law fits"
    fits: bool = True
    reason: str | None = None
    y_min: float = 0.0
    y_max: float = 0.0
    y_mean: float = 0.0
    #: largest |y - mean| / |mean| (how far a "constant" metric strays)
    y_max_deviation: float = 0.0

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
            "fits": self.fits, "reason": self.reason, "y_min": self.y_min, "y_max": self.y_max,
            "y_mean": self.y_mean, "y_max_deviation": self.y_max_deviation,
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
    exponent, ci = log_log_exponent(xs, ys, confidence)
    chosen = agree_with_exponent(choose(candidates, ys), candidates, ci)
    mean = float(np.mean(ys))
    deviation = float(np.max(np.abs(ys - mean)) / abs(mean)) if mean else float(np.max(np.abs(ys)))
    reason = why_no_law(chosen, ci, deviation)
    return LawFit(
        metric=metric, factor=factor, law=chosen.law, coefficients=chosen.coefficients, r2=chosen.r2,
        cv_rmse=chosen.cv_rmse, n_points=len(xs), x_min=float(xs.min()), x_max=float(xs.max()),
        exponent=exponent, exponent_ci=ci, confidence=confidence, candidates=tuple(candidates),
        group=dict(group or {}), fits=reason is None, reason=reason, y_min=float(ys.min()), y_max=float(ys.max()),
        y_mean=mean, y_max_deviation=deviation,
    )


def agree_with_exponent(chosen: Candidate, candidates: Sequence[Candidate],
                        ci: tuple[float, float] | None) -> Candidate:
    """The chosen law, unless its shape contradicts the log-log exponent's interval.

    The rule: a growing quadratic says "faster than linear", so it needs the whole interval above 1;
    a logarithm says "slower than linear", so it needs the whole interval below 1. When the
    interval reaches 1 (or lies on the other side), the better-cross-validated of the power and the
    linear law is reported instead: a forest's parameters with exponent 1.01 (CI 0.97–1.05) grow
    linearly, and a training time with exponent 0.85 never "grows quadratically".
    """
    if ci is None:
        return chosen
    low, high = ci
    growing = high > 0 and low > 0
    contradicts = (chosen.law == "quadratic" and growing and low <= 1) or \
        (chosen.law == "logarithmic" and growing and high >= 1)
    if not contradicts:
        return chosen
    plain = [c for c in candidates if c.law in ("power", "linear") and c.cv_rmse is not None]
    return min(plain, key=lambda c: (c.cv_rmse, c.n_coefficients)) if plain else chosen


def why_no_law(chosen: Candidate, ci: tuple[float, float] | None, deviation: float) -> str | None:
    """``None`` when the chosen law explains the points; else the reason, as a code.

    A constant fits only when no point strays more than :data:`MAX_CONSTANT_DEVIATION` from the
    mean (nodes going 269 → 91 is not "unchanged"); any other law needs R² >= :data:`MIN_R2` and
    a log-log exponent interval that does not cross 0 (else not even the direction is known).
    """
    if chosen.cv_rmse is None:
        return "too_few_points"
    if chosen.law == "constant":
        return None if deviation <= MAX_CONSTANT_DEVIATION else "spread"
    if chosen.r2 is None or chosen.r2 < MIN_R2:
        return "spread"
    if ci is not None and ci[0] < 0 < ci[1]:
        return "ci_crosses_zero"
    return None


def choose(candidates: Sequence[Candidate], y: np.ndarray) -> Candidate:
    """The simplest candidate whose CV error is within the tolerance of the best one's."""
    scored = [c for c in candidates if c.cv_rmse is not None]
    if not scored:  # fewer than 2 distinct x: only the mean can be given
        return Candidate("constant", {"a": float(np.mean(y))}, None, None, "too few points to cross-validate")
    best = min(c.cv_rmse for c in scored if c.cv_rmse is not None)
    limit = best * (1 + REL_TOLERANCE) + ABS_TOLERANCE * float(np.mean(np.abs(y)))
    good = [c for c in scored if c.cv_rmse is not None and c.cv_rmse <= limit]
    return min(good, key=lambda c: (c.n_coefficients, c.cv_rmse))

"""Growth-law sentences agree with the data (issue 15): a law only when one fits, verbs that match
the exponent, formulas without noise terms (the curves drawn only over the data's own domain are
``tests/render/test_render_sweep_plots.py``'s)."""

from __future__ import annotations

import numpy as np

from modelsize.factors.laws import Candidate, fit_law, why_no_law
from modelsize.factors.law_words import formula, sentence


def test_scattered_points_get_no_law_not_a_constant() -> None:
    # nodes jump around between 269 and 91: the old sentence said "does not change (largest deviation 115.9 %)"
    x = np.array([0.0, 0.001, 0.002, 0.005, 0.01, 0.02])
    y = np.array([269.0, 91.0, 250.0, 100.0, 260.0, 95.0])
    fit = fit_law(x, y, metric="nodes", factor="ccp_alpha")
    assert not fit.fits and fit.reason == "spread"
    text = sentence(fit)
    assert text.startswith("no simple law fits nodes against ccp_alpha") and "does not change" not in text
    assert "91.00 to 269.0" in text


def test_a_truly_flat_metric_is_still_a_constant() -> None:
    fit = fit_law([1, 2, 4, 8], [100.0, 101.0, 100.0, 99.5], metric="params", factor="n")
    assert fit.fits and fit.law == "constant"
    assert sentence(fit).startswith("parameters do not change with n: 100.1")


def test_a_line_with_an_offset_is_not_called_linear_growth_when_the_exponent_says_otherwise() -> None:
    x = np.array([100.0, 200, 400, 800, 1200])
    fit = fit_law(x, 520 * x - 45_000, metric="stored_bytes", factor="n")
    assert fit.law == "linear" and fit.exponent > 1.5
    text = sentence(fit)
    assert "linearly" not in text and "straight line with an offset" in text and f"{fit.exponent:.2f}" in text
    proportional = fit_law(x, 520 * x + 80, metric="stored_bytes", factor="n")
    assert "grow linearly with n: +520.0 per unit" in sentence(proportional)


def test_formulas_leave_out_terms_too_small_to_matter() -> None:
    x = np.array([1.0, 2, 3, 4, 5, 6])
    fit = fit_law(x, 3 * x**2 + 5, metric="params", factor="width", laws=("quadratic",))
    fit = type(fit)(**{**fit.__dict__, "coefficients": {"a": 5.0, "b": -1.279e-13, "c": 3.0}})
    assert formula(fit) == "3.000·width² +5.000"
    assert "e-13" not in sentence(fit) and "·width²" in sentence(fit)


def test_an_exponent_interval_crossing_zero_is_not_a_law() -> None:
    candidate = Candidate("linear", {"a": 1.0, "b": 0.1}, cv_rmse=0.5, r2=0.95)
    assert why_no_law(candidate, (-0.2, 0.4), 0.3) == "ci_crosses_zero"
    assert why_no_law(candidate, (0.1, 0.4), 0.3) is None
    rng = np.random.default_rng(0)
    x = np.repeat([1.0, 2, 4, 8, 16], 3)
    noisy = 100 + rng.normal(0, 30, x.size)
    fit = fit_law(x, noisy, metric="latency_s", factor="batch")
    assert not fit.fits or fit.law == "constant"
    assert "no simple law fits" in sentence(fit) or "does not change" in sentence(fit)

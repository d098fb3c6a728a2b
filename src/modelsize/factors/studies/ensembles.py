"""Study 2 — ensembles: random-forest trees and depth, boosting rounds, the ensemble as the sum
of its members."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import DEPENDS, NOT_SUPPORTED, SUPPORTED, Claim, Part, PlotSpec, Series, Study, Verdict, pick, sweep
from .verdict import MissingEvidence, exponent, ratio

FOREST = "sklearn.ensemble:RandomForestClassifier"
BOOSTING = "sklearn.ensemble:GradientBoostingClassifier"
METRICS = ("params", "members_params", "stored_bytes", "members_stored_bytes", "serialized_bytes", "score")

CLAIMS = (
    Claim("grows", "Ensemble methods combine multiple models to improve performance, but this also increases the "
          "overall model size.", "Algorithm Complexity › Ensemble Methods"),
    Claim("sum", "The total number of parameters in an ensemble model is the sum of the parameters in all individual "
          "models, which can lead to substantial model sizes.", "Algorithm Complexity › Ensemble Methods"),
)


def members(model: Any, report: Any, data: Any) -> dict[str, int]:  # noqa: ARG001 - sweep hook
    """Parameters and stored bytes of every member estimator measured on its own, summed."""
    from ...api import inspect

    estimators = getattr(model, "estimators_", [])
    flat = [e for row in estimators for e in (row if hasattr(row, "__len__") else [row])]
    params = stored = 0
    for estimator in flat:
        totals = inspect(estimator).totals
        params += totals.params
        stored += totals.stored_bytes
    return {"members": len(flat), "members_params": params, "members_stored_bytes": stored}


def build(scale: str) -> list[Part]:
    trees = pick(scale, [5, 10, 20, 40, 80, 160], [5, 10, 20, 40, 80], [2, 4, 8])
    depths = pick(scale, [2, 4, 6, 8, 12, 16], [2, 4, 8, 16], [2, 4, 8])
    rounds = pick(scale, [10, 20, 40, 80, 160], [10, 20, 40, 80], [5, 10, 20])
    forest_trees = pick(scale, 20, 20, 5)
    return [
        Part("trees", "RandomForestClassifier on digits, by n_estimators",
             sweep("study-ensembles-trees", FOREST, {"n_estimators": trees}, extra=members), METRICS),
        Part("depth", f"RandomForestClassifier ({forest_trees} trees) on digits, by max_depth",
             sweep("study-ensembles-depth", FOREST, {"max_depth": depths}, params={"n_estimators": forest_trees},
                   extra=members), METRICS),
        Part("boosting", "GradientBoostingClassifier (depth 3) on breast_cancer, by boosting rounds",
             sweep("study-ensembles-boosting", BOOSTING, {"n_estimators": rounds}, dataset="breast_cancer",
                   extra=members), METRICS),
    ]


def judge(results: Mapping[str, Any], th: Mapping[str, float]) -> list[Verdict]:
    forest_exp = exponent(results["trees"], "stored_bytes", "n_estimators")
    boost_exp = exponent(results["boosting"], "stored_bytes", "n_estimators")
    depth_growth = ratio(results["depth"], "stored_bytes", "max_depth")
    low = min(forest_exp, boost_exp)
    grows = [e >= th["min_exponent"] for e in (forest_exp, boost_exp)]
    status = SUPPORTED if all(grows) else (NOT_SUPPORTED if not any(grows) else DEPENDS)
    first = Verdict(
        CLAIMS[0], status, "smallest log-log exponent of stored bytes against the member count", low,
        f"Stored bytes grow as n_estimators^{forest_exp:.2f} for the random forest and as rounds^{boost_exp:.2f} for "
        f"gradient boosting (threshold {th['min_exponent']:.2f}); deeper trees multiply the forest by "
        f"×{depth_growth:.2f} across max_depth.",
        {"forest_exponent": forest_exp, "boosting_exponent": boost_exp, "depth_growth": depth_growth})
    shares = [t.metrics["members_params"] / t.metrics["params"] for key in ("trees", "depth", "boosting")
              for t in results[key].ok if t.metrics.get("params") and t.metrics.get("members_params") is not None]
    if not shares:
        raise MissingEvidence("No ensemble trial recorded its members' parameters.")
    worst = max(abs(share - 1) for share in shares)
    status = SUPPORTED if worst <= th["sum_tolerance"] else NOT_SUPPORTED
    second = Verdict(
        CLAIMS[1], status, "largest |sum of members / ensemble − 1| over all trials", worst,
        f"Measured one by one, the members hold {min(shares):.1%} to {max(shares):.1%} of the ensemble's parameters "
        f"(tolerance {th['sum_tolerance']:.0%}); the rest is the ensemble's own bookkeeping (classes, feature counts).",
        {"min_share": min(shares), "max_share": max(shares)})
    return [first, second]


STUDY = Study(
    name="ensembles",
    title="Ensembles: number of members, tree depth, boosting rounds, sum of members",
    claims=CLAIMS,
    build=build,
    judge=judge,
    plots=(
        PlotSpec("trees", "Random forest stored bytes by n_estimators", (
            Series("trees", "stored_bytes", "n_estimators", "forest"),
            Series("trees", "members_stored_bytes", "n_estimators", "sum of trees measured alone"))),
        PlotSpec("boosting", "Gradient boosting stored bytes by rounds", (
            Series("boosting", "stored_bytes", "n_estimators", "boosting"),)),
        PlotSpec("depth", "Random forest stored bytes by max_depth", (
            Series("depth", "stored_bytes", "max_depth", "forest"),)),
    ),
    thresholds={"min_exponent": 0.5, "sum_tolerance": 0.05},
)

"""Study 5 — features: ``SelectKBest`` k against a linear model's and a network's first-layer
size; polynomial feature engineering growing the model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..law_words import sentence as law_sentence
from . import hooks
from .base import DEPENDS, NOT_SUPPORTED, SUPPORTED, Claim, Part, PlotSpec, Series, Study, Verdict, pick, sweep
from .verdict import law, ratio, series

H = "modelsize.factors.studies.hooks"

CLAIMS = (
    Claim("selection", "More features generally require more parameters, increasing the model size. Feature selection "
          "techniques help identify the most relevant features, reducing the number of parameters and the overall "
          "model size.", "Data-Related Factors › Feature Selection and Engineering"),
    Claim("engineering", "Feature engineering involves creating new features from existing data, potentially adding "
          "complexity and size to the model.", "Data-Related Factors › Feature Selection and Engineering"),
)


def build(scale: str) -> list[Part]:
    ks = pick(scale, [2, 5, 10, 15, 20, 30], [2, 5, 10, 20, 30], [2, 10, 30])
    widths = pick(scale, [4, 8, 16, 32, 48, 64], [4, 8, 16, 32, 64], [4, 16, 64])
    degrees = pick(scale, [1, 2, 3, 4], [1, 2, 3], [1, 2, 3])
    return [
        Part("selectk", "SelectKBest(f_classif, k) → scaler → logistic regression on breast_cancer, by k",
             sweep("study-features-selectk", f"{H}:select_k_logistic", {"k": ks}, dataset="breast_cancer"),
             ("params", "stored_bytes", "serialized_bytes", "score")),
        Part("mlp", "PyTorch MLP 2×64 on digits, by number of input features",
             sweep("study-features-mlp", "modelsize.factors.models:mlp", {"data.n_features": widths},
                   params={"width": 64}, fit={"epochs": 2}, extra=hooks.first_layer_params),
             ("params", "first_layer_params", "stored_bytes", "score")),
        Part("poly", "PolynomialFeatures(degree) → scaler → logistic regression on wine, by degree",
             sweep("study-features-poly", f"{H}:poly_logistic", {"degree": degrees}, dataset="wine"),
             ("params", "stored_bytes", "serialized_bytes", "score")),
    ]


def judge(results: Mapping[str, Any], th: Mapping[str, float]) -> list[Verdict]:
    growth = th["min_growth"]
    linear = ratio(results["selectk"], "params", "k")
    first = ratio(results["mlp"], "first_layer_params", "data.n_features")
    whole = ratio(results["mlp"], "params", "data.n_features")
    slope = law(results["mlp"], "first_layer_params", "data.n_features")
    ok = [linear >= 1 + growth, first >= 1 + growth]
    status = SUPPORTED if all(ok) else (NOT_SUPPORTED if not any(ok) else DEPENDS)
    per = f" ({law_sentence(slope)})" if slope else ""
    selection = Verdict(
        CLAIMS[0], status, "linear-model params, most / fewest selected features", linear,
        f"From the fewest to the most selected features the pipeline's parameters grow ×{linear:.2f}; the network's "
        f"first layer ×{first:.2f}{per} and the whole network only ×{whole:.2f} — selection shrinks the input layer, "
        f"not the hidden ones (threshold ×{1 + growth:.2f}).",
        {"mlp_first_layer_growth": first, "mlp_growth": whole})
    xs, params = series(results["poly"], "params", "degree")
    poly = params[-1] / params[0]
    status = SUPPORTED if poly >= 1 + growth else NOT_SUPPORTED
    engineering = Verdict(
        CLAIMS[1], status, "params at the highest polynomial degree / at degree 1", poly,
        f"Polynomial features of degree {xs[-1]:g} turn the model of {params[0]:.0f} parameters at degree {xs[0]:g} into "
        f"{params[-1]:.0f}: ×{poly:.2f} (threshold ×{1 + growth:.2f}).")
    return [selection, engineering]


STUDY = Study(
    name="features",
    title="Features: selection (SelectKBest) and engineering (polynomial features)",
    claims=CLAIMS,
    build=build,
    judge=judge,
    plots=(
        PlotSpec("selectk", "Pipeline parameters by SelectKBest k", (Series("selectk", "params", "k", "logistic pipeline"),)),
        PlotSpec("mlp", "MLP parameters by input features", (
            Series("mlp", "first_layer_params", "data.n_features", "first layer"),
            Series("mlp", "params", "data.n_features", "whole network"))),
        PlotSpec("poly", "Parameters by polynomial degree", (Series("poly", "params", "degree", "logistic pipeline"),)),
    ),
    thresholds={"min_growth": 0.2},
)

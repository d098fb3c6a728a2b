"""Study 1 — algorithm complexity: network depth and width, CNN filters and input resolution,
a linear model against a network on the same data."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..law_words import sentence as law_sentence
from .base import DEPENDS, NOT_SUPPORTED, SUPPORTED, Claim, Part, PlotSpec, Series, Study, Verdict, pick, sweep
from .verdict import deviation, exponent, law, num, pct, ratio, series, times, value

MLP = "modelsize.factors.models:mlp"
CNN = "modelsize.factors.models:cnn"
FIT = {"epochs": 1, "batch_size": 128}

CLAIMS = (
    Claim("depth_width", "For instance, adding more layers or increasing the number of neurons in each layer "
          "increases the parameter count exponentially.", "Algorithm Complexity › Deep Learning Models"),
    Claim("deep_vs_linear", "Deep learning models with numerous layers and neurons tend to be larger than simpler "
          "models like linear regression.", "The Basics › Factors Influencing Model Size"),
    Claim("cnn", "The architecture of a deep learning model directly influences its size.",
          "Algorithm Complexity › Deep Learning Models"),
)


def conv_dense_params(model: Any, report: Any, data: Any) -> dict[str, int]:  # noqa: ARG001 - sweep hook
    """Parameters in convolution layers and in Linear layers (the one after Flatten) of a PyTorch CNN."""
    import torch

    conv = dense = 0
    for module in model.modules():
        n = sum(p.numel() for p in module.parameters(recurse=False))
        if isinstance(module, torch.nn.Conv2d):
            conv += n
        elif isinstance(module, torch.nn.Linear):
            dense += n
    return {"conv_params": conv, "dense_params": dense}


def build(scale: str) -> list[Part]:
    depths = pick(scale, [1, 2, 3, 4, 6, 8], [1, 2, 3, 4, 6], [1, 2, 3])
    widths = pick(scale, [16, 32, 64, 128, 256, 512], [16, 32, 64, 128, 256], [16, 32, 64])
    sizes = pick(scale, [8, 16, 24, 32, 48], [8, 16, 24, 32], [8, 12, 16])
    filters = pick(scale, [4, 8, 16, 32, 64], [4, 8, 16, 32], [4, 8, 16])
    return [
        Part("depth", "PyTorch MLP, width 64, by depth",
             sweep("study-complexity-depth", MLP, {"depth": depths}, params={"width": 64}, fit=FIT)),
        Part("width", "PyTorch MLP, depth 2, by width",
             sweep("study-complexity-width", MLP, {"width": widths}, params={"depth": 2}, fit=FIT)),
        Part("linear", "LogisticRegression on the same data",
             sweep("study-complexity-linear", "sklearn.linear_model:LogisticRegression", {"max_iter": [300]})),
        Part("resolution", "PyTorch CNN, 8 filters, by input resolution",
             sweep("study-complexity-resolution", CNN, {"data.image_size": sizes}, params={"filters": 8}, fit=FIT,
                   extra=conv_dense_params),
             metrics=("params", "conv_params", "dense_params", "stored_bytes", "score")),
        Part("filters", "PyTorch CNN, 8x8 input, by filters",
             sweep("study-complexity-filters", CNN, {"filters": filters}, fit=FIT, extra=conv_dense_params),
             metrics=("params", "conv_params", "dense_params", "stored_bytes", "score")),
    ]


def judge(results: Mapping[str, Any], th: Mapping[str, float]) -> list[Verdict]:
    return [_depth_width(results, th), _deep_vs_linear(results, th), _cnn(results, th)]


def _depth_width(results: Mapping[str, Any], th: Mapping[str, float]) -> Verdict:
    xs, ys = series(results["depth"], "params", "depth")
    steps = [b / a for a, b in zip(ys, ys[1:])]
    # exponential growth keeps the ratio between successive depths constant; polynomial growth lets it fall
    keep = steps[-1] / steps[0] if len(steps) >= 1 else 1.0
    width_exp = exponent(results["width"], "params", "width")
    depth_law = law(results["depth"], "params", "depth")
    exponential = len(steps) >= 2 and steps[0] > 1 and keep >= th["exponential_ratio_kept"]
    status = SUPPORTED if exponential else NOT_SUPPORTED
    how = f"the {depth_law.law} law: {law_sentence(depth_law)}" if depth_law else f"{num(ys[0])} → {num(ys[-1])}"
    sentence = (f"Parameters per added layer: the growth ratio between successive depths goes from "
                f"{steps[0]:.2f} to {steps[-1]:.2f} (kept {keep:.0%}; exponential growth keeps it at 100%, "
                f"threshold {th['exponential_ratio_kept']:.0%}); by depth {how}. By width the parameters grow as "
                f"width^{width_exp:.2f} — {'polynomial' if width_exp < 3 else 'steep'}, not exponential.")
    return Verdict(CLAIMS[0], status, "share of the per-layer growth ratio kept from the first to the last added layer",
                   keep, sentence, {"depth_steps": steps, "width_exponent": width_exp})


def _deep_vs_linear(results: Mapping[str, Any], th: Mapping[str, float]) -> Verdict:
    linear = value(results["linear"], "params")
    _, mlp = series(results["depth"], "params", "depth")
    factor = mlp[0] / linear if linear else float("inf")
    status = SUPPORTED if factor >= th["larger_factor"] else NOT_SUPPORTED
    sentence = (f"On the same data the smallest network (one hidden layer of 64) has {num(mlp[0])} parameters, "
                f"the linear model {num(linear)}: {times(factor)} (threshold {times(th['larger_factor'])}).")
    return Verdict(CLAIMS[1], status, "smallest MLP params / linear-model params", factor, sentence)


def _cnn(results: Mapping[str, Any], th: Mapping[str, float]) -> Verdict:
    res, fil = results["resolution"], results["filters"]
    conv_dev = deviation(res, "conv_params", "data.image_size")
    dense_growth = ratio(res, "dense_params", "data.image_size")
    dense_exp = exponent(res, "dense_params", "data.image_size")
    filter_growth = ratio(fil, "params", "filters")
    filter_exp = exponent(fil, "conv_params", "filters")
    tol = th["unchanged_tolerance"]
    if filter_growth <= 1 + tol:
        status = NOT_SUPPORTED
    elif dense_growth > 1 + tol:
        status = DEPENDS
    else:
        status = SUPPORTED
    sentence = (f"Filters (architecture) drive the size: parameters ×{filter_growth:.2f} across the filter sweep, conv "
                f"parameters as filters^{filter_exp:.2f}. Across input resolutions the conv parameters change by at most "
                f"{pct(conv_dev)}, while the Dense layer after Flatten grows ×{dense_growth:.2f} "
                f"(as resolution^{dense_exp:.2f}): the input, not only the architecture, sets that layer's size.")
    return Verdict(CLAIMS[2], status, "Dense-after-Flatten params, largest / smallest resolution", dense_growth, sentence,
                   {"conv_deviation": conv_dev, "filter_growth": filter_growth, "dense_exponent": dense_exp})


STUDY = Study(
    name="complexity",
    title="Algorithm complexity: depth, width, filters, resolution, linear vs network",
    claims=CLAIMS,
    build=build,
    judge=judge,
    plots=(
        PlotSpec("depth", "MLP parameters by depth (width 64)", (Series("depth", "params", "depth", "MLP"),)),
        PlotSpec("width", "MLP parameters by width (depth 2)", (Series("width", "params", "width", "MLP"),)),
        PlotSpec("cnn", "CNN: conv vs dense parameters by input resolution", (
            Series("resolution", "conv_params", "data.image_size", "conv layers"),
            Series("resolution", "dense_params", "data.image_size", "Dense after Flatten"))),
    ),
    thresholds={"exponential_ratio_kept": 0.9, "larger_factor": 1.5, "unchanged_tolerance": 0.01},
)

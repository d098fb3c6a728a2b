"""Study 3 — regularization: L1 (sparsity, not dense bytes), L2 (no size change), dropout (same
parameter count; what changes is how much pruning the network survives), tree ``ccp_alpha``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import hooks
from .base import DEPENDS, NOT_SUPPORTED, SUPPORTED, Claim, Part, PlotSpec, Series, Study, Verdict, pick, sweep
from .verdict import MissingEvidence, deviation, pct, series

H = "modelsize.factors.studies.hooks"
LINEAR_METRICS = ("params", "stored_bytes", "coef_sparsity", "coef_csr_bytes", "compressed_bytes", "score")

CLAIMS = (
    Claim("l1", "Regularization techniques help control model size and prevent overfitting by imposing penalties on "
          "large weights. Methods like L1 (lasso) and L2 (ridge) regularization add terms to the loss function that "
          "penalize large coefficients.", "Algorithm Complexity › Regularization Techniques"),
    Claim("l2", "Regularization techniques, such as dropout and weight decay, help control model complexity and size "
          "by penalizing large weights.", "The Basics › Factors Influencing Model Size"),
    Claim("dropout", "This reduces the effective size of the model during each training iteration, helping to prevent "
          "overfitting and maintain a manageable model size.", "Algorithm Complexity › Regularization Techniques"),
    Claim("ccp", "Model pruning involves removing unnecessary parameters from a trained model, reducing its size "
          "without significantly affecting performance.", "Model Optimization Techniques › Model Pruning"),
)


def build(scale: str) -> list[Part]:
    strengths = pick(scale, [0.01, 0.1, 0.3, 1.0, 3.0, 10.0], [0.01, 0.1, 1.0, 10.0], [0.01, 1.0, 10.0])
    dropouts = pick(scale, [0.0, 0.1, 0.25, 0.5], [0.0, 0.25, 0.5], [0.0, 0.5])
    seeds = pick(scale, [0, 1, 2], [0, 1], [0])
    epochs = pick(scale, 30, 20, 8)
    alphas = pick(scale, [0.0, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05], [0.0, 0.001, 0.003, 0.01, 0.03],
                  [0.0, 0.003, 0.03])
    return [
        Part("l1", "min-max scaled L1 logistic regression (saga) on digits, by penalty strength (1/C)",
             sweep("study-regularization-l1", f"{H}:l1_logistic", {"strength": strengths},
                   extra=hooks.sparse_coefficients), LINEAR_METRICS),
        Part("l2", "min-max scaled L2 logistic regression (saga) on digits, by penalty strength (1/C)",
             sweep("study-regularization-l2", f"{H}:l2_logistic", {"strength": strengths},
                   extra=hooks.sparse_coefficients), LINEAR_METRICS),
        Part("dropout", f"PyTorch MLP 2×128 on digits ({epochs} epochs), by dropout rate",
             sweep("study-regularization-dropout", "modelsize.factors.models:mlp", {"dropout": dropouts, "seed": seeds},
                   params={"width": 128, "depth": 2}, fit={"epochs": epochs, "batch_size": 64},
                   extra=hooks.prune_robustness),
             ("params", "stored_bytes", "score", "acc_pruned_80", "acc_pruned_90", "prunable_share")),
        Part("ccp", "DecisionTreeClassifier on digits, by ccp_alpha",
             sweep("study-regularization-ccp", "sklearn.tree:DecisionTreeClassifier", {"ccp_alpha": alphas},
                   extra=hooks.tree_nodes), ("nodes", "stored_bytes", "serialized_bytes", "score")),
    ]


def judge(results: Mapping[str, Any], th: Mapping[str, float]) -> list[Verdict]:
    return [_l1(results, th), _l2(results, th), _dropout(results, th), _ccp(results, th)]


def _sizes(result: Any) -> tuple[float, float, float, float]:
    """Dense-bytes deviation, CSR-bytes ratio, compressed-bytes ratio, sparsity at the strongest penalty."""
    dense = deviation(result, "stored_bytes", "strength")
    _, csr = series(result, "coef_csr_bytes", "strength")
    _, packed = series(result, "compressed_bytes", "strength")
    _, sparsity = series(result, "coef_sparsity", "strength")
    return dense, csr[-1] / csr[0], packed[-1] / packed[0], sparsity[-1]


def _size_status(dense: float, csr: float, packed: float, th: Mapping[str, float]) -> str:
    """Supported if dense bytes move; depends if only sparse or compressed bytes fall; else not."""
    if dense > th["unchanged_tolerance"]:
        return SUPPORTED
    if min(csr, packed) <= 1 - th["min_fall"]:
        return DEPENDS
    return NOT_SUPPORTED


def _l1(results: Mapping[str, Any], th: Mapping[str, float]) -> Verdict:
    dense, csr, packed, sparsity = _sizes(results["l1"])
    fall = th["min_fall"]
    status = _size_status(dense, csr, packed, th)
    sentence = (f"From the weakest to the strongest L1 penalty, sparsity reaches {sparsity:.1%}; the dense stored bytes "
                f"change by at most {pct(dense)}, while the coefficients stored as CSR take ×{csr:.2f} and the "
                f"zstd-compressed pickle ×{packed:.2f} the bytes (size falls only if the model is stored sparse or "
                f"compressed; threshold: a {fall:.0%} fall).")
    return Verdict(CLAIMS[0], status, "CSR bytes of the coefficients, strongest / weakest penalty", csr, sentence,
                   {"dense_deviation": dense, "compressed_ratio": packed, "sparsity": sparsity})


def _l2(results: Mapping[str, Any], th: Mapping[str, float]) -> Verdict:
    dense, csr, packed, sparsity = _sizes(results["l2"])
    status = _size_status(dense, csr, packed, th)
    sentence = (f"An L2 penalty (weight decay) from weakest to strongest changes the stored bytes by at most "
                f"{pct(dense)}, the CSR bytes ×{csr:.2f} and the compressed bytes ×{packed:.2f}; sparsity "
                f"{sparsity:.1%}. It shrinks the weights' values, not the model.")
    return Verdict(CLAIMS[1], status, "largest relative change of stored bytes across penalties", dense, sentence,
                   {"csr_ratio": csr, "compressed_ratio": packed, "sparsity": sparsity})


def _dropout(results: Mapping[str, Any], th: Mapping[str, float]) -> Verdict:
    result = results["dropout"]
    params_dev = deviation(result, "params", "dropout")
    _, share = series(result, "prunable_share", "dropout")
    _, acc90 = series(result, "acc_pruned_90", "dropout")
    # accuracy with 90% of the hidden weights zeroed: continuous, unlike the coarse prunable share
    gain = acc90[-1] - acc90[0]
    if params_dev > th["unchanged_tolerance"]:
        status = SUPPORTED
    elif gain >= th["robustness_gain"]:
        status = DEPENDS
    else:
        status = NOT_SUPPORTED
    sentence = (f"Dropout leaves the parameter count unchanged (largest change {pct(params_dev)}). What it changes: "
                f"with 90% of the hidden weights pruned, held-out accuracy is {acc90[0]:.3f} without dropout and "
                f"{acc90[-1]:.3f} at the highest rate ({gain * 100:+.1f} points; threshold "
                f"{th['robustness_gain'] * 100:g}); the share of weights prunable at ≤{hooks.PRUNE_DROP * 100:g} "
                f"accuracy points goes from {share[0]:.0%} to {share[-1]:.0%}.")
    return Verdict(CLAIMS[2], status, "accuracy gained with 90% of hidden weights pruned, highest dropout vs none", gain,
                   sentence, {"params_deviation": params_dev, "prunable_share": share, "acc_pruned_90": acc90})


def _ccp(results: Mapping[str, Any], th: Mapping[str, float]) -> Verdict:
    result = results["ccp"]
    xs, nodes = series(result, "nodes", "ccp_alpha")
    _, score = series(result, "score", "ccp_alpha")
    if len(xs) < 2:
        raise MissingEvidence("The ccp_alpha sweep needs at least two values.")
    within = [i for i in range(len(xs)) if score[i] >= score[0] - th["max_score_drop"]]
    best = min(within, key=lambda i: nodes[i])
    cut = 1 - nodes[best] / nodes[0]
    overall = 1 - min(nodes) / nodes[0]
    if cut >= th["min_fall"]:
        status = SUPPORTED
    elif overall >= th["min_fall"]:
        status = DEPENDS
    else:
        status = NOT_SUPPORTED
    sentence = (f"Cost-complexity pruning cuts the tree from {nodes[0]:.0f} to {nodes[best]:.0f} nodes ({cut:.0%} fewer) "
                f"at ccp_alpha={xs[best]:g} with accuracy {score[best]:.3f} vs {score[0]:.3f} unpruned; the largest alpha "
                f"leaves {nodes[-1]:.0f} nodes at accuracy {score[-1]:.3f} (thresholds: ≥{th['min_fall']:.0%} fewer "
                f"nodes within {th['max_score_drop'] * 100:g} accuracy points).")
    return Verdict(CLAIMS[3], status, "share of nodes removed within the accuracy tolerance", cut, sentence,
                   {"overall_cut": overall, "alpha": xs[best]})


STUDY = Study(
    name="regularization",
    title="Regularization: L1, L2, dropout, cost-complexity pruning",
    claims=CLAIMS,
    build=build,
    judge=judge,
    plots=(
        PlotSpec("l1", "L1 vs L2: coefficient bytes stored as CSR, by penalty strength", (
            Series("l1", "coef_csr_bytes", "strength", "L1 (CSR bytes)"),
            Series("l2", "coef_csr_bytes", "strength", "L2 (CSR bytes)"),
            Series("l1", "stored_bytes", "strength", "L1 (dense stored bytes)"))),
        PlotSpec("dropout", "Dropout: how much pruning the network survives", (
            Series("dropout", "prunable_share", "dropout", "prunable share (≤2 points lost)"),
            Series("dropout", "acc_pruned_90", "dropout", "accuracy with 90% pruned"))),
        PlotSpec("ccp", "Decision tree nodes by ccp_alpha", (Series("ccp", "nodes", "ccp_alpha", "nodes"),)),
    ),
    thresholds={"unchanged_tolerance": 0.01, "min_fall": 0.3, "robustness_gain": 0.05, "max_score_drop": 0.02},
)

"""Study 6 — data augmentation: shifted copies of the training images against a tree's size
(grows), a network's size (does not) and training time (grows).

The seed's ``ImageDataGenerator`` is gone in Keras 3; the copies are made with NumPy by the
sweep's ``data.augment`` transform (random shifts of up to an eighth of the image, zero fill).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import hooks
from .base import DEPENDS, NOT_SUPPORTED, SUPPORTED, Claim, Part, PlotSpec, Series, Study, Verdict, pick, sweep
from .verdict import deviation, ratio

FACTOR = "data.augment"

CLAIMS = (
    Claim("compute", "While data augmentation can enhance model performance by providing more diverse training data, "
          "it also increases the computational requirements", "Data-Related Factors › Data Augmentation"),
    Claim("size", "and can potentially lead to larger model sizes.", "Data-Related Factors › Data Augmentation"),
)


def build(scale: str) -> list[Part]:
    factors = pick(scale, [1, 2, 3, 4, 6], [1, 2, 3, 4], [1, 2, 3])
    epochs = pick(scale, 3, 2, 1)
    return [
        Part("tree", "DecisionTreeClassifier on digits, by augmentation factor",
             sweep("study-augmentation-tree", "sklearn.tree:DecisionTreeClassifier", {FACTOR: factors},
                   extra=hooks.tree_nodes), ("n_train", "nodes", "stored_bytes", "train_time_s", "score")),
        Part("mlp", f"PyTorch MLP 2×64 on digits ({epochs} epochs), by augmentation factor",
             sweep("study-augmentation-mlp", "modelsize.factors.models:mlp", {FACTOR: factors}, params={"width": 64},
                   fit={"epochs": epochs, "batch_size": 64}),
             ("n_train", "params", "stored_bytes", "train_time_s", "score")),
    ]


def judge(results: Mapping[str, Any], th: Mapping[str, float]) -> list[Verdict]:
    tree_time = ratio(results["tree"], "train_time_s", FACTOR)
    mlp_time = ratio(results["mlp"], "train_time_s", FACTOR)
    rows = ratio(results["mlp"], "n_train", FACTOR)
    slower = min(tree_time, mlp_time)
    status = SUPPORTED if slower >= 1 + th["min_growth"] else NOT_SUPPORTED
    compute = Verdict(
        CLAIMS[0], status, "smaller training-time ratio, most / no augmentation", slower,
        f"With ×{rows:.2f} the training rows, training takes ×{tree_time:.2f} the time for the tree and "
        f"×{mlp_time:.2f} for the network (threshold ×{1 + th['min_growth']:.2f}).",
        {"tree_time_ratio": tree_time, "mlp_time_ratio": mlp_time})
    tree = ratio(results["tree"], "stored_bytes", FACTOR)
    nodes = ratio(results["tree"], "nodes", FACTOR)
    net = deviation(results["mlp"], "stored_bytes", FACTOR)
    grows = [tree >= 1 + th["min_growth"], net > th["unchanged_tolerance"]]
    status = SUPPORTED if all(grows) else (NOT_SUPPORTED if not any(grows) else DEPENDS)
    size = Verdict(
        CLAIMS[1], status, "tree stored bytes, most / no augmentation", tree,
        f"The tree grows ×{tree:.2f} in bytes (×{nodes:.2f} nodes) on the augmented data; the network's stored bytes "
        f"change by at most {net * 100:.1f}% — augmentation grows models whose structure is learned from the rows, "
        f"not those whose shape is fixed in advance.", {"tree_nodes_ratio": nodes, "mlp_deviation": net})
    return [compute, size]


STUDY = Study(
    name="augmentation",
    title="Data augmentation: shifted image copies vs tree size, network size, training time",
    claims=CLAIMS,
    build=build,
    judge=judge,
    plots=(
        PlotSpec("bytes", "Stored bytes by augmentation factor", (
            Series("tree", "stored_bytes", FACTOR, "decision tree"),
            Series("mlp", "stored_bytes", FACTOR, "PyTorch MLP"))),
        PlotSpec("time", "Training time by augmentation factor", (
            Series("tree", "train_time_s", FACTOR, "decision tree"),
            Series("mlp", "train_time_s", FACTOR, "PyTorch MLP"))),
    ),
    thresholds={"min_growth": 0.2, "unchanged_tolerance": 0.01},
)

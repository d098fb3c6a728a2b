"""Study 4 — training-data size: instance-based and tree models grow with the rows they learn
from; linear models and fixed networks do not."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..law_words import sentence as law_sentence
from . import hooks
from .base import DEPENDS, NOT_SUPPORTED, SUPPORTED, Claim, Part, PlotSpec, Series, Study, Verdict, pick, sweep
from .verdict import deviation, exponent, law

MODELS = (
    ("knn", "k-NN", "sklearn.neighbors:KNeighborsClassifier", {}),
    ("svm", "SVM (RBF)", "sklearn.svm:SVC", {}),
    ("tree", "decision tree", "sklearn.tree:DecisionTreeClassifier", {}),
    ("forest", "random forest (10 trees)", "sklearn.ensemble:RandomForestClassifier", {"n_estimators": 10}),
    ("linear", "logistic regression", "sklearn.linear_model:LogisticRegression", {"max_iter": 300}),
    ("mlp", "PyTorch MLP 2×64", "modelsize.factors.models:mlp", {"width": 64}),
)
FACTOR = "data.n_samples"

CLAIMS = (
    Claim("grows", "The size and quality of the training data significantly influence the model size. Larger datasets "
          "enable the training of more complex models with greater parameter counts, as they provide more "
          "information for the model to learn from.", "Data-Related Factors › Impact of Training Data Size"),
)


def build(scale: str) -> list[Part]:
    sizes = pick(scale, [100, 200, 400, 800, 1347], [150, 300, 600, 1200], [100, 200, 400])
    parts = []
    for key, label, factory, params in MODELS:
        fit = {"epochs": 2, "batch_size": 64} if key == "mlp" else None
        extra = hooks.tree_nodes if key in ("tree", "forest") else None
        parts.append(Part(key, f"{label} on digits, by training rows",
                          sweep(f"study-data-size-{key}", factory, {FACTOR: sizes}, params=params, fit=fit, extra=extra),
                          ("params", "stored_bytes", "serialized_bytes", "score")))
    return parts


def judge(results: Mapping[str, Any], th: Mapping[str, float]) -> list[Verdict]:
    grows, flat = [], []
    exps: dict[str, float] = {}
    for key, label, _, _ in MODELS:
        if key not in results:
            continue
        exp = exponent(results[key], "stored_bytes", FACTOR)
        exps[key] = exp
        if exp >= th["min_exponent"]:
            grows.append(f"{label} ∝ n^{exp:.2f}")
        elif deviation(results[key], "stored_bytes", FACTOR) <= th["unchanged_tolerance"]:
            flat.append(f"{label} (unchanged)")
        else:
            flat.append(f"{label} (n^{exp:.2f})")
    knn_law = law(results["knn"], "stored_bytes", FACTOR) if "knn" in results else None
    status = SUPPORTED if grows and not flat else (NOT_SUPPORTED if not grows else DEPENDS)
    sentence = (f"It depends on the algorithm: stored bytes grow with the training rows for {', '.join(grows) or 'none'}; "
                f"not for {', '.join(flat) or 'none'} (threshold: exponent {th['min_exponent']:.2f})."
                + (f" k-NN: {law_sentence(knn_law)}." if knn_law else ""))
    n_grow = len(grows)
    return [Verdict(CLAIMS[0], status, "models whose size grows with n (of those measured)", float(n_grow), sentence,
                    {"exponents": exps})]


STUDY = Study(
    name="data_size",
    title="Training-data size: which models grow with the rows",
    claims=CLAIMS,
    build=build,
    judge=judge,
    plots=(PlotSpec("bytes", "Stored bytes by training rows",
                    tuple(Series(key, "stored_bytes", FACTOR, label) for key, label, _, _ in MODELS)),),
    thresholds={"min_exponent": 0.2, "unchanged_tolerance": 0.01},
)

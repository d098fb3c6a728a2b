"""Model factories and sweep hooks the studies share (module-level, so a sweep can name them).

Factories turn a study's numeric knob into a model (``strength`` → ``C=1/strength``); ``extra``
hooks add the numbers a claim needs that the report's totals do not hold (tree nodes, the bytes
of the coefficients stored sparse, what pruning costs a network); ``post`` hooks change the
trained model before it is measured (a cast to another precision).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ...core.optional import require

#: Fractions of each hidden layer's weights zeroed when probing robustness to pruning.
PRUNE_FRACTIONS = (0.5, 0.7, 0.8, 0.9, 0.95)
#: Accuracy points a pruned network may lose and still count as "the same model".
PRUNE_DROP = 0.02


def l1_logistic(strength: float = 1.0, random_state: int | None = None) -> Any:
    """Min-max scaling → logistic regression with an L1 penalty of ``strength`` (= 1 / C), saga solver."""
    return _penalized("l1", strength, random_state)


def l2_logistic(strength: float = 1.0, random_state: int | None = None) -> Any:
    """Min-max scaling → logistic regression with an L2 penalty of ``strength`` (= 1 / C), saga solver."""
    return _penalized("l2", strength, random_state)


def _penalized(penalty: str, strength: float, random_state: int | None) -> Any:
    require("sklearn", "build the penalized logistic regression")
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler

    if isinstance(strength, bool) or not isinstance(strength, (int, float)) or strength <= 0:
        from ...core.errors import option_error

        raise option_error("strength", "a number > 0 (the penalty, 1 / C)", strength)
    # saga handles L1 with several classes (liblinear no longer does); scaling lets it converge
    kwargs: dict[str, Any] = {"C": 1.0 / strength, "solver": "saga", "max_iter": 200, "tol": 1e-3,
                              "random_state": random_state}
    if _sklearn_at_least(1, 8):  # 'penalty' is deprecated there: l1_ratio alone picks L1 (1) or L2 (0)
        kwargs["l1_ratio"] = 1.0 if penalty == "l1" else 0.0
    else:  # pragma: no cover - older scikit-learn
        kwargs["penalty"] = penalty
    return make_pipeline(MinMaxScaler(), LogisticRegression(**kwargs))


def _sklearn_at_least(major: int, minor: int) -> bool:
    import sklearn

    parts = sklearn.__version__.split(".")
    return (int(parts[0]), int("".join(ch for ch in parts[1] if ch.isdigit()) or 0)) >= (major, minor)


def select_k_logistic(k: int = 10, random_state: int | None = None) -> Any:
    """``SelectKBest(f_classif, k)`` → standard scaling → logistic regression (the seed's selector)."""
    require("sklearn", "build the SelectKBest pipeline")
    from sklearn.feature_selection import SelectKBest, f_classif
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(SelectKBest(f_classif, k=k), StandardScaler(),
                         LogisticRegression(max_iter=1000, random_state=random_state))


def poly_logistic(degree: int = 2, random_state: int | None = None) -> Any:
    """``PolynomialFeatures(degree)`` → standard scaling → logistic regression (feature engineering)."""
    require("sklearn", "build the polynomial-features pipeline")
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PolynomialFeatures, StandardScaler

    return make_pipeline(PolynomialFeatures(degree), StandardScaler(),
                         LogisticRegression(max_iter=300, random_state=random_state))


def precision_mlp(n_features: int, n_outputs: int, width: int = 128, bits: int = 32) -> Any:
    """The factors' PyTorch MLP, trained in float32, tagged to be stored with ``bits`` per weight.

    Every setting of ``bits`` builds and trains the same network (same seed, same float32
    training); :func:`to_precision` then casts it, so the sweep compares one model's storage.
    """
    from ..models import mlp

    if bits not in (8, 16, 32, 64):
        from ...core.errors import option_error

        raise option_error("bits", "one of 8, 16, 32, 64", bits)
    model = mlp(n_features, n_outputs, width=width, depth=2)
    model.modelsize_bits = bits
    return model


def to_precision(model: Any, data: Any) -> Any:  # noqa: ARG001 - sweep hook
    """Cast a :func:`precision_mlp` to its tagged precision (8: ``torch.ao`` dynamic int8 Linear)."""
    import torch

    bits = getattr(model, "modelsize_bits", 32)
    if bits == 64:
        return model.double()
    if bits == 16:
        return model.half()
    if bits == 8:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.ao's deprecation notices; the API still works
            return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    return model


# ---------------------------------------------------------------------------- extra hooks


def tree_nodes(model: Any, report: Any, data: Any) -> dict[str, int]:  # noqa: ARG001 - sweep hook
    """Decision nodes + leaves of a tree, or of every tree of an ensemble."""
    trees = [model] if hasattr(model, "tree_") else list(getattr(model, "estimators_", []))
    return {"nodes": int(sum(t.tree_.node_count for t in trees))}


def sparse_coefficients(model: Any, report: Any, data: Any) -> dict[str, float]:  # noqa: ARG001 - sweep hook
    """Zeros among a linear model's coefficients, and their bytes stored as CSR (data + indices + row pointers)."""
    final = model.steps[-1][1] if hasattr(model, "steps") else model
    coef = np.atleast_2d(np.asarray(final.coef_))
    nnz = int(np.count_nonzero(coef))
    csr = nnz * (coef.itemsize + 4) + (coef.shape[0] + 1) * 4
    return {"coef_nnz": nnz, "coef_sparsity": 1.0 - nnz / coef.size, "coef_dense_bytes": int(coef.nbytes),
            "coef_csr_bytes": int(csr)}


def first_layer_params(model: Any, report: Any, data: Any) -> dict[str, int]:  # noqa: ARG001 - sweep hook
    """Parameters of a PyTorch model's first Linear layer (the one the features feed)."""
    import torch

    first = next(m for m in model.modules() if isinstance(m, torch.nn.Linear))
    return {"first_layer_params": int(sum(p.numel() for p in first.parameters()))}


def prune_robustness(model: Any, report: Any, data: Any) -> dict[str, float]:  # noqa: ARG001 - sweep hook
    """Held-out accuracy of copies with the smallest weights of each hidden Linear layer zeroed.

    ``prunable_share`` is the largest fraction in :data:`PRUNE_FRACTIONS` the network loses
    with at most :data:`PRUNE_DROP` of accuracy — the "effective size" a regulariser can change
    without changing a single stored number. The output layer is left whole.
    """
    import torch

    X = torch.tensor(np.asarray(data.X_test), dtype=torch.float32)
    y = np.asarray(data.y_test)

    def accuracy(net: Any) -> float:
        with torch.no_grad():
            return float(np.mean(net(X).argmax(1).numpy() == y))

    base = accuracy(model.eval())
    out: dict[str, float] = {}
    share = 0.0
    for fraction in PRUNE_FRACTIONS:
        pruned = copy.deepcopy(model)
        linears = [m for m in pruned.modules() if isinstance(m, torch.nn.Linear)][:-1]
        with torch.no_grad():
            for layer in linears:
                w = layer.weight
                k = int(round(fraction * w.numel()))
                if k:
                    cut = w.abs().flatten().kthvalue(k).values
                    w[w.abs() <= cut] = 0.0
        acc = accuracy(pruned.eval())
        out[f"acc_pruned_{int(fraction * 100)}"] = acc
        if acc >= base - PRUNE_DROP:
            share = fraction
    out["prunable_share"] = share
    return out

"""Every verdict rule of every study, fed synthetic numbers: the verdict follows the data.

Each test builds results where the data says one thing, checks the verdict, then changes the
numbers so the data says the opposite and checks that the verdict changes with them (and
that the sentence quotes the new numbers).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from modelsize.core.errors import OptionError
from modelsize.factors.studies import DEPENDS, NOT_SUPPORTED, SUPPORTED, MissingEvidence, get, result_from_rows


def R(factor: str, xs: Sequence[Any], **metrics: Sequence[float]) -> Any:
    """A synthetic sweep result: one trial per x with the given metric values."""
    rows = [{factor: x, **{m: v[i] for m, v in metrics.items()}} for i, x in enumerate(xs)]
    return result_from_rows("synthetic", [factor], rows)


def verdict(study: str, results: dict[str, Any], claim: str, **thresholds: float) -> Any:
    return next(v for v in get(study).verdicts(results, thresholds or None) if v.claim.key == claim)


# ---------------------------------------------------------------------------- 1 complexity


def _complexity(depth_params: Sequence[float], linear: float = 650, dense: Sequence[float] = (100, 400, 900),
                filters_params: Sequence[float] = (100, 300, 900)) -> dict[str, Any]:
    return {
        "depth": R("depth", [1, 2, 3, 4], params=depth_params),
        "width": R("width", [16, 32, 64], params=[100, 400, 1600]),
        "linear": R("max_iter", [300], params=[linear]),
        "resolution": R("data.image_size", [8, 16, 24], conv_params=[80, 80, 80], dense_params=dense),
        "filters": R("filters", [4, 8, 16], params=filters_params, conv_params=[40, 160, 640]),
    }


def test_depth_claim_follows_how_parameters_grow() -> None:
    linear_growth = verdict("complexity", _complexity([4810, 8970, 13130, 17290]), "depth_width")
    assert linear_growth.status == NOT_SUPPORTED
    assert linear_growth.value == pytest.approx((17290 / 13130) / (8970 / 4810))
    exponential = verdict("complexity", _complexity([1000, 4000, 16000, 64000]), "depth_width")
    assert exponential.status == SUPPORTED and exponential.value == pytest.approx(1.0)
    assert "4.00 to 4.00" in exponential.sentence


def test_deep_vs_linear_claim_follows_the_ratio() -> None:
    bigger = verdict("complexity", _complexity([4810, 8970, 13130, 17290]), "deep_vs_linear")
    assert bigger.status == SUPPORTED and bigger.value == pytest.approx(4810 / 650)
    smaller = verdict("complexity", _complexity([4810, 8970, 13130, 17290], linear=10_000), "deep_vs_linear")
    assert smaller.status == NOT_SUPPORTED and "0.48×" in smaller.sentence


def test_cnn_claim_follows_filters_and_the_dense_layer() -> None:
    base = [4810, 8970, 13130, 17290]
    assert verdict("complexity", _complexity(base), "cnn").status == DEPENDS
    assert verdict("complexity", _complexity(base, dense=(400, 400, 400)), "cnn").status == SUPPORTED
    flat = verdict("complexity", _complexity(base, dense=(400, 400, 400), filters_params=(500, 500, 500)), "cnn")
    assert flat.status == NOT_SUPPORTED


# ---------------------------------------------------------------------------- 2 ensembles


def _ensembles(forest: Sequence[float], boosting: Sequence[float], members_share: float = 1.0) -> dict[str, Any]:
    def part(factor: str, stored: Sequence[float]) -> Any:
        return R(factor, [10, 20, 40], stored_bytes=stored, params=[100, 200, 400],
                 members_params=[100 * members_share, 200 * members_share, 400 * members_share])

    return {"trees": part("n_estimators", forest), "depth": part("max_depth", [10, 50, 90]),
            "boosting": part("n_estimators", boosting)}


def test_ensemble_growth_claim_follows_the_exponents() -> None:
    both = verdict("ensembles", _ensembles([1e4, 2e4, 4e4], [1e3, 2e3, 4e3]), "grows")
    assert both.status == SUPPORTED and both.value == pytest.approx(1.0)
    one = verdict("ensembles", _ensembles([1e4, 2e4, 4e4], [1e3, 1e3, 1e3]), "grows")
    assert one.status == DEPENDS and one.value == pytest.approx(0.0, abs=1e-12)
    none = verdict("ensembles", _ensembles([1e4, 1e4, 1e4], [1e3, 1e3, 1e3]), "grows")
    assert none.status == NOT_SUPPORTED
    # a stricter threshold turns the same data around
    assert verdict("ensembles", _ensembles([1e4, 2e4, 4e4], [1e3, 2e3, 4e3]), "grows", min_exponent=1.5).status \
        == NOT_SUPPORTED


def test_sum_of_members_claim_follows_the_share() -> None:
    assert verdict("ensembles", _ensembles([1, 2, 4], [1, 2, 4]), "sum").status == SUPPORTED
    half = verdict("ensembles", _ensembles([1, 2, 4], [1, 2, 4], members_share=0.5), "sum")
    assert half.status == NOT_SUPPORTED and half.value == pytest.approx(0.5) and "50.0%" in half.sentence


# ---------------------------------------------------------------------------- 3 regularization


def _linear(stored: Sequence[float], csr: Sequence[float], packed: Sequence[float]) -> Any:
    return R("strength", [0.01, 1.0, 10.0], stored_bytes=stored, coef_csr_bytes=csr, compressed_bytes=packed,
             coef_sparsity=[0.0, 0.5, 0.9])


def _regularization(l1: Any = None, l2: Any = None, dropout: Any = None, ccp: Any = None) -> dict[str, Any]:
    flat = _linear([6000] * 3, [8000] * 3, [5000] * 3)
    return {
        "l1": l1 or flat, "l2": l2 or flat,
        "dropout": dropout or R("dropout", [0.0, 0.5], params=[1000, 1000], prunable_share=[0.5, 0.5],
                                acc_pruned_90=[0.7, 0.7]),
        "ccp": ccp or R("ccp_alpha", [0.0, 0.01, 0.1], nodes=[300, 100, 20], score=[0.85, 0.85, 0.7]),
    }


@pytest.mark.parametrize("claim", ["l1", "l2"])
def test_penalty_claims_follow_dense_and_sparse_bytes(claim: str) -> None:
    sparse_falls = _linear([6000] * 3, [8000, 4000, 1000], [5000, 3000, 2000])
    assert verdict("regularization", _regularization(**{claim: sparse_falls}), claim).status == DEPENDS
    nothing = verdict("regularization", _regularization(), claim)
    assert nothing.status == NOT_SUPPORTED
    dense_falls = _linear([6000, 3000, 1000], [8000, 4000, 1000], [5000, 3000, 2000])
    assert verdict("regularization", _regularization(**{claim: dense_falls}), claim).status == SUPPORTED


def test_dropout_claim_follows_parameters_and_pruning_robustness() -> None:
    same = verdict("regularization", _regularization(), "dropout")
    assert same.status == NOT_SUPPORTED and same.value == 0
    robust = R("dropout", [0.0, 0.5], params=[1000, 1000], prunable_share=[0.5, 0.8], acc_pruned_90=[0.6, 0.8])
    gained = verdict("regularization", _regularization(dropout=robust), "dropout")
    assert gained.status == DEPENDS and gained.value == pytest.approx(0.2)
    assert "0.600 without dropout and 0.800" in gained.sentence and "from 50% to 80%" in gained.sentence
    fewer = R("dropout", [0.0, 0.5], params=[1000, 500], prunable_share=[0.5, 0.5], acc_pruned_90=[0.6, 0.6])
    assert verdict("regularization", _regularization(dropout=fewer), "dropout").status == SUPPORTED


def test_ccp_claim_follows_nodes_and_accuracy() -> None:
    assert verdict("regularization", _regularization(), "ccp").status == SUPPORTED
    costly = R("ccp_alpha", [0.0, 0.01, 0.1], nodes=[300, 100, 20], score=[0.85, 0.7, 0.6])
    assert verdict("regularization", _regularization(ccp=costly), "ccp").status == DEPENDS
    flat = R("ccp_alpha", [0.0, 0.01, 0.1], nodes=[300, 290, 280], score=[0.85, 0.85, 0.85])
    stays = verdict("regularization", _regularization(ccp=flat), "ccp")
    assert stays.status == NOT_SUPPORTED and stays.value == pytest.approx(20 / 300)


# ---------------------------------------------------------------------------- 4 data size


def _data_size(grows: set[str]) -> dict[str, Any]:
    ns = [100, 200, 400]
    return {key: R("data.n_samples", ns, stored_bytes=[n * 50 for n in ns] if key in grows else [5000] * 3)
            for key in ("knn", "svm", "tree", "forest", "linear", "mlp")}


def test_data_size_claim_follows_which_models_grow() -> None:
    mixed = verdict("data_size", _data_size({"knn", "tree"}), "grows")
    assert mixed.status == DEPENDS and mixed.value == 2 and "k-NN ∝ n^1.00" in mixed.sentence
    assert verdict("data_size", _data_size(set()), "grows").status == NOT_SUPPORTED
    every = verdict("data_size", _data_size({"knn", "svm", "tree", "forest", "linear", "mlp"}), "grows")
    assert every.status == SUPPORTED and every.value == 6


# ---------------------------------------------------------------------------- 5 features


def _features(linear: Sequence[float], first: Sequence[float], poly: Sequence[float]) -> dict[str, Any]:
    return {"selectk": R("k", [2, 10, 30], params=linear),
            "mlp": R("data.n_features", [4, 16, 64], first_layer_params=first, params=[6000, 7000, 9000]),
            "poly": R("degree", [1, 2, 3], params=poly)}


def test_selection_claim_follows_parameters_per_feature() -> None:
    grows = verdict("features", _features([100, 300, 700], [320, 1088, 4160], [10, 10, 10]), "selection")
    assert grows.status == SUPPORTED and grows.value == pytest.approx(7.0)
    one = verdict("features", _features([100, 100, 100], [320, 1088, 4160], [10, 10, 10]), "selection")
    assert one.status == DEPENDS
    none = verdict("features", _features([100, 100, 100], [320, 320, 320], [10, 10, 10]), "selection")
    assert none.status == NOT_SUPPORTED


def test_engineering_claim_follows_parameters_by_degree() -> None:
    assert verdict("features", _features([1, 2, 3], [1, 2, 3], [87, 500, 3363]), "engineering").status == SUPPORTED
    flat = verdict("features", _features([1, 2, 3], [1, 2, 3], [87, 87, 87]), "engineering")
    assert flat.status == NOT_SUPPORTED and "×1.00" in flat.sentence


# ---------------------------------------------------------------------------- 6 augmentation


def _augmentation(tree_bytes: Sequence[float], mlp_bytes: Sequence[float], time: Sequence[float]) -> dict[str, Any]:
    xs = [1, 2, 4]
    return {"tree": R("data.augment", xs, stored_bytes=tree_bytes, nodes=tree_bytes, train_time_s=time,
                      n_train=[1000, 2000, 4000]),
            "mlp": R("data.augment", xs, stored_bytes=mlp_bytes, train_time_s=time, n_train=[1000, 2000, 4000])}


def test_augmentation_compute_claim_follows_training_time() -> None:
    assert verdict("augmentation", _augmentation([1, 2, 4], [5, 5, 5], [1.0, 2.0, 4.0]), "compute").status == SUPPORTED
    free = verdict("augmentation", _augmentation([1, 2, 4], [5, 5, 5], [1.0, 1.0, 1.05]), "compute")
    assert free.status == NOT_SUPPORTED and free.value == pytest.approx(1.05)


def test_augmentation_size_claim_follows_tree_and_network() -> None:
    assert verdict("augmentation", _augmentation([1, 2, 4], [5, 5, 5], [1, 2, 4]), "size").status == DEPENDS
    assert verdict("augmentation", _augmentation([4, 4, 4], [5, 5, 5], [1, 2, 4]), "size").status == NOT_SUPPORTED
    assert verdict("augmentation", _augmentation([1, 2, 4], [5, 8, 9], [1, 2, 4]), "size").status == SUPPORTED


# ---------------------------------------------------------------------------- 7 precision


def _precision(stored: Sequence[float], score: Sequence[float]) -> dict[str, Any]:
    return {"bits": R("bits", [64, 32, 16, 8], stored_bytes=stored, serialized_bytes=[s + 900 for s in stored],
                      score=score)}


def test_int8_claim_follows_the_byte_ratio() -> None:
    smaller = verdict("precision", _precision([8000, 4000, 2000, 1000], [0.9] * 4), "int8")
    assert smaller.status == SUPPORTED and smaller.value == pytest.approx(4.0) and "×4.00" in smaller.sentence
    same = verdict("precision", _precision([8000, 4000, 4000, 4000], [0.9] * 4), "int8")
    assert same.status == NOT_SUPPORTED and same.value == pytest.approx(1.0)
    assert verdict("precision", _precision([8000, 4000, 2000, 1000], [0.9] * 4), "int8", min_ratio=5).status \
        == NOT_SUPPORTED


def test_quantization_accuracy_claim_follows_the_drop() -> None:
    assert verdict("precision", _precision([8, 4, 2, 1], [0.9, 0.9, 0.9, 0.895]), "accuracy").status == SUPPORTED
    lossy = verdict("precision", _precision([8, 4, 2, 1], [0.9, 0.9, 0.9, 0.7]), "accuracy")
    assert lossy.status == NOT_SUPPORTED and lossy.value == pytest.approx(20.0) and "-20.00 points" in lossy.sentence


# ---------------------------------------------------------------------------- contract


def test_unknown_threshold_and_missing_evidence_are_errors() -> None:
    with pytest.raises(OptionError, match="'thresholds' option"):
        get("precision").verdicts(_precision([8, 4, 2, 1], [0.9] * 4), {"min_raito": 3})
    with pytest.raises(MissingEvidence):
        get("precision").verdicts({"bits": R("bits", [64, 32], stored_bytes=[8, 4], serialized_bytes=[9, 5],
                                             score=[1, 1])})
    with pytest.raises(OptionError, match="'study' option"):
        get("sizes")

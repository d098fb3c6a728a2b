"""Study 7 — numeric precision: one trained network stored in float64, float32, float16 and int8."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import hooks
from .base import NOT_SUPPORTED, SUPPORTED, Claim, Part, PlotSpec, Series, Study, Verdict, pick, sweep
from .verdict import MissingEvidence, exponent

H = "modelsize.factors.studies.hooks"

CLAIMS = (
    Claim("int8", "For example, converting 32-bit floating-point weights to 8-bit integers can significantly reduce "
          "the model size.", "Model Optimization Techniques › Quantization"),
    Claim("accuracy", "While quantization can lead to some loss of accuracy, it is often negligible compared to the "
          "benefits in size reduction and speed.", "Model Optimization Techniques › Quantization"),
)


def build(scale: str) -> list[Part]:
    width = pick(scale, 256, 256, 64)
    epochs = pick(scale, 10, 5, 2)
    return [Part("bits", f"PyTorch MLP 2×{width} on digits trained once in float32, stored at each precision",
                 sweep("study-precision", f"{H}:precision_mlp", {"bits": [64, 32, 16, 8]}, params={"width": width},
                       fit={"epochs": epochs, "batch_size": 64}, post=hooks.to_precision),
                 ("params", "stored_bytes", "serialized_bytes", "compressed_bytes", "score"))]


def _at(result: Any, bits: int, metric: str) -> float:
    for t in result.ok:
        if t.factors.get("bits") == bits and isinstance(t.metrics.get(metric), (int, float)):
            return float(t.metrics[metric])
    raise MissingEvidence(f"No successful {bits}-bit trial with {metric!r}.")


def judge(results: Mapping[str, Any], th: Mapping[str, float]) -> list[Verdict]:
    result = results["bits"]
    stored = _at(result, 32, "stored_bytes") / _at(result, 8, "stored_bytes")
    files = _at(result, 32, "serialized_bytes") / _at(result, 8, "serialized_bytes")
    slope = exponent(result, "stored_bytes", "bits")
    status = SUPPORTED if stored >= th["min_ratio"] else NOT_SUPPORTED
    size = Verdict(
        CLAIMS[0], status, "float32 / int8 stored bytes", stored,
        f"Stored in float32, the same trained network takes ×{stored:.2f} the bytes it takes in int8 (its torch.save "
        f"file ×{files:.2f}: scales, zero points and the file's own overhead do not shrink); across 64/32/16/8 bits "
        f"stored bytes scale as bits^{slope:.2f} (threshold ×{th['min_ratio']:.2f}).",
        {"file_ratio": files, "bits_exponent": slope})
    drop = _at(result, 32, "score") - _at(result, 8, "score")
    half = _at(result, 32, "score") - _at(result, 16, "score")
    status = SUPPORTED if drop <= th["max_score_drop"] else NOT_SUPPORTED
    accuracy = Verdict(
        CLAIMS[1], status, "accuracy points lost, float32 → int8", drop * 100,
        f"Held-out accuracy changes by {(-drop * 100) or 0.0:+.2f} points from float32 to int8 "
        f"({(-half * 100) or 0.0:+.2f} to float16); negligible here means a loss of at most "
        f"{th['max_score_drop'] * 100:g} accuracy points.", {"float16_drop": half})
    return [size, accuracy]


STUDY = Study(
    name="precision",
    title="Numeric precision: float64 / float32 / float16 / int8 storage of the same model",
    claims=CLAIMS,
    build=build,
    judge=judge,
    plots=(PlotSpec("bytes", "Bytes by bits per weight", (
        Series("bits", "stored_bytes", "bits", "stored bytes"),
        Series("bits", "serialized_bytes", "bits", "torch.save file bytes"))),),
    thresholds={"min_ratio": 2.0, "max_score_drop": 0.01},
)

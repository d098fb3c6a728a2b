"""Latency is measured honestly (issue 15): warm-up, rounds interleaving original and shrunk, median
and spread; no ratio when the spread is too wide or the two rows run on different runtimes."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from modelsize.render.shrink_block import table
from modelsize.shrink.result import ShrinkResult, ShrinkRun, Side
from modelsize.shrink.runner import LATENCY_ROUNDS, RunOptions, paired_latency


class FakeBackend:
    """Records which model is timed, in order; model 'a' takes 100 µs, model 'b' 50 µs."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, int]] = []

    def latency_ns(self, model: str, x: Any, runs: int, warmup: int) -> dict[str, Any]:
        self.calls.append((model, runs, warmup))
        ns = 100_000 if model == "a" else 50_000
        return {"median_ns": ns, "p90_ns": ns, "min_ns": ns, "runs": runs, "warmup": warmup, "mode": "fake"}


def test_rounds_alternate_which_model_goes_first_after_a_warm_up() -> None:
    backend = FakeBackend()
    before, after = paired_latency(backend, "a", "b", np.zeros((1, 4)), RunOptions(latency_runs=20, latency_warmup=3))
    assert backend.calls[:2] == [("a", 1, 3), ("b", 1, 3)]  # warm-up of both first
    timed = [c[0] for c in backend.calls[2:]]
    assert timed == ["a", "b", "b", "a", "a", "b", "b", "a", "a", "b"]  # interleaved, order alternating
    assert all(c[1] == 4 for c in backend.calls[2:])  # 20 runs in 5 rounds
    assert before["median_ns"] == 100_000 and after["median_ns"] == 50_000
    assert before["rounds"] == after["rounds"] == LATENCY_ROUNDS and before["runs"] == 20
    assert before["spread"] == 0 and before["interleaved"] is True


def _side(latency: dict[str, Any]) -> Side:
    return Side(params=10, stored_bytes=40, dense_bytes=40, sparsity=0.0, bytes_by_dtype={"float32": 40}, files=(),
                primary="", score=0.5, latency=latency)


def _result(before: dict[str, Any], after: dict[str, Any]) -> ShrinkResult:
    return ShrinkResult(recipe="tflite", techniques=("tflite",), params={}, before=_side(before), after=_side(after),
                        metric="accuracy")


def test_a_steady_measurement_gets_a_ratio() -> None:
    result = _result({"median_ns": 2_000_000, "spread": 0.1, "mode": "keras"},
                     {"median_ns": 1_000_000, "spread": 0.05, "mode": "keras"})
    assert result.deltas()["latency_ratio"] == 2.0 and result.deltas()["latency_problem"] is None
    assert "2.00×" in table(ShrinkRun((result,)), width=160)


def test_different_runtimes_are_said_not_compared() -> None:
    result = _result({"median_ns": 2_000_000, "spread": 0.1, "mode": "keras predict_on_batch"},
                     {"median_ns": 4_000, "spread": 0.1, "mode": "TFLite interpreter"})
    assert result.deltas()["latency_ratio"] is None and result.deltas()["latency_problem"] == "runtimes differ"
    text = " ".join(table(ShrinkRun((result,)), width=160).split())
    assert "≠runtime" in text and "500.00×" not in text
    assert "tflite: runs on TFLite interpreter, the original on keras predict_on_batch" in text


def test_a_too_wide_spread_is_flagged_instead_of_a_ratio() -> None:
    result = _result({"median_ns": 133_000, "spread": 3.0, "mode": "torch"},
                     {"median_ns": 32_000_000, "spread": 0.1, "mode": "torch"})
    assert result.deltas()["latency_ratio"] is None and result.deltas()["latency_problem"] == "spread too wide"
    text = " ".join(table(ShrinkRun((result,)), width=160).split())
    assert "noisy" in text and "0.00×" not in text and "disagree by more than half their median" in text
    assert "±150%" in text  # the spread is shown with the median

"""The error → exit-code map: usage errors exit 2, failed work (ours or the model's) exits 1."""

from __future__ import annotations

from typing import Any

import pytest

from modelsize.cli.errors import EXIT_ERROR, EXIT_USAGE, exit_code_for
from modelsize.core.errors import ComputationError, OptionError, computation_error, option_error


def test_option_errors_from_our_own_calls_exit_1_not_2() -> None:
    user = option_error("depth", "an integer >= 0", -1)
    assert exit_code_for(user) == EXIT_USAGE
    ours = computation_error(option_error("x", "at least two distinct finite values", [1.0]), "fitting a law")
    assert isinstance(ours, ComputationError) and not isinstance(ours, OptionError)
    assert exit_code_for(ours) == EXIT_ERROR
    assert str(ours) == "Fitting a law failed: The 'x' option must be at least two distinct finite values. Got [1.0]."


def test_sweep_laws_chosen_by_the_cli_fail_as_work_not_usage() -> None:
    from modelsize.cli import sweep_cmd

    class Result:
        def numeric_metrics(self) -> list[str]:
            return ["params"]

        def numeric_factors(self) -> list[str]:
            return ["max_depth"]

        def laws(self, metrics: Any) -> Any:
            raise option_error("x", "at least two distinct finite values (with finite y)", [3.0])

    with pytest.raises(ComputationError, match="Fitting the sweep's growth laws failed: The 'x' option") as info:
        sweep_cmd._laws(Result())  # type: ignore[arg-type]
    assert exit_code_for(info.value) == EXIT_ERROR


def test_law_fitting_inside_results_is_a_computation_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from modelsize.factors import laws
    from modelsize.factors.results import SweepResult
    from modelsize.factors.types import TrialResult

    trials = [TrialResult(f"k{d}", {"max_depth": d}, 0, "ok", {"params": 10 * d}) for d in (1, 2, 3, 4)]
    result = SweepResult("hash", "s", ("max_depth",), tuple(trials))
    assert [fit.metric for fit in result.laws(metrics=["params"])] == ["params"]

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise option_error("x", "finite values", "inf")

    monkeypatch.setattr(laws, "fit_law", refuse)
    with pytest.raises(ComputationError, match="Fitting a law of 'params' against 'max_depth' failed"):
        result.laws(metrics=["params"])
    with pytest.raises(OptionError, match="The 'confidence' option"):  # still the caller's own option
        result.laws(metrics=["params"], confidence=1.5)

"""Edges of the command line (issue 28): a flag that needs another says which; -v is documented as what it does."""

from __future__ import annotations

from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_training_without_fit_names_the_flag_it_needs(cli, tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"model_type": "llama"}')
    for flag, extra in (("--training", []), ("--batch", ["4"])):
        result = cli("inspect", str(tmp_path), flag, *extra)
        assert result.code == 2
        assert f"The '{flag}' option needs --fit SIZE, the memory budget to check (e.g. --fit 24GiB)." in result.err_text
        assert "Got None" not in result.err


def test_verbose_is_documented_as_timing_and_framework_logs(cli) -> None:
    readme = README.read_text()
    row = next(line for line in readme.splitlines() if line.startswith("| `-v`, `--verbose`"))
    assert "where the time went" in row and "frameworks' own log lines" in row
    help_text = " ".join(cli("inspect", "--help").out.split())
    assert "where the time went" in help_text and "frameworks' log lines" in help_text


def test_range_errors_speak_in_our_template_not_pydantic(cli) -> None:
    cases = [
        (("shrink", "modelsize.examples.seed:simple_nn", "--latency-runs", "0"),
         "The 'latency-runs' option must be an integer >= 1. Got 0."),
        (("shrink", "modelsize.examples.seed:simple_nn", "--max-drop", "-1"),
         "The 'max-drop' option must be a number >= 0. Got -1.0."),
        (("shrink", "modelsize.examples.seed:simple_nn", "--width", "10"),
         "The 'width' option must be an integer >= 40. Got 10."),
        (("inspect", "modelsize.examples.seed:simple_nn", "--width", "10"),  # the quick path's parser
         "The 'width' option must be an integer >= 40. Got 10."),
    ]
    for args, message in cases:
        result = cli(*args)
        assert result.code == 2, (args, result.err)
        assert message in result.err_text, (args, result.err)
        assert "Input should be" not in result.err


def test_a_sweep_without_a_factory_says_what_is_missing() -> None:
    import pytest

    from modelsize import Sweep
    from modelsize.core.errors import OptionError

    with pytest.raises(OptionError, match=r"The 'factory' option is missing: give a class, a function or a "
                                          r"'module:attr' reference, or make 'factory' a factor of the grid\.$"):
        Sweep(None, {"x": [1, 2]}, "iris").run()

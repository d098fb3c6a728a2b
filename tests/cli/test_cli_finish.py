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

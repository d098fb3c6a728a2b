"""--width and $COLUMNS decide the table width (issue 15)."""

from __future__ import annotations

import pytest


def test_cli_honours_width_and_columns(cli, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    wide = cli("inspect", "modelsize.examples.seed:simple_nn", "--no-formats", "--width", "70")
    assert wide.code == 0 and max(len(l) for l in wide.out.splitlines()) <= 70
    monkeypatch.setenv("COLUMNS", "64")
    narrow = cli("inspect", "modelsize.examples.seed:simple_nn", "--no-formats")
    assert narrow.code == 0 and max(len(l) for l in narrow.out.splitlines()) <= 64
    assert "101,770" in narrow.out


@pytest.mark.parametrize("suffix", [".json", ".csv", ".md", ".html", ".txt"])
def test_inspect_output_file_format_follows_the_extension(cli, tmp_path, suffix) -> None:  # noqa: ANN001
    import json

    path = tmp_path / f"report{suffix}"
    result = cli("inspect", "modelsize.examples.seed:simple_nn", "--no-formats", "-o", str(path))
    assert result.code == 0, result.err
    text = path.read_text()
    if suffix == ".json":
        assert json.loads(text)["totals"]["params"] == 101_770
    elif suffix == ".csv":
        assert text.splitlines()[0].startswith(("kind", "row", "type", "path")) or "," in text.splitlines()[0]
        assert "101770" in text
    elif suffix == ".html":
        assert text.startswith("<!doctype html>") and "101,770" in text
    else:
        assert "101,770" in text
    assert f"Wrote {path}" in result.err_text


def test_inspect_output_with_an_unknown_extension_is_a_usage_error(cli, tmp_path) -> None:  # noqa: ANN001
    result = cli("inspect", "modelsize.examples.seed:simple_nn", "-o", str(tmp_path / "r.xlsx"))
    assert result.code == 2 and "'output' option" in result.err_text and ".json" in result.err_text


def test_both_shape_syntaxes_for_inspect_input_shape(cli) -> None:  # noqa: ANN001
    bad = cli("inspect", "modelsize.examples.seed:simple_nn", "--input-shape", "28y28")
    assert bad.code == 2 and "28x28x1 or 28,28,1" in bad.err_text

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

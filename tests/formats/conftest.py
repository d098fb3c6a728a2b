"""Fixtures for the file-reader tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    """A file that code planted in a crafted model would create if anything ran it."""
    path = tmp_path / "PWNED"
    yield path
    assert not path.exists(), "code from the file ran"

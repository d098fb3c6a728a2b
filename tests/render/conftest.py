"""Fixtures for the renderer tests; the report itself is built in render_fixtures.py."""

from __future__ import annotations

import pytest
from render_fixtures import build_tiny_lm

from modelsize.core.report import Report


@pytest.fixture
def tiny_lm() -> Report:
    return build_tiny_lm()

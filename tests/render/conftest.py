"""Fixtures for the renderer tests; the report itself is built in render_fixtures.py."""

from __future__ import annotations

import pytest
from render_fixtures import build_tiny_lm

from modelsize.core.report import Report


@pytest.fixture
def tiny_lm() -> Report:
    return build_tiny_lm()


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # type: ignore[no-untyped-def]
    """Say loudly, at the end of the run, when the HTML pages were not checked in a browser."""
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if "BROWSER TESTS SKIPPED" in str(r.longrepr)]
    if skipped:
        terminalreporter.write_sep("!", f"{len(skipped)} BROWSER TESTS SKIPPED: chromium/chromedriver/selenium missing",
                                   red=True, bold=True)
        terminalreporter.write_line("The HTML reports were NOT checked in a browser. Run 'make test' as root, or "
                                    "apt-get install chromium chromium-driver && pip install selenium.")

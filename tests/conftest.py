"""Shared test settings: quiet, offline, deterministic."""

import os
import warnings

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore", category=DeprecationWarning)
warnings.filterwarnings("ignore", category=UserWarning, module="torch")


def pytest_addoption(parser):
    """``--overwrite-golden``: rewrite the golden files of rendered output (review the diff)."""
    parser.addoption("--overwrite-golden", action="store_true", default=False,
                     help="rewrite tests/**/golden/* from the current output instead of comparing")


@pytest.fixture(autouse=True)
def _no_inherited_terminal_size(monkeypatch):
    """pytest-xdist workers run with ``COLUMNS=80``, which the CLI honours as the table width; a
    test sees the same width under ``make test`` (-n 2) as alone unless it sets ``COLUMNS`` itself."""
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)

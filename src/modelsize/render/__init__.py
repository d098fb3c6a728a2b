"""Every renderer of modelsize: pure functions of results → text, JSON, CSV, HTML and plots.

A report renders as a table for people, JSON and CSV for programs (``table``, ``json_text``,
``csv_text`` here), an HTML page (``html_report``) or a notebook table (``notebook``); diffs,
sweeps (``sweep_table``, ``sweep_plots``), studies (``study_report``, ``study_plots``) and byte
budgets (``budget_result``) have their modules too. Report renderers read only core types
(Report, Component, TensorRecord, Totals and section data), so a report from any framework or
file renders the same way; the others read the result types of ``diff``, ``factors`` and
``shrink``, which never import this package. Nothing here prints. Each renderer loads on first
use: writing JSON does not import rich.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {"csv_text": "csv_out", "json_text": "json_out", "table": "rich_table"}

__all__ = ["csv_text", "json_text", "table"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))

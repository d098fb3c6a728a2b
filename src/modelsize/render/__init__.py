"""Pure functions Report → text: a table for people, JSON and CSV for programs.

Renderers read only core types (Report, Component, TensorRecord, Totals and section data),
so a report from any framework or file renders the same way. Nothing here prints.
"""

from .csv_out import csv_text
from .json_out import json_text
from .rich_table import table

__all__ = ["csv_text", "json_text", "table"]

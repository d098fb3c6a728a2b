"""The report as JSON: raw integers, ``schema_version`` first, valid against the published schema
(``src/modelsize/schema/report.schema.json``)."""

from __future__ import annotations

import json

from ..core.report import Report


def json_text(report: Report, indent: int | None = 2) -> str:
    """``report.to_dict()`` as JSON text ending with a newline.

    ``allow_nan=False``: NaN and infinity are not JSON, so a report holding them is a bug
    that must fail here rather than produce a file other tools reject.
    """
    return json.dumps(report.to_dict(), indent=indent, allow_nan=False, ensure_ascii=False) + "\n"

"""The report as JSON: raw integers, ``schema_version`` first, valid against the published schema
(``src/modelsize/schema/report.schema.json``)."""

from __future__ import annotations

import json

from ..core.report import Report

#: Reports with more tree nodes and tensors than this are written without indentation: Python's
#: indenting encoder is pure Python and keeps millions of small strings (1.4 GB for a 200,000-node
#: ONNX graph); the compact C encoder writes the same data in a fraction of the time and memory.
COMPACT_ABOVE = 50_000


def json_text(report: Report, indent: int | None = 2) -> str:
    """``report.to_dict()`` as JSON text ending with a newline.

    ``allow_nan=False``: NaN and infinity are not JSON, so a report holding them is a bug
    that must fail here rather than produce a file other tools reject.
    """
    data = report.to_dict()
    if indent is not None and _size(data["tree"]) > COMPACT_ABOVE:
        indent = None
    return json.dumps(data, indent=indent, allow_nan=False, ensure_ascii=False) + "\n"


def _size(tree: dict) -> int:
    """Nodes plus tensors in the serialised tree (iterative: trees can be deep)."""
    count, stack = 0, [tree]
    while stack:
        node = stack.pop()
        count += 1 + len(node.get("tensors", ()))
        stack.extend(node.get("children", ()))
    return count

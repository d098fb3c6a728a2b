"""The report as JSON: raw integers, ``schema_version`` first, valid against the published schema
(``src/modelsize/schema/report.schema.json``)."""

from __future__ import annotations

import json
from typing import Any

from ..core.report import Report

#: Reports with more tree nodes and tensors than this are written on one line: even the layout
#: below keeps a string per line (a 200,000-node ONNX graph is read by programs, not by eye).
COMPACT_ABOVE = 50_000

#: Keys whose value takes one line however deep it nests (a component's attributes), and keys
#: holding a list of tensor records, one per line. The rest is indented down to containers of
#: scalars. Python's indenting encoder is pure Python (48 ms for a 70B checkpoint's 1.1 MB
#: report); this layout lets the C encoder write each line.
ONE_LINE_KEYS = frozenset({"attrs"})
#: A container of scalars (or of containers of scalars) with at most this many items takes one line.
ONE_LINE_ITEMS = 8
RECORD_LIST_KEYS = frozenset({"tensors"})

_ONE_LINE = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(", ", ": "))
_COMPACT = json.JSONEncoder(ensure_ascii=False, allow_nan=False)


def json_text(report: Report, indent: int | None = 2) -> str:
    """``report.to_dict()`` as JSON text ending with a newline: indented with ``indent`` spaces
    (see :func:`_layout`), or one line with ``indent=None``.

    ``allow_nan=False``: NaN and infinity are not JSON, so a report holding them is a bug
    that must fail here rather than produce a file other tools reject.
    """
    data = report.to_dict()
    if indent is None or _size(data["tree"]) > COMPACT_ABOVE:
        return _COMPACT.encode(data) + "\n"
    return _layout(data, " " * indent, 0) + "\n"


def _layout(value: Any, indent: str, level: int) -> str:
    """``value`` as JSON laid out from ``level``: large containers and containers of containers are
    indented; a small shallow one (a shape, bytes by dtype) and each tensor record take one line."""
    if isinstance(value, dict) and (len(value) > ONE_LINE_ITEMS or not _shallow(value.values())):
        pad = "\n" + indent * (level + 1)
        body = ",".join(f"{pad}{_key(k)}: " + (_ONE_LINE.encode(v) if k in ONE_LINE_KEYS else
                                               _records(v, indent, level + 1) if k in RECORD_LIST_KEYS else
                                               _layout(v, indent, level + 1))
                        for k, v in value.items())
        return "{" + body + "\n" + indent * level + "}"
    if isinstance(value, (list, tuple)) and (len(value) > ONE_LINE_ITEMS or not _shallow(value)):
        pad = "\n" + indent * (level + 1)
        return "[" + ",".join(pad + _layout(v, indent, level + 1) for v in value) + "\n" + indent * level + "]"
    return _ONE_LINE.encode(value)


def _records(value: Any, indent: str, level: int) -> str:
    """A list of tensor records, one record per line."""
    if not isinstance(value, list) or not value:
        return _ONE_LINE.encode(value)
    pad = "\n" + indent * (level + 1)
    return "[" + ",".join(pad + _ONE_LINE.encode(v) for v in value) + "\n" + indent * level + "]"


def _shallow(values: Any) -> bool:
    """Whether a container holding ``values`` nests at most two deep: scalars, or containers of scalars."""
    for v in values:
        if isinstance(v, dict):
            v = v.values()
        elif not isinstance(v, (list, tuple)):
            continue
        if any(isinstance(x, (dict, list, tuple)) for x in v):
            return False
    return True


def _key(key: Any) -> str:
    """An object key as :mod:`json` writes it (a non-string key becomes its JSON text)."""
    if isinstance(key, str):
        return _ONE_LINE.encode(key)
    return _ONE_LINE.encode(next(iter(json.loads(_ONE_LINE.encode({key: 0})))))


def _size(tree: dict) -> int:
    """Nodes plus tensors in the serialised tree (iterative: trees can be deep)."""
    count, stack = 0, [tree]
    while stack:
        node = stack.pop()
        count += 1 + len(node.get("tensors", ()))
        stack.extend(node.get("children", ()))
    return count

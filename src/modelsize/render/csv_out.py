"""The report as CSV: a header row, then one row per component and one per tensor reference.

Numbers are raw integers (bytes, element counts). Component rows carry their subtree's totals
(shared storage counted once within it), so the root row equals the report's totals. Tensor
rows list every reference; a shared tensor's alias names its owner in ``shared_with`` and is
not counted again: summing ``stored_bytes`` over tensor rows with an empty ``shared_with``
gives the report's stored bytes.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from ..core.report import Report
from ..core.tensors import Role, TensorRecord
from ..core.tree import Component
from . import labels

COLUMNS: tuple[str, ...] = (
    "record",  # "component" or "tensor"
    "path",
    "name",
    "kind",  # component type (Linear, Conv2D …); empty for tensors
    "depth",  # 0 for the model itself
    "role",
    "dtype",
    "shape",  # JSON list, e.g. [128, 784]
    "numel",
    "params",  # parameters (unique within a component's subtree; numel for a parameter tensor)
    "bits",  # logical bits per element
    "stored_bytes",
    "dense_bytes",
    "nnz",  # non-zero parameters (components) / elements (tensors); empty when not readable
    "trainable",
    "shared_with",  # the owner's path when this tensor reference is an alias
    "flags",  # pruned / quantized, from component attributes
)


def csv_text(report: Report) -> str:
    """Render the whole tree as CSV (``--depth`` does not apply: CSV is for programs)."""
    owners = labels.alias_owners(report)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for node, depth in labels.iter_tree(report.root):
        writer.writerow(_component_row(report, node, depth))
        for record in node.tensors:
            writer.writerow(_tensor_row(record, depth + 1, owners))
    return buffer.getvalue()


def _component_row(report: Report, node: Component, depth: int) -> dict[str, Any]:
    sub = report.totals if depth == 0 else report.subtotals(node)
    return {
        "record": "component",
        "path": node.path,
        "name": node.name,
        "kind": node.kind,
        "depth": depth,
        "params": sub.params,
        "stored_bytes": sub.stored_bytes,
        "dense_bytes": sub.dense_bytes,
        "nnz": _blank_none(sub.params_nnz),
        "flags": "; ".join(labels.own_flags(node)),
    }


def _tensor_row(record: TensorRecord, depth: int, owners: dict[str, str]) -> dict[str, Any]:
    return {
        "record": "tensor",
        "path": record.path,
        "name": record.name,
        "depth": depth,
        "role": record.role.value,
        "dtype": record.dtype,
        "shape": json.dumps(list(record.shape)),
        "numel": record.numel,
        "params": record.numel if record.role is Role.PARAMETER else 0,
        "bits": _number(record.bits),
        "stored_bytes": record.stored_bytes,
        "dense_bytes": record.dense_bytes,
        "nnz": _blank_none(record.nnz),
        "trainable": "" if record.trainable is None else str(record.trainable).lower(),
        "shared_with": owners.get(record.path, ""),
    }


def _blank_none(value: Any) -> Any:
    return "" if value is None else value


def _number(value: float | None) -> Any:
    """Integral bits as integers (32, not 32.0); fractional ones (Q4_K ≈ 4.5) as they are."""
    if value is None:
        return ""
    return int(value) if float(value).is_integer() else value

"""JSON and CSV output: raw integers, valid against the schema, numbers that add up to the totals."""

from __future__ import annotations

import csv
import io
import json

import pytest
from render_fixtures import DIM, PER_REFERENCE_PARAMS, STORED_BYTES, UNIQUE_PARAMS, VOCAB

from modelsize.core.report import Report, Source
from modelsize.core.tensors import TensorRecord
from modelsize.core.tree import from_flat
from modelsize.render import csv_text, json_text
from modelsize.render.csv_out import COLUMNS
from modelsize.testing import validate_json


def test_json_is_the_report_dict_and_valid(tiny_lm: Report) -> None:
    text = json_text(tiny_lm)
    assert text.endswith("\n")
    data = json.loads(text)
    validate_json(data)
    assert data == json.loads(json.dumps(tiny_lm.to_dict()))
    assert data["schema_version"] == "1.0"
    assert data["totals"]["params"] == UNIQUE_PARAMS
    assert data["totals"]["params_per_reference"] == PER_REFERENCE_PARAMS
    assert data["totals"]["stored_bytes"] == STORED_BYTES
    assert isinstance(data["totals"]["stored_bytes"], int)
    safetensors = data["sections"]["formats"][0]
    assert (safetensors["format"], safetensors["bytes"], safetensors["exact"]) == ("safetensors", 123_456, True)
    assert safetensors["compressed"]["bytes"] == 100_000


def test_json_layout_one_tensor_record_per_line(tiny_lm: Report) -> None:
    """Indented down to small containers of scalars; each tensor record on one line, written by the
    C encoder (the pure-Python indenting encoder took 48 ms for a 70B checkpoint's report)."""
    text = json_text(tiny_lm)
    assert json.loads(text) == json.loads(json.dumps(tiny_lm.to_dict()))
    lines = text.splitlines()
    records = [json.loads(line.strip().rstrip(",")) for line in lines if line.lstrip().startswith('{"path": ')]
    assert sorted(r["path"] for r in records) == sorted(t.path for t in tiny_lm.root.iter_tensors())
    assert lines[0] == "{" and lines[1] == '  "schema_version": "1.0",'
    assert '    "bytes_by_dtype": {' in text or '    "bytes_by_dtype": {"' in text  # totals indented, one key per line
    assert '  "totals": {\n    "params": ' in text


def test_json_compact_option(tiny_lm: Report) -> None:
    assert "\n" not in json_text(tiny_lm, indent=None).rstrip("\n")


def test_json_refuses_nan() -> None:
    records = [TensorRecord("w", (2,), "float32", meta={"scale": float("nan")})]
    report = Report(from_flat(records), Source("handmade", "dict"))
    with pytest.raises(ValueError):
        json_text(report)


def _rows(report: Report) -> list[dict[str, str]]:
    text = csv_text(report)
    reader = csv.DictReader(io.StringIO(text))
    assert tuple(reader.fieldnames or ()) == COLUMNS
    return list(reader)


def test_csv_one_row_per_component_and_tensor(tiny_lm: Report) -> None:
    rows = _rows(tiny_lm)
    components = [r for r in rows if r["record"] == "component"]
    tensors = [r for r in rows if r["record"] == "tensor"]
    assert [r["path"] for r in components] == [c.path for c in tiny_lm.root.walk()]
    assert sorted(r["path"] for r in tensors) == sorted(t.path for t in tiny_lm.root.iter_tensors())
    assert len(rows) == 7 + 10  # 7 components, 10 tensor references


def test_csv_numbers_equal_report_totals(tiny_lm: Report) -> None:
    rows = _rows(tiny_lm)
    root = rows[0]
    assert (root["record"], root["path"], root["depth"]) == ("component", "", "0")
    assert int(root["params"]) == UNIQUE_PARAMS == tiny_lm.totals.params
    assert int(root["stored_bytes"]) == STORED_BYTES == tiny_lm.totals.stored_bytes
    counted = [r for r in rows if r["record"] == "tensor" and not r["shared_with"]]
    assert sum(int(r["stored_bytes"]) for r in counted) == STORED_BYTES
    assert sum(int(r["params"]) for r in counted) == UNIQUE_PARAMS
    every_ref = [r for r in rows if r["record"] == "tensor"]
    assert sum(int(r["params"]) for r in every_ref) == PER_REFERENCE_PARAMS


def test_csv_tensor_fields(tiny_lm: Report) -> None:
    by_path = {r["path"]: r for r in _rows(tiny_lm)}
    head = by_path["head.weight"]
    assert head["shared_with"] == "embed.weight"
    assert json.loads(head["shape"]) == [VOCAB, DIM]
    assert int(head["numel"]) == VOCAB * DIM
    assert (head["dtype"], head["bits"], head["trainable"], head["depth"]) == ("float32", "32", "true", "2")
    mask = by_path["block.fc.weight_mask"]
    assert (mask["role"], mask["params"], mask["nnz"]) == ("pruning_mask", "0", "")
    scale = by_path["block.q.weight.scale"]
    assert (scale["shape"], scale["numel"], scale["stored_bytes"]) == ("[]", "1", "8")
    assert by_path["block.fc"]["flags"] == "pruned: weight (50.0% zeros, L1Unstructured)"
    assert by_path["block.q"]["flags"] == "quantized (QuantizedLinear)"
    assert int(by_path["block"]["params"]) == DIM * DIM + DIM + DIM + DIM * DIM

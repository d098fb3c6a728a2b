"""The framework-free data model: units, dtypes, records, tree, totals, JSON schema."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from modelsize.core import dtypes
from modelsize.core.report import Report, Source
from modelsize.core.tensors import Role, TensorRecord
from modelsize.core.totals import compute
from modelsize.core.tree import Component, from_flat
from modelsize.core.units import format_bytes, format_count
from modelsize.testing import check_report, validate_json


def test_units_label_their_base():
    assert format_bytes(1536) == "1.50 KiB"
    assert format_bytes(1500, "si") == "1.50 kB"
    assert format_bytes(5 * 1024**2) == "5.00 MiB"
    assert format_bytes(5 * 10**6, "si") == "5.00 MB"
    assert format_bytes(3 * 1024**3) == "3.00 GiB"
    assert format_bytes(999) == "999 B"
    assert format_bytes(None) == "n/a"
    assert format_count(101770) == "101,770"
    with pytest.raises(ValueError, match="'base' option"):
        format_bytes(1, "kib")


def test_dtype_bits_and_packing():
    assert dtypes.get("fp16").bits == 16
    assert dtypes.get("bool").bits == 8  # stored as a byte, never reported as 1 bit
    assert dtypes.get("int4").nbytes(3) == 2  # two int4 per byte, rounded up
    assert dtypes.canonical("torch_unknown") == "torch_unknown"
    block = dtypes.DType("test_q4", 4.5, "quantized", block_size=32, block_bytes=18)
    assert block.nbytes(33) == 36  # rounds up to whole blocks
    with pytest.raises(KeyError, match="Unknown dtype"):
        dtypes.get("float13")


def test_record_defaults_and_sparsity():
    rec = TensorRecord("a.weight", (4, 8), "float32", nnz=8)
    assert rec.numel == 32 and rec.stored_bytes == 128 and rec.bits == 32
    assert rec.sparsity == pytest.approx(0.75)
    assert rec.name == "weight"
    assert TensorRecord("s", (), "float64").numel == 1
    with pytest.raises(ValueError, match="negative"):
        TensorRecord("bad", (-1,), "float32")


def test_totals_count_shared_storage_once_and_keep_references():
    w = TensorRecord("emb.weight", (10, 4), "float32", trainable=True, storage_key="k1")
    tied = TensorRecord("head.weight", (10, 4), "float32", trainable=True, storage_key="k1")
    frozen = TensorRecord("head.bias", (10,), "float16", trainable=False)
    buf = TensorRecord("bn.running_mean", (4,), "float32", role=Role.BUFFER)
    totals = compute([w, tied, frozen, buf])
    assert totals.params == 50
    assert totals.params_per_reference == 90
    assert totals.trainable_params == 40 and totals.non_trainable_params == 10
    assert totals.stored_bytes == 160 + 20 + 16
    assert totals.bytes_by_dtype == {"float32": 176, "float16": 20}
    assert totals.bytes_by_role == {"parameter": 180, "buffer": 16}
    assert [(g.owner, g.aliases) for g in totals.shared] == [("emb.weight", ("head.weight",))]
    assert totals.sparsity is None  # no data was read


def test_from_flat_groups_by_prefix():
    recs = [TensorRecord(p, (2,), "float32") for p in ("a.b.w", "a.b.v", "a.c", "top")]
    root = from_flat(recs, kinds={"a.b": "Linear"})
    assert [c.path for c in root.walk()] == ["", "a", "a.b"]
    assert root.find("a.b").kind == "Linear"
    assert [t.path for t in root.find("a").tensors] == ["a.c"]


def _report() -> Report:
    child = Component("fc", "Linear", "fc", tensors=(TensorRecord("fc.weight", (3, 3), "float32", nnz=9),))
    root = Component("m", "Model", "", children=(child,))
    return Report(root, Source("test", "Model"), sections={"extra": {"n": 1}}, notes=("a note",))


def test_report_json_is_raw_integers_and_validates():
    report = _report()
    check_report(report)
    data = json.loads(json.dumps(report.to_dict()))
    validate_json(data)
    assert data["schema_version"] == "1.0"
    assert data["totals"]["stored_bytes"] == 36 and isinstance(data["totals"]["stored_bytes"], int)
    assert data["tree"]["children"][0]["tensors"][0]["numel"] == 9
    bad = dict(data, schema_version="0.1")
    with pytest.raises(Exception):
        validate_json(bad)


def test_report_is_immutable_and_sections_are_added_by_copy():
    report = _report()
    richer = report.with_section("formats", []).with_notes("n2")
    assert "formats" not in report.sections and "formats" in richer.sections
    assert richer.notes == ("a note", "n2")


def test_import_modelsize_loads_no_framework():
    code = (
        "import sys, modelsize, modelsize.api, modelsize.testing\n"
        "heavy = [m for m in ('torch', 'tensorflow', 'keras', 'sklearn', 'jax', 'xgboost') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""

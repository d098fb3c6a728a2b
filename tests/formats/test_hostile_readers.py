"""What the readers report for the corpus's amplification files (in process, exact numbers)."""

from __future__ import annotations

import sys
from pathlib import Path

import modelsize
from modelsize.core.tensors import Role

sys.path.insert(0, str(Path(__file__).parent))
import hostile_corpus as hc  # noqa: E402


def test_billion_laughs_is_walked_once(tmp_path: Path) -> None:
    report = modelsize.inspect(hc._billion_laughs(tmp_path, ""))
    arrays = [r for r in report.root.iter_tensors() if r.role is not Role.METADATA]
    # 2**60 paths lead to the leaf; each of the 61 lists is walked once, so the leaf is met twice
    # (from the first list, which holds it twice) and counted once
    assert len(arrays) == 2 and arrays[1].meta["same_as"] == arrays[0].path
    assert report.totals.params == 1000 and report.sections["pickle"]["verdict"] == "safe"


def test_tflite_shared_operator_slots_count_once(tmp_path: Path) -> None:
    report = modelsize.inspect(hc._tflite("ops")(tmp_path, ""))
    sec = report.sections["tflite"]
    assert sec["operators"] == 1 and sec["op_counts"] == {"ADD": 1}
    assert [c.name for c in report.root.children] == ["add_0"]
    assert len(report.root.children[0].tensors) == 2  # the weight and its scale, not 20,000 x 20,000 references
    assert any("19999 operator or tensor slots" in n for n in report.notes)


def test_tflite_shared_quantization_counts_once(tmp_path: Path) -> None:
    report = modelsize.inspect(hc._tflite("quant")(tmp_path, ""))
    sec = report.sections["tflite"]
    assert sec["quantization_parameters"] == 20_000  # one table of 20,000 scales, not 4 x 10**8
    scales = [r for r in report.root.iter_tensors() if r.role is Role.QUANT_SCALE]
    assert scales and report.totals.bytes_by_role["quant_scale"] == 4 * 20_000


def test_h5_soft_link_counted_once(tmp_path: Path) -> None:
    report = modelsize.inspect(hc._h5("soft")(tmp_path, ""))
    assert report.totals.params == 9 and report.totals.unique_tensors == 1
    assert sum("soft links inside the file" in n for n in report.notes) == 1

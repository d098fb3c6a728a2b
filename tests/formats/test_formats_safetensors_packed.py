"""Our own packed safetensors read as the logical tensors they stand for (issue 28)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

import modelsize  # noqa: E402
from modelsize.formats.safetensors_file import parse_header  # noqa: E402


def _part_bytes(path: Path) -> int:
    return sum(e.end - e.begin for e in parse_header(path).entries)


def test_mixed_precision_file_counts_logical_parameters(tmp_path: Path) -> None:
    from modelsize.shrink.base import ShrinkContext
    from modelsize.shrink.torch import mixed
    from modelsize.shrink.torch.backend import TorchBackend

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(40, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    x = np.random.default_rng(0).normal(size=(8, 40)).astype(np.float32)
    out = mixed.MixedPrecision((("0", 2, 32, 0.5), ("2", 8, 32, 1.0))).apply(model, ShrinkContext(TorchBackend(),
                                                                                                  example=x))
    path = tmp_path / "model.mixed.safetensors"
    out.savers[0].save(out.model, path)
    report = modelsize.inspect(path)
    assert report.totals.params == 40 * 16 + 16 + 16 * 3 + 3 == 707  # not the packed parts' element count
    assert report.totals.stored_bytes == _part_bytes(path)
    records = {t.path: t for t in report.root.iter_tensors()}
    assert set(records) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    assert (records["0.weight"].dtype, records["0.weight"].shape) == ("int2", (16, 40))
    assert records["2.weight"].dtype == "int8" and records["0.bias"].dtype == "float32"
    assert any("4 logical tensors stored as 9 entries" in n for n in report.notes)


def test_packed_layouts_file_counts_logical_parameters_and_nonzeros(tmp_path: Path) -> None:
    from modelsize.shrink import layouts

    torch.manual_seed(0)
    sparse = torch.randn(32, 64)
    sparse[sparse.abs() < 1.0] = 0
    dense = torch.randn(16, 8)
    info, _ = layouts.quantize_int4(torch.randn(16, 64), 32)
    path = tmp_path / "m.packed.safetensors"
    layouts.write(path, {"a.weight": sparse, "b.weight": dense}, {"a.weight": "bitmask"}, int4={"c.weight": info})
    report = modelsize.inspect(path)
    assert report.totals.params == 32 * 64 + 16 * 8 + 16 * 64
    assert report.totals.stored_bytes == _part_bytes(path)
    records = {t.path: t for t in report.root.iter_tensors()}
    assert records["a.weight"].nnz == int((sparse != 0).sum())
    assert (records["c.weight"].dtype, records["c.weight"].bits) == ("int4", 4.0)


def test_a_packed_file_that_does_not_add_up_is_read_plainly_with_a_note(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    path = tmp_path / "odd.safetensors"
    save_file({"w::packed": torch.zeros(4, dtype=torch.uint8)}, str(path),
              metadata={"format": "modelsize-packed/1", "layouts": json.dumps({"w": {"layout": "int4", "shape": [2, 4],
                                                                                    "dtype": "float32"}})})
    report = modelsize.inspect(path)
    assert report.totals.params == 4  # the plain reading
    assert any("does not add up" in n and "'w::scale'" in n for n in report.notes), report.notes

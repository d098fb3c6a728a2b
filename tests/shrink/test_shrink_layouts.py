"""modelsize's packed tensor file: sparse (bitmask, CSR) and int4 layouts round-trip exactly,
the chosen layout is the smallest, and the bytes on disk are the bytes the layout predicts."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
import torch

from modelsize.core.errors import InvalidFileError
from modelsize.shrink import layouts


def _sparse(shape: tuple[int, ...], density: float, seed: int = 0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    values = torch.randn(shape, generator=g)
    keep = torch.rand(shape, generator=g) < density
    return (values * keep).to(dtype)


def _payload_bytes(path) -> int:
    """Bytes after the safetensors header (8-byte length + JSON)."""
    raw = path.read_bytes()
    (header_len,) = struct.unpack("<Q", raw[:8])
    return len(raw) - 8 - header_len


@pytest.mark.parametrize("layout", ["bitmask", "csr"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_sparse_layouts_round_trip_exactly(tmp_path, layout, dtype):
    tensor = _sparse((37, 53), 0.15, dtype=dtype)
    path = tmp_path / "t.safetensors"
    layouts.write(path, {"w": tensor}, {"w": layout})
    back = layouts.read(path)["w"]
    assert back.dtype == dtype and back.shape == tensor.shape
    assert torch.equal(back, tensor)
    # The payload on disk is exactly what the layout's cost says.
    assert _payload_bytes(path) == layouts.sparse_costs(tensor)[layout]


def test_csr_of_a_conv_weight_keeps_its_shape(tmp_path):
    tensor = _sparse((8, 4, 3, 3), 0.3)
    path = tmp_path / "c.safetensors"
    layouts.write(path, {"conv.weight": tensor}, {"conv.weight": "csr"})
    assert torch.equal(layouts.read(path)["conv.weight"], tensor)


def test_the_chosen_layout_is_the_smallest():
    very_sparse = _sparse((100, 1000), 0.01)  # CSR: few indices beat 100,000 mask bits
    medium = _sparse((100, 1000), 0.3)        # bitmask: 1 bit per element beats 2-byte indices
    dense = _sparse((100, 1000), 1.0)        # no zeros: a mask only adds bytes
    for tensor, expected in ((very_sparse, "csr"), (medium, "bitmask"), (dense, "dense")):
        costs = layouts.sparse_costs(tensor)
        assert layouts.choose_sparse(tensor) == expected == min(costs, key=costs.get)
    assert layouts.choose_sparse(torch.zeros(10)) == "dense"  # too small to bother
    assert layouts.choose_sparse(torch.zeros(1000, dtype=torch.int64)) == "dense"  # not a float weight


@pytest.mark.parametrize("cols,group", [(64, 32), (50, 16), (7, 4)])
def test_int4_codes_decode_to_the_returned_values_within_half_a_step(cols, group):
    weight = torch.randn(12, cols, generator=torch.Generator().manual_seed(1))
    info, values = layouts.quantize_int4(weight, group)
    assert torch.equal(layouts.dequantize_int4(info), values)
    padded = -(-cols // group) * group
    assert tuple(info.packed.shape) == (12, padded // 2) and info.packed.dtype == torch.uint8
    assert tuple(info.scale.shape) == (12, padded // group) and info.scale.dtype == torch.float16
    # Each value is within half a quantization step (plus float16 rounding of scale/minimum) of the original.
    steps = info.scale.float().repeat_interleave(group, dim=1)[:, :cols]
    assert bool(((values - weight).abs() <= steps * 0.5 + 2e-3 * weight.abs().max()).all())
    # At most 16 distinct values per group.
    for row in values[:, : (cols // group) * group].reshape(-1, group):
        assert torch.unique(row).numel() <= 16


def test_int4_file_round_trips_and_stores_half_a_byte_per_weight(tmp_path):
    weight = torch.randn(64, 128, generator=torch.Generator().manual_seed(2))
    info, values = layouts.quantize_int4(weight, 32)
    bias = torch.randn(64)
    path = tmp_path / "q.safetensors"
    layouts.write(path, {"fc.bias": bias}, {}, {"fc.weight": info})
    back = layouts.read(path)
    assert torch.equal(back["fc.weight"], values) and torch.equal(back["fc.bias"], bias)
    expected = 64 * 128 // 2 + 2 * 64 * (128 // 32) * 2 + 64 * 4  # codes + fp16 scale/min + fp32 bias
    assert _payload_bytes(path) == expected


def test_files_of_another_format_or_with_bad_parts_are_refused(tmp_path):
    from safetensors.torch import save_file

    foreign = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(3)}, str(foreign))
    with pytest.raises(InvalidFileError, match="not a modelsize packed file"):
        layouts.read(foreign)

    bad = tmp_path / "bad.safetensors"
    meta = {"w": {"layout": "bitmask", "shape": [4, 4], "dtype": "float32"}}
    save_file({"w::mask": torch.from_numpy(np.packbits(np.ones(16, bool), bitorder="little")),
               "w::values": torch.ones(3)}, str(bad), metadata={"format": layouts.FORMAT, "layouts": json.dumps(meta)})
    with pytest.raises(InvalidFileError, match="3 stored values for 16 set mask bits"):
        layouts.read(bad)

    wide = tmp_path / "wide.safetensors"
    meta = {"w": {"layout": "csr", "shape": [2, 3], "dtype": "float32"}}
    save_file({"w::crow": torch.tensor([0, 1, 2], dtype=torch.int32), "w::col": torch.tensor([0, 9], dtype=torch.int32),
               "w::values": torch.ones(2)}, str(wide), metadata={"format": layouts.FORMAT, "layouts": json.dumps(meta)})
    with pytest.raises(InvalidFileError, match="outside its 3 columns"):
        layouts.read(wide)

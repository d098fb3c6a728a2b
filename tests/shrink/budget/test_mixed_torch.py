"""Per-layer packing: exact decode, exact payload bytes, a file that reloads to the same model."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from modelsize.core.errors import InvalidFileError  # noqa: E402
from modelsize.shrink.torch import mixed  # noqa: E402


@pytest.mark.parametrize("opt", [mixed.LayerOption(b, g, k) for b in (32, 16, 8, 4, 2) for g in (32, 128)
                                 for k in (1.0, 0.5)])
def test_encode_decode_and_payload_bytes(opt):
    rng = np.random.default_rng(0)
    w = rng.normal(size=(24, 100)).astype(np.float32)
    parts, meta, values = mixed.encode(w, opt, rng.random(100))
    assert np.array_equal(mixed.decode(parts, meta), values)
    assert sum(a.nbytes for a in parts.values()) == opt.payload_bytes(24, 100)
    kept = opt.kept(100)
    assert int((np.abs(values).sum(axis=0) > 0).sum()) == kept
    if opt.bits < 16:
        # error bounded by half a step of the group's range
        step = (w.max() - w.min()) / ((1 << opt.bits) - 1)
        cols = np.abs(values).sum(axis=0) > 0
        assert np.max(np.abs(values[:, cols] - w[:, cols])) <= step / 2 + 1e-2
    elif opt.bits == 32:
        cols = np.abs(values).sum(axis=0) > 0
        assert np.array_equal(values[:, cols], w[:, cols])


def test_short_rows_are_not_padded_to_the_group():
    w = np.random.default_rng(1).normal(size=(8, 9)).astype(np.float32)  # a 3×3 conv kernel per row
    opt = mixed.LayerOption(8, 32)
    parts, meta, values = mixed.encode(w, opt)
    assert meta["group"] == 16 and opt.payload_bytes(8, 9) == 8 * 16 + 8 * 4
    assert np.array_equal(mixed.decode(parts, meta), values)


def test_lower_bits_cost_fewer_bytes():
    sizes = [mixed.LayerOption(b, 32).payload_bytes(128, 784) for b in (32, 16, 8, 4, 2)]
    assert sizes == sorted(sizes, reverse=True)
    assert mixed.LayerOption(4, 32).payload_bytes(128, 784) == 128 * 800 // 2 + 128 * 25 * 4


def test_decode_refuses_inconsistent_parts():
    w = np.ones((4, 64), dtype=np.float32)
    parts, meta, _ = mixed.encode(w, mixed.LayerOption(4, 32, 0.5))
    with pytest.raises(InvalidFileError, match="column mask"):
        mixed.decode({**parts, "mask": parts["mask"][:1]}, meta)
    with pytest.raises(InvalidFileError, match="codes"):
        mixed.decode({**parts, "codes": parts["codes"][:, :3]}, meta)


def test_mixed_file_reloads_the_same_outputs(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(40, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    recipe = mixed.MixedPrecision((("0", 2, 32, 0.5), ("2", 8, 32, 1.0)))
    from modelsize.shrink.base import ShrinkContext
    from modelsize.shrink.torch.backend import TorchBackend

    x = np.random.default_rng(0).normal(size=(8, 40)).astype(np.float32)
    out = recipe.apply(model, ShrinkContext(TorchBackend(), example=x))
    saver = out.savers[0]
    assert saver.check(out.model) is None
    path = tmp_path / "m.mixed.safetensors"
    saver.save(out.model, path)
    fresh = torch.nn.Sequential(torch.nn.Linear(40, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    loaded = saver.load(path, fresh)
    with torch.no_grad():
        assert torch.equal(loaded(torch.from_numpy(x)), out.model(torch.from_numpy(x)))
    layers = {row["layer"]: row for row in out.details["layers"]}
    assert layers["0"]["bits"] == 2 and layers["0"]["sparsity"] == 0.5
    payload = sum(row["bytes"] for row in layers.values())
    assert payload == mixed.LayerOption(2, 32, 0.5).payload_bytes(16, 40) + mixed.LayerOption(8, 32).payload_bytes(3, 16)
    assert path.stat().st_size > payload  # the file: payload + biases + header, measured not estimated


def test_an_options_label_for_a_matrix_names_the_group_it_is_stored_in():
    opt = mixed.LayerOption(4, 128, 0.25)
    assert opt.label == "4b/g128/keep0.25"  # as asked
    assert opt.label_for(128) == "4b/g32/keep0.25"  # 32 kept columns: stored in groups of 32
    _, meta, _ = mixed.encode(np.ones((4, 128), dtype=np.float32), opt)
    assert meta["group"] == 32
    assert mixed.LayerOption(16, 128).label_for(9) == "16b"

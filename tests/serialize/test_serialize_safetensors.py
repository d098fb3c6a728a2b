"""safetensors_size against files written by safetensors' own save_file / save_model."""

from __future__ import annotations

import copy
import io
import json
import os
import struct

import pytest

torch = pytest.importorskip("torch")
st = pytest.importorskip("safetensors.torch")
nn = torch.nn

from modelsize.core.errors import OptionError, UnsupportedObjectError  # noqa: E402
from modelsize.serialize.safetensors_size import (  # noqa: E402
    DTYPE_ORDER,
    TORCH_DTYPES,
    SaveFileRefusal,
    plan_safetensors,
    safetensors_size,
)
from torch_fixtures import SimpleNN, Tied, Views, tiny_gpt2  # noqa: E402


def read(path) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def stream(plan) -> bytes:
    buffer = io.BytesIO()
    plan.write(buffer)
    return buffer.getvalue()


def assert_file_equal(plan, path):
    """Same size, and — metadata order aside — the very same bytes."""
    data = read(path)
    assert plan.total == len(data) == os.path.getsize(path)
    if plan.metadata is None or len(plan.metadata) < 2:
        assert stream(plan) == data


def mixed_state_dict():
    return {
        "b.weight": torch.randn(3, 4), "a.index": torch.arange(5),
        "é.ünïcode": torch.ones(2, dtype=torch.bfloat16), "scalar": torch.tensor(2.0),
        "empty": torch.zeros(0, 3), "complex": torch.randn(2, dtype=torch.complex64),
        "mask": torch.ones(3, dtype=torch.bool), 'quote"and\nnewline': torch.ones(1, dtype=torch.float8_e4m3fn),
        "half": torch.randn(9, dtype=torch.float16), "i8": torch.ones(5, dtype=torch.int8),
        "u8": torch.ones(6, dtype=torch.uint8), "f64": torch.randn(2, dtype=torch.float64),
        "i16": torch.ones(3, dtype=torch.int16), "i32": torch.ones(3, dtype=torch.int32),
        "u16": torch.ones(3, dtype=torch.uint16), "e5m2": torch.ones(2, dtype=torch.float8_e5m2),
        "e8m0": torch.ones(3).to(torch.float8_e8m0fnu),
        "fp4": torch.zeros(2, 3, dtype=torch.uint8).view(torch.float4_e2m1fn_x2),
    }


def test_save_file_mixed_dtypes_names_empty_and_scalars(tmp_path):
    sd = mixed_state_dict()
    path = tmp_path / "model.safetensors"
    st.save_file(sd, str(path))
    assert_file_equal(plan_safetensors(sd), path)


@pytest.mark.parametrize("metadata", [None, {}, {"format": "pt"}, {"format": "pt", "note": "ünï\t\"x\""}])
def test_save_file_metadata(tmp_path, metadata):
    sd = {"w": torch.randn(10, 10), "b": torch.zeros(10)}
    path = tmp_path / "m.safetensors"
    st.save_file(sd, str(path), metadata=metadata)
    assert_file_equal(plan_safetensors(sd, metadata), path)


def test_header_order_is_the_writers_order(tmp_path):
    """Offsets are only right if dtypes sort as the Rust enum does: compare header JSON order."""
    sd = {f"t_{name}": torch.zeros(3, dtype=torch.uint8).view(getattr(torch, name))
          if name == "float4_e2m1fn_x2" else torch.ones(3).to(getattr(torch, name)) for name in TORCH_DTYPES}
    path = tmp_path / "all.safetensors"
    st.save_file(sd, str(path))
    data = read(path)
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    file_order = [k for k in sorted(header, key=lambda k: header[k]["data_offsets"])]
    ours = [e.name for e in plan_safetensors(sd).entries]
    assert ours == file_order
    assert [header[k]["dtype"] for k in file_order] == sorted(
        (TORCH_DTYPES[k[2:]] for k in file_order), key=DTYPE_ORDER.index, reverse=True)


def test_our_dtype_table_agrees_with_the_library():
    """Every dtype the library can load back maps to the same name in our table."""
    library = {str(v).removeprefix("torch."): k for k, v in st._TYPES.items()}
    for torch_name, st_name in library.items():
        assert TORCH_DTYPES[torch_name] == st_name


def test_seed_simple_nn_save_model(tmp_path):
    model = SimpleNN()
    path = tmp_path / "model.safetensors"
    st.save_model(model, str(path))
    plan = plan_safetensors(model)
    assert_file_equal(plan, path)
    assert plan.data_bytes == 101_770 * 4
    assert safetensors_size(model) == os.path.getsize(path)


def test_save_model_drops_shared_names_into_metadata(tmp_path):
    model = Tied()
    path = tmp_path / "tied.safetensors"
    st.save_model(model, str(path))
    plan = plan_safetensors(model)
    assert_file_equal(plan, path)
    assert plan.dropped == {"head.weight": "emb.weight"}
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        assert json.loads(f.read(n))["__metadata__"] == {"head.weight": "emb.weight"}


def test_save_model_with_partial_views_and_non_contiguous(tmp_path):
    model = Views()
    path = tmp_path / "views.safetensors"
    st.save_model(model, str(path))
    plan = plan_safetensors(model)
    assert plan.dropped == {"part": "full"}
    assert_file_equal(plan, path)


def test_save_model_merges_user_metadata(tmp_path):
    model = Tied()
    path = tmp_path / "tied.safetensors"
    user = {"format": "pt", "head.weight": "user-value-wins"}
    st.save_model(model, str(path), metadata=dict(user))
    plan = plan_safetensors(model, user)
    assert plan.metadata == user
    assert_file_equal(plan, path)


def test_tiny_gpt2_save_model(tmp_path):
    model = tiny_gpt2()
    path = tmp_path / "gpt2.safetensors"
    st.save_model(model, str(path))
    plan = plan_safetensors(model)
    assert plan.dropped == {"transformer.wte.weight": "lm_head.weight"}
    assert_file_equal(plan, path)


def test_meta_model_sized_as_materialised(tmp_path):
    meta = tiny_gpt2("meta")
    cpu = copy.deepcopy(meta).to_empty(device="cpu")
    cpu.tie_weights()
    assert cpu.lm_head.weight.data_ptr() == cpu.transformer.wte.weight.data_ptr()
    path = tmp_path / "gpt2.safetensors"
    st.save_model(cpu, str(path))
    plan = plan_safetensors(meta)
    assert plan.meta_tensors > 0
    assert plan.dropped == {"transformer.wte.weight": "lm_head.weight"}
    assert plan.total == os.path.getsize(path)


def test_save_file_refusals_mirror_the_library(tmp_path):
    base = torch.randn(4, 4)
    shared = {"a": base, "b": base[:2]}
    with pytest.raises(RuntimeError):
        st.save_file(shared, str(tmp_path / "x.safetensors"))
    with pytest.raises(SaveFileRefusal, match="share memory"):
        safetensors_size(shared)
    non_contiguous = {"t": torch.randn(3, 5).t()}
    with pytest.raises(ValueError):
        st.save_file(non_contiguous, str(tmp_path / "y.safetensors"))
    with pytest.raises(SaveFileRefusal, match="non-contiguous"):
        safetensors_size(non_contiguous)
    # dedupe_shared=True sizes the dict as save_model would store it
    assert safetensors_size(shared, dedupe_shared=True) == safetensors_size({"a": base}, {"b": "a"})


def test_what_safetensors_cannot_store():
    with pytest.raises(UnsupportedObjectError, match="only tensors"):
        safetensors_size({"w": torch.ones(2), "step": 3})
    with pytest.raises(UnsupportedObjectError, match="no dtype"):
        safetensors_size({"bits": torch.zeros(2, dtype=torch.bits8)})
    with pytest.raises(UnsupportedObjectError, match="dense"):
        safetensors_size({"s": torch.eye(3).to_sparse()})
    with pytest.raises(UnsupportedObjectError):
        safetensors_size([torch.ones(2)])
    with pytest.raises(OptionError, match="'metadata' option"):
        safetensors_size({"w": torch.ones(2)}, metadata={"n": 1})


def test_measuring_leaves_the_model_alone():
    model = Tied()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    safetensors_size(model)
    assert model.head.weight is model.emb.weight
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())

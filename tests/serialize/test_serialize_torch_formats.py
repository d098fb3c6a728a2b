"""format_sizes: every row against the file its writer produces; notes, errors, no side effects."""

from __future__ import annotations

import copy
import os
import warnings

import pytest

torch = pytest.importorskip("torch")
st = pytest.importorskip("safetensors.torch")
zstandard = pytest.importorskip("zstandard")
nn = torch.nn

import modelsize  # noqa: E402
from modelsize.core.errors import UnsupportedObjectError  # noqa: E402
from modelsize.serialize.base import CompressionOptions  # noqa: E402
from modelsize.serialize.torch_formats import format_sizes  # noqa: E402
from modelsize.testing import report_schema, validate_json  # noqa: E402
from torch_fixtures import SimpleNN, Tied, WithLambda, tiny_gpt2  # noqa: E402

OFF = CompressionOptions(enabled=False)
ON = CompressionOptions()


def rows_by_format(rows):
    return {row.format: row for row in rows}


def size_of(write, path) -> int:
    write(str(path))
    return os.path.getsize(path)


def zstd_stream_size(path, level=3) -> int:
    with open(path, "rb") as f:
        data = f.read()
    cobj = zstandard.ZstdCompressor(level=level).compressobj(size=len(data))
    return len(cobj.compress(data)) + len(cobj.flush())


def assert_schema_valid(row):
    schema = report_schema()
    import jsonschema

    jsonschema.validate(row.to_dict(), {"$ref": "#/$defs/format_size", "$defs": schema["$defs"]})


@pytest.mark.parametrize("make", [SimpleNN, Tied, tiny_gpt2])
def test_module_rows_equal_written_files(tmp_path, make):
    model = make()
    rows = rows_by_format(format_sizes(model, ON))
    assert list(rows) == ["torch.save(state_dict)", "torch.save(module)", "safetensors"]
    files = {
        "torch.save(state_dict)": (lambda p: torch.save(model.state_dict(), p), tmp_path / "model.pt"),
        "torch.save(module)": (lambda p: torch.save(model, p), tmp_path / "m" / "model.pt"),
        "safetensors": (lambda p: st.save_model(model, p), tmp_path / "model.safetensors"),
    }
    (tmp_path / "m").mkdir()
    for fmt, (write, path) in files.items():
        row = rows[fmt]
        assert row.exact and row.bytes == size_of(write, path), fmt
        assert row.compressed.exact and row.compressed.bytes == zstd_stream_size(path), fmt
        assert_schema_valid(row)


def test_file_name_option(tmp_path):
    model = SimpleNN()
    path = tmp_path / "a-rather-long-checkpoint-name.pt"
    rows = rows_by_format(format_sizes(model, OFF, filename=str(path)))
    assert rows["torch.save(module)"].bytes == size_of(lambda p: torch.save(model, p), path)
    assert "a-rather-long-checkpoint-name/" in rows["torch.save(module)"].note
    assert rows["torch.save(module)"].compressed is None


def test_state_dict_rows(tmp_path):
    sd = SimpleNN().state_dict()
    rows = rows_by_format(format_sizes(sd, ON))
    assert list(rows) == ["torch.save(state_dict)", "safetensors"]
    assert rows["torch.save(state_dict)"].bytes == size_of(lambda p: torch.save(sd, p), tmp_path / "model.pt")
    assert rows["safetensors"].bytes == size_of(lambda p: st.save_file(sd, p), tmp_path / "model.safetensors")
    assert "save_file" in rows["safetensors"].note


def test_state_dict_with_shared_tensors_is_sized_as_save_model(tmp_path):
    model = tiny_gpt2()
    rows = rows_by_format(format_sizes(model.state_dict(), OFF))
    st_row = rows["safetensors"]
    assert st_row.bytes == size_of(lambda p: st.save_model(model, p), tmp_path / "model.safetensors")
    assert "share memory" in st_row.note and "transformer.wte.weight -> lm_head.weight" in st_row.note


def test_state_dict_with_non_tensor_values(tmp_path):
    sd = {"w": torch.randn(4, 4), "epoch": 3, "optimizer": {"lr": 1e-3}}
    rows = rows_by_format(format_sizes(sd, ON))
    assert rows["torch.save(state_dict)"].bytes == size_of(lambda p: torch.save(sd, p), tmp_path / "model.pt")
    assert rows["safetensors"].bytes is None and not rows["safetensors"].exact
    assert "only tensors" in rows["safetensors"].note
    assert_schema_valid(rows["safetensors"])


def test_quantized_model(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = torch.ao.quantization.quantize_dynamic(SimpleNN(), {nn.Linear}, dtype=torch.qint8)
    rows = rows_by_format(format_sizes(model, ON))
    assert rows["torch.save(module)"].bytes == size_of(lambda p: torch.save(model, p), tmp_path / "model.pt")
    assert rows["torch.save(module)"].compressed.bytes == zstd_stream_size(tmp_path / "model.pt")
    assert rows["safetensors"].bytes is None  # packed params are not tensors safetensors stores


def test_not_picklable_module_gets_a_row_with_a_reason(tmp_path):
    model = WithLambda()
    rows = rows_by_format(format_sizes(model, ON))
    row = rows["torch.save(module)"]
    assert row.bytes is None and not row.exact and row.compressed is None
    assert "cannot pickle" in row.note and "lambda" in row.note
    assert rows["torch.save(state_dict)"].bytes == size_of(lambda p: torch.save(model.state_dict(), p),
                                                           tmp_path / "model.pt")
    assert_schema_valid(row)


def test_meta_module_sizes_without_compression(tmp_path):
    meta = tiny_gpt2("meta")
    rows = rows_by_format(format_sizes(meta, ON))
    cpu = copy.deepcopy(meta).to_empty(device="cpu")
    cpu.tie_weights()
    assert rows["torch.save(state_dict)"].bytes == size_of(lambda p: torch.save(cpu.state_dict(), p),
                                                           tmp_path / "model.pt")
    assert rows["safetensors"].bytes == size_of(lambda p: st.save_model(cpu, p), tmp_path / "model.safetensors")
    for row in rows.values():
        assert row.compressed is None
        assert "meta" in row.note
    assert "meta" in rows["torch.save(module)"].method


@pytest.mark.parametrize("bad", [[torch.ones(2)], torch.ones(3), {1: torch.ones(2)}, "model.pt", 42])
def test_unsupported_objects_raise_our_error(bad):
    with pytest.raises(UnsupportedObjectError, match="nn.Module or a state dict"):
        format_sizes(bad, ON)


def test_measuring_leaves_the_model_untouched():
    model = tiny_gpt2().train()
    model.transformer.h[0].register_forward_hook(lambda *a: None)
    snapshot = copy.deepcopy(model.state_dict())
    flags = [(n, m.training, len(m._forward_hooks)) for n, m in model.named_modules()]
    grads = [(n, p.requires_grad, p.device) for n, p in model.named_parameters()]
    format_sizes(model, ON)
    assert [(n, m.training, len(m._forward_hooks)) for n, m in model.named_modules()] == flags
    assert [(n, p.requires_grad, p.device) for n, p in model.named_parameters()] == grads
    assert all(torch.equal(snapshot[k], v) for k, v in model.state_dict().items())
    assert model.lm_head.weight is model.transformer.wte.weight


def test_through_inspect(tmp_path):
    """The PyTorch adapter reports these rows in the formats section of a valid report."""
    model = SimpleNN()
    report = modelsize.inspect(model)
    data = report.to_dict()
    validate_json(data)
    formats = {row["format"]: row for row in data["sections"]["formats"]}
    expected = size_of(lambda p: torch.save(model.state_dict(), p), tmp_path / "model.pt")
    assert formats["torch.save(state_dict)"]["bytes"] == expected


def test_torchao_subclass_weights_sized_by_torch_save_and_refused_by_safetensors(tmp_path):
    pytest.importorskip("torchao")
    from torchao.quantization import Int8WeightOnlyConfig, quantize_

    model = nn.Sequential(nn.Linear(64, 32))
    quantize_(model, Int8WeightOnlyConfig())
    rows = rows_by_format(format_sizes(model, CompressionOptions(enabled=False)))
    path = tmp_path / "model.pt"
    torch.save(model.state_dict(), path)
    assert rows["torch.save(state_dict)"].bytes == path.stat().st_size
    assert rows["safetensors"].bytes is None
    assert "tensor subclass" in rows["safetensors"].note

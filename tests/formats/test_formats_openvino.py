"""OpenVINO IR (.xml + .bin) written by OpenVINO itself, read from the XML alone (the .bin is only sized)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given

import modelsize
from modelsize import Role
from modelsize.formats.openvino_file import OpenVINOReader
from modelsize.formats.registry import reader_for
from modelsize.testing import check_report

from formats_helpers import assert_invalid, check_file_invariants, fuzz_settings, mutations, only_our_errors

ov = pytest.importorskip("openvino", reason="OpenVINO is the truth for IR files: pip install 'modelsize[openvino]'")
torch = pytest.importorskip("torch")

#: OpenVINO element type name (``Type.get_type_name()``) -> our dtype
OV_DTYPES = {"f32": "float32", "f16": "float16", "i64": "int64", "u4": "uint4", "u8": "uint8", "i8": "int8"}


def _torch_models() -> dict[str, tuple[Any, Any]]:
    torch.manual_seed(0)
    return {
        "mlp": (torch.nn.Sequential(torch.nn.Linear(10, 20), torch.nn.ReLU(), torch.nn.Linear(20, 5)),
                torch.randn(2, 10)),
        "cnn_bn": (torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                                       torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 3)), torch.randn(2, 3, 8, 8)),
    }


def _export(name: str, folder: Path, fp16: bool) -> tuple[Any, Path]:
    model, example = _torch_models()[name]
    model.eval()
    path = folder / f"{name}{'16' if fp16 else ''}.xml"
    ov.save_model(ov.convert_model(model, example_input=example), str(path), compress_to_fp16=fp16)
    return model, path


def _openvino_constants(path: Path) -> list[tuple[tuple[int, ...], str, int]]:
    """OpenVINO's own view of every constant: shape, element type, bytes."""
    model = ov.Core().read_model(str(path))
    out = [(tuple(op.get_output_shape(0)), OV_DTYPES[op.get_element_type().get_type_name()], op.get_byte_size())
           for op in model.get_ops() if op.get_type_name() == "Constant"]
    return sorted(out)


def _ours(report: modelsize.Report) -> list[tuple[tuple[int, ...], str, int]]:
    return sorted((r.shape, r.dtype, r.stored_bytes) for r in report.root.iter_tensors())


@pytest.mark.parametrize("fp16", [False, True])
@pytest.mark.parametrize("name", ["mlp", "cnn_bn"])
def test_torch_model_as_openvino_ir(tmp_path: Path, name: str, fp16: bool) -> None:
    """Every Const as OpenVINO reads it; params equal live, less BatchNorm's gamma and beta (folded into the conv)."""
    model, path = _export(name, tmp_path, fp16)
    live = modelsize.inspect(model).totals
    report = modelsize.inspect(path)
    check_report(report)
    check_file_invariants(report)
    assert _ours(report) == _openvino_constants(path)
    folded = 2 * 4 if name == "cnn_bn" else 0  # BatchNorm2d(4): gamma and beta folded into the conv weight and bias
    assert report.totals.params == live.params - folded
    float_bytes = 2 if fp16 else 4
    assert report.totals.bytes_by_role[Role.PARAMETER.value] == report.totals.params * float_bytes
    assert report.sections["file"]["bytes"] == path.stat().st_size + path.with_suffix(".bin").stat().st_size
    if fp16:
        assert any("compressed as f16" in n for n in report.notes)
    if name == "cnn_bn":  # the flatten's target shape: an i64 constant that is metadata, not a weight
        assert report.totals.bytes_by_role[Role.METADATA.value] == 16


def _compressed_ir(path: Path, dtype: Any, shared: bool = False) -> Path:
    """A weight-compressed MatMul as NNCF writes it: Const(u4/u8) -> Convert -> Subtract(zp) -> Multiply(scale)."""
    from openvino import opset13 as ops

    x = ops.parameter([1, 16], ov.Type.f32, name="x")
    outs = []
    for i in range(2):
        codes = np.arange(8 * 16).reshape(8, 16).astype(np.uint8) % 16
        w = ops.constant(codes if shared or i == 0 else (codes + 1) % 16, dtype, name=f"fc{i}.weight")
        zp = ops.convert(ops.constant(np.full((8, 1), 8, np.uint8), dtype, name=f"fc{i}.zero_point"), ov.Type.f16)
        scale = ops.constant(np.full((8, 1), 0.5 + i, np.float16), ov.Type.f16, name=f"fc{i}.scale")
        weight = ops.convert(ops.multiply(ops.subtract(ops.convert(w, ov.Type.f16), zp), scale), ov.Type.f32)
        outs.append(ops.matmul(x, weight, False, True))
    ov.save_model(ov.Model(outs, [x], "compressed"), str(path), compress_to_fp16=False)
    return path


@pytest.mark.parametrize(("dtype", "bits"), [(ov.Type.u4, 4), (ov.Type.u8, 8)])
def test_compressed_weights_by_element_type(tmp_path: Path, dtype: Any, bits: int) -> None:
    path = _compressed_ir(tmp_path / "q.xml", dtype)
    report = modelsize.inspect(path)
    assert _ours(report) == _openvino_constants(path)
    roles = {r.path: r.role for r in report.root.iter_tensors()}
    assert roles == {"fc0.weight": Role.PARAMETER, "fc1.weight": Role.PARAMETER, "fc0.scale": Role.QUANT_SCALE,
                     "fc1.scale": Role.QUANT_SCALE, "fc0.zero_point": Role.QUANT_ZERO_POINT,
                     "fc1.zero_point": Role.QUANT_ZERO_POINT}
    t = report.totals
    assert t.params == 2 * 8 * 16 and t.bytes_by_role[Role.PARAMETER.value] == 2 * 8 * 16 * bits // 8
    assert t.bytes_by_role[Role.QUANT_SCALE.value] == 2 * 8 * 2
    assert any(f"compressed as {'u4' if bits == 4 else 'u8'}" in n for n in report.notes)


def test_identical_constants_are_stored_once(tmp_path: Path) -> None:
    """OpenVINO writes identical constants once: two Const layers at one range share storage."""
    path = _compressed_ir(tmp_path / "q.xml", ov.Type.u8, shared=True)
    report = modelsize.inspect(path)
    keys = [r.storage_key for r in report.root.iter_tensors() if r.path.endswith(".weight")]
    assert len(keys) == 2 and keys[0] == keys[1]
    assert report.totals.params == 8 * 16 and report.totals.stored_bytes == path.with_suffix(".bin").stat().st_size


def test_bin_folder_and_sniffing(tmp_path: Path) -> None:
    _, path = _export("mlp", tmp_path / "ir", False)
    params = modelsize.inspect(path).totals.params
    for target in (path.with_suffix(".bin"), path.parent):
        assert reader_for(target).name == "openvino" and modelsize.inspect(target).totals.params == params
    lone = tmp_path / "weights.bin"
    lone.write_bytes(b"\0" * 64)
    other = tmp_path / "other.xml"
    other.write_text('<?xml version="1.0"?>\n<project><net/></project>')
    assert not OpenVINOReader().sniff(lone, b"\0" * 64) and not OpenVINOReader().sniff(other, b"")
    path.with_suffix(".bin").unlink()
    report = modelsize.inspect(path)
    assert report.totals.params == params and any("mlp.bin is missing" in n for n in report.notes)


def test_optimum_folder_reads_openvino_model_xml(tmp_path: Path) -> None:
    """optimum-intel's layout: openvino_model.xml beside tokenizer IRs and config.json; the model is read."""
    folder = tmp_path / "optimum"
    _, path = _export("mlp", folder, False)
    path.rename(folder / "openvino_model.xml")
    path.with_suffix(".bin").rename(folder / "openvino_model.bin")
    _, tok = _export("cnn_bn", folder, False)
    tok.rename(folder / "openvino_tokenizer.xml")
    tok.with_suffix(".bin").rename(folder / "openvino_tokenizer.bin")
    (folder / "config.json").write_text('{"architectures": ["Tiny"]}')
    report = modelsize.inspect(folder)
    assert reader_for(folder).name == "openvino" and report.totals.params == 325
    assert any("openvino_tokenizer.xml" in n and "not read" in n for n in report.notes)
    (folder / "openvino_model.xml").rename(folder / "other.xml")
    assert reader_for(folder).name != "openvino"  # two IRs and no openvino_model.xml: not guessed


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize(("old", "new", "words"), [
    ('<?xml version="1.0"?>', '<?xml version="1.0"?>\n<!DOCTYPE net [<!ENTITY a "aaaa">]>', "document type"),
    ('<?xml version="1.0"?>', '<?xml version="1.0"?><!--' + "x" * 5000 + '-->\n<!DOCTYPE net [<!ENTITY a "a">]>',
     "document type"),
    ('offset="0"', 'offset="99999999999"', "needs 800 bytes at offset 99999999999"),
    ('shape="20, 10"', 'shape="20, -10"', "not at most 64 non-negative integers"),
    ('element_type="f32" shape="20, 10"', 'element_type="f99" shape="20, 10"', "element type 'f99'"),
    ("</net>", "", "does not parse"),
])
def test_hostile_ir_is_our_error(tmp_path: Path, old: str, new: str, words: str) -> None:
    _, path = _export("mlp", tmp_path, False)
    _edit(path, old, new)
    assert_invalid(lambda: OpenVINOReader().read(path), path, words)  # the reader refuses it, not only sniffing


def test_size_that_disagrees_with_shape_is_a_note(tmp_path: Path) -> None:
    _, path = _export("mlp", tmp_path, False)
    _edit(path, 'shape="20, 10" offset="0" size="800"', 'shape="20, 10" offset="0" size="400"')
    report = modelsize.inspect(path)
    assert any("byte size other than their shape" in n for n in report.notes)


@pytest.fixture(scope="module")
def ir_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    _, path = _export("mlp", tmp_path_factory.mktemp("ir"), False)
    return path.read_bytes()


@fuzz_settings(60)
@given(data=mutations(b'<?xml version="1.0"?>\n<net name="m" version="11"><layers><layer id="0" name="w" type="Const" '
                      b'version="opset1"><data element_type="f32" shape="2, 3" offset="0" size="24" /></layer>'
                      b'</layers><edges /></net>'))
def test_mutated_ir_fails_with_our_error(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    (folder / "m.bin").write_bytes(b"\0" * 24)
    (folder / "m.xml").write_bytes(data)
    only_our_errors(lambda p: OpenVINOReader().read(p), folder / "m.xml")

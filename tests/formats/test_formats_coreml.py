"""CoreML .mlmodel / .mlpackage files written by coremltools, read from the spec and the blob headers only."""

from __future__ import annotations

import os
import shutil
import struct
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given

import modelsize
from modelsize import Role
from modelsize.formats import _coreml_schema
from modelsize.formats.coreml_file import CoreMLReader
from modelsize.formats.registry import reader_for
from modelsize.testing import check_report

from formats_helpers import assert_invalid, check_file_invariants, fuzz_settings, mutations, only_our_errors

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
torch = pytest.importorskip("torch")
ct = pytest.importorskip("coremltools",
                         reason="coremltools is the truth for CoreML files: pip install 'modelsize[device]'")
SPEC = Path("Data") / "com.apple.CoreML" / "model.mlmodel"


def _mlp() -> Any:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(10, 20), torch.nn.ReLU(), torch.nn.Linear(20, 5)).eval()


def _convert(model: Any, **kwargs: Any) -> Any:
    example = torch.randn(2, 10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ct.convert(torch.jit.trace(model, example), inputs=[ct.TensorType(shape=example.shape)], **kwargs)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import coremltools.optimize.coreml as cto

    folder = tmp_path_factory.mktemp("coreml")
    model = _mlp()
    out = {}
    nn = _convert(model, convert_to="neuralnetwork")
    out["neuralnetwork"] = folder / "mlp.mlmodel"
    nn.save(str(out["neuralnetwork"]))
    fp32 = _convert(model, convert_to="mlprogram", compute_precision=ct.precision.FLOAT32)
    out["fp32"] = folder / "fp32.mlpackage"
    fp32.save(str(out["fp32"]))
    out["fp16"] = folder / "fp16.mlpackage"
    _convert(model, convert_to="mlprogram").save(str(out["fp16"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for nbits in (2, 4):
            config = cto.OptimizationConfig(global_config=cto.OpPalettizerConfig(mode="kmeans", nbits=nbits,
                                                                                 weight_threshold=0))
            out[f"lut{nbits}"] = folder / f"lut{nbits}.mlpackage"
            cto.palettize_weights(fp32, config).save(str(out[f"lut{nbits}"]))
        config = cto.OptimizationConfig(global_config=cto.OpLinearQuantizerConfig(mode="linear_symmetric",
                                                                                 weight_threshold=0))
        out["int8"] = folder / "int8.mlpackage"
        cto.linear_quantize_weights(fp32, config).save(str(out["int8"]))
    return out


def _blob_offsets(package: Path) -> set[int]:
    """coremltools' own parse of the spec: the offset of every constant kept in weight.bin."""
    spec = ct.utils.load_spec(str(package))
    offsets = set()
    for fn in spec.mlProgram.functions.values():
        for block in fn.block_specializations.values():
            for op in block.operations:
                for value in op.attributes.values():
                    if value.HasField("blobFileValue"):
                        offsets.add(value.blobFileValue.offset)
    return offsets


def _records(report: modelsize.Report) -> dict[str, Any]:
    return {r.path: r for r in report.root.iter_tensors()}


LIVE_PARAMS = 10 * 20 + 20 + 20 * 5 + 5


@pytest.mark.parametrize(("name", "width"), [("neuralnetwork", 4), ("fp32", 4), ("fp16", 2)])
def test_float_models_give_the_live_count(files: dict[str, Path], name: str, width: int) -> None:
    report = modelsize.inspect(files[name])
    check_report(report)
    check_file_invariants(report)
    assert report.totals.params == modelsize.inspect(_mlp()).totals.params == LIVE_PARAMS
    assert report.totals.bytes_by_role[Role.PARAMETER.value] == LIVE_PARAMS * width
    if name != "neuralnetwork":
        offsets = {r.meta["blob"]["offset"] for r in report.root.iter_tensors() if "blob" in r.meta}
        assert offsets == _blob_offsets(files[name])
        assert report.sections["coreml"]["model_types"] == ["mlProgram"]
    else:
        assert report.sections["coreml"]["model_types"] == ["neuralNetwork"]
        assert {r.path for r in report.root.iter_tensors()} == {
            f"{layer.name}.{w}" for layer in ct.utils.load_spec(str(files[name])).neuralNetwork.layers
            if layer.WhichOneof("layer") == "innerProduct" for w in ("weights", "bias")}


@pytest.mark.parametrize("nbits", [2, 4])
def test_palettized_weights_by_their_stored_bytes(files: dict[str, Path], nbits: int) -> None:
    """n-bit indices with the dense shape; the look-up tables are quantization scales."""
    report = modelsize.inspect(files[f"lut{nbits}"])
    check_file_invariants(report)
    recs = _records(report)
    indices = [r for p, r in recs.items() if p.endswith(".indices")]
    luts = [r for p, r in recs.items() if p.endswith(".lut")]
    assert sorted(r.shape for r in indices) == [(5, 20), (20, 10)]
    assert all(r.bits == nbits and r.role is Role.PARAMETER for r in indices)
    assert sum(r.stored_bytes for r in indices) == 300 * nbits // 8
    assert all(r.role is Role.QUANT_SCALE and r.numel == 2 ** nbits for r in luts)
    assert report.totals.params == LIVE_PARAMS
    assert any("constexpr_lut_to_dense" in n for n in report.notes)
    offsets = {r.meta["blob"]["offset"] for r in recs.values() if "blob" in r.meta}
    assert offsets == _blob_offsets(files[f"lut{nbits}"])


def test_linear_quantized_weights(files: dict[str, Path]) -> None:
    report = modelsize.inspect(files["int8"])
    recs = _records(report)
    data = [r for p, r in recs.items() if p.endswith(".quantized_data")]
    assert sorted(r.shape for r in data) == [(5, 20), (20, 10)] and all(r.dtype == "int8" for r in data)
    roles = {p.rsplit(".", 1)[-1]: r.role for p, r in recs.items() if "." in p}
    assert roles["scale"] is Role.QUANT_SCALE and roles["zero_point"] is Role.QUANT_ZERO_POINT
    assert report.totals.params == LIVE_PARAMS
    assert report.totals.bytes_by_role[Role.PARAMETER.value] == 300 + 25 * 4  # int8 weights, float32 biases


def test_package_and_spec_sniffing(files: dict[str, Path], tmp_path: Path) -> None:
    package = files["fp32"]
    assert reader_for(package).name == "coreml" and reader_for(files["neuralnetwork"]).name == "coreml"
    renamed = tmp_path / "model_dir"
    shutil.copytree(package, renamed)  # no suffix: found by its Manifest.json and Data/com.apple.CoreML
    assert modelsize.inspect(renamed).totals.params == LIVE_PARAMS
    assert not CoreMLReader().sniff(tmp_path, b"")
    spec = tmp_path / "empty.mlmodel"
    spec.write_bytes(b"\x08\x04")
    report = modelsize.inspect(spec)
    assert report.totals.tensors == 0 and any("names no model type" in n for n in report.notes)


def test_schema_tables_match_coremltools() -> None:
    from coremltools.proto import MIL_pb2, Model_pb2, NeuralNetwork_pb2

    model = {f.number: f.name for f in Model_pb2.Model.DESCRIPTOR.fields}
    for table in (_coreml_schema.NEURAL_NETWORKS, _coreml_schema.PIPELINES, _coreml_schema.PIPELINE_WRAPPERS):
        assert all(model[k] == v for k, v in table.items())
    assert model[_coreml_schema.ML_PROGRAM] == "mlProgram"
    layer = {f.number: f.name for f in NeuralNetwork_pb2.NeuralNetworkLayer.DESCRIPTOR.fields}
    assert all(layer[k] == v[0] for k, v in _coreml_schema.LAYER_WEIGHTS.items())
    mil = {v.number: v.name for v in MIL_pb2.DataType.DESCRIPTOR.values}
    names = {"bool": "BOOL", "float8_e4m3fn": "FLOAT8E4M3FN", "float8_e5m2": "FLOAT8E5M2"}
    for code, (dtype, _) in _coreml_schema.MIL_DTYPES.items():
        assert mil[code] == names.get(dtype, dtype.upper())


def _copy(package: Path, tmp_path: Path) -> Path:
    out = tmp_path / "m.mlpackage"
    shutil.copytree(package, out)
    return out


def test_hostile_blobs_are_our_error(files: dict[str, Path], tmp_path: Path) -> None:
    package = _copy(files["fp32"], tmp_path)
    blob = package / "Data" / "com.apple.CoreML" / "weights" / "weight.bin"
    data = bytearray(blob.read_bytes())
    first = min(_blob_offsets(package))
    bad = bytearray(data)
    bad[first:first + 4] = b"\0\0\0\0"
    blob.write_bytes(bad)
    assert_invalid(lambda: modelsize.inspect(package), blob, "sentinel 0x0")
    bad = bytearray(data)
    bad[first + 8:first + 16] = struct.pack("<Q", 1 << 40)
    blob.write_bytes(bad)
    assert_invalid(lambda: modelsize.inspect(package), blob, "needs 1099511627776 bytes")
    blob.unlink()
    assert_invalid(lambda: modelsize.inspect(package), package / SPEC, "missing beside the spec")
    spec = (package / SPEC).read_bytes()
    (package / SPEC).write_bytes(spec.replace(b"@model_path/weights/weight.bin", b"../" * 10))
    assert_invalid(lambda: modelsize.inspect(package), package / SPEC, "not inside the model's folder")


def test_malformed_spec_is_our_error(files: dict[str, Path], tmp_path: Path) -> None:
    path = tmp_path / "cut.mlmodel"
    path.write_bytes(files["neuralnetwork"].read_bytes()[:-7])
    assert_invalid(lambda: modelsize.inspect(path), path, "protobuf is malformed")


@fuzz_settings(300)
@given(data=mutations(b"\x08\x04\xa2\x1f\x1e\x0a\x1c\x0a\x02fc\xe2\x08\x16\xa2\x01\x0a\x0a\x08" + np.ones(2, np.float32)
                      .tobytes() + b"\xaa\x01\x06\x0a\x04" + np.zeros(1, np.float32).tobytes()))
def test_mutated_specs_fail_with_our_error(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "m.mlmodel"
    path.write_bytes(data)
    only_our_errors(lambda p: CoreMLReader().read(p), path)


def test_mutated_ml_programs_fail_with_our_error(files: dict[str, Path],
                                                 tmp_path_factory: pytest.TempPathFactory) -> None:
    """An ML program spec (palettized: constexpr ops, blob references) mutated beside its real weight.bin."""
    source = files["lut4"]
    spec = (source / SPEC).read_bytes()

    @fuzz_settings(200)
    @given(data=mutations(spec))
    def run(data: bytes) -> None:
        package = tmp_path_factory.mktemp("fuzz") / "m.mlpackage"
        shutil.copytree(source, package)
        (package / SPEC).write_bytes(data)
        only_our_errors(lambda p: CoreMLReader().read(p), package)

    run()

"""safetensors files, sharded checkpoints and Hugging Face folders, read header-only."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import modelsize
from modelsize import Role
from modelsize.formats.hf_folder import HuggingFaceFolderReader
from modelsize.formats.safetensors_file import SafetensorsIndexReader, SafetensorsReader
from modelsize.testing import check_report

from formats_helpers import assert_invalid, fuzz_settings, mutations, only_our_errors, run_limited


def _arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "encoder.layer.0.weight": rng.random((8, 4), dtype=np.float32),
        "encoder.layer.0.bias": np.zeros(8, np.float16),
        "encoder.bn.running_mean": np.zeros(8, np.float32),
        "head.weight": np.arange(12, dtype=np.int64).reshape(3, 4),
        "mask": np.ones(5, dtype=bool),
        "scalar": np.array(3.0, dtype=np.float64),
        "empty": np.zeros((0, 3), dtype=np.int8),
    }


@pytest.fixture
def st_file(tmp_path: Path) -> Path:
    from safetensors.numpy import save_file

    path = tmp_path / "model.safetensors"
    save_file(_arrays(), str(path), metadata={"format": "np", "note": "test"})
    return path


def _raw_header(path: Path) -> tuple[int, bytes]:
    raw = path.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    return n, raw[8:8 + n]


def test_single_file_matches_the_library(st_file: Path) -> None:
    from safetensors import safe_open

    report = modelsize.inspect(st_file)
    check_report(report)
    recs = {r.path: r for r in report.root.iter_tensors()}
    with safe_open(str(st_file), "np") as f:
        assert set(recs) == set(f.keys())
        for key in f.keys():
            arr = f.get_tensor(key)
            assert recs[key].shape == arr.shape
            assert recs[key].dtype == arr.dtype.name
            assert recs[key].stored_bytes == arr.nbytes
        assert report.sections["safetensors"]["metadata"] == f.metadata()
    assert report.source.format == "safetensors"
    assert report.totals.stored_bytes == sum(a.nbytes for a in _arrays().values())
    assert recs["encoder.bn.running_mean"].role is Role.BUFFER
    assert report.root.find("encoder.layer.0") is not None  # grouped by name prefix


def test_file_split_adds_up_to_the_bytes_on_disk(st_file: Path) -> None:
    report = modelsize.inspect(st_file)
    n, header = _raw_header(st_file)
    section = report.sections["file"]
    assert section["bytes"] == st_file.stat().st_size == sum(section["split"].values())
    assert section["split"]["header"] == 8 + len(header.rstrip(b" "))
    assert section["split"]["header"] + section["split"].get("padding", 0) == 8 + n
    assert section["split"]["tensor_data"] == st_file.stat().st_size - 8 - n
    assert report.sections["safetensors"]["header_bytes"] == 8 + n


def test_bfloat16_and_float8_from_torch(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from safetensors import safe_open
    from safetensors.torch import save_file

    tensors = {"w": torch.randn(4, 6, dtype=torch.bfloat16), "f8": torch.zeros(16, dtype=torch.float8_e4m3fn),
               "u16": torch.zeros(3, dtype=torch.uint16)}
    path = tmp_path / "t.safetensors"
    save_file(tensors, str(path))
    report = modelsize.inspect(path)
    check_report(report)
    recs = {r.path: r for r in report.root.iter_tensors()}
    with safe_open(str(path), "pt") as f:
        for key in f.keys():
            t = f.get_tensor(key)
            assert recs[key].shape == tuple(t.shape)
            assert recs[key].dtype == str(t.dtype).removeprefix("torch.")
            assert recs[key].stored_bytes == t.untyped_storage().nbytes()


@pytest.fixture
def hf_folder(tmp_path: Path) -> tuple[Path, dict]:
    """A sharded checkpoint written by huggingface_hub (the code transformers saves with)."""
    torch = pytest.importorskip("torch")
    hub = pytest.importorskip("huggingface_hub")
    state = {f"model.layers.{i}.{n}": torch.randn(16, 16) for i in range(3) for n in ("q.weight", "k.weight")}
    state["model.embed.weight"] = torch.randn(50, 16, dtype=torch.float16)
    state["model.norm.weight"] = torch.ones(16)
    folder = tmp_path / "tiny-llama"
    folder.mkdir()
    hub.save_torch_state_dict(state, str(folder), max_shard_size="3KB")
    (folder / "config.json").write_text(json.dumps({
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 16, "num_hidden_layers": 3,
        "vocab_size": 50,
    }))
    return folder, state


def test_sharded_hugging_face_folder(hf_folder: tuple[Path, dict]) -> None:
    folder, state = hf_folder
    shards = sorted(folder.glob("*.safetensors"))
    assert len(shards) > 1 and (folder / "model.safetensors.index.json").is_file()
    report = modelsize.inspect(folder)
    check_report(report)
    assert report.root.kind == "LlamaForCausalLM"
    assert report.source.framework == "huggingface"
    recs = {r.path: r for r in report.root.iter_tensors()}
    assert set(recs) == set(state)
    for name, t in state.items():
        assert recs[name].shape == tuple(t.shape)
        assert recs[name].dtype == str(t.dtype).removeprefix("torch.")
        assert recs[name].stored_bytes == t.numel() * t.element_size()
    assert report.totals.params == sum(t.numel() for t in state.values())
    index = json.loads((folder / "model.safetensors.index.json").read_text())
    assert report.totals.stored_bytes == index["metadata"]["total_size"]
    assert report.sections["config"]["num_hidden_layers"] == 3
    on_disk = sum(p.stat().st_size for p in folder.iterdir() if p.name != "generation_config.json")
    assert report.sections["file"]["bytes"] == on_disk == sum(report.sections["file"]["split"].values())
    assert report.root.find("model.layers.2") is not None


def test_index_file_alone_gives_the_same_tensors(hf_folder: tuple[Path, dict]) -> None:
    folder, state = hf_folder
    report = modelsize.inspect(folder / "model.safetensors.index.json")
    check_report(report)
    assert {r.path for r in report.root.iter_tensors()} == set(state)
    assert report.sections["safetensors"]["index"]["shards"] == len(list(folder.glob("*.safetensors")))


def test_index_refuses_shards_outside_the_folder(tmp_path: Path, st_file: Path) -> None:
    index = tmp_path / "evil.safetensors.index.json"
    index.write_text(json.dumps({"metadata": {}, "weight_map": {"a": "../../etc/passwd"}}))
    assert_invalid(lambda: modelsize.inspect(index), index, "not a plain file name")


def test_index_naming_a_missing_tensor(tmp_path: Path, st_file: Path) -> None:
    index = tmp_path / "m.safetensors.index.json"
    index.write_text(json.dumps({"weight_map": {"not.there": st_file.name}}))
    assert_invalid(lambda: modelsize.inspect(index), index, "not.there")


def _crafted(tmp_path: Path, header: bytes, length: int | None = None, data: bytes = b"") -> Path:
    path = tmp_path / "bad.safetensors"
    n = len(header) if length is None else length
    path.write_bytes(struct.pack("<Q", n) + header + data)
    return path


@pytest.mark.parametrize(
    "header, length, data, words",
    [
        (b"{}", 1 << 60, b"", ("header length",)),
        (b"{}", 1000, b"", ("header length", "1000")),
        (b"{not json", None, b"", ("JSON",)),
        (b"[1, 2]", None, b"", ("not an object",)),
        (json.dumps({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}).encode(), None, b"\0" * 8,
         ("'a'", "outside")),
        (json.dumps({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 12]}}).encode(), None, b"\0" * 12,
         ("'a'", "needs 16 bytes")),
        (json.dumps({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                     "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}).encode(), None, b"\0" * 12,
         ("overlap",)),
        (json.dumps({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}).encode(), None, b"\0" * 4,
         ("shape",)),
        (json.dumps({"a": {"dtype": "F32", "shape": [2**62, 2**62], "data_offsets": [0, 8]}}).encode(), None,
         b"\0" * 8, ("'a'",)),
        (json.dumps({"a": {"dtype": "F32", "shape": [2], "data_offsets": [2**64 - 8, 2**64]}}).encode(), None,
         b"\0" * 8, ("outside",)),
    ],
)
def test_corrupt_headers_end_in_invalid_file_error(tmp_path: Path, header: bytes, length: int | None, data: bytes,
                                                   words: tuple[str, ...]) -> None:
    path = _crafted(tmp_path, header, length, data)
    assert_invalid(lambda: modelsize.inspect(path), path, *words)


def test_truncated_and_tiny_files(tmp_path: Path, st_file: Path) -> None:
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(st_file.read_bytes()[:-10])
    assert_invalid(lambda: modelsize.inspect(cut), cut, "outside")
    tiny = tmp_path / "tiny.safetensors"
    tiny.write_bytes(b"\x01\x02")
    assert_invalid(lambda: modelsize.inspect(tiny), tiny, "8-byte")
    empty = tmp_path / "empty.safetensors"
    empty.write_bytes(b"")
    assert_invalid(lambda: modelsize.inspect(empty), empty, "empty")


def test_huge_length_fields_under_a_memory_limit(tmp_path: Path) -> None:
    huge = _crafted(tmp_path, b"{}", 1 << 60)
    shape_bomb = tmp_path / "shape.safetensors"
    header = json.dumps({"a": {"dtype": "F32", "shape": [2**40] * 8, "data_offsets": [0, 4]}}).encode()
    shape_bomb.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 4)
    out = run_limited(f"""
        import modelsize
        for p in ({str(huge)!r}, {str(shape_bomb)!r}):
            try:
                modelsize.inspect(p)
            except modelsize.InvalidFileError as exc:
                print("invalid:", exc)
    """, limit_mib=1024)
    assert out.count("invalid:") == 2, out


def test_reader_recognises_safetensors_without_the_suffix(tmp_path: Path, st_file: Path) -> None:
    renamed = tmp_path / "weights.bin.noext"
    renamed.write_bytes(st_file.read_bytes())
    assert modelsize.inspect(renamed).totals.tensors == len(_arrays())
    assert not HuggingFaceFolderReader().sniff(renamed, renamed.read_bytes()[:64])
    assert not SafetensorsIndexReader().sniff(renamed, renamed.read_bytes()[:64])


@pytest.fixture(scope="module")
def fuzz_seed(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, Path]:
    from safetensors.numpy import save_file

    folder = tmp_path_factory.mktemp("st_fuzz")
    src = folder / "seed.safetensors"
    save_file(_arrays(), str(src), metadata={"k": "v"})
    return src.read_bytes(), folder / "mutant.safetensors"


@fuzz_settings(150)
@given(data=st.data())
def test_fuzz_only_our_errors_escape(fuzz_seed: tuple[bytes, Path], data: st.DataObject) -> None:
    seed, path = fuzz_seed
    path.write_bytes(data.draw(mutations(seed)))
    only_our_errors(SafetensorsReader().read, path)


def test_parsed_header_is_frozen(st_file: Path) -> None:
    """Range checks return their figures and the header is built once (issue 21): nothing downstream
    can change a parsed header."""
    import dataclasses

    from modelsize.formats.safetensors_file import parse_header

    header = parse_header(st_file)
    assert isinstance(header.entries, tuple) and isinstance(header.notes, tuple)
    assert header.gaps == header.unused == 0 and header.notes == ()
    with pytest.raises(dataclasses.FrozenInstanceError):
        header.gaps = 1  # type: ignore[misc]

"""Picking the reader for a file or folder, and what reading costs in imports."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import modelsize
from modelsize import InvalidFileError, UnsupportedObjectError
from modelsize.formats import registry
from modelsize.testing import check_bad_input


def _files(tmp_path: Path) -> dict[str, Path]:
    from safetensors.numpy import save_file

    out = {}
    out["safetensors"] = tmp_path / "a.safetensors"
    save_file({"w": np.ones(3, np.float32)}, str(out["safetensors"]))
    out["pickle/joblib"] = tmp_path / "a.pkl"
    out["pickle/joblib"].write_bytes(pickle.dumps({"w": np.ones(3)}))
    gguf = pytest.importorskip("gguf")
    out["gguf"] = tmp_path / "a.gguf"
    w = gguf.GGUFWriter(str(out["gguf"]), "llama")
    w.add_tensor("w", np.ones(32, np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    g = helper.make_graph([helper.make_node("Identity", ["w"], ["o"])], "g", [],
                          [helper.make_tensor_value_info("o", TensorProto.FLOAT, [3])],
                          [numpy_helper.from_array(np.ones(3, np.float32), "w")])
    out["onnx"] = tmp_path / "a.onnx"
    onnx.save(helper.make_model(g), str(out["onnx"]))
    folder = tmp_path / "hf"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"architectures": ["Tiny"]}))
    (folder / "model.safetensors").write_bytes(out["safetensors"].read_bytes())
    out["huggingface folder"] = folder
    return out


def test_each_file_goes_to_its_reader(tmp_path: Path) -> None:
    for name, path in _files(tmp_path).items():
        assert registry.reader_for(path).name == name, path
        report = modelsize.inspect(path)
        assert report.totals.tensors >= 1, path


def test_empty_unknown_and_missing_targets(tmp_path: Path) -> None:
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    exc = check_bad_input(lambda: modelsize.inspect(empty))
    assert isinstance(exc, InvalidFileError) and "empty.bin" in str(exc)
    text = tmp_path / "notes.txt"
    text.write_text("just some text, not a model")
    assert isinstance(check_bad_input(lambda: modelsize.inspect(text)), UnsupportedObjectError)
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "config.json").write_text("{}")
    exc = check_bad_input(lambda: modelsize.inspect(bare))
    assert isinstance(exc, UnsupportedObjectError) and "without model weights" in str(exc)
    check_bad_input(lambda: modelsize.inspect(tmp_path / "missing.safetensors"))


def test_readers_import_no_framework(tmp_path: Path) -> None:
    """Importing every reader and reading a safetensors file loads no ML framework."""
    path = _files(tmp_path)["safetensors"]
    code = (
        "import sys, modelsize\n"
        "from modelsize.formats import registry\n"
        "for e in registry.READERS: registry._load(e)\n"
        f"modelsize.inspect({str(path)!r})\n"
        "heavy = [m for m in ('torch', 'tensorflow', 'keras', 'sklearn', 'onnx', 'gguf', 'h5py', 'jax') "
        "if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


class _AnyBin:
    """A reader that declares nothing: it is sniffed whatever the file."""

    name = "any bin"

    def sniff(self, path: Path, head: bytes) -> bool:
        return path.suffix == ".anybin"

    def read(self, path: Path) -> modelsize.Report:  # pragma: no cover - never read here
        raise NotImplementedError


def test_a_reader_without_declaration_is_sniffed_and_a_replaced_entry_drops_its_declaration(tmp_path: Path) -> None:
    from modelsize.formats.declarations import READERS, declaration

    odd = tmp_path / "w.anybin"
    odd.write_bytes(b"\x00" * 16)
    READERS.register("AnyBin", _AnyBin)
    try:
        assert registry.reader_for(odd).name == "any bin" and declaration("AnyBin") is None
    finally:
        READERS.unregister("AnyBin")
    assert declaration("GGUFReader") is not None
    spec = READERS.spec("GGUFReader")
    READERS.register("GGUFReader", _AnyBin, replace=True)  # a user's own reader in place of a built-in one
    try:
        assert declaration("GGUFReader") is None  # the GGUF declaration no longer speaks for it
        assert registry.reader_for(odd).name == "any bin"  # sniffed although no GGUF magic is there
    finally:
        READERS.register("GGUFReader", spec, replace=True)
    assert declaration("GGUFReader") is not None


def test_folder_scans_and_remote_dispatch_use_the_declared_suffixes() -> None:
    from modelsize.formats import hf_folder
    from modelsize.formats.declarations import FORMATS, suffixes
    from modelsize.formats.remote import dispatch

    assert dispatch.HEADER_READERS == ("HuggingFaceFolderReader", "GGUFReader", "SafetensorsIndexReader",
                                       "SafetensorsReader", "OnnxReader")
    assert suffixes(remote=("header", "bounded")) == (".gguf", ".safetensors.index.json", ".safetensors", ".onnx")
    whole = suffixes(remote=("whole",))
    assert {".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".joblib", ".keras", ".h5", ".hdf5", ".tflite"} <= set(whole)
    assert not {".json", ".txt", ".safetensors"} & set(whole)
    assert set(suffixes(unpickles=True)) == {s for f in FORMATS.values() if f.unpickles for s in f.suffixes}
    assert hf_folder._other_weights(Path("pytorch_model.bin")) and hf_folder._other_weights(Path("m.GGUF"))
    assert not hf_folder._other_weights(Path("model.safetensors")) and not hf_folder._other_weights(Path("config.json"))

"""Issue 26: the ``safety`` verdict of a file or folder, the allowlist audit, the NumPy reader,
``check --require-safe`` and the caps' figures. The hostile corpus (``test_hostile_corpus.py``)
runs the payloads under resource limits; these are the in-process checks of the same rules."""

from __future__ import annotations

import json
import pickle
import re
import struct
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

import modelsize
from modelsize.core.errors import InvalidFileError
from modelsize.formats import pickle_allowlist, safety
from modelsize.formats.pickle_security import judge


def _verdict(path: Path) -> str:
    return modelsize.inspect(path).sections["safety"]["verdict"]


# --------------------------------------------------------------------------- the allowlist audit


@pytest.mark.parametrize("module, name", [
    ("pkgutil", "resolve_name"), ("logging.config", "dictConfig"), ("logging.config", "fileConfig"),
    ("torch.hub", "load"), ("torch.hub", "_import_module"), ("torch.fx.graph_module", "reduce_graph_module"),
    ("torch.fx._symbolic_trace", "wrap"), ("torch.package.package_importer", "PackageImporter"),
    ("operator", "attrgetter"), ("operator", "methodcaller"), ("copyreg", "<extension 7>"),
    ("importlib", "import_module"), ("pydoc", "locate"), ("types", "FunctionType"), ("functools", "reduce"),
])
def test_name_resolvers_and_import_gadgets_are_dangerous(module: str, name: str) -> None:
    assert judge(module, name)[0] == "dangerous"


def test_no_allowlist_entry_resolves_imports_opens_or_runs_a_name() -> None:
    """Each entry was audited for "takes a string and resolves, imports, opens or executes it"."""
    import re

    gadgets = {"resolve", "import", "getattr", "attrgetter", "locate", "load", "loads", "open", "exec", "eval",
               "run", "config", "hub", "fx", "system", "compile", "spawn", "popen", "hooks", "package", "jit"}
    found = [g for g in pickle_allowlist.ALLOWED_GLOBALS if gadgets & set(re.split(r"[._]", g.lower()))]
    assert found == [], found


def _scan_section(data: bytes) -> dict:
    from modelsize.formats.pickle_scan import Stream, scan
    from modelsize.formats.pickle_tree import globals_section
    import io

    return globals_section(scan(Stream(io.BytesIO(data), len(data))))


def test_build_on_a_class_object_is_dangerous() -> None:
    sec = _scan_section(b"\x80\x02cpathlib\nPosixPath\nN}X\x06\x00\x00\x00existscbuiltins\nbool\ns\x86b.")
    assert sec["verdict"] == "dangerous"
    assert sec["constructs"][0]["construct"].startswith("BUILD on the class pathlib.PosixPath")
    assert [g["risk"] for g in sec["globals"]] == ["known", "known"]  # only allowlisted names


def test_calling_a_value_built_in_the_stream_is_not_safe() -> None:
    # builtins.type(0) returns int; calling it with "7" runs a callable no global names
    sec = _scan_section(b"\x80\x02cbuiltins\ntype\nK\x00\x85RX\x01\x00\x00\x007\x85R.")
    assert sec["verdict"] == "unknown"
    assert "a call of a value built in the stream" in sec["unknown"][0]


def test_clean_pickles_stay_safe() -> None:
    for obj in ({"w": np.arange(6.0).reshape(2, 3)}, [1, 2.5, "x", (3, None)], np.random.RandomState(0)):
        assert _scan_section(pickle.dumps(obj, protocol=4))["verdict"] == "safe"


# --------------------------------------------------------------------------- aborted streams


def test_a_stream_that_aborts_after_a_global_names_it(tmp_path: Path) -> None:
    path = tmp_path / "cut.pkl"
    path.write_bytes(b"\x80\x02cos\nsystem\nX\x04\x00\x00\x00true\x85RN.")  # a value left over at STOP
    with pytest.raises(InvalidFileError) as info:
        modelsize.inspect(path)
    text = str(info.value)
    assert re.search(r"unparseable after \d+ opcodes", text) and "os.system" in text
    assert "Security verdict: dangerous" in text
    assert info.value.safety["verdict"] == "dangerous"  # type: ignore[attr-defined]


def test_allowlisted_globals_then_junk_are_unknown(tmp_path: Path) -> None:
    path = tmp_path / "junk.pkl"
    path.write_bytes(b"\x80\x02cbuiltins\nlist\n)RN.")
    with pytest.raises(InvalidFileError, match="Security verdict: unknown"):
        modelsize.inspect(path)


# --------------------------------------------------------------------------- every stream, every file


def test_torch_zip_judges_the_data_pkl_torch_loads_and_every_other(tmp_path: Path) -> None:
    path = tmp_path / "two.pt"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/xdata.pkl", b"\x80\x02cos\nsystem\nX\x04\x00\x00\x00true\x85R.")
        zf.writestr("archive/data.pkl", pickle.dumps({"step": 1}, protocol=2))
        zf.writestr("archive/version", "3\n")
    report = modelsize.inspect(path)
    sec = report.sections["pytorch"]
    assert sec["archive"] == "archive" and sec["verdict"] == "dangerous"
    assert [s["stream"] for s in sec["streams"]] == ["archive/xdata.pkl"]
    assert report.sections["safety"]["verdict"] == "dangerous"


def test_clean_torch_checkpoints_are_safe(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    sd = torch.nn.Linear(4, 3).state_dict()
    torch.save(sd, tmp_path / "zip.pt")
    torch.save(sd, tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    assert _verdict(tmp_path / "zip.pt") == "safe"
    assert _verdict(tmp_path / "legacy.pt") == "safe"
    legacy = modelsize.inspect(tmp_path / "legacy.pt")
    assert legacy.totals.params == 15


def test_folder_judges_every_pickled_file(tmp_path: Path) -> None:
    """A safetensors folder is only as safe as the pickles beside it (optimizer, rng state, adapters)."""
    from safetensors.numpy import save_file

    folder = tmp_path / "run"
    (folder / "checkpoint-5").mkdir(parents=True)
    save_file({"w": np.ones((2, 2), np.float32)}, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps({"architectures": ["Net"]}))
    (folder / "tokenizer.json").write_text("{}")
    (folder / "checkpoint-5" / "optimizer.pkl").write_bytes(pickle.dumps({"lr": 0.1}, protocol=2))
    report = modelsize.inspect(folder)
    sec = report.sections["safety"]
    assert sec["verdict"] == "safe"
    assert sorted(s["file"] for s in sec["streams"]) == [".", "checkpoint-5/optimizer.pkl"]
    (folder / "adapter_model.bin").write_bytes(b"\x80\x02cmypkg\nAdapter\n)\x81.")
    sec = modelsize.inspect(folder).sections["safety"]
    assert sec["verdict"] == "unknown" and sec["unknown"] == ["adapter_model.bin: mypkg.Adapter"]
    assert report.totals.params == 4  # the sizes still come from the weights


def test_joblib_side_file_outside_the_folder_is_dangerous(tmp_path: Path) -> None:
    state = b"}(X\x08\x00\x00\x00filenameX\x0b\x00\x00\x00/etc/passwdu"
    path = tmp_path / "old.pkl"
    path.write_bytes(b"\x80\x02cjoblib.numpy_pickle\nNDArrayWrapper\n)\x81" + state + b"b.")
    sec = modelsize.inspect(path).sections["safety"]
    assert sec["verdict"] == "dangerous" and "outside the folder" in sec["dangerous"][0]
    missing = tmp_path / "missing.pkl"
    missing.write_bytes(path.read_bytes().replace(b"\x0b\x00\x00\x00/etc/passwd", b"\x0b\x00\x00\x00gone_01.npy"))
    assert _verdict(missing) == "unknown"


def test_formats_without_code_are_safe_and_savedmodel_is_not_judged(tmp_path: Path) -> None:
    from safetensors.numpy import save_file

    save_file({"w": np.ones(3, np.float32)}, str(tmp_path / "m.safetensors"))
    sec = modelsize.inspect(tmp_path / "m.safetensors").sections["safety"]
    assert sec["verdict"] == "safe" and "runs no code" in sec["streams"][0]["why"]


# --------------------------------------------------------------------------- NumPy files


def test_npy_header_only_shapes_and_dtypes(tmp_path: Path) -> None:
    np.save(tmp_path / "a.npy", np.asfortranarray(np.ones((3, 5), np.float16)))
    report = modelsize.inspect(tmp_path / "a.npy")
    (rec,) = _records(report)
    assert rec["shape"] == [3, 5] and rec["dtype"] == "float16" and rec["stored_bytes"] == 30
    assert report.totals.params == 15 and report.sections["safety"]["verdict"] == "safe"
    np.savez_compressed(tmp_path / "b.npz", x=np.zeros((4, 4), np.int8),
                        rec=np.zeros(3, dtype=[("a", "f4"), ("b", "i2")]))
    report = modelsize.inspect(tmp_path / "b.npz")
    assert sorted((r["path"], tuple(r["shape"])) for r in _records(report)) == [("rec", (3,)), ("x", (4, 4))]
    assert report.totals.params == 19


def _records(report: object) -> list[dict]:
    out, todo = [], [report.to_dict()["tree"]]  # type: ignore[attr-defined]
    while todo:
        node = todo.pop()
        out.extend(node.get("tensors", []))
        todo.extend(node.get("children", []))
    return out


def test_npy_object_array_is_judged(tmp_path: Path) -> None:
    np.save(tmp_path / "o.npy", np.array([{"a": 1}, [2, 3]], dtype=object), allow_pickle=True)
    report = modelsize.inspect(tmp_path / "o.npy")
    assert report.sections["numpy"]["object_arrays"] == ["o"]
    assert report.sections["safety"]["verdict"] == "safe"  # dicts and lists: allowlisted builtins


def test_npy_lying_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.npy"
    header = b"{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,), }"
    path.write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + bytes(8))
    with pytest.raises(InvalidFileError, match="declares 8000000000000 bytes of data"):
        modelsize.inspect(path)
    path.write_bytes(b"\x93NUMPY\x02\x00" + struct.pack("<I", 1 << 30) + b"{")
    with pytest.raises(InvalidFileError, match="header"):
        modelsize.inspect(path)


# --------------------------------------------------------------------------- check --require-safe


def test_check_require_safe_setting(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pkl"
    bad.write_bytes(b"cos\nsystem\n(S'true'\ntR.")
    good = tmp_path / "good.npy"
    np.save(good, np.ones(3))
    (tmp_path / "modelsize.toml").write_text(
        '[[budgets]]\ntarget = "good.npy"\nrequire-safe = true\n\n[[budgets]]\ntarget = "bad.pkl"\nrequire-safe = true\n')
    proc = subprocess.run([sys.executable, "-m", "modelsize", "check", "--config", str(tmp_path / "modelsize.toml")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("OK") and "require-safe" in lines[0] and lines[0].endswith("measured safe")
    assert lines[1].startswith("OVER") and lines[1].endswith("measured dangerous")


def test_safety_section_meaning_says_do_not_load() -> None:
    assert safety.worst(["safe", "unknown"]) == "unknown"
    assert safety.worst(["safe", "maybe"]) == "unknown"  # anything not a verdict fails closed
    assert safety.worst(["unknown", "dangerous", "safe"]) == "dangerous"
    assert safety.summarize([{"file": "a", "stream": "x", "verdict": "unknown", "why": "w"}])["meaning"] == \
        "could not be judged: do not load"


def _openvino_ir(folder: Path) -> Path:
    import numpy as np

    (folder / "tiny.bin").write_bytes(np.ones(4 * 6, np.float32).tobytes())
    path = folder / "tiny.xml"
    path.write_text(
        '<?xml version="1.0"?>\n<net name="tiny" version="11"><layers>'
        '<layer id="0" name="x" type="Parameter" version="opset1"><data shape="1,6" element_type="f32"/></layer>'
        '<layer id="1" name="fc.weight" type="Const" version="opset1">'
        '<data element_type="f32" shape="4, 6" offset="0" size="96"/></layer>'
        '<layer id="2" name="fc" type="MatMul" version="opset1"><data transpose_a="false" transpose_b="true"/></layer>'
        '</layers><edges><edge from-layer="0" from-port="0" to-layer="2" to-port="0"/>'
        '<edge from-layer="1" from-port="0" to-layer="2" to-port="1"/></edges></net>')
    return path


def _xgboost_json(folder: Path) -> Path:
    import numpy as np
    xgb = pytest.importorskip("xgboost")

    X = np.arange(40, dtype=np.float32).reshape(20, 2)
    booster = xgb.train({"max_depth": 2}, xgb.DMatrix(X, label=X[:, 0] > 10), num_boost_round=2)
    path = folder / "model.json"
    booster.save_model(path)
    return path


@pytest.mark.parametrize("build", [_openvino_ir, _xgboost_json], ids=["openvino", "xgboost-json"])
def test_formats_that_hold_no_code_are_safe(tmp_path: Path, build: Callable[[Path], Path]) -> None:
    """Device and booster formats whose loaders parse numbers only get a verdict, not a blanket unknown."""
    report = modelsize.inspect(build(tmp_path))
    assert report.sections["safety"]["verdict"] == "safe"
    assert report.totals.params > 0

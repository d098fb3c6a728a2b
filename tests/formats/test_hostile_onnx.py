"""Hostile ONNX files: every count, length and nesting depth is capped on its own (issue 26).

Each real-cap case runs ``modelsize inspect`` in a fresh process under ``RLIMIT_AS`` = 1 GiB and
a 10 s CPU limit: exit 1, one ``Error:`` line naming the cap, no traceback. Files that claim
gigabytes are sparse (cheap on disk). The caps themselves are checked in process with lowered
limits, so each cap's refusal is exercised without building a file of its real size.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest

import modelsize
from modelsize.core.errors import InvalidFileError
from modelsize.formats import onnx_file
from modelsize.formats._protobuf import encode_field as _f, encode_varint as _varint

SRC = Path(__file__).parent.parent.parent / "src"


def _tensor(name: bytes, dims: tuple[int, ...] = (4,), extra: bytes = b"") -> bytes:
    return b"".join(b"\x08" + _varint(d) for d in dims) + b"\x10\x01" + _f(8, name) + extra


def _node(inputs: tuple[bytes, ...], name: bytes, op: bytes = b"Identity", attrs: bytes = b"") -> bytes:
    return b"".join(_f(1, i) for i in inputs) + _f(2, name + b"_out") + _f(3, name) + _f(4, op) + attrs


def _model(graph: bytes) -> bytes:
    return b"\x08\x08" + _f(7, graph) + _f(8, b"\x10\x11")


def _external(location: bytes) -> bytes:
    t = _tensor(b"w", extra=b"\x70\x01" + _f(13, _f(1, b"location") + _f(2, location)))
    return _model(_f(1, _node((b"w",), b"id")) + _f(5, t))


def _nested(levels: int) -> bytes:
    """If nodes nested ``levels`` deep, each in the then_branch of the one above."""
    graph = _f(1, _node((b"x",), b"leaf"))
    for i in range(levels):
        attr = _f(1, b"then_branch") + _f(6, graph) + b"\xa0\x01\x05"  # g, type = GRAPH (field 20)
        graph = _f(1, _node((b"c",), b"if%d" % i, b"If", _f(5, attr)))
    return _model(graph)


def _sparse_claim(path: Path, prefix: bytes, claimed: int) -> None:
    """``prefix`` then a length-delimited field claiming ``claimed`` bytes, written as a sparse file."""
    with path.open("wb") as fh:
        fh.write(prefix)
        fh.truncate(len(prefix) + claimed)


def _flat_nodes(n: int) -> bytes:
    nodes = b"".join(_f(1, _f(1, b"w") + _f(2, b"y%d" % i) + _f(4, b"Add")) for i in range(n))
    return _model(nodes + _f(5, _tensor(b"w", extra=_f(9, bytes(16)))))


def _huge_name(path: Path) -> Path:
    """A node name that claims 1.5 GB (the graph and model claim to hold it)."""
    n = 1_500_000_000
    name_field = _varint(3 << 3 | 2) + _varint(n)
    node = _varint(1 << 3 | 2) + _varint(len(name_field) + n) + name_field
    graph = _varint(7 << 3 | 2) + _varint(len(node) + n) + node
    _sparse_claim(path, b"\x08\x08" + graph, n)
    return path


def _huge_dims(path: Path) -> Path:
    """A packed dims field of 1.9 GB of varints (zeros on disk: 1.9 billion dimensions of 0)."""
    n = 1_900_000_000
    dims = _varint(1 << 3 | 2) + _varint(n)
    tensor = _varint(5 << 3 | 2) + _varint(len(dims) + n) + dims
    graph = _varint(7 << 3 | 2) + _varint(len(tensor) + n) + tensor
    _sparse_claim(path, b"\x08\x08" + graph, n)
    return path


def _write(data: bytes) -> Callable[[Path], Path]:
    def build(path: Path) -> Path:
        path.write_bytes(data)
        return path
    return build


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    resource.setrlimit(resource.RLIMIT_CPU, (10, 11))


#: (name, builder, phrase the one stderr line must hold)
CASES = [
    ("location_nul", _write(_external(b"w.bin\x00../../etc/passwd")), "NUL byte"),
    ("location_4k", _write(_external(b"a/" * 2100 + b"w.bin")), "at most 4096 bytes"),
    ("location_component_300", _write(_external(b"x" * 300)), "255 per path component"),
    ("subgraphs_33_deep", _write(_nested(33)), "nest more than 32 levels deep"),
    ("dims_65", _write(_model(_f(5, _tensor(b"w", dims=(1,) * 65)))), "more than 64 dimensions"),
    ("name_claims_1_5_GB", _huge_name, "names are capped at 65,536 bytes"),
    ("packed_dims_1_9_GB", _huge_dims, "more than 64 dimensions"),
    ("nodes_200_001", _write(_flat_nodes(200_001)), "more than 200,000 nodes"),
]


@pytest.mark.parametrize("name, build, phrase", CASES, ids=[c[0] for c in CASES])
def test_hostile_onnx_refused_in_one_line(tmp_path: Path, name: str, build: Callable[[Path], Path],
                                          phrase: str) -> None:
    path = build(tmp_path / f"{name}.onnx")
    env = {**os.environ, "PYTHONPATH": str(SRC), "OPENBLAS_NUM_THREADS": "1"}
    env.pop("MODELSIZE_DEBUG", None)
    proc = subprocess.run([sys.executable, "-m", "modelsize", "inspect", str(path)], capture_output=True, text=True,
                          env=env, timeout=60, preexec_fn=_limits)
    lines = proc.stderr.splitlines()
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith("Error: ") and phrase in lines[0], lines
    assert proc.stdout == ""


def test_valid_location_still_read(tmp_path: Path) -> None:
    """The control: a 255-byte file name inside the folder is fine (and missing: a note)."""
    path = tmp_path / "ok.onnx"
    path.write_bytes(_external(b"y" * 255))
    report = modelsize.inspect(path)
    assert report.totals.params == 4
    assert any("is missing" in n for n in report.notes)


@pytest.mark.parametrize("cap, value, data, phrase", [
    ("MAX_NODES", 10, _flat_nodes(11), "more than 10 nodes"),
    ("MAX_TENSORS", 3, _model(b"".join(_f(5, _tensor(b"w%d" % i)) for i in range(4))),
     "more than 3 initializers and Constant values"),
    ("MAX_EDGES", 5, _model(_f(1, _node((b"a", b"b", b"c", b"d", b"e"), b"n"))), "more than 5 node inputs"),
    ("MAX_REFERENCES", 5, _flat_nodes(6), "more than 5 times"),
    ("MAX_GRAPHS", 3, _nested(3), "more than 3 subgraphs"),
    ("MAX_FIELDS", 100, _flat_nodes(30), "more than 100 protobuf fields"),
    ("MAX_STRING_BYTES", 300, _flat_nodes(100), "add up to more than 300 bytes"),
    ("MAX_EXTERNAL_ENTRIES", 2, _model(_f(5, _tensor(b"w", extra=b"".join(
        _f(13, _f(1, b"k%d" % i) + _f(2, b"v")) for i in range(3))))), "more than 2 external-data entries"),
])
def test_each_cap_refuses_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cap: str, value: int,
                                      data: bytes, phrase: str) -> None:
    path = tmp_path / "capped.onnx"
    path.write_bytes(data)
    modelsize.inspect(path)  # under the real caps the file is read
    monkeypatch.setattr(onnx_file, cap, value)
    with pytest.raises(InvalidFileError) as info:
        modelsize.inspect(path)
    message = str(info.value)
    assert phrase in message and "\n" not in message and "capped.onnx" in message, message

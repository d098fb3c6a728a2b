"""The streaming ONNX reader against the onnx package (the truth): same tensors on many exports.

Every tensor the ``onnx`` library sees with ``onnx.load(..., load_external_data=False)`` —
initializers, sparse initializers and Constant values of every graph and subgraph — is one
unique record of ours with the same name, shape, dtype and stored bytes; node, initializer and
op counts, opsets and metadata agree. Also: tensor bytes are never read (bytes counted at the
file object), a 2 GB in-file initializer is skipped, and ``modelsize inspect`` never imports onnx.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelsize
from modelsize.core.totals import unique_records
from modelsize.formats import onnx_file
from modelsize.formats.onnx_file import DTYPES
from modelsize.testing import check_report

from formats_helpers import check_file_invariants, run_limited

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from modelsize.formats._protobuf import encode_field as _field, encode_varint as _varint

SRC = Path(__file__).parent.parent.parent / "src"


# --------------------------------------------------------------------------- the library's view

_FOUR_BIT = {TensorProto.INT4, TensorProto.UINT4, TensorProto.FLOAT4E2M1}


def _library_bytes(t: "onnx.TensorProto") -> int:
    """Stored bytes of a tensor as the onnx package sees it (external data never loaded)."""
    if t.data_location == TensorProto.EXTERNAL:
        entries = {e.key: e.value for e in t.external_data}
        if entries.get("length"):
            return int(entries["length"])
        return int(np.prod(t.dims, dtype=np.int64)) * helper.tensor_dtype_to_np_dtype(t.data_type).itemsize
    if t.raw_data:
        return len(t.raw_data)
    if t.data_type == TensorProto.STRING:
        return sum(len(s) for s in t.string_data)
    if t.data_type in _FOUR_BIT:  # numpy_helper unpacks them to a byte each; the file packs two a byte
        return math.ceil(numpy_helper.to_array(t).size / 2)
    return numpy_helper.to_array(t).nbytes


def _library_tensors(model: "onnx.ModelProto") -> tuple[Counter, dict[str, Any]]:
    """(name, shape, dtype, stored bytes) of every tensor in every graph, and the graph's counts."""
    tensors: Counter = Counter()
    counts: dict[str, Any] = {"nodes": 0, "initializers": 0, "sparse_initializers": 0, "op_counts": Counter()}
    stack = [model.graph]
    while stack:
        g = stack.pop()
        counts["initializers"] += len(g.initializer)
        counts["sparse_initializers"] += len(g.sparse_initializer)
        for t in g.initializer:
            tensors[(t.name, tuple(t.dims), DTYPES[t.data_type][0], _library_bytes(t))] += 1
        for s in g.sparse_initializer:
            nbytes = _library_bytes(s.values) + _library_bytes(s.indices)
            tensors[(s.values.name, tuple(s.dims), DTYPES[s.values.data_type][0], nbytes)] += 1
        for node in g.node:
            counts["nodes"] += 1
            op = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}::{node.op_type}"
            counts["op_counts"][op] += 1
            consts = [a for a in node.attribute if a.type in (onnx.AttributeProto.TENSOR,
                                                               onnx.AttributeProto.SPARSE_TENSOR)]
            if node.op_type == "Constant" and consts and node.output:
                a = consts[-1]
                if a.type == onnx.AttributeProto.TENSOR:
                    t = a.t
                    tensors[(t.name, tuple(t.dims), DTYPES[t.data_type][0], _library_bytes(t))] += 1
                else:
                    s = a.sparse_tensor
                    nbytes = _library_bytes(s.values) + _library_bytes(s.indices)
                    tensors[(s.values.name, tuple(s.dims), DTYPES[s.values.data_type][0], nbytes)] += 1
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.GRAPH:
                    stack.append(attr.g)
                elif attr.type == onnx.AttributeProto.GRAPHS:
                    stack.extend(attr.graphs)
    return tensors, counts


def assert_same_as_onnx(path: Path) -> modelsize.Report:
    """Our report of ``path`` holds exactly the tensors and counts the onnx package reads."""
    model = onnx.load(str(path), load_external_data=False)
    lib_tensors, lib_counts = _library_tensors(model)
    report = modelsize.inspect(path)
    check_report(report)
    check_file_invariants(report)
    unique, _ = unique_records(report.root.iter_tensors())
    ours = Counter((r.meta["onnx_name"], r.shape, r.dtype, r.stored_bytes) for r in unique)
    assert ours == lib_tensors
    sec = report.sections["onnx"]
    assert {k: sec[k] for k in ("nodes", "initializers", "sparse_initializers")} == {
        k: lib_counts[k] for k in ("nodes", "initializers", "sparse_initializers")}
    assert sec["op_counts"] == dict(lib_counts["op_counts"])
    assert sec["ir_version"] == model.ir_version
    assert sec["opset"] == {(o.domain or "ai.onnx"): o.version for o in model.opset_import}
    assert sec["metadata"] == {p.key: p.value for p in model.metadata_props}
    assert sec["graph_name"] == model.graph.name
    assert report.totals.stored_bytes == sum(n * k[3] for k, n in lib_tensors.items() if k[3]) or not lib_tensors
    return report


# --------------------------------------------------------------------------- models


def _torch_export(net: Any, example: Any, path: Path, **kw: Any) -> Path:
    torch = pytest.importorskip("torch")
    net.eval()
    with torch.no_grad():
        torch.onnx.export(net, example, str(path), dynamo=False, **kw)
    return path


def _gpt_like() -> Any:
    """Token + position embeddings, two pre-norm blocks, a tied LM head (GPT-2 in miniature)."""
    torch = pytest.importorskip("torch")
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(32), nn.LayerNorm(32)
            self.qkv, self.proj = nn.Linear(32, 96), nn.Linear(32, 32)
            self.mlp = nn.Sequential(nn.Linear(32, 128), nn.GELU(), nn.Linear(128, 32))

        def forward(self, x: Any) -> Any:
            b, t, c = x.shape
            q, k, v = self.qkv(self.ln1(x)).view(b, t, 3, 4, 8).permute(2, 0, 3, 1, 4).unbind(0)
            att = torch.softmax((q @ k.transpose(-1, -2)) / 8 ** 0.5 + torch.full((t, t), float("-inf")).triu(1), -1)
            x = x + self.proj((att @ v).transpose(1, 2).reshape(b, t, c))
            return x + self.mlp(self.ln2(x))

    class GPT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.wte, self.wpe = nn.Embedding(100, 32), nn.Embedding(16, 32)
            self.blocks = nn.ModuleList([Block(), Block()])
            self.ln_f = nn.LayerNorm(32)
            self.head = nn.Linear(32, 100, bias=False)
            self.head.weight = self.wte.weight

        def forward(self, idx: Any) -> Any:
            x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
            for b in self.blocks:
                x = b(x)
            return self.head(self.ln_f(x))

    return GPT()


def test_torch_mlp(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    net = torch.nn.Sequential(torch.nn.Linear(10, 20), torch.nn.ReLU(), torch.nn.Linear(20, 3))
    report = assert_same_as_onnx(_torch_export(net, (torch.randn(2, 10),), tmp_path / "mlp.onnx"))
    assert report.totals.params == sum(p.numel() for p in net.parameters())


def test_torch_cnn(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    nn = torch.nn
    net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 4, 3, groups=2),
                        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 5))
    assert_same_as_onnx(_torch_export(net, (torch.randn(1, 3, 12, 12),), tmp_path / "cnn.onnx",
                                      do_constant_folding=False, training=torch.onnx.TrainingMode.PRESERVE))


def test_gpt_like_inline_and_external(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    path = _torch_export(_gpt_like(), (torch.randint(0, 100, (1, 8)),), tmp_path / "gpt.onnx")
    inline = assert_same_as_onnx(path)
    folder = tmp_path / "ext"
    folder.mkdir()
    onnx.save_model(onnx.load(str(path)), str(folder / "gpt.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="gpt.data", size_threshold=64)
    external = assert_same_as_onnx(folder / "gpt.onnx")
    assert external.totals.params == inline.totals.params
    assert external.sections["onnx"]["external_tensor_bytes"] > 0
    assert [e["location"] for e in external.sections["onnx"]["external_data"]] == ["gpt.data"]


def _nested_control_flow() -> "onnx.ModelProto":
    """Loop whose body holds an If whose branches hold a Scan: initializers and Constants at each level."""
    f = TensorProto.FLOAT

    def init(name: str, shape: tuple[int, ...], value: float) -> "onnx.TensorProto":
        return numpy_helper.from_array(np.full(shape, value, np.float32), name)

    scan_body = helper.make_graph(
        [helper.make_node("MatMul", ["s_in", "w"], ["s_mm"], name="scan_mm"),
         helper.make_node("Add", ["s_mm", "acc"], ["acc_out"], name="scan_add"),
         helper.make_node("Identity", ["acc_out"], ["s_out"])],
        "scan_body", [helper.make_tensor_value_info("acc", f, [3]), helper.make_tensor_value_info("s_in", f, [4])],
        [helper.make_tensor_value_info("acc_out", f, [3]), helper.make_tensor_value_info("s_out", f, [3])],
        [init("w", (4, 3), 3.0)])

    def branch(name: str, value: float) -> "onnx.GraphProto":
        k = helper.make_node("Constant", [], [f"{name}_k"], name=f"{name}_const",
                             value=numpy_helper.from_array(np.full((4, 4), value, np.float32)))
        nodes = [k, helper.make_node("MatMul", ["x_in", f"{name}_k"], [f"{name}_x"], name=f"{name}_mm"),
                 helper.make_node("Scan", ["acc0", f"{name}_x"], [f"{name}_acc", f"{name}_ys"], name=f"{name}_scan",
                                  num_scan_inputs=1, body=scan_body)]
        return helper.make_graph(nodes, name, [], [helper.make_tensor_value_info(f"{name}_acc", f, [3])])

    loop_body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]),
         helper.make_node("If", ["cond_in"], ["acc_new"], name="pick", then_branch=branch("then", 1.0),
                          else_branch=branch("else", 2.0))],
        "loop_body", [helper.make_tensor_value_info("i", TensorProto.INT64, []),
                      helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
                      helper.make_tensor_value_info("acc_loop", f, [3])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("acc_new", f, [3])])
    nodes = [helper.make_node("MatMul", ["x", "w"], ["x_in"], name="outer_mm"),
             helper.make_node("Loop", ["trip", "cond", "acc0"], ["acc_final"], name="loop", body=loop_body)]
    graph = helper.make_graph(
        nodes, "nested", [helper.make_tensor_value_info("x", f, [5, 4]),
                          helper.make_tensor_value_info("cond", TensorProto.BOOL, []),
                          helper.make_tensor_value_info("acc0", f, [3])],
        [helper.make_tensor_value_info("acc_final", f, [3])],
        [init("w", (4, 4), 1.0), numpy_helper.from_array(np.array(3, np.int64), "trip")])
    model = helper.make_model(graph, producer_name="nest", opset_imports=[helper.make_opsetid("", 17)])
    helper.set_model_props(model, {"author": "tests", "license": "none"})
    return model


def test_nested_subgraphs_scoped_per_graph(tmp_path: Path) -> None:
    path = tmp_path / "nested.onnx"
    model = _nested_control_flow()
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    report = assert_same_as_onnx(path)
    by_path = {r.path: r for r in report.root.iter_tensors()}
    outer = by_path["outer_mm.w"]
    inner = by_path["loop.body.pick.then_branch.then_scan.body.scan_mm.w"]
    assert (outer.shape, inner.shape) == ((4, 4), (4, 3)) and outer.storage_key != inner.storage_key
    # the Scan body is one graph read by both branches' Scan nodes: each branch's copy is its own tensor
    assert by_path["loop.body.pick.else_branch.else_scan.body.scan_mm.w"].storage_key != inner.storage_key
    assert by_path["loop.body.pick.then_branch.then_mm.weight"].meta["constant_node"] == "then_const"
    assert report.totals.params == 16 + 2 * 16 + 2 * 12


def test_sparse_initializer(tmp_path: Path) -> None:
    values = numpy_helper.from_array(np.array([1.5, 2.5, 3.5], np.float32), "sp")
    indices = numpy_helper.from_array(np.array([0, 7, 13], np.int64), "sp_idx")
    sparse = helper.make_sparse_tensor(values, indices, [4, 5])
    node = helper.make_node("MatMul", ["x", "sp"], ["y"], name="mm")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 5])],
                              sparse_initializer=[sparse])
    path = tmp_path / "sparse.onnx"
    onnx.save(helper.make_model(graph), str(path))
    report = assert_same_as_onnx(path)
    rec = report.root.find("mm").tensors[0]
    assert (rec.shape, rec.numel, rec.stored_bytes) == ((4, 5), 20, 3 * 4 + 3 * 8)
    assert rec.meta["sparse"] == {"values": 3, "values_bytes": 12, "indices_bytes": 24}
    assert report.sections["onnx"]["sparse_initializers"] == 1


def test_sparse_constant(tmp_path: Path) -> None:
    """A Constant node's sparse_value: a parameter under its consumer, sized by values + indices."""
    values = numpy_helper.from_array(np.array([1.0, 2.0], np.float32), "")
    indices = numpy_helper.from_array(np.array([[0, 1], [2, 3]], np.int64), "")
    const = helper.make_node("Constant", [], ["k"], name="c", sparse_value=helper.make_sparse_tensor(values, indices,
                                                                                                    [4, 4]))
    node = helper.make_node("MatMul", ["x", "k"], ["y"], name="mm")
    graph = helper.make_graph([const, node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])])
    path = tmp_path / "sparse_const.onnx"
    onnx.save(helper.make_model(graph), str(path))
    report = assert_same_as_onnx(path)
    rec = report.root.find("mm").tensors[0]
    assert (rec.path, rec.shape, rec.stored_bytes, rec.role.value) == ("mm.weight", (4, 4), 2 * 4 + 4 * 8, "parameter")


def test_typed_data_strings_and_int4(tmp_path: Path) -> None:
    """Tensors in float_data / int64_data / string_data (no raw_data), packed int4: sizes as onnx's."""
    f = helper.make_tensor("f", TensorProto.FLOAT, [2, 3], [1.0] * 6)  # float_data
    i = helper.make_tensor("i", TensorProto.INT64, [3], [1, 2, 3])  # int64_data
    s = helper.make_tensor("s", TensorProto.STRING, [2], [b"abc", b"defgh"])
    q = helper.make_tensor("q", TensorProto.INT4, [5], [1, -2, 3, -4, 5])
    nodes = [helper.make_node("MatMul", ["x", "f"], ["y"], name="mm"),
             helper.make_node("Reshape", ["y", "i"], ["z"], name="rs"),
             helper.make_node("Identity", ["s"], ["t"], name="id"),
             helper.make_node("Identity", ["q"], ["u"], name="id4")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
                              [helper.make_tensor_value_info("z", TensorProto.FLOAT, None)], [f, i, s, q])
    path = tmp_path / "typed.onnx"
    onnx.save(helper.make_model(graph), str(path))
    report = assert_same_as_onnx(path)
    sizes = {r.meta["onnx_name"]: r.stored_bytes for r in report.root.iter_tensors()}
    assert sizes == {"f": 24, "i": 24, "s": 8, "q": 3}


@pytest.mark.parametrize("kind", ["forest", "logistic_pipeline", "gbm"])
def test_skl2onnx_models(tmp_path: Path, kind: str) -> None:
    pytest.importorskip("skl2onnx")
    from skl2onnx import to_onnx
    from sklearn.ensemble import GradientBoostingRegressor, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    X = rng.random((60, 4)).astype(np.float32)
    y = (X[:, 0] > 0.5).astype(int)
    est = {"forest": RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0),
           "logistic_pipeline": make_pipeline(StandardScaler(), LogisticRegression()),
           "gbm": GradientBoostingRegressor(n_estimators=3, max_depth=2, random_state=0)}[kind]
    est.fit(X, y)
    path = tmp_path / f"{kind}.onnx"
    path.write_bytes(to_onnx(est, X[:1], target_opset=17).SerializeToString())
    assert_same_as_onnx(path)


# --------------------------------------------------------------------------- tensor bytes are skipped


class _Counting:
    """A file object that counts the bytes read through it."""

    def __init__(self, fh: Any, counter: list[int]) -> None:
        self._fh, self._counter = fh, counter

    def read(self, n: int = -1) -> bytes:
        data = self._fh.read(n)
        self._counter[0] += len(data)
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fh, name)

    def __enter__(self) -> "_Counting":
        return self

    def __exit__(self, *exc: object) -> None:
        self._fh.close()


def _count_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    counter = [0]
    real = onnx_file._open
    monkeypatch.setattr(onnx_file, "_open", lambda p: _Counting(real(p), counter))
    return counter


def test_tensor_bytes_are_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Eight 1 MiB initializers: the reader reads the headers, at most one window past each."""
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.random((512, 512)).astype(np.float32), f"w{i}") for i in range(8)]
    nodes = [helper.make_node("MatMul", ["x" if i == 0 else f"h{i}", f"w{i}"], [f"h{i + 1}"], name=f"mm{i}")
             for i in range(8)]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 512])],
                              [helper.make_tensor_value_info("h8", TensorProto.FLOAT, [1, 512])], inits)
    path = tmp_path / "big.onnx"
    onnx.save(helper.make_model(graph), str(path))
    counter = _count_reads(monkeypatch)
    report = assert_same_as_onnx(path)
    assert report.totals.params == 8 * 512 * 512
    assert counter[0] <= 16 * onnx_file.Stream.CHUNK < path.stat().st_size // 50  # 128 KiB of 8 MiB


def _in_file_giant(path: Path, nbytes: int) -> None:
    """A model whose one initializer's raw_data is ``nbytes`` of zeros, written as a sparse file."""
    node = _field(1, _field(1, b"x") + _field(1, b"big") + _field(2, b"y") + _field(3, b"mm") + _field(4, b"MatMul"))
    head = b"\x08\x80\x04" + b"\x08\xe8\x07" + b"\x10\x01" + _field(8, b"big")  # dims [512, 1000], FLOAT, name
    tensor_len = len(head) + 1 + len(_varint(nbytes)) + nbytes
    init_prefix = _varint(5 << 3 | 2) + _varint(tensor_len) + head + b"\x4a" + _varint(nbytes)
    graph_len = len(node) + len(init_prefix) + nbytes
    prefix = b"\x08\x08" + _varint(7 << 3 | 2) + _varint(graph_len) + node + init_prefix
    with path.open("wb") as fh:
        fh.write(prefix)
        fh.seek(len(prefix) + nbytes)
        fh.write(_field(8, b"\x10\x11"))  # opset 17, after the hole


def test_two_gb_in_file_initializer_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "giant.onnx"
    n = 2_000_000_000
    _in_file_giant(path, n)
    counter = _count_reads(monkeypatch)
    report = modelsize.inspect(path)
    rec = report.root.find("mm").tensors[0]
    assert (rec.shape, rec.stored_bytes, report.totals.params) == ((512, 1000), n, 512_000)
    assert report.sections["onnx"]["opset"] == {"ai.onnx": 17}
    assert counter[0] <= 3 * onnx_file.Stream.CHUNK  # the header and the opset after the hole, not 2 GB
    out = run_limited(f"""
        import re, modelsize
        r = modelsize.inspect({str(path)!r})
        hwm = re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1)
        print(r.totals.stored_bytes, int(hwm) // 1024)
    """, limit_mib=1024)
    stored, peak_mib = map(int, out.split())
    assert stored == n and peak_mib < 256


def test_inspect_does_not_import_onnx(tmp_path: Path) -> None:
    """`modelsize inspect model.onnx` in a fresh process: neither onnx nor protobuf is imported."""
    path = tmp_path / "m.onnx"
    onnx.save(_nested_control_flow(), str(path))
    code = (f"import sys; from modelsize.cli.app import run; "
            f"code = run(['inspect', {str(path)!r}, '--format', 'json']); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'onnx' or m.startswith('google.protobuf')), "
            "'modelsize.formats.onnx_file' in sys.modules, code, file=sys.stderr)")
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stderr.splitlines()[-1] == "[] True 0"
    assert json.loads(proc.stdout)["totals"]["params"] == 16 + 2 * 16 + 2 * 12


def _installed_test_models() -> list[Path]:
    """Model files the onnx package installs for its backend tests: the 'simple' graphs and 'light' CNNs.

    (Its 117 'pytorch-converted' and 'pytorch-operator' models agree too; they are left out to keep
    this test to seconds.)
    """
    data = Path(onnx.__file__).parent / "backend" / "test" / "data"
    return sorted(data.glob("simple/*/model.onnx")) + sorted(data.glob("light/*.onnx"))


def test_every_model_the_onnx_package_ships() -> None:
    models = _installed_test_models()
    if not models:
        pytest.skip("this onnx install has no backend test data")
    for path in models:
        assert_same_as_onnx(path)

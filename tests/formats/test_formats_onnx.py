"""ONNX models: initializers grouped by node, op counts, external data never loaded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import modelsize
from modelsize import Role
from modelsize.formats.onnx_file import OnnxReader
from modelsize.testing import check_report

from formats_helpers import assert_invalid, fuzz_settings, mutations, only_our_errors, run_limited

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


def _model() -> "onnx.ModelProto":
    rng = np.random.default_rng(0)
    W = numpy_helper.from_array(rng.random((4, 3)).astype(np.float32), "fc.weight")
    B = numpy_helper.from_array(rng.random(3).astype(np.float16), "fc.bias")
    unused = numpy_helper.from_array(np.zeros(7, np.int32), "spare")
    nodes = [
        helper.make_node("MatMul", ["X", "fc.weight"], ["Y"], name="/fc/MatMul"),
        helper.make_node("Cast", ["Y"], ["Yh"], to=TensorProto.FLOAT16),
        helper.make_node("Add", ["Yh", "fc.bias"], ["Z"], name="/fc/Add"),
        helper.make_node("MatMul", ["X", "fc.weight"], ["Y2"], name="/tied/MatMul"),
        helper.make_node("Constant", [], ["C"], name="const",
                         value=numpy_helper.from_array(np.arange(5, dtype=np.int64))),
    ]
    graph = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [2, 4])],
                              [helper.make_tensor_value_info("Z", TensorProto.FLOAT16, [2, 3])], [W, B, unused])
    return helper.make_model(graph, producer_name="modelsize-tests")


def _library_view(path: Path) -> dict[str, np.ndarray]:
    model = onnx.load(str(path))  # loads external data too: the library's own view
    return {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}


def test_initializers_grouped_by_node(tmp_path: Path) -> None:
    path = tmp_path / "tiny.onnx"
    onnx.save(_model(), str(path))
    report = modelsize.inspect(path)
    check_report(report)
    by_name = {}
    for rec in report.root.iter_tensors():
        by_name.setdefault(rec.meta["onnx_name"], []).append(rec)
    lib = _library_view(path)
    for name, arr in lib.items():
        for rec in by_name[name]:
            assert (rec.shape, rec.dtype, rec.stored_bytes) == (arr.shape, arr.dtype.name, arr.nbytes)
    assert [r.path for r in by_name["fc.weight"]] == ["/fc/MatMul.fc.weight", "/tied/MatMul.fc.weight"]
    assert report.root.find("/fc/Add").kind == "Add"
    assert by_name["spare"][0].path == "spare"  # feeds no node: kept on the graph
    const = report.root.find("const").tensors[0]
    assert const.role is Role.METADATA and const.shape == (5,)  # an int64 shape constant is no weight
    assert report.totals.stored_bytes == sum(a.nbytes for a in lib.values()) + 5 * 8  # tied weight counted once
    section = report.sections["onnx"]
    assert section["op_counts"] == {"MatMul": 2, "Cast": 1, "Add": 1, "Constant": 1}
    assert section["initializers"] == 3 and section["nodes"] == 5
    assert sum(report.sections["file"]["split"].values()) == path.stat().st_size


def test_external_data_sizes_from_the_fields(tmp_path: Path) -> None:
    path = tmp_path / "ext.onnx"
    onnx.save_model(_model(), str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="ext.data", size_threshold=0)
    report = modelsize.inspect(path)
    check_report(report)
    lib = _library_view(path)
    recs = {r.meta["onnx_name"]: r for r in report.root.iter_tensors() if r.meta.get("external")}
    assert set(recs) == set(lib)
    for name, arr in lib.items():
        assert (recs[name].shape, recs[name].dtype, recs[name].stored_bytes) == (arr.shape, arr.dtype.name, arr.nbytes)
    ext = report.sections["onnx"]["external_data"]
    assert ext == [{"location": "ext.data", "inside_model_folder": True, "exists": True,
                    "bytes": (tmp_path / "ext.data").stat().st_size, "used": sum(a.nbytes for a in lib.values())}]
    assert report.sections["file"]["bytes"] == path.stat().st_size + (tmp_path / "ext.data").stat().st_size


def test_torch_onnx_export(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    net = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 2))
    path = tmp_path / "net.onnx"
    torch.onnx.export(net, (torch.randn(1, 6),), str(path), dynamo=False)
    report = modelsize.inspect(path)
    check_report(report)
    lib = _library_view(path)
    recs = {r.meta["onnx_name"]: r for r in report.root.iter_tensors()}
    assert set(recs) >= set(lib)
    for name, arr in lib.items():
        assert (recs[name].shape, recs[name].dtype, recs[name].stored_bytes) == (arr.shape, arr.dtype.name, arr.nbytes)
    assert report.totals.params == sum(p.numel() for p in net.parameters())
    assert report.sections["onnx"]["op_counts"]["Gemm"] == 2


def test_model_over_2gb_is_read_from_fields_only(tmp_path: Path) -> None:
    """A 3 GB weight in external data (a sparse file): sizes come from the fields, nothing is loaded."""
    n = 750_000_000  # float32 → 3.0e9 bytes
    tensor = TensorProto(name="huge", data_type=TensorProto.FLOAT, dims=[n])
    tensor.data_location = TensorProto.EXTERNAL
    for k, v in {"location": "huge.bin", "offset": "0", "length": str(4 * n)}.items():
        tensor.external_data.add(key=k, value=v)
    node = helper.make_node("Identity", ["huge"], ["out"], name="id")
    graph = helper.make_graph([node], "big", [], [helper.make_tensor_value_info("out", TensorProto.FLOAT, [n])],
                              [tensor])
    path = tmp_path / "big.onnx"
    path.write_bytes(helper.make_model(graph).SerializeToString())
    with (tmp_path / "huge.bin").open("wb") as fh:
        fh.truncate(4 * n)
    out = run_limited(f"""
        import modelsize
        r = modelsize.inspect({str(path)!r})
        print(r.totals.stored_bytes, r.totals.params, r.sections["onnx"]["external_tensor_bytes"])
    """, limit_mib=1536)
    assert out.split() == [str(4 * n), str(n), str(4 * n)]


def test_external_data_past_the_end_and_outside_the_folder(tmp_path: Path) -> None:
    def model_with(location: str, length: int) -> Path:
        t = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[4])
        t.data_location = TensorProto.EXTERNAL
        for k, v in {"location": location, "offset": "0", "length": str(length)}.items():
            t.external_data.add(key=k, value=v)
        g = helper.make_graph([helper.make_node("Identity", ["w"], ["o"])], "g", [],
                              [helper.make_tensor_value_info("o", TensorProto.FLOAT, [4])], [t])
        p = tmp_path / f"m_{length}.onnx"
        p.write_bytes(helper.make_model(g).SerializeToString())
        return p

    (tmp_path / "w.bin").write_bytes(b"\0" * 8)
    short = model_with("w.bin", 16)
    assert_invalid(lambda: modelsize.inspect(short), short, "'w.bin'", "8 bytes")
    outside = model_with("../../etc/passwd", 16)
    report = modelsize.inspect(outside)
    assert report.sections["onnx"]["external_data"][0]["inside_model_folder"] is False
    assert any("outside" in n for n in report.notes)


def test_not_a_protobuf(tmp_path: Path) -> None:
    path = tmp_path / "junk.onnx"
    path.write_bytes(b"\xff" * 100)
    assert_invalid(lambda: modelsize.inspect(path), path, "protobuf")


@pytest.fixture(scope="module")
def fuzz_seed(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, Path]:
    folder = tmp_path_factory.mktemp("onnx_fuzz")
    return _model().SerializeToString(), folder / "mutant.onnx"


@fuzz_settings(150)
@given(data=st.data())
def test_fuzz_only_our_errors_escape(fuzz_seed: tuple[bytes, Path], data: st.DataObject) -> None:
    seed, path = fuzz_seed
    path.write_bytes(data.draw(mutations(seed)))
    only_our_errors(OnnxReader().read, path)


def _if_model() -> "onnx.ModelProto":
    """An If whose two branches each hold an initializer named 'w', with different shapes and values."""
    def branch(name: str, shape: tuple[int, int]) -> "onnx.GraphProto":
        w = numpy_helper.from_array(np.full(shape, 1.0 if name == "then" else 2.0, np.float32), "w")
        node = helper.make_node("MatMul", ["X", "w"], [f"{name}_out"], name=f"{name}_mm")
        return helper.make_graph([node], name, [], [helper.make_tensor_value_info(f"{name}_out", TensorProto.FLOAT,
                                                                                 [2, shape[1]])], [w])

    outer_w = numpy_helper.from_array(np.ones((4, 4), np.float32), "w")
    nodes = [
        helper.make_node("MatMul", ["X", "w"], ["Y"], name="outer_mm"),
        helper.make_node("If", ["cond"], ["Z"], name="branch", then_branch=branch("then", (4, 3)),
                         else_branch=branch("else", (4, 5))),
    ]
    graph = helper.make_graph(nodes, "torch_jit", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [2, 4]),
                                                   helper.make_tensor_value_info("cond", TensorProto.BOOL, [])],
                              [helper.make_tensor_value_info("Z", TensorProto.FLOAT, [2, "n"])], [outer_w])
    return helper.make_model(graph)


def _all_onnx_tensors(model: "onnx.ModelProto") -> list[np.ndarray]:
    """The library's view: initializers and Constant values of every graph and subgraph."""
    out: list[np.ndarray] = []
    stack = [model.graph]
    while stack:
        g = stack.pop()
        out.extend(numpy_helper.to_array(t) for t in g.initializer)
        for node in g.node:
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.TENSOR:
                    out.append(numpy_helper.to_array(attr.t))
                elif attr.type == onnx.AttributeProto.GRAPH:
                    stack.append(attr.g)
                elif attr.type == onnx.AttributeProto.GRAPHS:
                    stack.extend(attr.graphs)
    return out


def test_same_name_in_subgraphs_is_not_the_same_tensor(tmp_path: Path) -> None:
    path = tmp_path / "if.onnx"
    model = _if_model()
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    report = modelsize.inspect(path)
    check_report(report)
    lib = _all_onnx_tensors(model)
    assert report.totals.params == sum(a.size for a in lib) == 16 + 12 + 20
    assert report.totals.stored_bytes == sum(a.nbytes for a in lib)
    assert report.totals.shared == ()
    assert report.root.kind == "onnx" and report.root.attrs["graph_name"] == "torch_jit"
    shapes = {r.path: r.shape for r in report.root.iter_tensors()}
    assert shapes["branch.then_branch.then_mm.w"] == (4, 3)
    assert shapes["branch.else_branch.else_mm.w"] == (4, 5)


def test_outer_value_read_inside_a_subgraph_is_shared_once(tmp_path: Path) -> None:
    w = numpy_helper.from_array(np.ones((4, 4), np.float32), "w")
    body = helper.make_graph([helper.make_node("MatMul", ["X", "w"], ["o"], name="inner_mm")], "then", [],
                             [helper.make_tensor_value_info("o", TensorProto.FLOAT, None)])
    other = helper.make_graph([helper.make_node("Identity", ["X"], ["p"])], "else", [],
                              [helper.make_tensor_value_info("p", TensorProto.FLOAT, None)])
    nodes = [helper.make_node("MatMul", ["X", "w"], ["Y"], name="outer_mm"),
             helper.make_node("If", ["cond"], ["Z"], name="branch", then_branch=body, else_branch=other)]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [4, 4]),
                                           helper.make_tensor_value_info("cond", TensorProto.BOOL, [])],
                              [helper.make_tensor_value_info("Z", TensorProto.FLOAT, None)], [w])
    path = tmp_path / "outer.onnx"
    onnx.save(helper.make_model(graph), str(path))
    report = modelsize.inspect(path)
    assert report.totals.params == 16 and report.totals.params_per_reference == 32
    assert [(g.owner, g.aliases) for g in report.totals.shared] == [("outer_mm.w", ("branch.then_branch.inner_mm.w",))]


def _constant_weight_model() -> "onnx.ModelProto":
    """Weights held in Constant nodes, as TF/Paddle exports write them: Conv W/B, MatMul B, a shape."""
    rng = np.random.default_rng(0)

    def const(name: str, arr: np.ndarray) -> "onnx.NodeProto":
        return helper.make_node("Constant", [], [name], name=f"Constant_{name}", value=numpy_helper.from_array(arr))

    nodes = [
        const("k", rng.random((8, 3, 3, 3)).astype(np.float32)),
        const("kb", rng.random(8).astype(np.float32)),
        helper.make_node("Conv", ["X", "k", "kb"], ["c"], name="Conv_12"),
        const("shape", np.array([1, -1], np.int64)),
        helper.make_node("Reshape", ["c", "shape"], ["f"], name="Reshape_13"),
        const("fc", rng.random((8 * 4 * 4, 10)).astype(np.float32)),
        helper.make_node("MatMul", ["f", "fc"], ["m"], name="MatMul_14"),
        const("fb", rng.random(10).astype(np.float32)),
        helper.make_node("Add", ["m", "fb"], ["Y"], name="Add_15"),
    ]
    graph = helper.make_graph(nodes, "paddle_graph", [helper.make_tensor_value_info("X", TensorProto.FLOAT,
                                                                                   [1, 3, 6, 6])],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 10])])
    return helper.make_model(graph)


def test_constant_node_weights_are_parameters_under_their_consumer(tmp_path: Path) -> None:
    path = tmp_path / "const.onnx"
    model = _constant_weight_model()
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    report = modelsize.inspect(path)
    check_report(report)
    conv = report.root.find("Conv_12")
    assert conv.kind == "Conv" and [(t.name, t.role, t.shape) for t in conv.tensors] == [
        ("weight", Role.PARAMETER, (8, 3, 3, 3)), ("bias", Role.PARAMETER, (8,))]
    assert report.root.find("MatMul_14").tensors[0].role is Role.PARAMETER
    shape = report.root.find("Reshape_13").tensors[0]
    assert shape.role is Role.METADATA
    bias = report.root.find("Add_15").tensors[0]  # a 1-d float feeding Add: not a known weight slot
    assert bias.role is Role.BUFFER
    assert report.totals.params == 8 * 27 + 8 + 128 * 10
    lib = _all_onnx_tensors(model)
    assert report.totals.stored_bytes == sum(a.nbytes for a in lib)
    assert report.root.find("Constant_k") is None  # no flat Constant rows: each weight sits under its consumer

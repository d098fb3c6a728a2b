"""A remote ONNX file is walked like a local one: its tensor bytes are never requested."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from modelsize.formats import registry, remote
from modelsize.formats.onnx_file import REMOTE_CHUNK
from range_server import RangeServer

onnx = pytest.importorskip("onnx")


def test_remote_onnx_skips_tensor_bytes(server: RangeServer, served: Path) -> None:
    from onnx import TensorProto, helper, numpy_helper

    folder = served / "onnx_inline"
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.random((512, 512)).astype(np.float32), f"w{i}") for i in range(8)]
    nodes = [helper.make_node("MatMul", ["x" if i == 0 else f"h{i}", f"w{i}"], [f"h{i + 1}"], name=f"mm{i}")
             for i in range(8)]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 512])],
                              [helper.make_tensor_value_info("h8", TensorProto.FLOAT, [1, 512])], inits)
    path = folder / "m.onnx"
    onnx.save(helper.make_model(graph), str(path))
    far = remote.read(server.url("onnx_inline/m.onnx"))
    local = registry.read(path)
    assert far.totals.params == local.totals.params == 8 * 512 * 512
    assert [r.to_dict() for r in far.root.iter_tensors()] == [r.to_dict() for r in local.root.iter_tensors()]
    gets = [r for r in server.log.requests if r.path.endswith("onnx_inline/m.onnx") and r.method == "GET"]
    assert len(gets) <= 8 + 4, [g.headers.get("range") for g in gets]  # about one window per tensor header
    assert server.log.bytes_sent <= 10 * REMOTE_CHUNK < path.stat().st_size // 10

"""https:// targets read header-only with Range requests: safetensors (single, sharded), GGUF, ONNX."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import modelsize
from modelsize.core.errors import RemoteError, UnsupportedObjectError
from modelsize.formats import registry, remote
from modelsize.formats.remote import dispatch
from modelsize.testing import check_report
from range_server import LLAMA_70B_PARAMS, RangeServer, apparent_and_real, write_sparse_safetensors

gguf = pytest.importorskip("gguf")
onnx = pytest.importorskip("onnx")


def _ranges(server: RangeServer) -> list[tuple[str, str, str | None]]:
    return [(r.method, r.path, r.headers.get("range")) for r in server.log.requests]


def test_sharded_70b_exact_params_few_bytes(server: RangeServer, served: Path) -> None:
    apparent, real = apparent_and_real(served / "llama70b")
    assert apparent > 137e9 and real < 10e6  # sparse: 138 GB apparent, almost nothing on disk
    report = remote.read(server.url("llama70b/model.safetensors.index.json"))
    assert report.totals.params == LLAMA_70B_PARAMS
    assert report.totals.stored_bytes == 2 * LLAMA_70B_PARAMS
    section = report.sections["remote"]
    index_bytes = (served / "llama70b" / "model.safetensors.index.json").stat().st_size
    assert 16384 < index_bytes < 100_000  # like a real 70B index (~60 KB): first 16 KiB, then the rest
    # 2 GETs for the index + 1 GET per shard: each shard's whole header fits in the first 16 KiB.
    assert section["requests"] == 32 == len(server.log.requests)
    assert section["requests_by_kind"] == {"GET": 32}
    assert section["bytes_transferred"] == server.log.bytes_sent == index_bytes + 30 * 16384
    assert server.log.bytes_sent < 2_000_000
    # Every request is a Range request: the first 16 KiB of each file, the rest of the index.
    assert sorted({rng for _, _, rng in _ranges(server)}) == ["bytes=0-16383", f"bytes=16384-{index_bytes - 1}"]
    assert report.sections["file"]["bytes"] == apparent - (served / "llama70b" / "config.json").stat().st_size
    assert "32 requests" in report.notes[-1]


def test_shards_are_read_in_parallel(server: RangeServer) -> None:
    """0.2 s before every answer: 32 requests one after the other would take 6.4 s."""
    import time

    server.behaviour["latency"] = 0.2
    start = time.perf_counter()
    report = remote.read(server.url("llama70b/model.safetensors.index.json"), remote.RemoteOptions(cache=False))
    elapsed = time.perf_counter() - start
    assert report.totals.params == LLAMA_70B_PARAMS
    # index: 2 sequential round trips; the 30 shard headers: 1 round trip, all at once — counted as
    # the requests the server answered at the same time; the time is only a hang guard (6.4 s, one
    # after the other, is 10× the 0.6 s of three round trips)
    assert len(server.log.requests) == 32 and server.log.peak_in_flight >= 8, server.log.peak_in_flight
    assert elapsed < 6.4


def test_same_report_as_the_local_reader(server: RangeServer, served: Path) -> None:
    local = registry.read(served / "llama70b" / "model.safetensors.index.json")
    far = remote.read(server.url("llama70b/model.safetensors.index.json"))
    check_report(far)
    assert [(r.path, r.shape, r.dtype, r.stored_bytes) for r in far.root.iter_tensors()] == \
        [(r.path, r.shape, r.dtype, r.stored_bytes) for r in local.root.iter_tensors()]
    assert far.sections["file"] == local.sections["file"]
    assert far.source.target == server.url("llama70b/model.safetensors.index.json")


def test_long_header_costs_exactly_one_more_request(server: RangeServer, served: Path) -> None:
    path = served / "long.safetensors"
    tensors = [(f"layer.{i}.a_rather_long_parameter_name.weight", (4, 4)) for i in range(600)]
    write_sparse_safetensors(path, tensors, elem=4, tag="F32")
    header_len = int.from_bytes(path.read_bytes()[:8], "little")
    assert header_len > 16384
    report = remote.read(server.url("long.safetensors"))
    assert report.totals.params == 600 * 16
    assert _ranges(server) == [("GET", "/files/long.safetensors", "bytes=0-16383"),
                               ("GET", "/files/long.safetensors", f"bytes=16384-{8 + header_len - 1}")]
    assert server.log.bytes_sent == 8 + header_len  # coalesced: the header once, nothing more


def _gguf(path: Path) -> None:
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_block_count(2)
    w.add_context_length(4096)
    w.add_embedding_length(256)
    w.add_tensor("token_embd.weight", np.zeros((1024, 1024), np.float32))  # 4 MiB of data
    w.add_tensor("blk.0.attn_q.weight", np.zeros((256, 256), np.float16))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def test_gguf_header_only(server: RangeServer, served: Path) -> None:
    path = served / "tiny.gguf"
    _gguf(path)
    local = registry.read(path)
    far = remote.read(server.url("tiny.gguf"))
    assert far.totals.params == local.totals.params == 1024 * 1024 + 256 * 256
    assert far.sections["gguf"] == local.sections["gguf"]
    size = path.stat().st_size
    assert size > 4 * 1024 * 1024
    # The parser asks for its first 1 MiB chunk (bounded by the header's own lengths), never the data.
    assert far.sections["remote"]["bytes_transferred"] == 1 << 20
    assert far.sections["remote"]["requests"] == 2


def test_onnx_external_data_listed_not_fetched(server: RangeServer, served: Path) -> None:
    from onnx import TensorProto, helper, numpy_helper

    folder = served / "onnx"
    folder.mkdir(exist_ok=True)
    w = numpy_helper.from_array(np.ones((256, 256), np.float32), "fc.weight")
    g = helper.make_graph([helper.make_node("MatMul", ["X", "fc.weight"], ["Y"], name="mm")], "g",
                          [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 256])],
                          [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 256])], [w])
    onnx.save_model(helper.make_model(g), str(folder / "m.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="m.data", size_threshold=0)
    far = remote.read(server.url("onnx/m.onnx"))
    local = registry.read(folder / "m.onnx")
    assert far.totals.params == local.totals.params == 256 * 256
    ext = far.sections["onnx"]["external_data"]
    assert ext == local.sections["onnx"]["external_data"]
    assert ext[0]["bytes"] == 256 * 256 * 4 and ext[0]["exists"] is True
    data_requests = [(m, rng) for m, p, rng in _ranges(server) if p.endswith("m.data")]
    assert data_requests == [("HEAD", None)]  # sized with HEAD, never fetched
    assert server.log.bytes_sent == (folder / "m.onnx").stat().st_size


def test_big_onnx_protobuf_needs_permission(server: RangeServer, served: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.ones((512, 512), np.float32), "w")  # 1 MiB inside the protobuf
    g = helper.make_graph([helper.make_node("MatMul", ["X", "w"], ["Y"])], "g",
                          [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 512])],
                          [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 512])], [w])
    onnx.save_model(helper.make_model(g), str(served / "inline.onnx"))
    monkeypatch.setattr(dispatch, "MAX_REMOTE_WHOLE_BYTES", 1 << 19)
    with pytest.raises(UnsupportedObjectError, match=r"onnx file of 1,048,\d+ bytes.*--download"):
        remote.read(server.url("inline.onnx"))
    assert server.log.bytes_sent == 16384
    report = remote.read(server.url("inline.onnx"), remote.RemoteOptions(allow_download=True))
    assert report.totals.params == 512 * 512


def test_pickle_needs_permission_and_says_why(server: RangeServer, served: Path) -> None:
    import pickle

    (served / "weights.pkl").write_bytes(pickle.dumps({"w": np.zeros((8, 4), np.float32)}, protocol=4))
    url = server.url("weights.pkl")
    with pytest.raises(UnsupportedObjectError, match=r"whole\s+stream.*--download"):
        remote.read(url)
    assert all(rng == "bytes=0-16383" for _, _, rng in _ranges(server))  # only the first bytes, to sniff
    report = remote.read(url, remote.RemoteOptions(allow_download=True))
    assert report.totals.params == 32
    assert any("Downloaded the whole file" in n for n in report.notes)


def test_modelsize_inspect_takes_urls(server: RangeServer) -> None:
    report = modelsize.inspect(server.url("llama70b/model.safetensors.index.json"))
    assert report.totals.params == LLAMA_70B_PARAMS
    # index (2) + 30 shard headers + the config.json beside the index (HEAD, then GET): what --fit reads
    assert report.sections["remote"]["requests"] == 34 and "config" in report.sections


def test_missing_file_and_missing_shard(server: RangeServer, served: Path) -> None:
    with pytest.raises(RemoteError, match="does not exist"):
        remote.read(server.url("nope.safetensors"))
    folder = served / "broken"
    folder.mkdir(exist_ok=True)
    write_sparse_safetensors(folder / "a.safetensors", [("x", (4,))])
    (folder / "model.safetensors.index.json").write_text(
        json.dumps({"weight_map": {"x": "a.safetensors", "y": "b.safetensors"}}))
    with pytest.raises(modelsize.InvalidFileError, match=re.escape("'b.safetensors', which does not exist")):
        remote.read(server.url("broken/model.safetensors.index.json"))


def test_70b_peak_rss_in_a_fresh_process_under_200_mb(server: RangeServer) -> None:
    """The acceptance bound, measured where nothing else shares the process: Python + modelsize + aiohttp."""
    import os
    import subprocess
    import sys

    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the forking parent (this test process).
    code = ("import re, resource, sys\n"
            "from modelsize.formats import remote\n"
            "r = remote.read(sys.argv[1], remote.RemoteOptions(cache=False))\n"
            "try:\n"
            "    hwm = int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))\n"
            "except OSError:\n"
            "    hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
            "print(r.totals.params, hwm)\n")
    src = str(Path(remote.__file__).resolve().parents[3])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", code, server.url("llama70b/model.safetensors.index.json")],
                         capture_output=True, text=True, env=env, timeout=120, check=True)
    params, rss_kib = (int(x) for x in out.stdout.split())
    assert params == LLAMA_70B_PARAMS
    assert rss_kib * 1024 < 200 * 10**6

"""hf://ORG/NAME[@REV][/PATH] through HfApi against a fake Hub (HF_ENDPOINT → the test server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelsize.core.errors import RemoteError, TargetError, UnsupportedObjectError
from modelsize.formats import remote
from range_server import COMMIT, LLAMA_70B, LLAMA_70B_PARAMS, RangeServer


@pytest.fixture
def hub(server: RangeServer, monkeypatch: pytest.MonkeyPatch) -> RangeServer:
    """The fake Hub; the suite's HF_HUB_OFFLINE=1 (no internet) is lifted for it alone."""
    import huggingface_hub.constants

    monkeypatch.setenv("HF_ENDPOINT", server.base)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    return server


def test_hub_offline_mode_means_cache_only(server: RangeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """HF_HUB_OFFLINE=1 (set for this whole suite) is honoured: the cache only, no request."""
    import huggingface_hub.constants

    monkeypatch.setenv("HF_ENDPOINT", server.base)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(RemoteError, match="not in the header cache.*HF_HUB_OFFLINE"):
        remote.read("hf://org/llama70b")
    assert server.log.requests == []


def test_repository_read_header_only(hub: RangeServer) -> None:
    report = remote.read("hf://org/llama70b")
    assert report.totals.params == LLAMA_70B_PARAMS
    assert report.root.kind == "LlamaForCausalLM"
    assert report.sections["config"]["num_key_value_heads"] == LLAMA_70B["num_key_value_heads"]
    paths = [r.path for r in hub.log.requests]
    assert paths[0] == "/api/models/org/llama70b?blobs=true"  # model_info: the commit and the file list
    assert all(p.startswith(f"/org/llama70b/resolve/{COMMIT}/") for p in paths[1:])
    section = report.sections["remote"]
    # 1 API call + config.json + the index (2 requests, ~60 KB) + 30 shard headers
    assert section["requests"] == 34 == len(hub.log.requests)
    assert section["api_calls"] == 1
    assert section["repository"] == {"repo_id": "org/llama70b", "revision": None, "commit": COMMIT,
                                     "endpoint": hub.base}
    assert section["bytes_transferred"] < 2_000_000


def test_token_sent_to_the_hub(hub: RangeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    remote.read("hf://org/llama70b/model-00001-of-00030.safetensors", remote.RemoteOptions(cache=False))
    assert [r.headers.get("authorization") for r in hub.log.requests] == ["Bearer hf_test_token"] * 2


def test_revision_cache_and_offline(hub: RangeServer) -> None:
    remote.read(f"hf://org/llama70b@{COMMIT}")
    hub.log.clear()
    again = remote.read(f"hf://org/llama70b@{COMMIT}")  # a commit never changes: no request at all
    assert again.totals.params == LLAMA_70B_PARAMS and hub.log.requests == []
    remote.read("hf://org/llama70b@main")
    hub.log.clear()
    branch = remote.read("hf://org/llama70b@main")  # a branch moves: one API call, the files are cached
    assert [r.path for r in hub.log.requests] == ["/api/models/org/llama70b/revision/main?blobs=true"]
    assert branch.sections["remote"]["cache"]["hits"] == 32  # config, index, 30 shards
    hub.log.clear()
    offline = remote.read("hf://org/llama70b@main", remote.RemoteOptions(offline=True))
    assert offline.totals.params == LLAMA_70B_PARAMS and hub.log.requests == []


def test_single_file_and_missing_things(hub: RangeServer) -> None:
    one = remote.read("hf://org/llama70b/model-00001-of-00030.safetensors")
    assert one.source.format == "safetensors" and one.totals.params > 0
    with pytest.raises(TargetError, match="No model repository hf://org/nothing"):
        remote.read("hf://org/nothing")
    with pytest.raises(TargetError, match="has no file or folder 'model.gguf'"):
        remote.read("hf://org/llama70b/model.gguf")
    with pytest.raises(TargetError, match="not 'hf://ORG/NAME"):
        remote.read("hf://llama70b")


def test_pickle_only_repository_is_refused(hub: RangeServer, served: Path) -> None:
    folder = served / "hub" / "org" / "old"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text("{}")
    (folder / "pytorch_model.bin").write_bytes(b"PK\x03\x04" + b"\0" * 100)
    with pytest.raises(UnsupportedObjectError, match=r"pickle-based.*\(pytorch_model\.bin\).*--download"):
        remote.read("hf://org/old")


def test_proxies_from_the_environment_are_used(hub: RangeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Hub behind HTTP_PROXY: the API call (huggingface_hub) and the Range reads (aiohttp) both go through it."""
    from huggingface_hub.utils._http import close_session

    monkeypatch.setenv("HF_ENDPOINT", "http://hub.invalid")
    monkeypatch.setenv("HTTP_PROXY", hub.base)
    monkeypatch.setenv("NO_PROXY", "")
    close_session()  # huggingface_hub reads the proxy variables when it makes its client: make it again
    try:
        report = remote.read("hf://org/llama70b/model-00001-of-00030.safetensors",
                             remote.RemoteOptions(cache=False))
    finally:
        monkeypatch.delenv("HTTP_PROXY")
        close_session()  # later tests get a client without the proxy
    assert report.totals.params > 0
    seen = [r.path for r in hub.log.requests]
    assert seen[0] == "http://hub.invalid/api/models/org/llama70b?blobs=true"
    assert seen[1] == f"http://hub.invalid/org/llama70b/resolve/{COMMIT}/model-00001-of-00030.safetensors"


def test_gguf_repository_asks_for_one_file(hub: RangeServer, served: Path) -> None:
    import shutil

    folder = served / "hub" / "org" / "quants"
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("m-Q4_K_M.gguf", "m-Q8_0.gguf"):
        (folder / name).write_bytes(b"GGUF" + b"\0" * 60)
    try:
        with pytest.raises(UnsupportedObjectError, match=r"several weight files \(m-Q4_K_M.gguf, m-Q8_0.gguf\)"
                                                         r".*'hf://org/quants/m-Q4_K_M.gguf'"):
            remote.read("hf://org/quants")
        assert [r.path for r in hub.log.requests] == ["/api/models/org/quants?blobs=true"]  # the listing, nothing else
    finally:
        shutil.rmtree(folder)


def test_onnx_external_data_on_the_hub_is_sized_by_the_listing(hub: RangeServer, served: Path) -> None:
    """The Hub API lists sizes (blobs=True): the external data file costs no request at all."""
    import numpy as np

    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    folder = served / "hub" / "org" / "onnxrepo"
    folder.mkdir(parents=True, exist_ok=True)
    w = numpy_helper.from_array(np.ones((128, 128), np.float32), "w")
    g = helper.make_graph([helper.make_node("MatMul", ["X", "w"], ["Y"], name="mm")], "g",
                          [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 128])],
                          [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 128])], [w])
    onnx.save_model(helper.make_model(g), str(folder / "model.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="model.onnx_data", size_threshold=0)
    report = remote.read("hf://org/onnxrepo/model.onnx")
    ext = report.sections["onnx"]["external_data"]
    assert ext[0]["bytes"] == 128 * 128 * 4 and ext[0]["exists"] is True
    assert [r.path for r in hub.log.requests] == ["/api/models/org/onnxrepo?blobs=true",
                                                  f"/org/onnxrepo/resolve/{COMMIT}/model.onnx"]


def test_hub_page_urls_and_encoded_revisions(hub: RangeServer) -> None:
    from modelsize.formats.remote.hub import parse

    assert parse("hf://org/name@refs%2Fpr%2F1/sub/model.gguf") == ("org/name", "refs/pr/1", "sub/model.gguf")
    page = f"{hub.base}/org/llama70b/blob/main/model-00001-of-00030.safetensors"  # what a browser shows
    report = remote.read(page)
    assert report.totals.params > 0 and report.source.target == page
    assert hub.log.requests[0].path == "/org/llama70b/resolve/main/model-00001-of-00030.safetensors"


def test_repository_safety_counts_pickles_it_did_not_read(hub: RangeServer, served: Path) -> None:
    """Issue 26: a header-only read of a safetensors repository is 'safe' only if the repository holds no
    pickled file a loader may read; a training_args.bin it did not fetch makes it 'unknown' (do not load)."""
    import shutil

    from range_server import write_sparse_safetensors

    folder = served / "hub" / "org" / "tiny"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text('{"architectures": ["Net"]}')
    write_sparse_safetensors(folder / "model.safetensors", [("w", (4, 4))], elem=4, tag="F32")
    try:
        assert remote.read("hf://org/tiny").sections["safety"]["verdict"] == "safe"
        (folder / "training_args.bin").write_bytes(b"\x80\x02cos\nsystem\nX\x04\x00\x00\x00true\x85R.")
        sec = remote.read("hf://org/tiny", remote.RemoteOptions(cache=False)).sections["safety"]
        assert sec["verdict"] == "unknown"
        assert sec["unknown"] == ["training_args.bin: a pickled file of the remote folder, not read (inspect it "
                                  "with --download to judge it)"]
    finally:
        shutil.rmtree(folder)

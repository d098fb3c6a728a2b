"""PyTorch checkpoints read from the zip entries and a static scan of data.pkl — never torch.load."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import modelsize
from modelsize import Role
from modelsize.formats.torch_file import TorchReader
from modelsize.testing import check_report

from formats_helpers import assert_invalid, fuzz_settings, mutations, only_our_errors, run_limited

torch = pytest.importorskip("torch")


def _net() -> "torch.nn.Module":
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 5),
    )


def _storage_view(t: "torch.Tensor") -> tuple:
    dtype = str(t.dtype).removeprefix("torch.")
    return tuple(t.shape), dtype, t.untyped_storage().nbytes()


def _check_against_load(report: modelsize.Report, path: Path, prefix: str = "") -> dict:
    """Tensors in the report equal torch.load(weights_only=True)'s: shapes, dtypes, storage bytes."""
    loaded = torch.load(path, weights_only=True)
    flat: dict[str, torch.Tensor] = {}

    def walk(obj: object, p: str) -> None:
        if isinstance(obj, torch.Tensor):
            flat[p] = obj
        elif isinstance(obj, dict):
            for k, v in obj.items():
                walk(v, f"{p}.{k}" if p else str(k))

    walk(loaded, prefix)
    recs = {r.path: r for r in report.root.iter_tensors()}
    assert set(recs) == set(flat)
    for p, t in flat.items():
        assert (recs[p].shape, recs[p].dtype, recs[p].stored_bytes) == _storage_view(t), p
    return recs


def test_state_dict_matches_torch_load(tmp_path: Path) -> None:
    net = _net()
    path = tmp_path / "model.pt"
    torch.save(net.state_dict(), path)
    report = modelsize.inspect(path)
    check_report(report)
    recs = _check_against_load(report, path)
    assert recs["1.running_mean"].role is Role.BUFFER
    assert recs["1.num_batches_tracked"].role is Role.BUFFER
    assert report.totals.params == sum(p.numel() for p in net.parameters())
    with zipfile.ZipFile(path) as zf:
        data = sum(i.compress_size for i in zf.infolist() if "/data/" in i.filename)
    split = report.sections["file"]["split"]
    assert split["tensor_data"] == data
    assert sum(split.values()) == path.stat().st_size


def test_dtypes_views_and_shared_storage(tmp_path: Path) -> None:
    base = torch.arange(20, dtype=torch.float32)
    emb = torch.randn(7, 3)
    obj = {
        "half": torch.ones(3, 2, dtype=torch.float16),
        "bf16": torch.zeros(5, dtype=torch.bfloat16),
        "f8": torch.zeros(4, dtype=torch.float8_e4m3fn),
        "u16": torch.zeros(2, dtype=torch.uint16),
        "i64": torch.arange(6).reshape(2, 3),
        "flag": torch.tensor([True, False]),
        "view": base[5:9],
        "emb": emb,
        "tied": emb,
    }
    path = tmp_path / "mixed.pt"
    torch.save(obj, path)
    report = modelsize.inspect(path)
    check_report(report)
    recs = _check_against_load(report, path)
    assert recs["view"].meta["storage_offset"] == 5
    assert recs["tied"].storage_key == recs["emb"].storage_key
    shared = {g.owner: g.aliases for g in report.totals.shared}
    assert shared == {"emb": ("tied",)}
    assert report.totals.stored_bytes == sum(
        t.untyped_storage().nbytes() for k, t in obj.items() if k != "tied"
    )


def test_training_checkpoint_reports_optimizer_state(tmp_path: Path) -> None:
    net = _net()
    opt = torch.optim.Adam(net.parameters())
    net(torch.randn(2, 3, 8, 8)).sum().backward()
    opt.step()
    path = tmp_path / "ckpt.pth"
    torch.save({"model": net.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}, path)
    report = modelsize.inspect(path)
    check_report(report)
    recs = _check_against_load(report, path)
    opt_tensors = [r for p, r in recs.items() if p.startswith("optimizer.")]
    n_state = sum(len(s) for s in opt.state_dict()["state"].values())
    assert len(opt_tensors) == n_state
    assert all(r.role is Role.OPTIMIZER_STATE for r in opt_tensors)
    assert report.totals.numel_by_role["optimizer_state"] == sum(
        t.numel() for s in opt.state_dict()["state"].values() for t in s.values()
    )
    assert report.totals.params == sum(p.numel() for p in net.parameters())


def test_pickled_module_gives_the_live_tree(tmp_path: Path) -> None:
    net = _net()
    path = tmp_path / "whole.pt"
    torch.save(net, path)
    report = modelsize.inspect(path)
    check_report(report)
    assert report.root.kind == "Sequential"
    assert [c.kind for c in report.root.children] == ["Conv2d", "BatchNorm2d", "Linear"]  # Flatten holds nothing
    recs = {r.path: r for r in report.root.iter_tensors()}
    for name, p in net.named_parameters():
        assert recs[name].shape == tuple(p.shape)
        assert recs[name].trainable is True
        assert recs[name].role is Role.PARAMETER
    for name, b in net.named_buffers():
        assert recs[name].role is Role.BUFFER
    assert report.sections["pytorch"]["dangerous"] == []


def test_legacy_format(tmp_path: Path) -> None:
    net = _net()
    path = tmp_path / "legacy.pt"
    torch.save(net.state_dict(), path, _use_new_zipfile_serialization=False)
    report = modelsize.inspect(path)
    check_report(report)
    _check_against_load(report, path)
    assert report.sections["pytorch"]["format"] == "legacy"
    split = report.sections["file"]["split"]
    assert sum(split.values()) == path.stat().st_size
    assert split["tensor_data"] == sum(t.untyped_storage().nbytes() for t in net.state_dict().values())


def test_sharded_bin_index(tmp_path: Path) -> None:
    sd = _net().state_dict()
    keys = list(sd)
    torch.save({k: sd[k] for k in keys[:3]}, tmp_path / "pytorch_model-00001-of-00002.bin")
    torch.save({k: sd[k] for k in keys[3:]}, tmp_path / "pytorch_model-00002-of-00002.bin")
    weight_map = {k: f"pytorch_model-0000{1 if i < 3 else 2}-of-00002.bin" for i, k in enumerate(keys)}
    (tmp_path / "pytorch_model.bin.index.json").write_text(json.dumps({"weight_map": weight_map}))
    (tmp_path / "config.json").write_text(json.dumps({"architectures": ["TinyNet"]}))
    for target in (tmp_path / "pytorch_model.bin.index.json", tmp_path):
        report = modelsize.inspect(target)
        check_report(report)
        recs = {r.path: r for r in report.root.iter_tensors()}
        assert set(recs) == set(sd)
        for k, t in sd.items():
            assert (recs[k].shape, recs[k].dtype, recs[k].stored_bytes) == _storage_view(t)
    assert report.root.kind == "TinyNet"


class _RunsCode:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {self.marker}",))


def test_crafted_checkpoint_is_inspected_never_run(tmp_path: Path, marker: Path) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"w": torch.ones(3), "payload": _RunsCode(marker)}, path)
    report = modelsize.inspect(path)
    check_report(report)
    assert f"{os.system.__module__}.system" in report.sections["pytorch"]["dangerous"]
    assert any("arbitrary code" in n for n in report.notes)
    assert [r.path for r in report.root.iter_tensors()] == ["w"]
    assert not marker.exists()


def _rewrite_pickle(src: Path, dst: Path, edit) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.endswith("data.pkl"):
                data = edit(data)
            zout.writestr(info, data)


def test_corrupt_checkpoints(tmp_path: Path) -> None:
    good = tmp_path / "good.pt"
    torch.save({"w": torch.ones(8)}, good)
    cut = tmp_path / "cut.pt"
    cut.write_bytes(good.read_bytes()[:300])
    assert_invalid(lambda: TorchReader().read(cut), cut)

    missing = tmp_path / "missing.pt"
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(missing, "w") as zout:
        for info in zin.infolist():
            if "/data/" not in info.filename:
                zout.writestr(info, zin.read(info))
    assert_invalid(lambda: modelsize.inspect(missing), missing, "storage '0'")

    past = tmp_path / "past.pt"  # a view that claims more elements than its storage holds
    _rewrite_pickle(good, past, lambda d: d.replace(b"K\x08\x85", b"K\x09\x85", 1))
    assert_invalid(lambda: modelsize.inspect(past), past, "past its storage")

    nopkl = tmp_path / "nopkl.pt"
    with zipfile.ZipFile(nopkl, "w") as zf:
        zf.writestr("archive/version", "3")
    assert_invalid(lambda: TorchReader().read(nopkl), nopkl, "data.pkl")


def test_huge_storage_claims_under_a_memory_limit(tmp_path: Path) -> None:
    good = tmp_path / "good.pt"
    torch.save({"w": torch.ones(8)}, good)
    bomb = tmp_path / "bomb.pt"
    # shape (2**62,) on an 8-element storage
    long8 = b"\x8a\x08" + (2**62).to_bytes(8, "little")  # LONG1 with 8 bytes
    _rewrite_pickle(good, bomb, lambda d: d.replace(b"K\x08\x85", long8 + b"\x85", 1))
    out = run_limited(f"""
        import modelsize
        try:
            modelsize.inspect({str(bomb)!r})
        except modelsize.InvalidFileError as exc:
            print("invalid:", exc)
    """, limit_mib=1024)
    assert "invalid:" in out and "past its storage" in out, out


def test_reading_imports_no_torch(tmp_path: Path) -> None:
    path = tmp_path / "m.pt"
    torch.save(_net().state_dict(), path)
    out = run_limited(f"""
        import sys, modelsize
        r = modelsize.inspect({str(path)!r})
        print(r.totals.tensors, "torch" in sys.modules)
    """, limit_mib=2048)
    assert out.split() == [str(len(_net().state_dict())), "False"]


@pytest.fixture(scope="module")
def fuzz_seeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("torch_fuzz")
    net = _net()
    torch.save({"model": net.state_dict(), "step": 3}, folder / "zip.pt")
    torch.save(net.state_dict(), folder / "legacy.pt", _use_new_zipfile_serialization=False)
    return {name: (folder / name).read_bytes() for name in ("zip.pt", "legacy.pt")}


@fuzz_settings(120)
@given(data=st.data())
def test_fuzz_only_our_errors_escape(fuzz_seeds: dict[str, bytes], tmp_path_factory: pytest.TempPathFactory,
                                     data: st.DataObject) -> None:
    seed = fuzz_seeds[data.draw(st.sampled_from(sorted(fuzz_seeds)))]
    path = tmp_path_factory.getbasetemp() / "mutant.pt"
    path.write_bytes(data.draw(mutations(seed)))
    only_our_errors(TorchReader().read, path)


def _flattened_lstm() -> "torch.nn.LSTM":
    """An LSTM whose weights are views at different offsets of one flat buffer (the cuDNN layout)."""
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(10, 20, num_layers=2)
    flat = torch.cat([p.detach().reshape(-1) for p in lstm.parameters()])
    offset = 0
    for name, p in list(lstm.named_parameters()):
        n = p.numel()
        view = torch.as_strided(flat, p.shape, p.stride(), offset)
        setattr(lstm, name, torch.nn.Parameter(view))
        offset += n
    return lstm


def test_views_of_one_storage_are_distinct_tensors(tmp_path: Path) -> None:
    lstm = _flattened_lstm()
    sd = lstm.state_dict()
    assert len({t.untyped_storage().data_ptr() for t in sd.values()}) == 1
    live = modelsize.inspect(lstm).totals
    path = tmp_path / "lstm.pt"
    torch.save(sd, path)
    totals = modelsize.inspect(path).totals
    expected = sum(p.numel() for p in lstm.parameters())
    assert expected == 80 * 10 + 80 * 20 * 3 + 80 * 4  # 5,920: nothing collapsed
    assert live.params == totals.params == expected
    assert totals.shared == () and live.shared == ()
    assert totals.stored_bytes == totals.dense_bytes == expected * 4
    with zipfile.ZipFile(path) as zf:
        assert sum(i.file_size for i in zf.infolist() if "/data/" in i.filename) == expected * 4


def test_a_view_inside_another_tensor_counts_once(tmp_path: Path) -> None:
    w = torch.randn(6, 4)
    obj = {"w": w, "row": w[2], "col": w[:, 1], "t": w.t()}
    path = tmp_path / "views.pt"
    torch.save(obj, path)
    totals = modelsize.inspect(path).totals
    assert totals.params == 24 and totals.stored_bytes == 96
    assert {g.owner: set(g.aliases) for g in totals.shared} == {"w": {"row", "col", "t"}}


def test_a_view_saved_with_its_whole_storage_says_why_stored_exceeds_dense(tmp_path: Path) -> None:
    path = tmp_path / "slice.pt"
    torch.save({"head": torch.arange(100, dtype=torch.float32)[:10]}, path)
    report = modelsize.inspect(path)
    assert report.totals.params == 10
    assert report.totals.stored_bytes == 400 and report.totals.dense_bytes == 40
    assert any("outside every tensor's range" in n for n in report.notes)


def test_live_flattened_lstm_and_containment() -> None:
    lstm = _flattened_lstm()
    assert modelsize.inspect(lstm).totals.params == 5_920
    tied = torch.nn.Module()
    tied.w = torch.nn.Parameter(torch.randn(5, 3))
    tied.row = torch.nn.Parameter(tied.w.data[1])  # a parameter inside another's bytes
    totals = modelsize.inspect(tied).totals
    assert totals.params == 15 and totals.params_per_reference == 18


class _Scripted(torch.nn.Module):
    """Buffers whose names no rule would guess, a frozen parameter, a plain tensor attribute, an empty buffer."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)
        self.bn = torch.nn.BatchNorm2d(4)
        self.fc = torch.nn.Linear(4, 2)
        self.fc.bias.requires_grad_(False)
        self.register_buffer("pos_ids", torch.arange(16))
        self.register_buffer("empty", torch.empty(0))
        self.table = torch.ones(5)  # an attribute: neither parameter nor buffer
        self.scale = 2.0

    def forward(self, x: "torch.Tensor") -> "torch.Tensor":
        return self.fc(self.bn(self.conv(x)).mean((2, 3))) * self.scale + self.table.sum()


@pytest.mark.parametrize("how", ["script", "trace"])
def test_torchscript_parameters_and_buffers_match_jit_load(tmp_path: Path, how: str) -> None:
    net = _Scripted().eval()
    sm = torch.jit.script(net) if how == "script" else torch.jit.trace(net, torch.randn(1, 3, 6, 6))
    path = tmp_path / f"{how}.pt"
    torch.jit.save(sm, str(path))
    report = modelsize.inspect(path)
    check_report(report)
    loaded = torch.jit.load(str(path))
    recs = {r.path: r for r in report.root.iter_tensors()}
    params = {n: p for n, p in loaded.named_parameters()}
    buffers = {n: b for n, b in loaded.named_buffers()}
    assert {p for p, r in recs.items() if r.role is Role.PARAMETER} == set(params)
    assert {p for p, r in recs.items() if r.role is Role.BUFFER} == set(buffers)
    assert {p: r.trainable for p, r in recs.items() if r.role is Role.PARAMETER} == {
        n: p.requires_grad for n, p in params.items()}
    t = report.totals
    assert t.params == sum(p.numel() for p in params.values()) == sum(p.numel() for p in net.parameters())
    assert t.buffers == sum(b.numel() for b in buffers.values())
    assert (t.trainable_params, t.non_trainable_params) == (128, 2)
    assert report.sections["pytorch"]["format"] == "torchscript"
    if how == "script":
        assert recs["table"].role is Role.OTHER

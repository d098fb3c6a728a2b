"""torch_save_size against the size of the file torch.save actually writes."""

from __future__ import annotations

import copy
import os
import warnings

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from modelsize.core.errors import UnsupportedObjectError  # noqa: E402
from modelsize.serialize import torch_records  # noqa: E402
from modelsize.serialize.torch_records import NotPicklableError  # noqa: E402
from modelsize.serialize.torch_save import (  # noqa: E402
    METHOD_ARITHMETIC,
    METHOD_SINK,
    plan_torch_save,
    torch_save_size,
)
from torch_fixtures import SimpleNN, Tied, WithLambda, tiny_gpt2  # noqa: E402

FILENAMES = ["model.pt", "m", "a_much_longer_checkpoint_name-epoch0001.pth", "x.tar.pt"]


def quantized_simple():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(SimpleNN(), {nn.Linear}, dtype=torch.qint8)


def materialise(meta_model):
    """A CPU copy of a meta module: same Python state, tied parameters still tied.

    (``Module.to_empty`` unties weights shared between modules, so it is not used here.)
    """
    twin = copy.deepcopy(meta_model)
    new: dict[int, object] = {}
    for module in twin.modules():
        for slots in (module._parameters, module._buffers):
            for name, t in list(slots.items()):
                if t is None:
                    continue
                if id(t) not in new:
                    cpu = torch.zeros_like(t, device="cpu")
                    new[id(t)] = nn.Parameter(cpu, t.requires_grad) if isinstance(t, nn.Parameter) else cpu
                slots[name] = new[id(t)]
    return twin


def sparse_files_supported(directory) -> bool:
    probe = directory / "sparse-probe"
    with open(probe, "wb") as f:
        f.seek(64 << 20)
        f.write(b"x")
    supported = os.stat(probe).st_blocks * 512 < (1 << 20)
    probe.unlink()
    return supported


def written(obj, path) -> int:
    torch.save(obj, str(path))
    return os.path.getsize(path)


def assert_exact(obj, tmp_path, filename="model.pt"):
    path = tmp_path / filename
    predicted = torch_save_size(obj, str(path))
    actual = written(obj, path)
    assert predicted == actual, (filename, predicted, actual)
    return actual


def test_seed_simple_nn_state_dict_and_module(tmp_path):
    model = SimpleNN()
    assert sum(p.numel() for p in model.parameters()) == 101_770
    sd_size = assert_exact(model.state_dict(), tmp_path)
    module_size = assert_exact(model, tmp_path)
    assert sd_size > 101_770 * 4 and module_size > sd_size  # the module pickle carries more


@pytest.mark.parametrize("filename", FILENAMES)
def test_file_name_changes_the_size_and_we_follow(tmp_path, filename):
    model = SimpleNN()
    assert_exact(model.state_dict(), tmp_path, filename)
    assert_exact(model, tmp_path, filename)


def test_file_object_uses_archive_name(tmp_path):
    model = SimpleNN()
    path = tmp_path / "anything.bin"
    with open(path, "wb") as f:
        torch.save(model.state_dict(), f)
    assert torch_save_size(model.state_dict(), None) == os.path.getsize(path)


def test_tied_weights_are_stored_once(tmp_path):
    model = Tied()
    size = assert_exact(model, tmp_path)
    sd_size = assert_exact(model.state_dict(), tmp_path)
    assert sd_size < 2 * 100 * 16 * 4  # one copy of the shared 100x16 matrix
    assert size > sd_size


def test_tiny_gpt2(tmp_path):
    model = tiny_gpt2()
    assert model.lm_head.weight is model.transformer.wte.weight
    assert_exact(model.state_dict(), tmp_path)
    assert_exact(model, tmp_path)


def test_views_save_their_whole_storage(tmp_path):
    base = torch.arange(1000, dtype=torch.float32).reshape(10, 100)
    sd = {"column": base[:, 3], "transposed": base.t(), "slice": base[2:4], "strided": base[::3, ::7]}
    size = assert_exact(sd, tmp_path)
    assert size > base.numel() * 4  # the full storage, once
    assert size < 2 * base.numel() * 4
    assert_exact({"tail_view": torch.arange(10_000)[9_990:]}, tmp_path)


def test_dtypes_empty_scalars_and_non_tensor_values(tmp_path):
    dtypes = [torch.float32, torch.float16, torch.bfloat16, torch.int8, torch.uint8, torch.bool,
              torch.int64, torch.complex64, torch.float64, torch.int16, torch.uint16,
              torch.float8_e4m3fn, torch.float8_e5m2]
    sd = {str(d): torch.ones(7, 3, dtype=d) for d in dtypes}
    sd.update({
        "empty": torch.zeros(0), "empty_2d": torch.zeros(3, 0, dtype=torch.int64),
        "scalar": torch.tensor(3.5), "scalar_int": torch.tensor(7),
        "step": 1000, "name": "run-42" * 50, "lr": [1e-3, 5e-4], "nested": {"a": torch.ones(2)},
        "none": None,
    })
    assert_exact(sd, tmp_path)
    assert_exact(torch.zeros(0), tmp_path)
    assert_exact(torch.tensor(1.0), tmp_path)


def test_requires_grad_and_plain_python_objects(tmp_path):
    w = torch.randn(5, 5, requires_grad=True)
    assert_exact({"w": w, "g": w * 2}, tmp_path)  # a non-leaf tensor pickles fine too
    assert_exact({"config": {"layers": 12, "names": ["a"] * 30}}, tmp_path)


def test_quantize_dynamic_model(tmp_path):
    model = quantized_simple()
    plan = plan_torch_save(model)
    assert plan.method == METHOD_ARITHMETIC
    assert_exact(model, tmp_path)
    assert_exact(model.state_dict(), tmp_path)


def test_not_picklable_module_raises_our_error(tmp_path):
    model = WithLambda()
    with pytest.raises(Exception):
        torch.save(model, str(tmp_path / "model.pt"))  # torch itself cannot
    with pytest.raises(NotPicklableError, match="cannot pickle"):
        torch_save_size(model)
    assert isinstance(NotPicklableError("x"), UnsupportedObjectError)
    assert_exact(model.state_dict(), tmp_path)  # its state dict is fine


@pytest.mark.parametrize("make", [SimpleNN, Tied, tiny_gpt2])
def test_meta_module_sized_as_its_cpu_twin(make, tmp_path):
    """On the meta device torch.save cannot write data; our size equals the file of the same
    module materialised on the CPU (same shapes, same Python state, same ties)."""
    with torch.device("meta"):
        meta_model = make()
    assert all(p.is_meta for p in meta_model.parameters())
    cpu_model = materialise(meta_model)
    assert not any(p.is_meta for p in cpu_model.parameters())
    for meta_obj, cpu_obj in [(meta_model, cpu_model), (meta_model.state_dict(), cpu_model.state_dict())]:
        plan = plan_torch_save(meta_obj, str(tmp_path / "model.pt"))
        assert plan.meta_tensors > 0
        assert "meta" in plan.method
        assert plan.total == written(cpu_obj, tmp_path / "model.pt")


def test_meta_views_keep_sharing(tmp_path):
    base = torch.empty(40, 10, device="meta")
    meta = {"a": base[:5], "b": base.t(), "c": torch.empty(3, dtype=torch.float8_e4m3fn, device="meta")}
    cpu_base = torch.zeros(40, 10)
    cpu = {"a": cpu_base[:5], "b": cpu_base.t(), "c": torch.zeros(3, dtype=torch.float8_e4m3fn)}
    assert torch_save_size(meta) == written(cpu, tmp_path / "model.pt")


def test_meta_mixed_with_quantized_is_refused():
    obj = {"meta": torch.empty(3, device="meta"),
           "q": torch.quantize_per_tensor(torch.ones(4), 0.1, 0, torch.qint8)}
    with pytest.raises(UnsupportedObjectError):
        torch_save_size(obj)


def test_tensor_larger_than_4gib_end_to_end(tmp_path):
    """A 4 GiB + 123 B tensor, written by torch.save as a sparse file (skip_data, FakeTensor)."""
    if not sparse_files_supported(tmp_path):
        pytest.skip("this filesystem has no sparse files")
    from torch._subclasses.fake_tensor import FakeTensorMode

    n = (4 << 30) + 123
    with FakeTensorMode():
        big = torch.empty(n, dtype=torch.uint8)
    path = tmp_path / "huge.pt"
    with torch.serialization.skip_data(materialize_fake_tensors=True):
        torch.save({"big": big}, str(path))
    meta = {"big": torch.empty(n, dtype=torch.uint8, device="meta")}
    assert torch_save_size(meta, str(path)) == os.path.getsize(path) > n


def test_counting_sink_fallback_is_exact(tmp_path, monkeypatch):
    """If torch's private _save changes shape, the counting sink still gives exact sizes."""
    monkeypatch.setattr(torch_records, "_SAVE_PARAMS", ("something", "else"))
    model = Tied()
    for filename in ("model.pt", "another_name.pt"):
        plan = plan_torch_save(model, str(tmp_path / filename))
        assert plan.method == METHOD_SINK
        assert plan.total == written(model, tmp_path / filename)


def test_counting_sink_fallback_refuses_meta(monkeypatch):
    monkeypatch.setattr(torch_records, "_SAVE_PARAMS", ("something", "else"))
    with torch.device("meta"):
        model = SimpleNN()
    with pytest.raises(UnsupportedObjectError, match="meta"):
        torch_save_size(model)


def test_storage_alignment_setting_is_followed(tmp_path):
    from torch.utils.serialization import config

    model = SimpleNN()
    with config.patch("save.storage_alignment", 4096):
        assert plan_torch_save(model).layout.alignment == 4096
        assert_exact(model.state_dict(), tmp_path)
        assert_exact(model, tmp_path)
    assert plan_torch_save(model).layout.alignment == 64


def test_measuring_leaves_the_model_alone():
    model = tiny_gpt2().train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    grads = [p.requires_grad for p in model.parameters()]
    torch_save_size(model)
    torch_save_size(model.state_dict())
    assert model.training
    assert [p.requires_grad for p in model.parameters()] == grads
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not torch.serialization._serialization_tls.skip_data


def test_plain_objects_skip_torchs_persistent_id() -> None:
    """torch's ``persistent_id`` runs two Python frames per pickled object; only storages have an id,
    so our Pickler answers plain built-in objects itself (issue 20: GPT-2's three sizes in < 20 ms)."""
    import io
    from collections import OrderedDict

    from modelsize.serialize.torch_records import _pickle_module

    torch = pytest.importorskip("torch")
    asked: list[type] = []

    class TorchLike(_pickle_module(torch, False, [0]).Pickler):  # as torch.serialization._save subclasses it
        def persistent_id(self, obj):
            asked.append(type(obj))
            return "storage" if isinstance(obj, torch.UntypedStorage) else None

    storage = torch.zeros(3).untyped_storage()
    data = OrderedDict(a=[1, 2.5, "x", None, True], b=(b"raw", {3}, frozenset({4})), c=storage, f=len, g=io.BytesIO)
    buffer = io.BytesIO()
    TorchLike(buffer, protocol=2).dump(data)
    assert asked == [torch.UntypedStorage]  # the only object that is not a plain built-in
    assert b"storage" in buffer.getvalue()  # its persistent id was written

"""PyTorch adapter: counts, roles, sharing, pruning, quantization, meta device, no side effects."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

import modelsize  # noqa: E402
from modelsize import Role  # noqa: E402
from modelsize.core.errors import UnsupportedObjectError  # noqa: E402
from modelsize.testing import check_adapter, check_bad_input, check_report  # noqa: E402


class SimpleNN(nn.Module):
    """The seed article's model."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(784, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


def records_by_path(report):
    return {r.path: r for r in report.root.iter_tensors()}


def snapshot(model: nn.Module) -> dict:
    """Everything measuring must leave as it was."""
    return {
        "training": [(n, m.training) for n, m in model.named_modules()],
        "hooks": [
            (n, tuple(m._forward_hooks), tuple(m._forward_pre_hooks), tuple(m._backward_hooks),
             tuple(m._state_dict_hooks), tuple(m._load_state_dict_pre_hooks))
            for n, m in model.named_modules()
        ],
        "params": [(n, id(p), p.device.type, p.requires_grad, p.dtype) for n, p in model.named_parameters()],
        "buffers": [(n, id(b), b.device.type) for n, b in model.named_buffers()],
        "state": {k: v.detach().clone() if isinstance(v, torch.Tensor) else v for k, v in model.state_dict().items()},
        "grad_enabled": torch.is_grad_enabled(),
    }


def test_seed_simple_nn_counts():
    report = check_adapter(SimpleNN, snapshot, {"formats": False})
    assert report.totals.params == 101_770
    assert report.totals.trainable_params == 101_770
    assert report.totals.stored_bytes == 101_770 * 4
    assert report.totals.bytes_by_dtype == {"float32": 407_080}
    assert [c.name for c in report.root.children] == ["fc1", "fc2"]
    assert report.root.find("fc1").kind == "Linear"
    assert records_by_path(report)["fc1.weight"].shape == (128, 784)


def test_gpt2_small_tied_weights_counted_once():
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    model = transformers.GPT2LMHeadModel(transformers.GPT2Config())
    report = modelsize.inspect(model, formats=False)
    check_report(report)
    assert report.totals.params == 124_439_808
    assert report.totals.params == sum(p.numel() for p in model.parameters())  # torch dedups by identity
    wte = 50257 * 768
    assert report.totals.params_per_reference == 124_439_808 + wte
    shared = {g.owner: g.aliases for g in report.totals.shared}
    assert shared == {"transformer.wte.weight": ("lm_head.weight",)}
    recs = records_by_path(report)
    assert recs["lm_head.weight"].storage_key == recs["transformer.wte.weight"].storage_key
    assert report.totals.param_bytes == 124_439_808 * 4


def test_bert_base_on_meta_device_without_allocating():
    transformers = pytest.importorskip("transformers")
    with torch.device("meta"):
        model = transformers.BertModel(transformers.BertConfig())
    report = modelsize.inspect(model, formats=False)
    check_report(report)
    assert report.totals.params == 109_482_240
    assert report.source.details["devices"] == ["meta"]
    assert all(r.nnz is None for r in report.root.iter_tensors())
    assert report.totals.sparsity is None
    assert any("meta device" in n for n in report.notes)


def test_meta_and_cpu_give_identical_sizes():
    transformers = pytest.importorskip("transformers")
    config = transformers.GPT2Config(n_layer=2, n_embd=64, n_head=2, vocab_size=500, n_positions=64)
    cpu = modelsize.inspect(transformers.GPT2LMHeadModel(config), formats=False).totals
    with torch.device("meta"):
        meta_model = transformers.GPT2LMHeadModel(config)
    meta = modelsize.inspect(meta_model, formats=False).totals
    for field in ("params", "params_per_reference", "stored_bytes", "buffers", "buffer_bytes", "shared"):
        assert getattr(meta, field) == getattr(cpu, field), field


def test_parameter_list_dict_frozen_and_buffers():
    class Holder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.plist = nn.ParameterList([nn.Parameter(torch.ones(3)), nn.Parameter(torch.ones(2, 2))])
            self.pdict = nn.ParameterDict({"a": nn.Parameter(torch.zeros(5))})
            self.bn = nn.BatchNorm1d(4)
            self.frozen = nn.Linear(4, 4)
            self.frozen.requires_grad_(False)
            self.register_buffer("scratch", torch.zeros(7), persistent=False)

    report = check_adapter(Holder, snapshot, {"formats": False})
    recs = records_by_path(report)
    assert recs["plist.0"].shape == (3,) and recs["plist.1"].shape == (2, 2)
    assert recs["pdict.a"].role is Role.PARAMETER and recs["pdict.a"].nnz == 0
    assert recs["bn.running_mean"].role is Role.BUFFER
    assert recs["bn.num_batches_tracked"].dtype == "int64"
    assert recs["scratch"].meta["persistent"] is False
    totals = report.totals
    assert totals.params == 3 + 4 + 5 + 8 + 20
    assert totals.non_trainable_params == 20
    assert totals.trainable_params == 20
    assert totals.buffers == 4 + 4 + 1 + 7
    assert totals.buffer_bytes == 8 * 4 + 8 + 7 * 4
    assert totals.bytes_by_role["buffer"] == totals.buffer_bytes


def test_l1_unstructured_pruning_reports_sparsity_and_mask_overhead():
    from torch.nn.utils import prune

    def make():
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(100, 50, bias=False))
        prune.l1_unstructured(model[0], name="weight", amount=0.5)
        return model

    report = check_adapter(make, snapshot, {"formats": False})
    recs = records_by_path(report)
    orig, mask = recs["0.weight_orig"], recs["0.weight_mask"]
    assert orig.role is Role.PARAMETER and orig.meta["pruned"] is True
    assert orig.sparsity == pytest.approx(0.5)
    assert orig.stored_bytes == 5000 * 4  # zeros are still stored dense
    assert mask.role is Role.PRUNING_MASK and mask.stored_bytes == 5000 * 4
    assert report.totals.sparsity == pytest.approx(0.5)
    assert report.totals.bytes_by_role == {"parameter": 20_000, "pruning_mask": 20_000}
    pruned = report.root.find("0").attrs["pruned"]["weight"]
    assert pruned["method"] == "L1Unstructured"
    assert pruned["mask_bytes"] == 20_000
    assert any("stored dense" in n for n in report.notes)


def test_pruned_state_dict_is_recognised_by_names():
    from torch.nn.utils import prune

    layer = nn.Linear(20, 10)
    prune.l1_unstructured(layer, name="weight", amount=0.3)
    report = modelsize.inspect(layer.state_dict(), formats=False)
    check_report(report)
    recs = records_by_path(report)
    assert recs["weight_mask"].role is Role.PRUNING_MASK
    assert recs["weight_orig"].sparsity == pytest.approx(0.3)


def test_dynamic_int8_quantization_stored_bytes():
    def make():
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 64))
        return torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)

    report = check_adapter(make, snapshot=None, inspect_kwargs={"formats": False})
    recs = records_by_path(report)
    w0 = recs["0.weight"]
    assert w0.dtype == "qint8" and w0.stored_bytes == 256 * 128 and w0.bits == 8
    assert recs["0.weight.scale"].role is Role.QUANT_SCALE
    assert recs["0.weight.zero_point"].role is Role.QUANT_ZERO_POINT
    assert recs["0.bias"].dtype == "float32"
    weight_bytes = sum(r.stored_bytes for r in recs.values() if r.path.endswith(".weight"))
    fp32_weight_bytes = (256 * 128 + 128 * 64) * 4
    assert weight_bytes == fp32_weight_bytes // 4
    quant_overhead = report.totals.bytes_by_role["quant_scale"] + report.totals.bytes_by_role["quant_zero_point"]
    assert 0 < quant_overhead < 100
    ratio = (weight_bytes + quant_overhead) / fp32_weight_bytes
    assert 0.25 < ratio < 0.251
    assert report.root.find("0").attrs["quantized"] == "DynamicQuantizedLinear"
    assert report.totals.params == 256 * 128 + 128 + 128 * 64 + 64


def test_dynamic_quantized_layers_of_one_shape_are_not_taken_for_shared():
    """Unpacking a quantized Linear makes new tensors each time, freed after the layer: the next
    layer's reuse their ids and storages. Thirty layers of one shape once read as 1,760 parameters
    with 75 of 180 tensors "shared", and non-zeros counted from another layer's weight."""
    def make():
        torch.manual_seed(0)
        model = nn.Sequential(*[nn.Linear(16, 16) for _ in range(30)])
        return torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)

    report = check_adapter(make, snapshot=None, inspect_kwargs={"formats": False})
    assert report.totals.params == 30 * (16 * 16 + 16)
    # per layer: weight, its scale and zero point, bias, the output scale and zero point
    assert report.totals.unique_tensors == report.totals.tensors == 30 * 6
    assert not report.totals.shared
    torch.manual_seed(0)
    weights = [layer.weight() for layer in make()]
    assert report.totals.params_nnz == sum(int(torch.count_nonzero(w.dequantize())) + 16 for w in weights)


def test_per_channel_quantized_tensor_counts_its_scales():
    w = torch.randn(8, 16)
    q = torch.quantize_per_channel(w, torch.rand(8) + 0.01, torch.zeros(8, dtype=torch.long), 0, torch.qint8)
    report = modelsize.inspect({"w": q}, formats=False)
    recs = records_by_path(report)
    assert recs["w"].stored_bytes == 128
    assert recs["w.scale"].shape == (8,) and recs["w.scale"].stored_bytes == 8 * 8
    assert recs["w.zero_point"].stored_bytes == 8 * 8


def test_state_dict_and_training_checkpoint_roles():
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    opt = torch.optim.Adam(model.parameters())
    model(torch.randn(5, 4)).sum().backward()
    opt.step()
    checkpoint = {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}
    report = modelsize.inspect(checkpoint, formats=False)
    check_report(report)
    totals = report.totals
    assert totals.params == 4 * 3 + 3 + 3 + 3
    assert totals.trainability_unknown_params == totals.params
    assert totals.numel_by_role["buffer"] == 3 + 3 + 1
    # Adam keeps exp_avg and exp_avg_sq per parameter, plus a step counter each.
    assert totals.numel_by_role["optimizer_state"] == 2 * totals.params + 4


def test_sparse_tensor_stored_bytes():
    dense = torch.zeros(100, 100)
    dense[0, :10] = 1.0
    sparse = dense.to_sparse_coo()
    report = modelsize.inspect({"s": sparse}, formats=False)
    rec = records_by_path(report)["s"]
    assert rec.nnz == 10
    assert rec.stored_bytes == 10 * 4 + 2 * 10 * 8  # values + int64 indices
    assert rec.dense_bytes == 100 * 100 * 4


def test_unsupported_objects_raise_our_error():
    check_bad_input(lambda: modelsize.inspect(42))
    check_bad_input(lambda: modelsize.inspect({"a": 1}))
    with pytest.raises(TypeError):  # our error is also a TypeError
        modelsize.inspect(object())
    assert issubclass(UnsupportedObjectError, TypeError)


def test_lazy_parameters_are_noted_not_counted_as_zero():
    model = nn.Sequential(nn.LazyLinear(4))
    report = modelsize.inspect(model, formats=False)
    assert report.totals.params == 0
    assert any("uninitialised lazy parameter" in n for n in report.notes)


def test_torchao_int8_weight_only_reports_inner_int8_bytes():
    pytest.importorskip("torchao")
    from torchao.quantization import Int8WeightOnlyConfig, quantize_

    def make():
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(64, 32))
        quantize_(model, Int8WeightOnlyConfig())
        return model

    report = check_adapter(make, snapshot=None, inspect_kwargs={"formats": False})
    recs = records_by_path(report)
    weight = recs["0.weight"]
    assert weight.dtype == "int8" and weight.shape == (32, 64)
    assert weight.stored_bytes == 32 * 64 and weight.bits == 8
    assert weight.meta["logical_dtype"] == "float32"
    assert recs["0.weight.scale"].role is Role.QUANT_SCALE and recs["0.weight.scale"].shape == (32, 1)
    assert report.totals.params == 32 * 64 + 32  # the weight's logical elements, not its scales
    assert report.root.find("0").attrs["quantized"] == "Int8Tensor"
    sd_report = modelsize.inspect(make().state_dict(), formats=False)
    assert records_by_path(sd_report)["0.weight"].stored_bytes == 32 * 64

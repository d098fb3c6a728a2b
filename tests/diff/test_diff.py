"""Model diffs: int8 copy, one layer wider, renamed layers, two formats of one model, the JSON schema."""

from __future__ import annotations

import json
import warnings
from importlib import resources
from pathlib import Path

import pytest

import modelsize
from modelsize.diff import compare

torch = pytest.importorskip("torch")


def diff_schema() -> dict:
    return json.loads(resources.files("modelsize").joinpath("schema/diff.schema.json").read_text())


def validate(data: dict) -> None:
    import jsonschema

    jsonschema.validate(data, diff_schema())


def mlp() -> "torch.nn.Module":
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 4))


def test_int8_quantized_copy() -> None:
    model = mlp()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quantized = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    diff = compare(modelsize.inspect(model, compression=False), modelsize.inspect(quantized, compression=False))
    validate(diff.to_dict())
    by_path = {c.path: c for c in diff.components}
    for path, params in (("0", 16 * 32 + 32), ("2", 32 * 4 + 4)):
        layer = by_path[path]
        assert layer.status == "changed" and layer.old_kind == "Linear" and layer.new_kind == "DynamicQuantizedLinear"
        assert layer.params.old == layer.params.new == params  # quantization keeps every parameter
        assert "float32" in layer.old_dtypes and "qint8" in layer.new_dtypes
    assert by_path["1"].status == "unchanged"  # ReLU
    weights = {t.path: t for t in diff.tensors}
    w0 = weights["0.weight"]
    assert w0.status == "changed" and "dtype" in w0.changes
    assert (w0.old.dtype, w0.new.dtype) == ("float32", "qint8")
    assert w0.new.stored_bytes * 4 == w0.old.stored_bytes == 16 * 32 * 4
    assert weights["0.bias"].status == "unchanged"
    added = sorted(t.path for t in diff.tensors if t.status == "added")
    assert added == sorted(f"{i}.{n}" for i in (0, 2) for n in ("scale", "zero_point", "weight.scale", "weight.zero_point"))
    assert diff.totals["params"].delta == 0
    assert diff.bytes_by_dtype["qint8"].new == 16 * 32 + 32 * 4
    assert diff.totals["stored_bytes"].new == modelsize.inspect(quantized, formats=False).totals.stored_bytes
    formats = {f.format: f for f in diff.formats}
    assert formats["torch.save(state_dict)"].bytes.new < formats["torch.save(state_dict)"].bytes.old


def gpt2(widths: tuple[int, int]) -> "torch.nn.Module":
    transformers = pytest.importorskip("transformers")
    from transformers.pytorch_utils import Conv1D

    config = transformers.GPT2Config(n_embd=32, n_layer=2, n_head=2, n_positions=16, vocab_size=50, n_inner=widths[0])
    torch.manual_seed(0)
    model = transformers.GPT2LMHeadModel(config)
    if widths[1] != widths[0]:  # make block 1's MLP wider than block 0's
        mlp_ = model.transformer.h[1].mlp
        mlp_.c_fc, mlp_.c_proj = Conv1D(widths[1], 32), Conv1D(32, widths[1])
    return model


def test_gpt2_like_models_differing_in_one_layer_width() -> None:
    old, new = gpt2((64, 64)), gpt2((64, 96))
    diff = compare(modelsize.inspect(old, formats=False), modelsize.inspect(new, formats=False))
    validate(diff.to_dict())
    changed = {c.path for c in diff.components if c.status == "changed"}
    assert changed == {"", "transformer", "transformer.h", "transformer.h.1", "transformer.h.1.mlp",
                       "transformer.h.1.mlp.c_fc", "transformer.h.1.mlp.c_proj"}
    assert not [c for c in diff.components if c.status in ("added", "removed", "renamed")]
    extra = (96 - 64) * 32 + (96 - 64) + (96 - 64) * 32  # c_fc weight + bias, c_proj weight
    assert diff.totals["params"].delta == extra
    c_fc = next(c for c in diff.components if c.path == "transformer.h.1.mlp.c_fc")
    assert (c_fc.params.old, c_fc.params.new) == (32 * 64 + 64, 32 * 96 + 96)
    assert c_fc.stored_bytes.ratio == pytest.approx(1.5)
    shapes = {t.path: (t.old.shape, t.new.shape) for t in diff.tensors if t.status == "changed"}
    assert shapes == {"transformer.h.1.mlp.c_fc.weight": ((32, 64), (32, 96)),
                      "transformer.h.1.mlp.c_fc.bias": ((64,), (96,)),
                      "transformer.h.1.mlp.c_proj.weight": ((64, 32), (96, 32))}
    # The tied lm_head is counted once on both sides: params delta equals the real growth.
    assert diff.totals["params"].new == modelsize.inspect(new, formats=False).totals.params


def test_renamed_layers_matched_by_shape_and_position() -> None:
    class Old(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = torch.nn.ModuleList([torch.nn.Linear(8, 8), torch.nn.Linear(8, 4)])

    class New(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.blocks = torch.nn.ModuleList([torch.nn.Linear(8, 8), torch.nn.Linear(8, 4)])
            self.head = torch.nn.Linear(4, 2)

    diff = compare(modelsize.inspect(Old(), formats=False), modelsize.inspect(New(), formats=False))
    renamed = {(c.old_path, c.new_path) for c in diff.components if c.status == "renamed"}
    assert renamed == {("layers", "blocks"), ("layers.0", "blocks.0"), ("layers.1", "blocks.1")}
    assert [c.path for c in diff.components if c.status == "added"] == ["head"]
    tensor_renames = {(t.old.path, t.new.path) for t in diff.tensors if t.status == "renamed"}
    assert ("layers.1.weight", "blocks.1.weight") in tensor_renames and len(tensor_renames) == 4
    assert diff.totals["params"].delta == 4 * 2 + 2


def test_pt_vs_safetensors_of_one_model_differ_only_in_format(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    model = mlp()
    pt, st = tmp_path / "m.pt", tmp_path / "m.safetensors"
    torch.save(model.state_dict(), pt)
    save_file(model.state_dict(), str(st))
    diff = compare(modelsize.inspect(pt), modelsize.inspect(st))
    validate(diff.to_dict())
    assert diff.identical_content
    assert diff.counts("components")["unchanged"] == len(diff.components)
    assert diff.counts("tensors") == {"added": 0, "removed": 0, "renamed": 0, "changed": 0, "unchanged": 4}
    assert all(d.delta == 0 for d in diff.totals.values())
    assert all(d.delta == 0 for d in diff.bytes_by_dtype.values())
    (file_row,) = diff.formats
    assert (file_row.format, file_row.old_label, file_row.new_label) == ("file on disk", "pytorch", "safetensors")
    assert (file_row.bytes.old, file_row.bytes.new) == (pt.stat().st_size, st.stat().st_size)
    assert diff.size_what == "file bytes" and diff.size.delta == st.stat().st_size - pt.stat().st_size
    assert any("different formats" in note for note in diff.notes)


def test_two_7b_sharded_folders_diff_header_only_under_a_second(tmp_path: Path) -> None:
    import importlib.util
    import time

    path = Path(__file__).parents[2] / "benchmarks" / "bench_diff.py"
    spec = importlib.util.spec_from_file_location("bench_diff", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    a, b = tmp_path / "a", tmp_path / "b"
    bench.write_folder(a, bench.llama7b())
    bench.write_folder(b, bench.llama7b(wide_layer=7))
    start = time.perf_counter()
    diff = compare(modelsize.inspect(a), modelsize.inspect(b))
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0, elapsed  # a hang guard: 20× the 0.051 s of benchmarks/bench_diff.py
    assert diff.totals["params"].old == 6_738_415_616  # Llama-2-7B
    assert diff.totals["params"].delta == 3 * (14336 - 11008) * 4096
    assert {c.path for c in diff.components if c.status == "changed" and c.depth >= 3} == {
        "model.layers.7", "model.layers.7.mlp", "model.layers.7.mlp.gate_proj", "model.layers.7.mlp.up_proj",
        "model.layers.7.mlp.down_proj"}


def test_sparsity_change_and_file_vs_live_model(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    model = mlp()
    save_file(model.state_dict(), str(tmp_path / "m.safetensors"))
    pruned = mlp()
    with torch.no_grad():
        pruned[0].weight[:, :8] = 0  # half of the first layer's weights
    diff = compare(modelsize.inspect(model, formats=False), modelsize.inspect(pruned, formats=False))
    w0 = next(t for t in diff.tensors if t.path == "0.weight")
    assert w0.status == "changed" and w0.changes == ("sparsity",)
    assert (w0.old.sparsity, w0.new.sparsity) == (0.0, 0.5)
    layer = next(c for c in diff.components if c.path == "0")
    assert layer.new_sparsity == pytest.approx(256 / (512 + 32))
    assert diff.sparsity[1] == pytest.approx(256 / (512 + 32 + 128 + 4))
    # a file against the live model it was saved from: the same tensors (the file's values are not read)
    against_file = compare(modelsize.inspect(tmp_path / "m.safetensors"), modelsize.inspect(model, formats=False))
    assert against_file.identical_content and against_file.size_what == "tensor bytes"
    assert against_file.size.delta == 0


def test_tied_weights_are_marked_and_drawn_once() -> None:
    from modelsize.render.html_diff import build_tree

    old, new = gpt2((64, 64)), gpt2((64, 96))
    diff = compare(modelsize.inspect(old, formats=False), modelsize.inspect(new, formats=False))
    head = next(t for t in diff.tensors if t.path == "lm_head.weight")
    assert head.old.shared_with == head.new.shared_with == "transformer.wte.weight"
    root = build_tree(diff)
    assert root.data["old-bytes"] == diff.totals["stored_bytes"].old
    assert root.data["new-bytes"] == diff.totals["stored_bytes"].new

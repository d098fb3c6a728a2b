"""Recipes: parameters as given and checked in apply, specs, chains, each technique's real effect."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import pytest
import torch
from shrink_helpers import FAST, SmallCNN, accuracy, seeded

from modelsize.core.errors import OptionError
from modelsize.examples.seed import simple_nn
from modelsize.shrink import (
    BFloat16,
    Chain,
    Distill,
    Float16,
    MagnitudePrune,
    RecipeError,
    RunOptions,
    StaticInt8,
    WeightOnlyInt4,
    WeightOnlyInt8,
    parse_recipe,
    shrink,
    shrink_each,
)
from modelsize.shrink.torch.simulated import detect
from modelsize.testing import check_report, validate_json


def test_parameters_are_stored_as_given_and_checked_when_applied(trained_mlp, mnist):
    recipe = MagnitudePrune(amount=1.5, scope="everywhere")
    assert recipe.get_params()["amount"] == 1.5 and recipe.scope == "everywhere"
    with pytest.raises(OptionError, match=r"The 'amount' option of the 'prune' recipe must be a number in \(0, 1\)\. Got 1\.5\."):
        shrink(trained_mlp, recipe, mnist, options=FAST)
    with pytest.raises(OptionError, match=r"'scope' option of the 'prune' recipe must be one of 'global', 'layer'"):
        shrink(trained_mlp, MagnitudePrune(scope="everywhere"), mnist, options=FAST)
    with pytest.raises(OptionError, match=r"'group_size' option of the 'int4-weight' recipe must be an even integer"):
        shrink(trained_mlp, WeightOnlyInt4(group_size=7), mnist, options=FAST)


def test_specs_build_recipes_and_chains():
    prune = parse_recipe("prune:amount=0.8,scope=layer,skip=fc2")
    assert isinstance(prune, MagnitudePrune)
    assert (prune.amount, prune.scope, prune.skip) == (0.8, "layer", ("fc2",))
    chain = parse_recipe("prune:amount=0.5+int8-dynamic")
    assert isinstance(chain, Chain) and [s.name for s in chain.steps] == ["prune", "int8-dynamic"]
    assert chain.describe() == "prune + int8-dynamic"
    assert parse_recipe("distill:student=none,width=0.25,baseline=false").get_params()["baseline"] is False
    with pytest.raises(OptionError, match="must name one of"):
        parse_recipe("shrinkify")
    with pytest.raises(OptionError, match="'ratio' option is not a setting of the 'prune' recipe"):
        parse_recipe("prune:ratio=0.5")
    with pytest.raises(OptionError, match="key=value"):
        parse_recipe("prune:0.5")


def test_the_original_model_is_never_changed(trained_mlp, mnist):
    before = {k: v.clone() for k, v in trained_mlp.state_dict().items()}
    shrink_each(trained_mlp, [MagnitudePrune(amount=0.9), Float16(), parse_recipe("int8-dynamic")], mnist, options=FAST)
    after = trained_mlp.state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    assert all(p.dtype == torch.float32 for p in trained_mlp.parameters())


@pytest.mark.parametrize("recipe,dtype", [(Float16(), torch.float16), (BFloat16(), torch.bfloat16)])
def test_casts_halve_bytes_in_memory_and_on_disk(trained_mlp, mnist, recipe, dtype):
    result = shrink(trained_mlp, recipe, mnist, options=FAST)
    assert {p.dtype for p in result.model.parameters()} == {dtype}
    assert result.after.stored_bytes * 2 == result.before.stored_bytes
    assert 1.95 < result.deltas()["file_ratio"] < 2.0  # headers are not halved
    assert result.round_trips_ok
    assert abs(result.after.score - result.before.score) <= 0.01


def test_chain_prunes_then_casts_and_the_sparse_file_holds_half_precision(trained_mlp, mnist, tmp_path):
    result = shrink(trained_mlp, parse_recipe("prune:amount=0.8+fp16"), mnist,
                    options=RunOptions(latency_runs=3, save_dir=tmp_path))
    assert result.techniques == ("prune", "fp16")
    assert result.after.primary == "sparse (bitmask/CSR, safetensors)"
    from modelsize.shrink import layouts

    sparse = next(tmp_path.rglob("model.sparse.safetensors"))
    state = layouts.read(sparse)
    assert state["fc1.weight"].dtype == torch.float16
    assert result.after.file_bytes == sparse.stat().st_size
    assert result.before.file_bytes / result.after.file_bytes > 4.5  # fp16 values + 1-bit mask
    assert set(result.details["steps"]) == {"1:prune", "2:fp16"}


class _Recurrent(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = torch.nn.LSTM(8, 32, batch_first=True)
        self.head = torch.nn.Linear(32, 3)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


def test_dynamic_int8_quantizes_lstm_and_says_the_file_needs_the_unsafe_loader():
    import numpy as np

    from modelsize.shrink.data import stratified_split

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5, 8)).astype(np.float32)
    y = (X[:, :, 0].sum(axis=1) > 0).astype(int)
    result = shrink(seeded(_Recurrent), parse_recipe("int8-dynamic"), stratified_split(X, y), options=FAST)
    assert type(result.model.lstm).__name__ == "LSTM" and "quantized" in type(result.model.lstm).__module__
    assert result.after.bytes_by_dtype["qint8"] == 4 * 32 * (8 + 32) + 32 * 3  # LSTM gates + head weights
    saved = next(f for f in result.after.files if f.format == "torch.save(state_dict)")
    assert saved.reproduces and "weights_only=True) refuses" in saved.note and "ScriptObject" in saved.note
    assert result.round_trips_ok


def test_static_int8_calibrates_and_stores_int8(trained_mlp, mnist):
    result = shrink(trained_mlp, StaticInt8(calibration=200), mnist, options=FAST)
    assert result.details["calibration_samples"] == 200
    assert result.deltas()["file_ratio"] > 3.5
    assert result.before.score - result.after.score <= 0.02
    assert result.after.bytes_by_dtype.get("qint8", 0) >= 784 * 128 + 128 * 10
    assert result.round_trips_ok
    module_file = next(f for f in result.after.files if f.format == "torch.save(module)")
    assert module_file.bytes is None and "refused" in module_file.note  # FX GraphModules do not pickle


def test_static_int8_without_calibration_data_names_the_recipe(trained_mlp, mnist):
    from modelsize.shrink import ShrinkData

    with pytest.raises(RecipeError, match=r"'int8-static' recipe cannot be applied: .*calibration data"):
        shrink(trained_mlp, StaticInt8(), ShrinkData(None, None, mnist.test), options=FAST)


def test_torchao_int8_weight_only_is_measured_through_its_int8_codes(trained_mlp, mnist):
    pytest.importorskip("torchao")
    result = shrink(trained_mlp, WeightOnlyInt8(), mnist, options=FAST)
    # Bytes are those of torchao's own inner tensors (int8 codes, scales, zero points) + biases.
    inner = [getattr(w, n) for w in (result.model.fc1.weight, result.model.fc2.weight)
             for n in w.__tensor_flatten__()[0]]
    by_dtype: dict[str, int] = {}
    for t in inner + [result.model.fc1.bias, result.model.fc2.bias]:
        key = str(t.dtype).removeprefix("torch.")
        by_dtype[key] = by_dtype.get(key, 0) + t.numel() * t.element_size()
    assert dict(result.after.bytes_by_dtype) == by_dtype
    assert by_dtype["int8"] >= 784 * 128 + 128 * 10
    assert result.deltas()["file_ratio"] > 3.5
    assert result.before.score - result.after.score <= 0.01
    assert result.round_trips_ok
    assert any("torchao tensor subclasses" in n for n in result.notes)


def test_int4_weight_file_is_about_six_times_smaller_and_flagged_as_float_in_memory(trained_mlp, mnist):
    result = shrink(trained_mlp, WeightOnlyInt4(group_size=32), mnist, options=FAST)
    assert result.after.primary == "packed int4 (safetensors)"
    assert result.deltas()["file_ratio"] > 5.5
    assert result.after.stored_bytes == result.before.stored_bytes  # dequantized: float32 in memory
    sim = result.after.simulated_quantization
    assert sim["found"] and {t["path"] for t in sim["grid_tensors"]} == {"fc1.weight", "fc2.weight"}
    assert result.before.simulated_quantization["found"] is False
    assert result.before.score - result.after.score <= 0.01
    assert result.round_trips_ok


def test_simulated_quantization_is_detected_in_a_qat_prepared_model():
    model = seeded(simple_nn).train()
    with warnings.catch_warnings():  # torch.ao's own deprecation notices
        warnings.simplefilter("ignore")
        model.qconfig = torch.ao.quantization.get_default_qat_qconfig("x86")
        prepared = torch.ao.quantization.prepare_qat(model)
    found = detect(prepared)
    assert found.found and found.fake_quant_modules
    assert "not converted" in found.message()
    # Fake-quantized weight values (float32 on an int8 grid per row) are found too.
    plain = seeded(simple_nn)
    with torch.no_grad():
        w = plain.fc1.weight
        scale = w.abs().amax(dim=1) / 127
        plain.fc1.weight.copy_(torch.fake_quantize_per_channel_affine(w, scale, torch.zeros(128, dtype=torch.int32), 0, -128, 127))
    grid = detect(plain).grid_tensors
    assert [(t.path, t.levels) for t in grid] == [("fc1.weight", 256)]
    assert not detect(seeded(simple_nn)).found  # trained-or-not float weights are not flagged


def test_pruning_is_not_mistaken_for_quantization(trained_mlp, mnist):
    result = shrink(trained_mlp, MagnitudePrune(amount=0.95), mnist, options=RunOptions(accuracy=False, latency=False))
    assert result.after.simulated_quantization["found"] is False


def test_unstructured_pruning_with_finetuning_keeps_the_zeros(trained_mlp, mnist):
    result = shrink(trained_mlp, MagnitudePrune(amount=0.9, scope="layer", finetune=1), mnist, options=FAST)
    assert result.details["finetune"]["epochs_run"] == 1
    for layer in ("fc1", "fc2"):
        w = getattr(result.model, layer).weight
        assert float((w == 0).float().mean()) == pytest.approx(0.9, abs=1e-3)
    assert accuracy(result.model, mnist.test) == pytest.approx(result.after.score)


def test_distillation_derives_a_narrower_student_by_width(trained_mlp, mnist):
    result = shrink(trained_mlp, Distill(width=0.25, epochs=2, baseline=False), mnist, options=FAST)
    assert result.model.fc1.out_features == 32 and result.model.fc2.out_features == 10
    assert result.after.params == 784 * 32 + 32 + 32 * 10 + 10
    assert "student_alone" not in result.details
    assert result.after.score == pytest.approx(accuracy(result.model, mnist.test))


def test_channel_pruning_reports_the_channel_to_parameter_rule(trained_cnn, digits_images):
    result = shrink(trained_cnn, parse_recipe("channels:ratio=0.5"), digits_images, options=FAST)
    layers = result.details["layers"]
    # conv2 loses half its inputs and half its outputs: a quarter of its weights remain.
    assert layers["conv2"]["in"] == [16, 8] and layers["conv2"]["out"] == [32, 16]
    assert layers["conv2"]["estimate"] == 0.25
    assert layers["conv1"]["out"] == [16, 8] and layers["fc"]["out"] == [10, 10]
    assert result.details["params_after"] == sum(p.numel() for p in result.model.parameters())


def test_result_json_is_plain_json_and_the_report_passes_the_kit(trained_mlp, mnist):
    result = shrink(trained_mlp, MagnitudePrune(amount=0.5), mnist, options=FAST)
    data = json.loads(json.dumps(result.to_dict()))
    assert data["after"]["file_bytes"] == result.after.file_bytes
    assert data["before"]["files"][0]["reproduces"] is True
    report = result.as_report()
    check_report(report)
    validate_json(json.loads(json.dumps(report.to_dict())))
    assert report.to_dict()["sections"]["shrink"]["recipe"] == "prune"


def test_models_without_data_can_be_checked_with_an_example_input(trained_cnn):
    x = torch.zeros(4, 1, 8, 8)
    result = shrink(trained_cnn, Float16(), None, options=RunOptions(accuracy=False, latency_runs=2), example_input=x)
    assert result.after.score is None and result.round_trips_ok
    with pytest.raises(RecipeError, match="neither data nor an example_input"):
        shrink(SmallCNN(), Float16(), None, options=RunOptions(accuracy=False))


def test_importing_the_shrink_package_loads_no_framework():
    code = ("import sys, modelsize.shrink, modelsize.shrink.spec, modelsize.shrink.base, modelsize.shrink.result; "
            "print(sorted(m for m in ('torch', 'tensorflow', 'sklearn', 'torchao') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_users_metric_replaces_accuracy(trained_mlp, mnist):
    import numpy as np

    def top2(y_true, scores):
        best = np.argsort(scores, axis=1)[:, -2:]
        return float(np.mean((best == y_true[:, None]).any(axis=1)))

    result = shrink(trained_mlp, Float16(), mnist, metric=top2, options=FAST)
    assert result.metric == "top2"
    logits = trained_mlp(torch.as_tensor(mnist.test.X)).detach().numpy()
    assert result.before.score == pytest.approx(top2(mnist.test.y, logits))
    assert result.before.score > accuracy(trained_mlp, mnist.test)  # top-2 is easier than top-1
    with pytest.raises(OptionError, match="'metric' option must be a function returning a finite number"):
        shrink(trained_mlp, Float16(), mnist, metric=lambda y, s: "high", options=FAST)

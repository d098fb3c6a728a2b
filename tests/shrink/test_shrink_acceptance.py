"""The issue's acceptance criteria, with real training on offline data (MNIST-5k, digits).

Every number the library reports is checked against something measured here: file sizes
against the files on disk, accuracies against predictions computed in the test, reloaded
models against the shrunk model's own outputs.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from shrink_helpers import FAST, ConvOnly, SmallCNN, accuracy, outputs, seeded

from modelsize.examples.seed import simple_nn, student_model
from modelsize.shrink import (
    ChannelPrune,
    Distill,
    DynamicInt8,
    MagnitudePrune,
    RecipeError,
    RunOptions,
    ShrinkData,
    shrink,
)
from modelsize.shrink import layouts
from modelsize.shrink.torch.savers import StructuredSaver


def _file(folder: Path, suffix: str) -> Path:
    matches = [p for p in folder.rglob(f"*{suffix}") if p.name == f"model{suffix}"]
    assert len(matches) == 1, matches
    return matches[0]


def test_dynamic_int8_mlp_file_is_3_5x_smaller_and_accuracy_drops_at_most_one_point(trained_mlp, mnist, tmp_path):
    result = shrink(trained_mlp, DynamicInt8(), mnist, options=RunOptions(latency_runs=5, save_dir=tmp_path))

    # The sizes are those of the files on disk.
    original = _file(tmp_path / "original", ".pt")
    shrunk = _file(tmp_path / "1-int8-dynamic", ".pt")
    assert result.before.file_bytes == original.stat().st_size
    assert result.after.file_bytes == shrunk.stat().st_size
    assert original.stat().st_size / shrunk.stat().st_size >= 3.5
    assert result.deltas()["file_ratio"] == pytest.approx(original.stat().st_size / shrunk.stat().st_size)

    # Accuracies are real: recomputed here on the evaluation split.
    before = accuracy(trained_mlp, mnist.test)
    after = accuracy(result.model, mnist.test)
    assert result.before.score == pytest.approx(before)
    assert result.after.score == pytest.approx(after)
    assert before > 0.8  # a trained model, so the drop means something
    assert before - after <= 0.01

    # The int8 file reloads to the same outputs; the weights really are int8 in the file.
    assert result.round_trips_ok
    state = torch.load(shrunk, weights_only=True)
    packed = state["fc1._packed_params._packed_params"][0]
    assert packed.dtype == torch.qint8 and tuple(packed.shape) == (128, 784)
    assert result.after.latency["median_ns"] > 0 and result.before.latency["median_ns"] > 0


def test_80_percent_pruning_with_sparse_storage_is_2_5x_smaller_and_reloads_exactly(trained_mlp, mnist, tmp_path):
    result = shrink(trained_mlp, MagnitudePrune(amount=0.8), mnist, options=RunOptions(latency_runs=3, save_dir=tmp_path))

    dense_original = _file(tmp_path / "original", ".pt").stat().st_size
    sparse = _file(tmp_path / "1-prune", ".sparse.safetensors")
    assert result.after.primary == "sparse (bitmask/CSR, safetensors)"
    assert result.after.file_bytes == sparse.stat().st_size
    assert dense_original / sparse.stat().st_size >= 2.5

    # 80% of the pruned weights are zero, counted here.
    weights = [result.model.fc1.weight, result.model.fc2.weight]
    zeros = sum(int((w == 0).sum()) for w in weights)
    assert zeros / sum(w.numel() for w in weights) == pytest.approx(0.8, abs=1e-4)

    # Reloading the sparse file into a freshly built SimpleNN reproduces the outputs exactly.
    fresh = simple_nn()
    fresh.load_state_dict(layouts.read(sparse))
    assert torch.equal(outputs(fresh, mnist.test.X), outputs(result.model, mnist.test.X))

    # Dense zeros do not shrink the file; the sparse file does; masks make it larger.
    dense_pruned = _file(tmp_path / "1-prune", ".pt").stat().st_size
    assert dense_pruned == pytest.approx(dense_original, rel=0.01)
    assert result.details["masked_state_dict_bytes"] > 1.9 * dense_original
    assert trained_mlp.fc1.weight.count_nonzero() == trained_mlp.fc1.weight.numel()  # original untouched


def test_structured_pruning_of_half_the_channels_halves_the_parameters_and_reloads(trained_cnn, digits_images, tmp_path):
    result = shrink(trained_cnn, ChannelPrune(ratio=0.5, finetune=2), digits_images,
                    options=RunOptions(latency_runs=3, save_dir=tmp_path))

    before = sum(p.numel() for p in trained_cnn.parameters())
    after = sum(p.numel() for p in result.model.parameters())
    assert (result.before.params, result.after.params) == (before, after)
    assert before / after >= 2
    assert result.model.conv1.out_channels == 8 and result.model.conv2.out_channels == 16
    assert result.model.fc.out_features == 10  # the classifier keeps its classes
    assert result.details["param_ratio"] == pytest.approx(after / before)

    # The shape-carrying file loads into the ORIGINAL architecture (SmallCNN() as written) and
    # runs on the digits, giving the pruned model's outputs.
    path = _file(tmp_path / "1-channels", ".shapes.pt")
    reloaded = StructuredSaver().load(path, SmallCNN())
    assert torch.equal(outputs(reloaded, digits_images.test.X), outputs(result.model, digits_images.test.X))
    assert result.round_trips_ok
    assert accuracy(result.model, digits_images.test) == pytest.approx(result.after.score)


def test_distillation_reports_distilled_and_alone_trained_student_accuracy(trained_teacher, mnist):
    recipe = Distill(student=seeded(student_model), epochs=4, patience=2)
    result = shrink(trained_teacher, recipe, mnist, options=FAST)

    distilled = result.details["student_distilled"]["score"]
    alone = result.details["student_alone"]["score"]
    # Both are real accuracies on the evaluation split: recomputed here from the two models.
    assert distilled == pytest.approx(accuracy(result.model, mnist.test))
    assert alone == pytest.approx(accuracy(result.artifacts["student_alone"], mnist.test))
    for value in (distilled, alone):
        assert 0.5 < value <= 1.0  # far above chance (0.1): both students learned
    assert result.after.params == sum(p.numel() for p in student_model().parameters()) == 101_770
    assert result.before.params == 535_818
    assert result.details["teacher"]["score"] == pytest.approx(accuracy(trained_teacher, mnist.test))
    assert result.details["distillation_gain_points"] == pytest.approx(100 * (distilled - alone), abs=1e-3)


def test_no_evaluation_data_when_accuracy_is_asked_names_the_recipe(trained_mlp, mnist):
    no_eval = ShrinkData(train=mnist.train, val=mnist.val, test=None)
    with pytest.raises(RecipeError, match=r"'int8-dynamic' recipe cannot be evaluated.*no evaluation data"):
        shrink(trained_mlp, DynamicInt8(), no_eval, options=FAST)


def test_int8_dynamic_on_a_model_without_linear_layers_names_the_recipe_and_reason(digits_images):
    with pytest.raises(RecipeError) as info:
        shrink(ConvOnly(), DynamicInt8(), digits_images, options=FAST)
    message = str(info.value)
    assert "'int8-dynamic' recipe cannot be applied" in message
    assert "no Linear or LSTM layers" in message and "Conv2d" in message


def test_distillation_without_training_data_names_the_recipe(trained_mlp, mnist):
    only_eval = ShrinkData(train=None, val=None, test=mnist.test)
    with pytest.raises(RecipeError, match=r"'distill' recipe cannot be applied: .*no training data"):
        shrink(trained_mlp, Distill(), only_eval, options=FAST)


def test_files_are_removed_unless_a_folder_is_given(trained_mlp, mnist, tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    shrink(trained_mlp, MagnitudePrune(amount=0.5), mnist, options=RunOptions(accuracy=False, latency=False))
    assert not [p for p in tmp_path.rglob("*") if p.is_file()], os.listdir(tmp_path)

"""Attention-head pruning on a small transformer classifier trained on digits (8 tokens × 8 features).

The pruned shapes, parameter counts and kept weights are checked against the original model and
against a parameter count written out here from the layer shapes; the saved file is reloaded
into the original class and must give the pruned model's outputs exactly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from shrink_helpers import accuracy, outputs, seeded, single_thread

from modelsize.core.errors import OptionError
from modelsize.shrink import RecipeError, RunOptions, ShrinkData, data as shrink_data, parse_recipe, shrink
from modelsize.shrink.torch.heads import HeadPrune
from modelsize.shrink.torch.savers import StructuredSaver
from modelsize.shrink.torch.train import TrainOptions, fit

D_MODEL, HEADS, FF, LAYERS, TOKENS, FEATURES, CLASSES = 64, 8, 128, 2, 8, 8, 10


class EncoderClassifier(torch.nn.Module):
    """Linear token embedding, two post-norm encoder layers (batch_first), mean pooling, classifier."""

    def __init__(self, d_model: int = D_MODEL, nhead: int = HEADS, classify: bool = True) -> None:
        super().__init__()
        self.embed = torch.nn.Linear(FEATURES, d_model)
        layer = torch.nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward=FF, dropout=0.0, batch_first=True)
        self.encoder = torch.nn.TransformerEncoder(layer, num_layers=LAYERS, enable_nested_tensor=False)
        self.fc = torch.nn.Linear(d_model, CLASSES) if classify else None

    def forward(self, x: Any) -> Any:
        pooled = self.encoder(self.embed(x)).mean(dim=1)
        return self.fc(pooled) if self.fc is not None else pooled


def expected_params(d: int) -> int:
    """Parameters of EncoderClassifier at model width ``d``, written out from the layer shapes."""
    embed = FEATURES * d + d
    attention = (3 * d * d + 3 * d) + (d * d + d)  # in_proj (q, k, v) + out_proj
    feed_forward = (d * FF + FF) + (FF * d + d)
    norms = 2 * (2 * d)
    classifier = d * CLASSES + CLASSES
    return embed + LAYERS * (attention + feed_forward + norms) + classifier


@pytest.fixture(scope="module")
def digits_tokens() -> ShrinkData:
    pytest.importorskip("sklearn")
    return shrink_data.digits(seed=0).reshaped((TOKENS, FEATURES))


@pytest.fixture(scope="module")
def trained_encoder(digits_tokens: ShrinkData) -> Any:
    model = seeded(EncoderClassifier)
    with single_thread():
        fit(model, digits_tokens.train, digits_tokens.val, TrainOptions(epochs=6, lr=3e-3))
    return model.eval()


def _file(folder: Path, suffix: str) -> Path:
    matches = [p for p in folder.rglob(f"*{suffix}") if p.name == f"model{suffix}"]
    assert len(matches) == 1, matches
    return matches[0]


def test_half_the_heads_go_and_the_file_reloads_into_the_original_class(trained_encoder, digits_tokens, tmp_path):
    result = shrink(trained_encoder, HeadPrune(ratio=0.5), digits_tokens,
                    options=RunOptions(latency_runs=3, save_dir=tmp_path))
    pruned = result.model

    # 8 → 4 heads in every layer, head_dim unchanged: the model width falls from 64 to 32.
    for i in range(LAYERS):
        attn = pruned.encoder.layers[i].self_attn
        assert (attn.num_heads, attn.head_dim, attn.embed_dim) == (4, 8, 32)
        assert tuple(attn.in_proj_weight.shape) == (96, 32) and tuple(attn.out_proj.weight.shape) == (32, 32)
        assert result.details["layers"][f"encoder.layers.{i}.self_attn"]["heads"] == [8, 4]
    assert (result.details["heads_before"], result.details["heads_after"]) == (16, 8)
    assert pruned.fc.out_features == CLASSES and pruned.embed.in_features == FEATURES

    # Parameter counts: the written-out formula, torch's own count and the report agree.
    before, after = expected_params(64), expected_params(32)
    assert sum(p.numel() for p in trained_encoder.parameters()) == before == result.before.params == 68_170
    assert sum(p.numel() for p in pruned.parameters()) == after == result.after.params
    assert result.details["param_ratio"] == pytest.approx(after / before)
    assert (result.details["params_before"], result.details["params_after"]) == (before, after)

    # The kept weights are the original ones for the kept heads' channels (nothing retrained).
    removed = result.details["layers"]["encoder.layers.0.self_attn"]["removed_heads"]
    assert len(removed) == 4 and removed == result.details["layers"]["encoder.layers.1.self_attn"]["removed_heads"]
    keep = torch.tensor([h * 8 + j for h in range(8) if h not in removed for j in range(8)])
    rows = torch.cat([keep, keep + 64, keep + 128])
    original = trained_encoder.encoder.layers[0].self_attn
    assert torch.equal(pruned.encoder.layers[0].self_attn.in_proj_weight, original.in_proj_weight[rows][:, keep])
    assert torch.equal(pruned.fc.weight, trained_encoder.fc.weight[:, keep])
    assert trained_encoder.encoder.layers[0].self_attn.num_heads == 8  # original untouched

    # The shape-carrying file loads into EncoderClassifier() as written and reproduces the outputs.
    path = _file(tmp_path / "1-heads", ".shapes.pt")
    reloaded = StructuredSaver().load(path, EncoderClassifier())
    assert reloaded.encoder.layers[1].self_attn.num_heads == 4
    assert torch.equal(outputs(reloaded, digits_tokens.test.X), outputs(pruned, digits_tokens.test.X))
    assert result.round_trips_ok
    assert result.after.primary == StructuredSaver.name
    assert result.after.file_bytes == path.stat().st_size
    assert accuracy(pruned, digits_tokens.test) == pytest.approx(result.after.score)
    score_before = accuracy(trained_encoder, digits_tokens.test)
    assert score_before == pytest.approx(result.before.score)
    assert score_before > 0.5  # a trained model (chance is 0.1), so the score change means something


def test_spec_string_with_a_quarter_of_the_heads_and_l1_importance(trained_encoder, digits_tokens):
    x = torch.as_tensor(digits_tokens.test.X[:16])
    recipe = parse_recipe("heads:ratio=0.25,importance=l1")
    assert isinstance(recipe, HeadPrune) and recipe.importance == "l1"
    result = shrink(trained_encoder, recipe, None, options=RunOptions(accuracy=False, latency=False), example_input=x)
    for i in range(LAYERS):
        assert result.model.encoder.layers[i].self_attn.num_heads == 6
    assert result.after.params == sum(p.numel() for p in result.model.parameters()) == expected_params(48)
    assert result.round_trips_ok


def test_a_model_without_attention_is_refused_with_the_layers_it_has():
    data = shrink_data.digits(seed=0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 10))
    with pytest.raises(RecipeError) as info:
        shrink(model, HeadPrune(), data, options=RunOptions(latency=False))
    assert str(info.value).startswith(
        "The 'heads' recipe cannot be applied: the model has no attention layers (it has: Linear).")


def test_heads_coupled_to_the_model_outputs_are_refused():
    # Without a classifier the pooled residual stream is the output: removing heads would narrow it.
    model = seeded(lambda: EncoderClassifier(d_model=16, nhead=4, classify=False))
    x = torch.randn(4, TOKENS, FEATURES, generator=torch.Generator().manual_seed(0))
    with single_thread(), pytest.raises(RecipeError, match="coupled to the outputs of the output layer"):
        shrink(model, HeadPrune(), None, options=RunOptions(accuracy=False, latency=False), example_input=x)


@pytest.mark.parametrize("kwargs, message", [
    ({"ratio": 1.0}, "The 'ratio' option of the 'heads' recipe must be a number in (0, 1). Got 1.0."),
    ({"importance": "taylor"}, "The 'importance' option of the 'heads' recipe must be one of"),
])
def test_bad_options_are_refused_when_the_work_runs(trained_encoder, digits_tokens, kwargs, message):
    recipe = HeadPrune(**kwargs)  # builds fine: parameters are stored as given
    x = torch.as_tensor(digits_tokens.test.X[:4])
    with pytest.raises(OptionError) as info:
        shrink(trained_encoder, recipe, None, options=RunOptions(accuracy=False, latency=False), example_input=x)
    assert str(info.value).startswith(message)


def test_finetuning_after_head_pruning_trains_the_narrow_model(trained_encoder, digits_tokens):
    result = shrink(trained_encoder, HeadPrune(ratio=0.5, finetune=1), digits_tokens,
                    options=RunOptions(latency=False))
    assert result.details["finetune"]["epochs_run"] == 1
    assert result.model.encoder.layers[0].self_attn.num_heads == 4  # training keeps the pruned shapes
    assert result.after.params == expected_params(32)
    assert accuracy(result.model, digits_tokens.test) == pytest.approx(result.after.score)
    assert result.round_trips_ok

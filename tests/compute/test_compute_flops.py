"""FLOPs and MACs on fake tensors: hand-computed numbers, FlopCounterMode's numbers, coverage."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count  # noqa: E402

from modelsize.compute import profile  # noqa: E402
from modelsize.compute.flops import COUNTED, EXCLUDED, NOT_COUNTED, ZERO  # noqa: E402


def seed_cnn() -> nn.Module:
    """The seed article's Keras CNN, in PyTorch."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(1600, 64), nn.ReLU(), nn.Linear(64, 10),
    )


# Hand arithmetic for a 1×1×28×28 input:
#   conv1: 26·26 outputs × 32 filters × (1·3·3) = 194,688
#   pool → 13×13; conv2: 11·11 × 64 × (32·3·3) = 2,230,272
#   pool → 5×5×64 = 1,600; fc1: 1,600 × 64 = 102,400; fc2: 64 × 10 = 640
SEED_MACS = {"0": 194_688, "3": 2_230_272, "7": 102_400, "9": 640}


def test_seed_cnn_macs_match_hand_arithmetic() -> None:
    prof = profile(seed_cnn(), "1x1x28x28")
    assert prof.macs == 2_528_000 == sum(SEED_MACS.values())
    for path, macs in SEED_MACS.items():
        assert prof.modules[path].forward.macs == macs
    assert prof.modules[""].forward.macs == 2_528_000
    # Elementwise, by the stated rules: conv biases (26·26·32 + 11·11·64), relus (same + 64),
    # max pools (13·13·32·4 + 5·5·64·4 comparisons), linear biases (64 + 10).
    conv_bias = 26 * 26 * 32 + 11 * 11 * 64
    relu = 26 * 26 * 32 + 11 * 11 * 64 + 64
    pool = 13 * 13 * 32 * 4 + 5 * 5 * 64 * 4
    assert prof.forward.elementwise_flops == conv_bias + relu + pool + 64 + 10
    assert prof.flops == 2 * 2_528_000 + prof.forward.elementwise_flops


def test_no_elementwise_switch_leaves_macs_only() -> None:
    prof = profile(seed_cnn(), "1x1x28x28", include_elementwise=False)
    assert prof.flops == 2 * prof.macs == 5_056_000
    statuses = {o.op: o.status for o in prof.coverage.ops}
    assert statuses["aten.relu"] == EXCLUDED
    assert statuses["aten.max_pool2d_with_indices"] == EXCLUDED
    assert statuses["aten.convolution"] == COUNTED


def _flop_counter_by_op(fn) -> dict[str, int]:
    with FlopCounterMode(display=False) as counter:
        fn()
    return {str(op): n for op, n in counter.get_flop_counts().get("Global", {}).items()}


@pytest.mark.parametrize("batch", [1, 4])
def test_forward_and_backward_equal_flop_counter_mode(batch: int) -> None:
    model = seed_cnn()
    x = torch.zeros(batch, 1, 28, 28)
    reference = _flop_counter_by_op(lambda: model(x).sum().backward())
    model.zero_grad(set_to_none=True)
    prof = profile(model, f"{batch}x1x28x28", backward=True)
    ours: dict[str, int] = {}
    for cov in (prof.coverage, prof.backward_coverage):
        for stat in cov.ops:
            if stat.macs:
                ours[stat.op] = ours.get(stat.op, 0) + 2 * stat.macs
    assert reference  # FlopCounterMode counted something
    for op, flops in reference.items():
        assert ours[op] == flops, op
    assert 2 * (prof.forward.macs + prof.backward.macs) == sum(reference.values())


def test_attention_matmuls_counted_and_equal_flop_counter_where_it_counts() -> None:
    """A tiny GPT-2: FlopCounterMode misses CPU fused attention; we count it with torch's formula."""
    transformers = pytest.importorskip("transformers")
    config = transformers.GPT2Config(n_layer=2, n_head=4, n_embd=64, vocab_size=100, n_positions=64,
                                     attn_implementation="sdpa")
    model = transformers.GPT2LMHeadModel(config).eval()
    ids = torch.zeros(2, 16, dtype=torch.long)
    with torch.no_grad():
        reference = _flop_counter_by_op(lambda: model(input_ids=ids))
    prof = profile(model, {"input_ids": "2x16:int64"})
    by_op = {o.op: o for o in prof.coverage.ops}
    for op, flops in reference.items():
        assert 2 * by_op[op].macs == flops, op
    attn = by_op["aten._scaled_dot_product_flash_attention_for_cpu"]
    per_layer = sdpa_flop_count((2, 4, 16, 16), (2, 4, 16, 16), (2, 4, 16, 16))
    assert per_layer == 2 * 2 * (2 * 4 * 16 * 16 * 16)  # QKᵀ and A·V, 2 FLOPs per MAC
    assert attn.calls == 2 and 2 * attn.macs == 2 * per_layer
    assert "aten._scaled_dot_product_flash_attention_for_cpu" not in reference


def test_op_without_formula_is_listed_not_zeroed() -> None:
    class Sort(nn.Module):  # a sort has no FLOP formula (topk counts 1 per input: MoE routers)
        def forward(self, x):
            return torch.sort(x).values * 2

    prof = profile(Sort(), "4x10")
    assert prof.coverage.not_counted == {"aten.sort": 1}
    assert any("aten.sort ×1" in note for note in prof.notes)
    data = prof.to_dict()["coverage"]
    assert data["not_counted"] == {"aten.sort": 1}
    assert data["counted"] == {"aten.mul": 1}
    assert data["calls_by_status"][NOT_COUNTED] == 1


def test_views_and_copies_are_zero_by_definition() -> None:
    prof = profile(nn.Sequential(nn.Flatten(), nn.Linear(12, 2)), "2x3x4")
    zero = prof.coverage.by_status(ZERO)
    assert zero == {"aten.view": 1, "aten.t": 1}
    assert prof.macs == 2 * 12 * 2


def test_module_paths_are_named_modules_paths() -> None:
    model = nn.Sequential(nn.Linear(8, 8), nn.Sequential(nn.Linear(8, 4), nn.ReLU()))
    prof = profile(model, "3x8")
    assert set(prof.modules) == {name for name, _ in model.named_modules()}
    assert prof.modules["1"].forward.macs == prof.modules["1.0"].forward.macs == 3 * 8 * 4
    assert prof.modules[""].forward.macs == 3 * 8 * 8 + 3 * 8 * 4
    assert prof.modules["1.0"].kind == "Linear"


def test_shared_module_counts_every_call() -> None:
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(5, 5)

        def forward(self, x):
            return self.fc(self.fc(x))

    prof = profile(Twice(), "2x5")
    assert prof.modules["fc"].calls == 2
    assert prof.modules["fc"].forward.macs == 2 * (2 * 5 * 5)

"""Training stand-ins save for backward what the real modules save.

The real module runs on real tensors under ``saved_tensors_hooks`` (unique non-parameter storages
autograd keeps for backward); the profile runs the stand-in on fake tensors. GRU: the stand-in
repeats ATen's GRU cell with its in-place ops, so the bytes are equal (they were 1.13× before);
MoE dispatch (one expert on the T·k routed rows): within ±5 % of transformers' grouped-mm
experts.
"""

from __future__ import annotations

import pytest

from modelsize.compute import ComputeOptions, run

torch = pytest.importorskip("torch")


def real_saved_bytes(model, x) -> int:  # noqa: ANN001
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    seen: dict[int, int] = {}

    def pack(t):  # noqa: ANN001, ANN202
        storage = t.untyped_storage()
        if storage.data_ptr() not in params and storage.nbytes() > 0:
            seen[storage.data_ptr()] = storage.nbytes()
        return t

    model.train()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(x)
    return sum(seen.values())


def ours(model, shape: tuple[int, ...]) -> int:  # noqa: ANN001
    return run(model, "x".join(map(str, shape)), ComputeOptions(backward=True)).memory.saved_for_backward_bytes


class First(torch.nn.Module):
    """The first output of a module that returns a tuple (an RNN, a MoE block with router logits)."""

    def __init__(self, inner) -> None:  # noqa: ANN001
        super().__init__()
        self.inner = inner

    def forward(self, x):  # noqa: ANN001, ANN201
        out = self.inner(x)
        return out[0] if isinstance(out, tuple) else out


@pytest.mark.parametrize("layers,batch_first,shape", [(2, True, (4, 50, 64)), (1, False, (20, 2, 64))])
def test_gru_saved_for_backward_equals_the_real_gru(layers: int, batch_first: bool, shape: tuple[int, ...]) -> None:
    torch.manual_seed(0)
    gru = First(torch.nn.GRU(64, 128, num_layers=layers, batch_first=batch_first))
    real = real_saved_bytes(gru, torch.randn(*shape))
    assert ours(gru, shape) == real
    if layers == 2:
        # Per layer: input rows, h0, and per row 7 × hidden floats (gates 3H, new gate, two copies
        # the in-place ops need, the previous hidden state); the last step's state is not saved.
        rows, hidden = 4 * 50, 128
        per_layer = lambda width: (rows * width + 4 * hidden + rows * 6 * hidden + (rows - 4) * hidden) * 4  # noqa: E731
        assert real == per_layer(64) + per_layer(128) == 1_587_200


def _moe_blocks():  # noqa: ANN202
    transformers = pytest.importorskip("transformers")
    common = dict(hidden_size=256, num_hidden_layers=1, num_attention_heads=4, vocab_size=100)
    mixtral = transformers.MixtralForCausalLM(transformers.MixtralConfig(
        intermediate_size=512, num_local_experts=8, num_experts_per_tok=2, num_key_value_heads=2, **common))
    qwen = transformers.Qwen2MoeForCausalLM(transformers.Qwen2MoeConfig(
        intermediate_size=512, moe_intermediate_size=128, shared_expert_intermediate_size=256, num_experts=8,
        num_experts_per_tok=4, num_key_value_heads=2, **common))
    return {"mixtral": mixtral.model.layers[0].mlp, "qwen2-moe": qwen.model.layers[0].mlp}


@pytest.mark.parametrize("name", ["mixtral", "qwen2-moe"])
def test_moe_dispatch_saved_for_backward_within_5_percent(name: str) -> None:
    torch.manual_seed(0)
    block = First(_moe_blocks()[name])
    shape = (2, 256, 256)
    real = real_saved_bytes(block, torch.randn(*shape))
    assert 0.95 <= ours(block, shape) / real <= 1.05

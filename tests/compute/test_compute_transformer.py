"""``torch.nn.Transformer`` called the documented way profiles in full and equals a hand count.

The encoder's fused fast path (``_transformer_encoder_layer_fwd``) is switched off during the
trace, and ``_detect_is_causal_mask`` is answered structurally on fake tensors.
"""

from __future__ import annotations

import pytest

import modelsize
from modelsize.compute import ComputeOptions

torch = pytest.importorskip("torch")

D, HEADS, FF, LAYERS, SRC, TGT, BATCH = 32, 4, 64, 2, 10, 6, 2


def hand_macs() -> int:
    """Every linear weight once per token it sees, plus QKᵀ and A·V over the full score matrix."""
    proj = 4 * D * D  # q, k, v, out
    ffn = 2 * D * FF
    encoder = SRC * (proj + ffn + 2 * SRC * D)
    decoder = TGT * (proj + 2 * D * D + ffn + 2 * TGT * D + 2 * SRC * D) + SRC * 2 * D * D  # cross K/V on memory
    return BATCH * LAYERS * (encoder + decoder)


def _model(device: str = "cpu"):  # noqa: ANN202
    torch.manual_seed(0)
    with torch.device(device):
        return torch.nn.Transformer(d_model=D, nhead=HEADS, num_encoder_layers=LAYERS, num_decoder_layers=LAYERS,
                                    dim_feedforward=FF, batch_first=True).eval()


class Causal(torch.nn.Module):
    """The documented call: the mask made inside forward; ``tgt_is_causal`` optional."""

    def __init__(self, model, hint: bool) -> None:  # noqa: ANN001
        super().__init__()
        self.model, self.hint = model, hint

    def forward(self, src, tgt):  # noqa: ANN001, ANN201
        mask = torch.nn.Transformer.generate_square_subsequent_mask(tgt.shape[1])
        if self.hint:
            return self.model(src, tgt, tgt_mask=mask, tgt_is_causal=True)
        return self.model(src, tgt, tgt_mask=mask)


def _profile(model, inputs, **options):  # noqa: ANN001, ANN003, ANN202
    return modelsize.inspect(model, formats=False, inputs=inputs,
                             compute=ComputeOptions(**options)).to_dict()["sections"]["compute"]


def test_hand_count() -> None:
    assert hand_macs() == 705_536


@pytest.mark.parametrize("hint", [False, True])
@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_documented_call_counts_in_full(hint: bool, device: str) -> None:
    before = torch.backends.mha.get_fastpath_enabled()
    compute = _profile(Causal(_model(device), hint), [f"{BATCH}x{SRC}x{D}", f"{BATCH}x{TGT}x{D}"])
    assert compute["forward"]["macs"] == hand_macs()
    assert compute["coverage"]["not_counted"] == {}
    assert torch.backends.mha.get_fastpath_enabled() is before


def test_real_mask_passed_by_keyword_and_training_step() -> None:
    src, tgt = torch.zeros(BATCH, SRC, D), torch.zeros(BATCH, TGT, D)
    causal = torch.nn.Transformer.generate_square_subsequent_mask(TGT)
    compute = _profile(_model(), {"src": src, "tgt": tgt, "tgt_mask": causal}, backward=True)
    assert compute["forward"]["macs"] == hand_macs()
    assert compute["coverage"]["not_counted"] == {} and compute["backward"]["macs"] > 0
    # A mask that is not causal is applied as given: the same multiply-adds.
    other = torch.zeros(TGT, TGT)
    assert _profile(_model(), {"src": src, "tgt": tgt, "tgt_mask": other})["forward"]["macs"] == hand_macs()


def test_fastpath_switch_and_mask_check_restored() -> None:
    from torch.nn.modules import transformer

    detect, generate = transformer._detect_is_causal_mask, transformer._generate_square_subsequent_mask
    torch.backends.mha.set_fastpath_enabled(True)
    try:
        _profile(Causal(_model(), False), [f"1x{SRC}x{D}", f"1x{TGT}x{D}"])
        assert torch.backends.mha.get_fastpath_enabled() is True
        assert (transformer._detect_is_causal_mask, transformer._generate_square_subsequent_mask) == (detect, generate)
    finally:
        torch.backends.mha.set_fastpath_enabled(True)

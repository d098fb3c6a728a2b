"""Recurrent layers (LSTM, GRU, RNN; uni/bidirectional, stacked, batch_first, packed) counted
forward and backward, against hand counts.

Hand-count conventions (module docstring of ``compute.flops``): per row through a cell (a row
is one time step of one sequence), the gate matmuls ``G·H·(I + H)`` MACs with G = 4 (LSTM),
3 (GRU), 1 (RNN). Elementwise per hidden unit and row: LSTM 21 (gate sum 4, bias adds 8,
activations 4, cell update 3, tanh(c) 1, output gate 1), GRU 16 (bias adds 6, r/z sums 2 and
sigmoids 2, r·h_n 1, + i_n 1, tanh 1, h' = n + z·(h − n) 3), RNN 2 (bias add, tanh) + 1 bias.
"""

from __future__ import annotations

import time

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from modelsize.compute import profile  # noqa: E402
from modelsize.compute.flops import NOT_COUNTED  # noqa: E402

T, B, I, H = 50, 2, 16, 32
ROWS = T * B


class First(nn.Module):
    """Returns the RNN's output sequence (``rnn(x)[0]``), or its rows for a packed input."""

    def __init__(self, rnn: nn.Module) -> None:
        super().__init__()
        self.rnn = rnn

    def forward(self, x):  # noqa: ANN001
        out = self.rnn(x)[0]
        return out.data if hasattr(out, "batch_sizes") else out


def _macs(gates: int, inp: int, hidden: int, rows: int) -> int:
    return rows * gates * hidden * (inp + hidden)


def _close(got: int, want: int) -> None:
    assert abs(got - want) <= 0.001 * want, (got, want)


def test_lstm_stacked_batch_first_forward_and_backward() -> None:
    prof = profile(First(nn.LSTM(I, H, num_layers=2, batch_first=True)), f"{B}x{T}x{I}", backward=True)
    want = _macs(4, I, H, ROWS) + _macs(4, H, H, ROWS)
    assert prof.macs == want == 1_433_600
    assert prof.forward.flops == 2 * want + 2 * ROWS * H * 21
    # Backward of the fused layer: input, hidden and weight gradients = 2 × forward MACs,
    # twice the gate math.
    assert prof.backward.macs == 2 * want
    _close(prof.backward.flops, 2 * (2 * want) + 2 * 2 * ROWS * H * 21 + _backward_rest(prof))
    assert not prof.coverage.not_counted and not prof.backward_coverage.not_counted


def _backward_rest(prof) -> int:  # noqa: ANN001
    """Elementwise backward FLOPs outside the LSTM kernels (the output gradient's seed)."""
    return sum(o.elementwise_flops for o in prof.backward_coverage.ops if "rnn" not in o.op)


def test_bidirectional_lstm_counts_both_directions() -> None:
    prof = profile(First(nn.LSTM(I, H, num_layers=2, bidirectional=True)), f"{T}x{B}x{I}")
    want = 2 * _macs(4, I, H, ROWS) + 2 * _macs(4, 2 * H, H, ROWS)
    assert prof.macs == want == 3_686_400
    assert prof.modules["rnn"].forward.macs == want


def test_gru_forward_and_backward() -> None:
    prof = profile(First(nn.GRU(I, H, batch_first=True)), f"{B}x{T}x{I}", backward=True)
    want = _macs(3, I, H, ROWS)
    assert prof.macs == want == 460_800
    assert prof.forward.flops == 2 * want + ROWS * H * 16
    # Weight gradients of both matmuls, and the hidden-state gradient at every step but the
    # first (h0 is a constant); the input needs no gradient.
    ih, hh = ROWS * 3 * H * I, ROWS * 3 * H * H
    assert prof.backward.macs == ih + hh + (T - 1) * B * 3 * H * H
    assert not prof.coverage.not_counted


def test_stacked_tanh_rnn() -> None:
    prof = profile(First(nn.RNN(I, H, num_layers=2)), f"{T}x{B}x{I}")
    assert prof.macs == _macs(1, I, H, ROWS) + _macs(1, H, H, ROWS) == 358_400
    assert prof.forward.elementwise_flops == 2 * ROWS * H * 4  # two bias adds, the sum, tanh


def test_packed_sequences_count_only_the_real_rows() -> None:
    from torch.nn.utils.rnn import pack_padded_sequence

    lengths = [50, 30]
    packed = pack_padded_sequence(torch.randn(B, T, I), torch.tensor(lengths), batch_first=True)
    for rnn, gates in ((nn.LSTM(I, H, batch_first=True), 4), (nn.GRU(I, H, batch_first=True), 3)):
        prof = profile(First(rnn), [packed], backward=True)
        assert prof.macs == _macs(gates, I, H, sum(lengths))
        assert prof.backward.macs > prof.macs


class ConvLSTM(nn.Module):
    """The 1.3 M-parameter Conv+LSTM of issue 14 (input 1×40×200: 40 features, 200 frames)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Sequential(nn.Conv1d(40, 128, 5, padding=2), nn.BatchNorm1d(128), nn.ReLU())
        self.lstm = nn.LSTM(128, 256, num_layers=2, batch_first=True, dropout=0.1)
        self.head = nn.Linear(256, 1400)

    def forward(self, x):  # noqa: ANN001
        h = self.conv(x).transpose(1, 2)
        out, _ = self.lstm(h)
        return self.head(out)


def conv_lstm_hand_macs(frames: int = 200) -> int:
    conv = frames * 128 * 40 * 5
    lstm = _macs(4, 128, 256, frames) + _macs(4, 256, 256, frames)
    return conv + lstm + frames * 256 * 1400


def _op_calls(prof) -> tuple[int, int]:  # noqa: ANN001
    return sum(o.calls for o in prof.coverage.ops), sum(o.calls for o in prof.backward_coverage.ops)


#: a hang guard, not a speed goal: 10× and more the cold first profile (torch._dynamo's ~2 s import
#: included); the speed goals (≤ 2 s forward, ≤ 5 s with backward) are in benchmarks/bench_flops.py --timing
HANG_S = 30.0


def test_conv_lstm_full_count_and_work_independent_of_the_steps() -> None:
    model = ConvLSTM()
    assert 1.25e6 < sum(p.numel() for p in model.parameters()) < 1.35e6
    start = time.perf_counter()
    prof = profile(model, "1x40x200")
    assert prof.macs == conv_lstm_hand_macs()
    assert not prof.coverage.not_counted
    prof = profile(model, "1x40x200", backward=True)
    assert time.perf_counter() - start < HANG_S
    assert prof.backward.macs > 1.9 * prof.macs
    assert NOT_COUNTED not in {o.status for o in prof.backward_coverage.ops}
    # the work: every time step in one op chain per layer, so 10× the frames dispatch the same ops
    # (22 forward, 57 backward); one graph per step took 5–21 s forward and 54 s with backward
    assert _op_calls(prof) == _op_calls(profile(model, "1x40x20", backward=True)) == (22, 57)


def test_free_ops_are_listed_apart_from_not_counted() -> None:
    """Issue 14: ops that move no data are 0 by definition, never 'not counted'."""
    from modelsize.compute.flops import ZERO

    class Moves(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(8, 8)
            self.scale = nn.Parameter(torch.ones(8))

        def forward(self, x):  # noqa: ANN001
            a, b = torch.split(x * self.scale, 4, dim=-1)
            y = torch.cat([b, a], -1).transpose(0, 1).contiguous().transpose_(0, 1)
            y = y.unsqueeze(0).expand(3, -1, -1).reshape(3, -1)[1].view(x.shape)
            return self.lin(y.select(0, 0).expand_as(x))

    prof = profile(Moves(), "2x8", backward=True)
    assert not prof.coverage.not_counted and not prof.backward_coverage.not_counted
    free = prof.coverage.by_status(ZERO)
    assert {"aten.split", "aten.transpose_", "aten.expand"} <= set(free)
    assert "aten.select_backward" in prof.backward_coverage.by_status(ZERO)
    assert "elementwise FLOPs" in prof.convention and "never in MACs" in prof.convention


def test_projected_lstm_and_long_gru_are_counted_fast() -> None:
    prof = profile(First(nn.LSTM(I, H, proj_size=8)), f"{T}x{B}x{I}", backward=True)
    assert prof.macs == ROWS * 4 * H * (I + 8) + ROWS * H * 8  # gates on the projected state + projection
    assert prof.forward.elementwise_flops == ROWS * H * 21
    # A 200-step, 2-layer GRU: the per-step graph took 18 s with backward; all steps at once.
    gru = First(nn.GRU(128, 256, num_layers=2, batch_first=True))
    start = time.perf_counter()
    prof = profile(gru, "1x200x128", backward=True)
    assert time.perf_counter() - start < HANG_S
    assert _op_calls(prof) == _op_calls(profile(gru, "1x20x128", backward=True)) == (51, 109)  # not per step
    assert prof.macs == 200 * 3 * 256 * (128 + 256) + 200 * 3 * 256 * (256 + 256)
    # Backward: both weight gradients, the hidden gradient after step 0, and layer 2's input gradient.
    assert prof.backward.macs == prof.macs + 2 * 199 * 3 * 256 * 256 + 200 * 3 * 256 * 256


@pytest.mark.parametrize("make", [
    lambda: nn.GRU(I, H, num_layers=2, bidirectional=True),
    lambda: nn.RNN(I, H, batch_first=True, nonlinearity="relu"),
    lambda: nn.LSTM(I, H, num_layers=2, proj_size=8, bidirectional=True, batch_first=True),
])
def test_stand_in_returns_the_shapes_of_the_real_module(make) -> None:  # noqa: ANN001
    from modelsize.compute.rnn import _forward

    rnn = make()
    x = torch.randn(B, T, I) if rnn.batch_first else torch.randn(T, B, I)
    want_out, want_state = rnn(x)
    got_out, got_state = _forward(rnn, x)
    assert got_out.shape == want_out.shape
    states = zip(want_state, got_state) if isinstance(want_state, tuple) else [(want_state, got_state)]
    for want, got in states:
        assert got.shape == want.shape
    unbatched = torch.randn(T, I)
    assert _forward(rnn, unbatched)[0].shape == rnn(unbatched)[0].shape

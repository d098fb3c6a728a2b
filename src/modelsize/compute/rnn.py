"""Recurrent layers counted in a few ops instead of one op chain per time step.

On CPU, ``nn.GRU``, ``nn.RNN`` and projected ``nn.LSTM`` run a Python-level loop of cell ops
per time step and layer; on fake tensors each op costs a dispatch, so a 200-step, 2-layer GRU
took 2 s forward and 18 s with backward. Every step does the same arithmetic, so the fake copy
of such a module gets a stand-in ``forward`` that does all steps of a layer at once, as
``rows = steps × batch`` (or the packed rows) matrix rows:

* ``gi = X·W_ihᵀ + b_ih`` and ``gh = H_prev·W_hhᵀ + b_hh`` — the same MACs as the per-step
  matmuls; ``H_prev`` stands for the previous hidden states (the initial state for the first
  step; the rest needs a gradient in training, as in the real recurrence);
* the gate math of the cell on ``rows × gates·H`` elements (GRU: r, z, n and the update;
  RNN: the sum and the activation; projected LSTM: gates, cell and projection).

FLOPs, forward and backward, equal the per-step decomposition's op for op (checked by the
tests against hand counts); the values are meaningless (fake tensors have none). LSTMs without
projection on padded CPU input keep torch's fused oneDNN kernel, which ``flops`` counts
directly (and ``activations`` sizes from measurements); packed or projected LSTMs, and LSTMs on
other devices, take the stand-in. Backward elementwise FLOPs follow the stand-in's graph (one
gradient sum per layer instead of one per step), so they are lower than a per-step graph's.
"""

from __future__ import annotations

import types
from typing import Any


def wants_standin(module: Any, torch: Any) -> bool:
    """GRU, RNN and LSTM modules (see :func:`_forward` for the LSTMs left to oneDNN)."""
    nn = torch.nn
    return isinstance(module, (nn.GRU, nn.RNN, nn.LSTM))


def install_standins(fmodel: Any) -> int:
    """Give every such module of the fake copy ``fmodel`` the all-steps-at-once forward."""
    import torch

    count = 0
    for module in fmodel.modules():
        if wants_standin(module, torch):
            module.forward = types.MethodType(_forward, module)
            count += 1
    return count


def _forward(self: Any, inp: Any, hx: Any = None) -> Any:
    import torch
    from torch.nn.utils.rnn import PackedSequence

    packed = isinstance(inp, PackedSequence)
    is_lstm = isinstance(self, torch.nn.LSTM)
    if is_lstm and self.proj_size == 0 and not packed and inp.device.type == "cpu":
        return type(self).forward(self, inp, hx)  # the fused oneDNN kernel: counted as it runs
    if packed:
        rows_in, batch_sizes = inp.data, inp.batch_sizes
        batch, steps = int(batch_sizes[0]), len(batch_sizes)
    else:
        unbatched = inp.dim() == 2
        x = inp.unsqueeze(0 if self.batch_first else 1) if unbatched else inp
        batch, steps = (x.shape[0], x.shape[1]) if self.batch_first else (x.shape[1], x.shape[0])
        rows_in = x.reshape(-1, x.shape[-1])  # row order does not change any count
    dirs = 2 if self.bidirectional else 1
    out_size = self.proj_size if is_lstm and self.proj_size > 0 else self.hidden_size
    h0 = (hx[0] if is_lstm else hx) if hx is not None else None
    if h0 is not None and h0.dim() == 2:  # unbatched input: (layers × directions, hidden)
        h0 = h0.unsqueeze(1)
    finals_h, finals_c = [], []
    layer_in = rows_in
    for layer in range(self.num_layers):
        outs = []
        for d in range(dirs):
            suffix = f"_l{layer}" + ("_reverse" if d else "")
            first = h0[layer * dirs + d] if h0 is not None else layer_in.new_zeros(batch, out_size)
            h, c = _layer(self, layer_in, suffix, first, batch, is_lstm)
            outs.append(h)
            finals_h.append(h[-batch:] if h.shape[0] >= batch else first)
            if c is not None:
                finals_c.append(c[-batch:])
        layer_in = torch.cat(outs, dim=-1) if dirs == 2 else outs[0]
        if self.dropout and self.training and layer < self.num_layers - 1:
            layer_in = torch.nn.functional.dropout(layer_in, self.dropout, True)
    h_n = torch.stack(finals_h)
    state = (h_n, torch.stack(finals_c)) if is_lstm else h_n
    if packed:
        return PackedSequence(layer_in, batch_sizes, inp.sorted_indices, inp.unsorted_indices), state
    out = layer_in.reshape(batch, steps, -1) if self.batch_first else layer_in.reshape(steps, batch, -1)
    if not packed and inp.dim() == 2:
        out = out.squeeze(0 if self.batch_first else 1)
        state = tuple(s.squeeze(1) for s in state) if is_lstm else state.squeeze(1)
    return out, state


def _layer(self: Any, x: Any, suffix: str, first: Any, batch: int, is_lstm: bool) -> tuple[Any, Any]:
    """All steps of one layer and direction; returns (hidden states, cell states or None)."""
    import torch

    f = torch.nn.functional
    w_ih, w_hh = getattr(self, "weight_ih" + suffix), getattr(self, "weight_hh" + suffix)
    b_ih = getattr(self, "bias_ih" + suffix, None) if self.bias else None
    b_hh = getattr(self, "bias_hh" + suffix, None) if self.bias else None
    rows = x.shape[0]
    # Previous hidden states: the initial state for the first step, then states that need a
    # gradient in training (as the real recurrence's do): the hidden matmul's backward then
    # counts the same gradient MACs as the per-step graph.
    needs_grad = torch.is_grad_enabled() and (x.requires_grad or w_hh.requires_grad or first.requires_grad)
    rest = x.new_zeros(max(rows - batch, 0), first.shape[-1]).requires_grad_(needs_grad)
    h_prev = torch.cat([first, rest]) if rows > batch else first[:rows]
    gi = f.linear(x, w_ih, b_ih)
    gh = torch.cat([f.linear(first[:rows], w_hh, b_hh), f.linear(rest, w_hh, b_hh)]) if rows > batch else \
        f.linear(first[:rows], w_hh, b_hh)
    if is_lstm:
        gates = gi + gh
        i, fg, g, o = gates.chunk(4, dim=-1)
        c_prev = x.new_zeros(rows, i.shape[-1])
        c = torch.sigmoid(fg) * c_prev + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return (f.linear(h, getattr(self, "weight_hr" + suffix)) if self.proj_size > 0 else h), c
    if isinstance(self, torch.nn.GRU):
        # ATen's GRU cell, in-place ops included: autograd then saves what the real cell saves per
        # step (the hidden gates 3H, the new gate H and two copies of H its in-place ops need).
        i_r, i_z, i_n = gi.unsafe_chunk(3, 1)
        h_r, h_z, h_n = gh.unsafe_chunk(3, 1)
        r = h_r.add_(i_r).sigmoid_()
        z = h_z.add_(i_z).sigmoid_()
        n = i_n.add(h_n.mul_(r)).tanh_()
        return (h_prev - n).mul_(z).add_(n), None
    act = torch.tanh if self.nonlinearity == "tanh" else torch.relu
    return act(gi + gh), None

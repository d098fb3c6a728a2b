"""FLOP formulas per ATen op, and the rule that sorts every op that runs into one status.

Convention (printed with every result): 1 MAC = 2 FLOPs. Matrix-multiply-like ops (mm,
addmm, bmm, baddbmm, convolution, scaled-dot-product attention and their backward) are
counted with the formulas of ``torch.utils.flop_counter`` — so our numbers equal
``FlopCounterMode``'s for every op it counts — and are reported as MACs. Attention is counted
dense: a causal mask does not halve it (as in ``FlopCounterMode``).

Everything else is "elementwise" and counted only when ``include_elementwise`` is on (the one
switch; bias additions of addmm/baddbmm/convolution belong to it too):

* pointwise ops (add, mul, relu, gelu, exp, comparisons …): 1 FLOP per output element;
* reductions (sum, mean, amax, var …), cumsum: 1 FLOP per input element;
* softmax and log-softmax: 5 per element (max, subtract, exp, sum, divide); their backward 3;
* layer/group norm: 5 per element, batch norm 5 in training and 2 at inference, RMS norm 4,
  plus 1 per element for each affine weight and bias; the backward of a norm counts twice its forward;
* pooling: one per kernel element per output element (adaptive pooling: one per input element);
* fused attention kernels: 6 per attention score (scaling and softmax) on top of the matmuls.

Ops that move or select data (views, copies, cat, indexing, embedding lookups, ``where``,
tensor creation, random fills) are 0 FLOPs by definition and listed as such — "free", apart
from the not-counted list (in-place views such as ``transpose_``, ``unsafe_split``, the
backward of a selection such as ``select_backward``/``slice_backward``, ``expand`` …). Any other op is
*not counted*: it is listed with its call count, never folded in as a silent zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

COUNTED = "counted"  #: a formula gave its FLOPs
ZERO = "zero_by_definition"  #: data movement, selection or creation: 0 FLOPs
EXCLUDED = "excluded"  #: elementwise op, left out because include_elementwise is off
NOT_COUNTED = "not_counted"  #: no formula: FLOPs unknown

#: The one-line convention stored with every result.
CONVENTION = (
    "1 MAC = 2 FLOPs. MACs: matmul, linear, bmm, einsum, convolution, attention (dense, as "
    "torch.utils.flop_counter). Elementwise FLOPs: pointwise 1/element, reductions 1/input "
    "element, softmax 5/element, norms 5/element (+1 per affine term), pooling 1 per kernel "
    "element. Bias additions of Linear/Conv/RNN layers land in elementwise FLOPs (1/output "
    "element), never in MACs (ptflops and torchinfo put them in MACs). RNN cells: gate matmuls "
    "in MACs, gate math elementwise (LSTM 21, GRU 16 per hidden unit and step, biases included)."
)

#: Ops that only move, select, view or create data.
_ZERO_OPS = frozenset(
    """
    clone copy copy_ _to_copy _copy_from _copy_from_and_resize contiguous cat stack split split_with_sizes
    unbind chunk index index_select gather scatter index_put index_put_ _index_put_impl_ index_copy
    embedding where masked_fill masked_scatter masked_select tril triu flip roll repeat
    constant_pad_nd pad reflection_pad1d reflection_pad2d replication_pad1d replication_pad2d
    slice_scatter select_scatter diagonal_scatter as_strided_scatter
    arange zeros ones empty empty_like empty_strided full full_like zeros_like ones_like rand_like randn_like
    new_zeros new_ones new_empty new_empty_strided new_full fill fill_ zero_ zero scalar_tensor
    lift_fresh lift_fresh_copy detach alias _unsafe_view resize_ set_ rand randn randint randperm
    bernoulli bernoulli_ uniform_ normal_ random_ _local_scalar_dense item linspace logspace eye tensor
    _assert_async _assert_tensor_metadata sym_constrain_range_for_size
    _has_compatible_shallow_copy_type channel_shuffle pixel_shuffle pixel_unshuffle im2col col2im
    unsafe_split unsafe_split_with_sizes unsafe_chunk transpose_ t_ squeeze_ unsqueeze_ as_strided_
    swapaxes_ swapdims_ detach_ expand expand_as reshape view permute movedim select_backward
    slice_backward diagonal_backward as_strided_copy view_copy expand_copy permute_copy t_copy
    transpose_copy unsqueeze_copy squeeze_copy slice_copy select_copy split_copy unbind_copy
    _reshape_alias _reshape_copy _unsafe_index _unsafe_index_put repeat_interleave
    """.split()
)

#: Elementwise costs, FLOPs per element, for ops the generic pointwise/reduction rule gets wrong.
_SOFTMAX = 5
_SOFTMAX_BACKWARD = 3
_ATTENTION_SCORE = 6  # scale + softmax on each attention score inside a fused kernel


@dataclass(frozen=True)
class OpCount:
    """How one call of one op is counted."""

    status: str
    macs: int = 0  #: multiply-accumulates (matrix-multiply-like ops)
    elementwise: int = 0  #: elementwise FLOPs (0 unless counted)

    @property
    def flops(self) -> int:
        return 2 * self.macs + self.elementwise


def op_name(func: Any) -> str:
    """``aten.addmm`` (the overload packet, without ``.default``)."""
    return str(func.overloadpacket)


def _base(func: Any) -> str:
    """``aten.relu_`` → ``relu``: in-place variants share their op's rule."""
    name = func.overloadpacket.__name__
    return name[:-1] if name.endswith("_") and not name.startswith("_") else name


def _numel(value: Any) -> int:
    return math.prod(value.shape) if hasattr(value, "shape") else 0


def _first_tensor(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        for v in value:
            t = _first_tensor(v)
            if t is not None:
                return t
        return None
    return value if hasattr(value, "shape") and hasattr(value, "dtype") else None


# --------------------------------------------------------------------------- matmul-like (MACs)


def mac_formulas() -> dict[Any, Callable[..., int]]:
    """Overload packet → FLOP formula (``fn(*args, out_val=out, **kwargs)``; FLOPs = 2 × MACs).

    torch's own registry, read afresh for every profile (so formulas users register with
    ``register_flop_formula`` count too), plus the CPU fused attention kernels it lacks.
    """
    import torch
    from torch.utils import flop_counter as fc

    aten = torch.ops.aten
    formulas: dict[Any, Callable[..., int]] = dict(fc.flop_registry)

    def cpu_sdpa(query: Any, key: Any, value: Any, *args: Any, out_val: Any = None, **kwargs: Any) -> int:
        return fc.sdpa_flop_count(query.shape, key.shape, value.shape)

    def cpu_sdpa_backward(grad_out: Any, query: Any, key: Any, value: Any, *args: Any, out_val: Any = None,
                          **kwargs: Any) -> int:
        return fc.sdpa_backward_flop_count(grad_out.shape, query.shape, key.shape, value.shape)

    for name, fn in (
        ("_scaled_dot_product_flash_attention_for_cpu", cpu_sdpa),
        ("_scaled_dot_product_flash_attention_for_cpu_backward", cpu_sdpa_backward),
        ("mkldnn_rnn_layer", rnn_layer_flops),
        ("mkldnn_rnn_layer_backward", rnn_layer_backward_flops),
    ):
        packet = getattr(aten, name, None)
        if packet is not None and packet not in formulas:
            formulas[packet] = fn
    return formulas


# --------------------------------------------------------------------------- recurrent layers
#
# CPU LSTMs without projection run one fused oneDNN kernel per layer and direction
# (``mkldnn_rnn_layer``); GRU, RNN and projected LSTMs decompose into addmm/mm and pointwise
# ops that are counted one by one. The fused kernel is counted as its decomposition would be:
# per time step and sequence, the input and hidden matmuls of the 4 gates
# (``rows × (4H×I + 4H×H)`` MACs, ``rows`` = time steps × batch, or the packed rows), and
# 21 elementwise FLOPs per hidden unit (gate sum 4H, two bias adds 8H, activations 4H, cell
# update 3H, tanh(c) H, output gate H; 13H without biases). Backward: the gradients of the
# input, the hidden state and both weights (2 × the forward MACs) and twice the gate math.

_LSTM_GATE_ELEMENTWISE = 13  # per hidden unit and row, without the two bias additions
_LSTM_BIAS_ELEMENTWISE = 8


def _rnn_rows(inp: Any) -> int:
    """Rows through the cell: steps × batch (padded layout) or the packed rows."""
    return math.prod(inp.shape[:-1])


def rnn_layer_flops(inp: Any, w_ih: Any, w_hh: Any, *args: Any, out_val: Any = None, **kwargs: Any) -> int:
    """FLOPs (2 × MACs) of one ``mkldnn_rnn_layer`` call: one layer, one direction."""
    return 2 * _rnn_rows(inp) * (_numel(w_ih) + _numel(w_hh))


def rnn_layer_backward_flops(inp: Any, w_ih: Any, w_hh: Any, *args: Any, out_val: Any = None, **kwargs: Any) -> int:
    """Backward of one layer and direction: input, hidden and weight gradients."""
    return 2 * rnn_layer_flops(inp, w_ih, w_hh)


def _rnn_elementwise(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> int:
    inp, w_hh = args[0], args[2]
    hidden = w_hh.shape[-1]
    has_biases = args[12] if name == "mkldnn_rnn_layer" else args[17]
    per_unit = _LSTM_GATE_ELEMENTWISE + (_LSTM_BIAS_ELEMENTWISE if has_biases else 0)
    forward = _rnn_rows(inp) * hidden * per_unit
    return forward if name == "mkldnn_rnn_layer" else 2 * forward


_ATTENTION = frozenset(
    {
        "_scaled_dot_product_efficient_attention", "_scaled_dot_product_flash_attention",
        "_scaled_dot_product_cudnn_attention", "_scaled_dot_product_flash_attention_for_cpu",
        "_flash_attention_forward", "_efficient_attention_forward",
    }
)


def _bias_elementwise(name: str, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    """Elementwise FLOPs hidden inside a matmul-like op: the bias (or ``beta·self``) addition."""
    if name in ("addmm", "baddbmm", "addbmm", "addmv"):
        return _numel(_first_tensor(out))
    if name in ("convolution", "_convolution", "cudnn_convolution", "convolution_overrideable", "_slow_conv2d_forward"):
        bias = args[2] if len(args) > 2 else kwargs.get("bias")
        return _numel(_first_tensor(out)) if bias is not None else 0
    if name == "convolution_backward":
        mask = args[-1] if args else kwargs.get("output_mask")
        grad_out = args[0]
        return _numel(grad_out) if mask is not None and len(mask) > 2 and mask[2] else 0
    if name in ("mkldnn_rnn_layer", "mkldnn_rnn_layer_backward"):
        return _rnn_elementwise(name, args, kwargs)
    if name in _ATTENTION:
        query, key = args[0], args[1]
        return _ATTENTION_SCORE * (math.prod(query.shape[:-1]) * key.shape[-2])
    return 0


# --------------------------------------------------------------------------- elementwise


def _norm(args: tuple[Any, ...], kwargs: dict[str, Any], per_element: int, weight_at: int, bias_at: int) -> int:
    n = _numel(args[0])
    affine = sum(1 for i in (weight_at, bias_at) if len(args) > i and args[i] is not None)
    return n * (per_element + affine)


def _pool(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    kernel = args[1] if len(args) > 1 else kwargs.get("kernel_size")
    if isinstance(kernel, int):
        dims = len(_first_tensor(out).shape) - 2
        kernel = [kernel] * max(dims, 1)
    return _numel(_first_tensor(out)) * math.prod(kernel)


def _elementwise_rule(name: str, func: Any) -> Callable[[tuple[Any, ...], dict[str, Any], Any], int] | None:
    """The elementwise FLOP rule for an op, or ``None`` if it has none."""
    import torch

    out_numel = lambda a, k, o: _numel(_first_tensor(o))  # noqa: E731 - small table of rules
    in_numel = lambda a, k, o: _numel(a[0])  # noqa: E731
    special: dict[str, Callable[[tuple[Any, ...], dict[str, Any], Any], int]] = {
        "_softmax": lambda a, k, o: _SOFTMAX * _numel(a[0]),
        "_safe_softmax": lambda a, k, o: _SOFTMAX * _numel(a[0]),
        "_log_softmax": lambda a, k, o: _SOFTMAX * _numel(a[0]),
        "_softmax_backward_data": lambda a, k, o: _SOFTMAX_BACKWARD * _numel(a[0]),
        "_log_softmax_backward_data": lambda a, k, o: _SOFTMAX_BACKWARD * _numel(a[0]),
        "native_layer_norm": lambda a, k, o: _norm(a, k, 5, 2, 3),
        "native_layer_norm_backward": lambda a, k, o: 2 * _norm(a[1:], k, 5, 4, 5),
        "native_group_norm": lambda a, k, o: _norm(a, k, 5, 1, 2),
        "native_group_norm_backward": lambda a, k, o: 2 * _numel(a[0]) * 5,
        "native_batch_norm": lambda a, k, o: _norm(a, k, 5 if (len(a) > 5 and a[5]) else 2, 1, 2),
        "_native_batch_norm_legit": lambda a, k, o: _norm(a, k, 5 if (len(a) > 5 and a[5]) else 2, 1, 2),
        "_native_batch_norm_legit_no_training": lambda a, k, o: _norm(a, k, 2, 1, 2),
        "_native_batch_norm_legit_functional": lambda a, k, o: _norm(a, k, 5, 1, 2),
        "native_batch_norm_backward": lambda a, k, o: 2 * 5 * _numel(a[1]),
        "_fused_rms_norm": lambda a, k, o: _norm(a, k, 4, 2, 99),
        "_fused_rms_norm_backward": lambda a, k, o: 2 * 4 * _numel(a[1]),
        "native_dropout": in_numel,
        "native_dropout_backward": in_numel,
        "embedding_dense_backward": in_numel,  # scatter-add of the gradient rows
        "cumsum": in_numel,
        "cumprod": in_numel,
        "logsumexp": lambda a, k, o: 3 * _numel(a[0]),
        "topk": in_numel,  # a selection pass over the input (as a reduction: 1 per input element)
        "max_pool1d": _pool, "max_pool2d": _pool, "max_pool3d": _pool,
        "max_pool2d_with_indices": _pool, "max_pool3d_with_indices": _pool,
        "avg_pool1d": _pool, "avg_pool2d": _pool, "avg_pool3d": _pool,
        "max_pool2d_with_indices_backward": lambda a, k, o: _numel(a[0]),
        "max_pool3d_with_indices_backward": lambda a, k, o: _numel(a[0]),
        "avg_pool2d_backward": lambda a, k, o: _numel(_first_tensor(o)),
        "avg_pool3d_backward": lambda a, k, o: _numel(_first_tensor(o)),
        "_adaptive_avg_pool2d": in_numel, "_adaptive_avg_pool3d": in_numel,
        "adaptive_max_pool2d": in_numel, "adaptive_max_pool3d": in_numel,
        "_adaptive_avg_pool2d_backward": out_numel,
        "mse_loss": lambda a, k, o: 3 * _numel(a[0]),
        "nll_loss_forward": in_numel, "nll_loss2d_forward": in_numel,
        "nll_loss_backward": out_numel, "binary_cross_entropy": lambda a, k, o: 4 * _numel(a[0]),
        "upsample_nearest2d": lambda a, k, o: 0,
        "upsample_bilinear2d": lambda a, k, o: 4 * _numel(_first_tensor(o)),
        "_cdist_forward": lambda a, k, o: 3 * _numel(_first_tensor(o)) * a[0].shape[-1],
    }
    if name in special:
        return special[name]
    tags = getattr(func, "tags", ())
    if torch.Tag.pointwise in tags:
        return out_numel
    if torch.Tag.reduction in tags:
        return in_numel
    return None


class OpRules:
    """Sorts each op into a status and counts it; caches the rule per op overload."""

    def __init__(self, include_elementwise: bool) -> None:
        self.include_elementwise = include_elementwise
        self._formulas = mac_formulas()
        self._cache: dict[Any, tuple[str, Any]] = {}

    def kind(self, func: Any) -> tuple[str, Any]:
        """``("mac", formula)``, ``("elementwise", rule)``, ``("zero", None)`` or ``("unknown", None)``."""
        cached = self._cache.get(func)
        if cached is None:
            cached = self._classify(func)
            self._cache[func] = cached
        return cached

    def _classify(self, func: Any) -> tuple[str, Any]:
        packet = func.overloadpacket
        if packet in self._formulas:
            return "mac", self._formulas[packet]
        base = _base(func)
        if func.is_view or base in _ZERO_OPS or packet.__name__ in _ZERO_OPS:
            return "zero", None
        rule = _elementwise_rule(packet.__name__, func) or _elementwise_rule(base, func)
        if rule is not None:
            return "elementwise", rule
        return "unknown", None

    def count(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> OpCount:
        kind, rule = self.kind(func)
        if kind == "mac":
            flops = int(rule(*args, **kwargs, out_val=out))
            extra = _bias_elementwise(func.overloadpacket.__name__, args, kwargs, out)
            return OpCount(COUNTED, macs=flops // 2, elementwise=extra if self.include_elementwise else 0)
        if kind == "zero":
            return OpCount(ZERO)
        if kind == "elementwise":
            if not self.include_elementwise:
                return OpCount(EXCLUDED)
            return OpCount(COUNTED, elementwise=int(rule(args, kwargs, out)))
        return OpCount(NOT_COUNTED)

"""Keras models: FLOPs and activation memory from layer configs and shapes.

Nothing runs: each layer's MACs and elementwise FLOPs come from its config (units, filters,
kernel size, heads …) and the shapes of its input and output tensors in the model's graph,
with the same convention as the PyTorch profile (1 MAC = 2 FLOPs; bias, activation, norm,
softmax and pooling counted as elementwise when the switch is on). The batch dimension is
taken from the inputs spec (``"8x28x28x1"`` → 8), else 1.

Activation memory: the forward peak walks the layers in graph order and keeps every tensor
alive until its last consumer has run (the model's inputs and outputs throughout, as the
caller holds them — the same accounting as the PyTorch trace); ``saved_for_backward`` is the sum of every layer's
output (what a backward pass keeps at most, a bound, not a trace). A layer with no rule is
listed as not counted, with its class name and the number of calls.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

from ..core import dtypes
from ..core.errors import ModelStateError
from ..core.tree import join
from .flops import COUNTED, EXCLUDED, NOT_COUNTED, ZERO
from .options import ComputeOptions
from .result import ComputeProfile, Coverage, MemoryStats, ModuleStats, OpStat, PassTotals

_ZERO_LAYERS = frozenset(
    """
    InputLayer Flatten Reshape Permute Dropout SpatialDropout1D SpatialDropout2D SpatialDropout3D
    GaussianDropout GaussianNoise AlphaDropout ActivityRegularization Concatenate RepeatVector
    ZeroPadding1D ZeroPadding2D ZeroPadding3D Cropping1D Cropping2D Cropping3D Embedding Identity
    Masking UpSampling1D TimeDistributed CategoryEncoding StringLookup IntegerLookup Hashing
    """.split()
)
_ACTIVATION_COST = {"softmax": 5, "log_softmax": 5, "linear": 0, None: 0}
_RNN_ELEMENTWISE_PER_UNIT = {"LSTM": 13, "GRU": 11, "SimpleRNN": 2}
_RNN_GATES = {"LSTM": 4, "GRU": 3, "SimpleRNN": 1}


@dataclass(frozen=True)
class LayerCount:
    """MACs and elementwise FLOPs of one call of one layer (batch included)."""

    macs: int = 0
    elementwise: int = 0
    status: str = COUNTED


def _shape(t: Any, batch: int) -> tuple[int, ...]:
    dims = tuple(t.shape)
    return tuple(batch if d is None else int(d) for d in dims)


def _numel(shape: tuple[int, ...]) -> int:
    return math.prod(shape)


def _tuple(value: Any, n: int) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (int(value),) * n


def _activation_cost(layer: Any) -> int:
    act = getattr(layer, "activation", None)
    name = getattr(act, "__name__", None) if act is not None else None
    return _ACTIVATION_COST.get(name, 1)


def _dense(layer: Any, ins: list[tuple[int, ...]], out: tuple[int, ...]) -> LayerCount:
    n_in = ins[0][-1]
    macs = _numel(out) // out[-1] * n_in * out[-1]
    elem = _numel(out) * (int(bool(getattr(layer, "use_bias", True))) + _activation_cost(layer))
    return LayerCount(macs, elem)


def _conv(layer: Any, ins: list[tuple[int, ...]], out: tuple[int, ...]) -> LayerCount:
    rank = len(out) - 2
    kernel = _tuple(layer.kernel_size, rank)
    channels_last = getattr(layer, "data_format", "channels_last") != "channels_first"
    c_in = ins[0][-1] if channels_last else ins[0][1]
    groups = int(getattr(layer, "groups", 1) or 1)
    macs = _numel(out) * math.prod(kernel) * (c_in // groups)
    elem = _numel(out) * (int(bool(getattr(layer, "use_bias", True))) + _activation_cost(layer))
    return LayerCount(macs, elem)


def _conv_transpose(layer: Any, ins: list[tuple[int, ...]], out: tuple[int, ...]) -> LayerCount:
    rank = len(out) - 2
    kernel = _tuple(layer.kernel_size, rank)
    channels_last = getattr(layer, "data_format", "channels_last") != "channels_first"
    c_out = out[-1] if channels_last else out[1]
    macs = _numel(ins[0]) * math.prod(kernel) * c_out
    elem = _numel(out) * (int(bool(getattr(layer, "use_bias", True))) + _activation_cost(layer))
    return LayerCount(macs, elem)


def _depthwise(layer: Any, ins: list[tuple[int, ...]], out: tuple[int, ...]) -> LayerCount:
    rank = len(out) - 2
    kernel = _tuple(layer.kernel_size, rank)
    macs = _numel(out) * math.prod(kernel)
    elem = _numel(out) * (int(bool(getattr(layer, "use_bias", True))) + _activation_cost(layer))
    return LayerCount(macs, elem)


def _separable(layer: Any, ins: list[tuple[int, ...]], out: tuple[int, ...]) -> LayerCount:
    rank = len(out) - 2
    kernel = _tuple(layer.kernel_size, rank)
    channels_last = getattr(layer, "data_format", "channels_last") != "channels_first"
    c_in = ins[0][-1] if channels_last else ins[0][1]
    filters = out[-1] if channels_last else out[1]
    spatial = _numel(out) // filters
    mid = c_in * int(getattr(layer, "depth_multiplier", 1))
    macs = spatial * mid * math.prod(kernel) + spatial * mid * filters
    elem = _numel(out) * (int(bool(getattr(layer, "use_bias", True))) + _activation_cost(layer))
    return LayerCount(macs, elem)


def _pool(layer: Any, ins: list[tuple[int, ...]], out: tuple[int, ...]) -> LayerCount:
    rank = len(out) - 2
    return LayerCount(0, _numel(out) * math.prod(_tuple(layer.pool_size, rank)))


def _global_pool(layer: Any, ins: list[tuple[int, ...]], out: tuple[int, ...]) -> LayerCount:
    return LayerCount(0, _numel(ins[0]))


def _norm(per_element: int) -> Callable[[Any, list[tuple[int, ...]], tuple[int, ...]], LayerCount]:
    def rule(layer: Any, ins: list[tuple[int, ...]], out: tuple[int, ...]) -> LayerCount:
        affine = int(bool(getattr(layer, "center", True))) + int(bool(getattr(layer, "scale", True)))
        return LayerCount(0, _numel(ins[0]) * (per_element + affine))

    return rule


def _activation_layer(cost: int | None) -> Callable[[Any, list[tuple[int, ...]], tuple[int, ...]], LayerCount]:
    def rule(layer: Any, ins: list[tuple[int, ...]], out: tuple[int, ...]) -> LayerCount:
        return LayerCount(0, _numel(out) * (cost if cost is not None else _activation_cost(layer)))

    return rule


def _merge(layer: Any, ins: list[tuple[int, ...]], out: tuple[int, ...]) -> LayerCount:
    return LayerCount(0, _numel(out) * max(len(ins) - 1, 1))


def _attention(layer: Any, ins: list[tuple[int, ...]], out: tuple[int, ...]) -> LayerCount:
    """MultiHeadAttention: Q/K/V projections, scores, weighted sum, output projection."""
    query = ins[0]
    value = ins[1] if len(ins) > 1 else ins[0]
    key = ins[2] if len(ins) > 2 else value
    heads = int(layer.num_heads)
    kd = int(layer._key_dim if hasattr(layer, "_key_dim") else layer.key_dim)
    vd = int(getattr(layer, "_value_dim", None) or kd)
    b, tq, tv = query[0], _numel(query[1:-1]), _numel(value[1:-1])
    out_dim = out[-1]
    macs = (b * tq * query[-1] * heads * kd + b * tv * key[-1] * heads * kd + b * tv * value[-1] * heads * vd
            + b * heads * tq * tv * kd + b * heads * tq * tv * vd + b * tq * heads * vd * out_dim)
    bias = int(bool(getattr(layer, "_use_bias", True)))
    elem = 6 * b * heads * tq * tv + bias * (b * tq * heads * kd + b * tv * heads * (kd + vd) + b * tq * out_dim)
    return LayerCount(macs, elem)


def _rnn(kind: str) -> Callable[[Any, list[tuple[int, ...]], tuple[int, ...]], LayerCount]:
    def rule(layer: Any, ins: list[tuple[int, ...]], out: tuple[int, ...]) -> LayerCount:
        b, steps, d = ins[0][0], ins[0][1], ins[0][-1]
        units = int(layer.units)
        gates = _RNN_GATES[kind]
        macs = b * steps * gates * (d * units + units * units)
        elem = b * steps * units * _RNN_ELEMENTWISE_PER_UNIT[kind]
        return LayerCount(macs, elem)

    return rule


RULES: dict[str, Callable[[Any, list[tuple[int, ...]], tuple[int, ...]], LayerCount]] = {
    "Dense": _dense, "EinsumDense": _dense,
    "Conv1D": _conv, "Conv2D": _conv, "Conv3D": _conv,
    "Conv1DTranspose": _conv_transpose, "Conv2DTranspose": _conv_transpose, "Conv3DTranspose": _conv_transpose,
    "DepthwiseConv1D": _depthwise, "DepthwiseConv2D": _depthwise,
    "SeparableConv1D": _separable, "SeparableConv2D": _separable,
    "MaxPooling1D": _pool, "MaxPooling2D": _pool, "MaxPooling3D": _pool,
    "AveragePooling1D": _pool, "AveragePooling2D": _pool, "AveragePooling3D": _pool,
    "GlobalMaxPooling1D": _global_pool, "GlobalMaxPooling2D": _global_pool, "GlobalMaxPooling3D": _global_pool,
    "GlobalAveragePooling1D": _global_pool, "GlobalAveragePooling2D": _global_pool,
    "GlobalAveragePooling3D": _global_pool,
    "BatchNormalization": _norm(2), "LayerNormalization": _norm(5), "GroupNormalization": _norm(5),
    "UnitNormalization": _norm(3), "RMSNormalization": _norm(4),
    "Activation": _activation_layer(None), "ReLU": _activation_layer(1), "LeakyReLU": _activation_layer(1),
    "PReLU": _activation_layer(1), "ELU": _activation_layer(1), "Softmax": _activation_layer(5),
    "Rescaling": _activation_layer(2), "Normalization": _activation_layer(2),
    "Add": _merge, "Subtract": _merge, "Multiply": _merge, "Average": _merge, "Maximum": _merge, "Minimum": _merge,
    "MultiHeadAttention": _attention,
    "LSTM": _rnn("LSTM"), "GRU": _rnn("GRU"), "SimpleRNN": _rnn("SimpleRNN"),
}


def count_layer(layer: Any, ins: list[tuple[int, ...]], out: tuple[int, ...], include_elementwise: bool) -> LayerCount:
    """MACs and elementwise FLOPs of one call of ``layer`` with these shapes."""
    kind = type(layer).__name__
    if kind == "Bidirectional":
        inner = count_layer(layer.forward_layer, ins, out, include_elementwise)
        return LayerCount(2 * inner.macs, 2 * inner.elementwise, inner.status)
    if kind in _ZERO_LAYERS:
        return LayerCount(status=ZERO)
    rule = RULES.get(kind)
    if rule is None:
        return LayerCount(status=NOT_COUNTED)
    counted = rule(layer, ins, out)
    if include_elementwise:
        return counted
    status = EXCLUDED if counted.macs == 0 else COUNTED
    return LayerCount(counted.macs, 0, status)


# --------------------------------------------------------------------------- the walk


def _io(layer: Any) -> tuple[list[Any], list[Any]]:
    """Input and output tensors of the layer's first call in the graph."""
    inputs = layer.input
    outputs = layer.output
    ins = list(inputs) if isinstance(inputs, (list, tuple)) else ([] if inputs is None else [inputs])
    outs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    return ins, outs


def _nbytes(t: Any, batch: int) -> int:
    name = dtypes.canonical(str(getattr(t, "dtype", "float32")))
    return dtypes.get(name if dtypes.known(name) else "float32").nbytes(_numel(_shape(t, batch)))


@dataclass
class _Walk:
    include_elementwise: bool
    batch: int
    modules: dict[str, ModuleStats]
    ops: dict[str, list[Any]]  # layer class → [status, calls, macs, elem]

    def model(self, model: Any, path: str) -> tuple[PassTotals, int, int]:
        """Totals, forward peak bytes and the sum of layer outputs of ``model`` (one call)."""
        layers = [l for l in model.layers if type(l).__name__ != "InputLayer"]
        ios = [_io(l) for l in layers]
        last_use: dict[int, int] = {}
        for i, (ins, _) in enumerate(ios):
            for t in ins:
                last_use[id(t)] = i
        outputs = model.outputs if isinstance(model.outputs, (list, tuple)) else [model.outputs]
        for t in list(outputs) + list(model.inputs):  # the caller holds inputs and outputs throughout
            last_use[id(t)] = len(layers)
        live: dict[int, int] = {id(t): _nbytes(t, self.batch) for t in model.inputs}
        peak = sum(live.values())
        saved = 0
        total = PassTotals()
        for i, (layer, (ins, outs)) in enumerate(zip(layers, ios)):
            name = join(path, layer.name)
            if hasattr(layer, "layers") and hasattr(layer, "inputs") and layer.built and type(layer).__name__ != "Bidirectional":
                sub, inner_peak, inner_saved = self.model(layer, name)
                extra = max(0, inner_peak - sum(_nbytes(t, self.batch) for t in ins))
                saved += inner_saved
            else:
                sub = self.layer(layer, name, ins, outs)
                extra = 0
                saved += sum(_nbytes(t, self.batch) for t in outs)
            total = total + sub
            for t in outs:
                live[id(t)] = _nbytes(t, self.batch)
            peak = max(peak, sum(live.values()) + extra)
            for t in ins:
                if last_use.get(id(t), -1) <= i:
                    live.pop(id(t), None)
        self.modules[path] = ModuleStats(path, type(model).__name__, 1, total, activation_peak_bytes=peak)
        return total, peak, saved

    def layer(self, layer: Any, path: str, ins: list[Any], outs: list[Any]) -> PassTotals:
        in_shapes = [_shape(t, self.batch) for t in ins]
        out_shape = _shape(outs[0], self.batch)
        counted = count_layer(layer, in_shapes, out_shape, self.include_elementwise)
        row = self.ops.setdefault(type(layer).__name__, [counted.status, 0, 0, 0])
        row[1] += 1
        row[2] += counted.macs
        row[3] += counted.elementwise
        stats = PassTotals(counted.macs, counted.elementwise)
        in_bytes = sum(_nbytes(t, self.batch) for t in ins)
        out_bytes = sum(_nbytes(t, self.batch) for t in outs)
        self.modules[path] = ModuleStats(path, type(layer).__name__, 1, stats, activation_peak_bytes=in_bytes + out_bytes)
        return stats


def _batch(model: Any, inputs: Any) -> int:
    """The batch size of ``inputs`` after checking them against the model's own inputs.

    A Keras model's graph fixes every dimension but the batch, so the rest of ``--input`` must
    agree with it: a different shape, rank, count or dtype is refused with the user's own
    spec text and the shape the model takes, never silently replaced by the graph's shape.
    """
    if inputs is None:
        return 1
    from .inputs import resolve

    spec, _ = resolve(inputs)
    expected = [tuple(t.shape) for t in model.inputs]
    wanted = ", ".join("x".join("N" if d is None else str(d) for d in shape) for shape in expected)
    takes = f"The Keras model takes input{'s' if len(expected) > 1 else ''} of shape {wanted} (N: any batch size)"

    def refused(why: str = "") -> ModelStateError:
        # like a PyTorch forward that rejects the input: the model's shape beside the user's own text
        return ModelStateError(f"{takes}{why}. Got {spec.user_text()!r}.")

    if len(spec.tensors) != len(expected):
        raise refused()
    for given, shape, tensor in zip(spec.tensors, expected, model.inputs):
        if len(given.shape) != len(shape) or any(d is not None and d != g for d, g in zip(shape[1:], given.shape[1:])):
            raise refused()
        if any(d is None for d in shape[1:]):
            raise refused("; a variable dimension (None) besides the batch cannot be sized from the input "
                          "spec: give the model a fixed Input shape")
        model_dtype = dtypes.canonical(str(getattr(tensor, "dtype", "float32")))
        if given.dtype is not None and given.dtype != model_dtype:
            raise refused(f" and dtype {model_dtype}")
    batches = {t.shape[0] for t in spec.tensors}
    if len(batches) != 1:
        raise refused(", one batch size for every input")
    return batches.pop()


def _require_built(model: Any) -> None:
    if not getattr(model, "built", False) or not hasattr(model, "inputs") or not model.inputs:
        raise ModelStateError(
            "The Keras model has no input shape yet (it is not built): build it with an Input "
            "layer or model.build(shape) before profiling."
        )


def keras_layer_shapes(model: Any, inputs: Any) -> dict[str, dict[str, list[list[int]]]]:
    """``{path: {"input": shapes, "output": shapes}}`` for every layer of a built Keras model (nested
    models too), read from its graph with the batch of ``inputs`` — the paths of the report's tree."""
    _require_built(model)
    batch = _batch(model, inputs)
    shapes: dict[str, dict[str, list[list[int]]]] = {}

    def walk(sub: Any, path: str) -> None:
        ins = list(sub.inputs) if isinstance(sub.inputs, (list, tuple)) else [sub.inputs]
        outs = list(sub.outputs) if isinstance(sub.outputs, (list, tuple)) else [sub.outputs]
        shapes[path] = {"input": [list(_shape(t, batch)) for t in ins], "output": [list(_shape(t, batch)) for t in outs]}
        for layer in sub.layers:
            name = join(path, layer.name)
            if hasattr(layer, "layers") and hasattr(layer, "inputs") and layer.built and type(layer).__name__ != "Bidirectional":
                walk(layer, name)
                continue
            layer_ins, layer_outs = _io(layer)
            shapes[name] = {"input": [list(_shape(t, batch)) for t in layer_ins],
                            "output": [list(_shape(t, batch)) for t in layer_outs]}

    walk(model, "")
    return shapes


def profile_keras(model: Any, inputs: Any, options: ComputeOptions) -> ComputeProfile:
    """Count a built Keras model (see the module docstring)."""
    _require_built(model)
    batch = _batch(model, inputs)
    walk = _Walk(options.include_elementwise, batch, {}, {})
    total, peak, saved = walk.model(model, "")
    ops = tuple(
        sorted((OpStat(name, r[0], r[1], r[2], r[3]) for name, r in walk.ops.items()),
               key=lambda s: (s.status != COUNTED, -s.flops, s.op))
    )
    coverage = Coverage(ops)
    weights = sum(_variable_bytes(v) for v in {id(v): v for v in model.weights}.values())
    input_bytes = sum(_nbytes(t, batch) for t in model.inputs)
    output_bytes = sum(_nbytes(t, batch) for t in model.outputs)
    notes = []
    if coverage.not_counted:
        listed = ", ".join(f"{k} ×{n}" for k, n in sorted(coverage.not_counted.items()))
        notes.append(f"Layers with no FLOP rule (not counted, not zero): {listed}.")
    notes.append("Keras: counted from layer configs and graph shapes; saved_for_backward is the sum of layer outputs (a bound).")
    skipped = [name for name, on in (("backward", options.backward), ("latency", options.latency is not None),
                                     ("measure", options.measure is not None)) if on]
    if skipped:
        notes.append(f"Not available for Keras models, not run: {', '.join(skipped)}.")
    return ComputeProfile(
        framework="keras",
        inputs={"tensors": [{"name": getattr(t, "name", None), "shape": list(_shape(t, batch)),
                             "dtype": str(t.dtype)} for t in model.inputs],
                "tokens": None, "bytes": input_bytes},
        include_elementwise=options.include_elementwise,
        forward=total,
        memory=MemoryStats(
            weights_bytes=weights,
            input_bytes=input_bytes,
            forward_peak_bytes=peak,
            output_bytes=output_bytes,
            saved_for_backward_bytes=saved + input_bytes,
            method="graph walk: layer output shapes, each tensor alive until its last consumer",
        ),
        modules=walk.modules,
        coverage=coverage,
        mode="inference",
        notes=tuple(notes),
    )


def _variable_bytes(v: Any) -> int:
    name = dtypes.canonical(str(getattr(v, "dtype", "float32")))
    return dtypes.get(name if dtypes.known(name) else "float32").nbytes(_numel(tuple(int(d) for d in v.shape)))

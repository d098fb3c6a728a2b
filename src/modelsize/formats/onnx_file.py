"""ONNX models: initializers grouped by the node that consumes them, op counts, external data.

The model is parsed with ``onnx.load(path, load_external_data=False)``: the protobuf (at most
2 GB) is read, the external data files that large models keep their weights in are never
opened — their sizes come from each tensor's ``external_data`` entries (``length``, or the
dense size) and are checked against the files' sizes on disk with ``stat`` only. Nothing in an
ONNX file is executable; this reader only interprets data.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

from ..core.optional import require
from ..core.report import Report
from ..core.tensors import Role, TensorRecord
from ..core.tree import Component, join
from ._common import FileLayout, build_report, file_section, invalid, role_for_name, span_key
from .source import is_remote

FORMAT = "onnx"
#: TensorProto.DataType → (modelsize dtype, bits)
DTYPES: dict[int, tuple[str, float]] = {
    1: ("float32", 32), 2: ("uint8", 8), 3: ("int8", 8), 4: ("uint16", 16), 5: ("int16", 16), 6: ("int32", 32),
    7: ("int64", 64), 8: ("string", 0), 9: ("bool", 8), 10: ("float16", 16), 11: ("float64", 64),
    12: ("uint32", 32), 13: ("uint64", 64), 14: ("complex64", 64), 15: ("complex128", 128), 16: ("bfloat16", 16),
    17: ("float8_e4m3fn", 8), 18: ("float8_e4m3fnuz", 8), 19: ("float8_e5m2", 8), 20: ("float8_e5m2fnuz", 8),
    21: ("uint4", 4), 22: ("int4", 4), 23: ("float4_e2m1", 4), 24: ("float8_e8m0fnu", 8), 25: ("uint2", 2),
    26: ("int2", 2),
}
#: TensorProto typed-data fields, used when a tensor has no raw_data
_TYPED_FIELDS = ("float_data", "int32_data", "string_data", "int64_data", "double_data", "uint64_data")
EXTERNAL = 1  #: TensorProto.DataLocation.EXTERNAL


def _text(value: Any) -> str:
    """protobuf hands back bytes for a proto2 string field that is not valid UTF-8."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class _Ctx:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.folder = path.parent.resolve()
        self.ops: Counter = Counter()
        self.external: dict[str, dict[str, Any]] = {}
        self.inline_bytes = 0
        self.external_bytes = 0
        self.notes: list[str] = []
        self.nodes = 0
        self.initializers = 0


def _external_info(ctx: _Ctx, tensor: Any, dense: int) -> tuple[int, str]:
    entries = {_text(e.key): _text(e.value) for e in tensor.external_data}
    location = entries.get("location", "")
    try:
        offset = int(entries.get("offset", 0) or 0)
        length = int(entries["length"]) if entries.get("length") else dense
    except ValueError:
        raise invalid(ctx.path, FORMAT, f"tensor {_text(tensor.name)!r} has a non-numeric external offset or "
                                        "length") from None
    if offset < 0 or length < 0:
        raise invalid(ctx.path, FORMAT, f"tensor {_text(tensor.name)!r} has a negative external offset or length")
    info = ctx.external.get(location)
    if info is None:
        target = (ctx.folder / location).resolve() if location else None
        inside = target is not None and (target == ctx.folder or ctx.folder in target.parents)
        info = {"location": location, "inside_model_folder": inside, "exists": False, "bytes": None, "used": 0}
        if not inside:
            ctx.notes.append(f"External data location {location!r} points outside the model's folder; not checked.")
        elif target.is_file():
            info["exists"] = True
            info["bytes"] = target.stat().st_size
        else:
            ctx.notes.append(f"External data file {location!r} is missing; sizes come from the model's fields.")
        ctx.external[location] = info
    if info["bytes"] is not None and offset + length > info["bytes"]:
        raise invalid(
            ctx.path, FORMAT,
            f"tensor {_text(tensor.name)!r} needs bytes {offset}..{offset + length} of {location!r}, "
            f"which has {info['bytes']} bytes",
        )
    info["used"] += length
    return length, span_key(location, offset, length, f"{location}:{_text(tensor.name)}")


#: Inputs that hold a layer's weights, by op: slot → the name shown in the tree.
WEIGHT_SLOTS: dict[str, dict[int, str]] = {
    "Conv": {1: "weight", 2: "bias"}, "ConvTranspose": {1: "weight", 2: "bias"},
    "Gemm": {1: "weight", 2: "bias"}, "MatMul": {1: "weight"}, "MatMulInteger": {1: "weight"},
    "LSTM": {1: "W", 2: "R", 3: "B"}, "GRU": {1: "W", 2: "R", 3: "B"}, "RNN": {1: "W", 2: "R", 3: "B"},
    "BatchNormalization": {1: "scale", 2: "bias"}, "InstanceNormalization": {1: "scale", 2: "bias"},
    "LayerNormalization": {1: "scale", 2: "bias"}, "GroupNormalization": {1: "scale", 2: "bias"},
    "Gather": {0: "weight"}, "PRelu": {1: "slope"}, "QLinearConv": {3: "weight", 8: "bias"},
    "QLinearMatMul": {3: "weight"}, "ConvInteger": {1: "weight"},
}
#: Inputs that are running statistics (buffers), scales and zero points.
OTHER_SLOTS: dict[str, dict[int, Role]] = {
    "BatchNormalization": {3: Role.BUFFER, 4: Role.BUFFER},
    # initial hidden / cell states: zeros the exporter writes for h0, c0 — state, not weights
    "LSTM": {5: Role.BUFFER, 6: Role.BUFFER}, "GRU": {5: Role.BUFFER}, "RNN": {5: Role.BUFFER},
    "DequantizeLinear": {1: Role.QUANT_SCALE, 2: Role.QUANT_ZERO_POINT},
    "QuantizeLinear": {1: Role.QUANT_SCALE, 2: Role.QUANT_ZERO_POINT},
    "QLinearConv": {1: Role.QUANT_SCALE, 2: Role.QUANT_ZERO_POINT, 4: Role.QUANT_SCALE, 5: Role.QUANT_ZERO_POINT,
                    6: Role.QUANT_SCALE, 7: Role.QUANT_ZERO_POINT},
    "QLinearMatMul": {1: Role.QUANT_SCALE, 2: Role.QUANT_ZERO_POINT, 4: Role.QUANT_SCALE,
                      5: Role.QUANT_ZERO_POINT, 6: Role.QUANT_SCALE, 7: Role.QUANT_ZERO_POINT},
}
_FLOATS = {1, 10, 11, 16, 17, 18, 19, 20, 23}
_INDEX_INTS = {6, 7, 12, 13}
_BROADCASTS = frozenset({"Expand", "Tile"})  #: int32/int64/uint32/uint64: shapes, axes, indices


def _role(tensor: Any, name: str, slots: set[tuple[str, int]], constant: bool) -> Role:
    """Role of an initializer or Constant value from the inputs it feeds and its type.

    A weight slot (Conv W/B, Gemm/MatMul B, LSTM W/R/B …) makes a parameter; so does a float
    Constant of two or more dimensions (weights frozen into Constant nodes by TF, Paddle and
    some PyTorch exports). 32/64-bit integers elsewhere are shapes and indices (metadata).
    """
    for op, i in slots:
        if i in WEIGHT_SLOTS.get(op, {}):
            return Role.PARAMETER
        other = OTHER_SLOTS.get(op, {}).get(i)
        if other is not None:
            return other
    if tensor.data_type in _INDEX_INTS:
        return Role.METADATA
    if constant:
        if slots and {op for op, _ in slots} <= _BROADCASTS:
            return Role.BUFFER  # a fill value broadcast to a runtime shape (an RNN's zero h0/c0), not a weight
        return Role.PARAMETER if tensor.data_type in _FLOATS and len(tensor.dims) >= 2 else Role.BUFFER
    return role_for_name(name)


def _record(ctx: _Ctx, tensor: Any, path: str, role: Role, key: str) -> TensorRecord:
    dims = list(tensor.dims)
    name = _text(tensor.name)
    if any(d < 0 for d in dims):
        raise invalid(ctx.path, FORMAT, f"tensor {name!r} has a negative dimension {dims}")
    dtype, bits = DTYPES.get(tensor.data_type, (f"onnx_type_{tensor.data_type}", None))
    numel = math.prod(dims)
    dense = -(-numel * int(bits) // 8) if bits else 0
    meta: dict[str, Any] = {"onnx_name": name}
    if tensor.data_location == EXTERNAL:
        nbytes, key = _external_info(ctx, tensor, dense)
        ctx.external_bytes += nbytes
        meta["external"] = True
    else:
        if tensor.raw_data:
            nbytes = len(tensor.raw_data)
        elif tensor.data_type == 8:
            nbytes = sum(len(s) for s in tensor.string_data)
        else:
            nbytes = dense
        ctx.inline_bytes += nbytes
    if bits is None:
        bits = nbytes * 8 / numel if numel else 0.0
    return TensorRecord(
        path=path, shape=tuple(dims), dtype=dtype, bits=bits,
        role=role, stored_bytes=nbytes, storage_key=key, meta=meta,
    )


class _Value:
    """An initializer or Constant output visible in a graph's scope; recorded at its first consumer."""

    def __init__(self, tensor: Any, key: str, constant: bool, node: str | None = None) -> None:
        self.tensor = tensor
        self.key = key  #: scoped identity: the same name in another subgraph is another tensor
        self.constant = constant
        self.node = node  #: the Constant node that produces it
        self.record: TensorRecord | None = None
        self.slots: set[tuple[str, int]] = set()


def _consumers(graph: Any) -> dict[str, set[tuple[str, int]]]:
    """Input name → (op type, slot) of every node that reads it in this graph and its subgraphs."""
    out: dict[str, set[tuple[str, int]]] = {}
    stack = [graph]
    while stack:
        g = stack.pop()
        for node in g.node:
            op = _text(node.op_type)
            for i, x in enumerate(node.input):
                out.setdefault(_text(x), set()).add((op, i))
            for attr in node.attribute:
                if attr.type == 5:
                    stack.append(attr.g)
                elif attr.type == 10:
                    stack.extend(attr.graphs)
    return out


def _graph(ctx: _Ctx, graph: Any, path: str, name: str, kind: str,
           outer: dict[str, _Value] | None = None) -> Component:
    """One graph as a component: a child per node that holds tensors, unused initializers on itself.

    Names are scoped: an initializer or Constant of a subgraph (``If``/``Loop``/``Scan`` body)
    shadows the outer one of the same name and never shares storage with it; an outer value
    read inside a subgraph is the same tensor, shown at each consumer and counted once.
    """
    scope_id = path or "<main>"
    consumers = _consumers(graph)
    own: dict[str, _Value] = {}
    for t in graph.initializer:
        n = _text(t.name)
        own[n] = _Value(t, f"inline:{scope_id}/{n}", constant=False)
        own[n].slots = consumers.get(n, set())
    ctx.initializers += len(graph.initializer)
    names: Counter = Counter()
    cnames: list[str] = []
    for i, node in enumerate(graph.node):
        base = _text(node.name) or f"{_text(node.op_type)}_{i}"
        names[base] += 1
        cnames.append(base if names[base] == 1 else f"{base}#{names[base]}")
        if _text(node.op_type) == "Constant":
            for attr in node.attribute:
                if attr.type == 4 and node.output:  # TENSOR
                    out_name = _text(node.output[0])
                    v = _Value(attr.t, f"const:{join(path, cnames[-1])}", constant=True, node=cnames[-1])
                    v.slots = consumers.get(out_name, set())
                    own[out_name] = v
    scope = {**(outer or {}), **own}
    children: list[Component] = []
    for i, node in enumerate(graph.node):
        ctx.nodes += 1
        op_type, domain = _text(node.op_type), _text(node.domain)
        ctx.ops[f"{domain}::{op_type}" if domain not in ("", "ai.onnx") else op_type] += 1
        cname = cnames[i]
        cpath = join(path, cname)
        tensors: list[TensorRecord] = []
        for slot, inp in enumerate(_text(x) for x in node.input):
            value = scope.get(inp)
            if value is None or any(r.meta.get("onnx_input") == inp for r in tensors):
                continue
            label = WEIGHT_SLOTS.get(op_type, {}).get(slot) if value.constant else None
            rpath = join(cpath, label or inp)
            if value.record is None:
                role = _role(value.tensor, inp, value.slots, value.constant)
                rec = _record(ctx, value.tensor, rpath, role, value.key)
                value.record = rec.with_(meta={**rec.meta, "onnx_input": inp,
                                               **({"constant_node": value.node} if value.node else {})})
                tensors.append(value.record)
            else:  # shared: same storage, visible at each consumer
                tensors.append(value.record.with_(path=rpath, meta={**value.record.meta,
                                                                     "same_as": value.record.path}))
        subgraphs: list[Component] = []
        for attr in node.attribute:
            aname = _text(attr.name)
            if attr.type == 5:  # GRAPH
                subgraphs.append(_graph(ctx, attr.g, join(cpath, aname), aname, "Graph", scope))
            elif attr.type == 10:  # GRAPHS
                for j, g in enumerate(attr.graphs):
                    subgraphs.append(_graph(ctx, g, join(cpath, f"{aname}[{j}]"), f"{aname}[{j}]", "Graph", scope))
        if op_type == "Constant" and node.output:
            value = own.get(_text(node.output[0]))
            if value is not None and value.record is None and not value.slots:  # read by no node (a graph output)
                role = _role(value.tensor, value.node or "", value.slots, True)
                value.record = _record(ctx, value.tensor, join(cpath, "value"), role, value.key)
                tensors.append(value.record)
        if tensors or subgraphs:
            children.append(Component(name=cname, kind=op_type, path=cpath, tensors=tuple(tensors),
                                      children=tuple(subgraphs), attrs={"domain": domain} if domain else {}))
    unused = []
    for n, v in own.items():
        if v.record is None and not v.constant:
            unused.append(_record(ctx, v.tensor, join(path, n), _role(v.tensor, n, v.slots, False), v.key))
    if unused:
        ctx.notes.append(f"{len(unused)} initializers in graph {_text(graph.name)!r} feed no node "
                         "(graph inputs or unused).")
    return Component(name=name, kind=kind, path=path, tensors=tuple(unused), children=tuple(children),
                     attrs={"graph_name": _text(graph.name)} if graph.name else {})


def read_onnx(path: Path) -> Report:
    onnx = require("onnx", "read ONNX files")
    from google.protobuf.message import DecodeError

    size = path.stat().st_size
    if size >= 1 << 31:
        raise invalid(path, FORMAT, f"it is {size} bytes; a protobuf is at most 2 GB (larger models keep weights "
                                    "in external data files)")
    try:
        model = onnx.load(path.open("rb") if is_remote(path) else str(path), load_external_data=False)
    except (DecodeError, ValueError, OSError, RuntimeError) as exc:
        raise invalid(path, FORMAT, f"the protobuf cannot be parsed ({type(exc).__name__}: {exc})") from None
    if not model.HasField("graph"):
        raise invalid(path, FORMAT, "it has no graph")
    ctx = _Ctx(path)
    root = _graph(ctx, model.graph, "", path.name, "ModelProto")
    producer = " ".join(_text(p) for p in (model.producer_name, model.producer_version) if p)
    graph_name = _text(model.graph.name)
    # the root's kind is the format; the producer's graph name is an attribute, not a kind
    attrs = {k: v for k, v in (("producer", producer), ("graph_name", graph_name)) if v}
    root = root.with_(kind="onnx", attrs=attrs)
    section = {
        "ir_version": model.ir_version,
        "opset": {(_text(o.domain) or "ai.onnx"): o.version for o in model.opset_import},
        "producer": producer or None,
        "graph_name": graph_name,
        "nodes": ctx.nodes,
        "initializers": ctx.initializers,
        "op_counts": dict(ctx.ops.most_common()),
        "inline_tensor_bytes": ctx.inline_bytes,
        "external_tensor_bytes": ctx.external_bytes,
        "external_data": list(ctx.external.values()),
        "metadata": {_text(p.key): _text(p.value) for p in model.metadata_props},
    }
    layouts = [FileLayout(path.name, size, {"tensor_data": min(ctx.inline_bytes, size)})]
    for info in ctx.external.values():
        if info["bytes"] is not None:
            used = min(info["used"], info["bytes"])
            layouts.append(FileLayout(info["location"], info["bytes"], {"tensor_data": used}))
    layouts[0].split["graph"] = size - layouts[0].split["tensor_data"]
    return build_report(
        path, FORMAT, [], root=root, framework="onnx", object_type="ModelProto",
        sections={"file": file_section(FORMAT, layouts), "onnx": section}, notes=ctx.notes,
    )


class OnnxReader:
    name = "onnx"

    def sniff(self, path: Path, head: bytes) -> bool:
        return bool(head) and path.suffix.lower() == ".onnx"

    def read(self, path: Path) -> Report:
        return read_onnx(path)

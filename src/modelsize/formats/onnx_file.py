"""ONNX models: initializers grouped by the node that consumes them, op counts, external data.

The ``ModelProto`` is walked on the protobuf wire format straight from the file
(:class:`~modelsize.formats._protobuf.Stream`), without the ``onnx`` package: names, op types,
shapes, dtypes and the *offset and length* of each tensor's bytes are read, the bytes themselves
are skipped, so memory and time follow the graph's size, not the weights'. The external data
files that large models keep their weights in are never opened — their sizes come from each
tensor's ``external_data`` entries (``length``, or the dense size) and are checked against the
files' sizes on disk with ``stat`` only. Every count, length and nesting depth read from the
file is capped on its own (the ``MAX_*`` numbers below, in SECURITY.md). Nothing in an ONNX file
is executable; this reader only interprets data.
"""

from __future__ import annotations

import math
import sys
from collections import Counter
from pathlib import Path
from typing import Any, BinaryIO, Iterable

from ..core.report import Report
from ..core.tensors import Role, TensorRecord
from ..core.tree import Component, join
from ._common import FileLayout, build_report, file_section, invalid, require_regular, role_for_name, span_key
from ._protobuf import Stream, WireError, WireLimit, signed
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
EXTERNAL = 1  #: TensorProto.DataLocation.EXTERNAL


#: Caps on what a file may claim, each on its own (a sparse file makes any size cheap). Real
#: exports stay far below them: GPT-2 has ~2,500 nodes and ~150 initializers, a 70B-parameter
#: LLM export ~50,000 nodes. At the caps a hostile file is read in about 10 s of CPU and under
#: 1 GiB (BENCHMARKS.md, "ONNX reader"); past one it is refused in one line.
MAX_NODES = 200_000  #: nodes in all graphs together
MAX_TENSORS = 200_000  #: initializers, sparse initializers and Constant values, all graphs
MAX_EDGES = 1_000_000  #: node inputs and outputs, all nodes
MAX_REFERENCES = 200_000  #: tensor rows in the tree (a tensor read by N nodes shows N times)
MAX_GRAPHS = 100_000  #: subgraphs (If/Loop/Scan bodies)
MAX_DEPTH = 32  #: subgraphs nested in subgraphs
MAX_DIMS = 64  #: dimensions of one tensor
MAX_STRING = 1 << 16  #: bytes in one name, op type or external-data entry
MAX_STRING_BYTES = 64 << 20  #: bytes of all strings held
MAX_FIELDS = 4_000_000  #: protobuf fields walked (bounds the CPU time: ~1 µs each)
MAX_EXTERNAL_ENTRIES = 64  #: external_data key/value pairs of one tensor
REMOTE_CHUNK = 1 << 16  #: bytes a remote read asks for at a time (each window is one Range request)
MAX_LOCATION = 4096  #: bytes in an external-data location (PATH_MAX); 255 per path component (NAME_MAX)


class _Tensor:
    """What the reader keeps of a TensorProto: its header, and the length of its data."""

    __slots__ = ("name", "data_type", "dims", "raw_bytes", "string_bytes", "data_location", "external", "sparse")

    def __init__(self) -> None:
        self.name = ""
        self.data_type = 0
        self.dims: list[int] = []
        self.raw_bytes = 0  #: length of raw_data (its bytes are skipped)
        self.string_bytes = 0  #: total length of string_data
        self.data_location = 0
        self.external: dict[str, str] = {}
        self.sparse: tuple[_Tensor, _Tensor] | None = None  #: (values, indices) of a SparseTensorProto


class _Node:
    __slots__ = ("name", "op_type", "domain", "inputs", "outputs", "constants", "subgraphs")

    def __init__(self) -> None:
        self.name = self.op_type = self.domain = ""
        self.inputs: list[str] = []
        self.outputs: list[str] = []
        self.constants: list[_Tensor] = []  #: TENSOR / SPARSE_TENSOR attributes (kept for Constant nodes)
        self.subgraphs: list[tuple[str, _GraphDesc]] = []  #: (name in the tree, graph) of GRAPH/GRAPHS attributes


class _GraphDesc:
    __slots__ = ("name", "nodes", "initializers", "sparse_initializers")

    def __init__(self) -> None:
        self.name = ""
        self.nodes: list[_Node] = []
        self.initializers: list[_Tensor] = []
        self.sparse_initializers: list[_Tensor] = []


class _Walker:
    """Walks a ModelProto in a file into the descriptions above, every count capped."""

    def __init__(self, stream: Stream) -> None:
        self.s = stream
        self.nodes = self.tensors = self.edges = self.graphs = self.string_bytes = 0
        self._ops: dict[bytes, str] = {}

    def text(self, offset: int, length: int, what: str) -> str:
        if length > MAX_STRING:
            raise WireLimit(f"{what} at offset {offset} is {length:,} bytes long; names are capped at "
                            f"{MAX_STRING:,} bytes")
        self.string_bytes += length
        if self.string_bytes > MAX_STRING_BYTES:
            raise WireLimit(f"its names and strings add up to more than {MAX_STRING_BYTES:,} bytes")
        return self.s.read(offset, length).decode("utf-8", "replace")

    def name(self, offset: int, length: int, what: str) -> str:
        """A tensor or node name: one shared string per distinct name (inputs repeat outputs)."""
        return sys.intern(self.text(offset, length, what))

    def count(self, attr: str, cap: int, what: str, n: int = 1) -> None:
        value = getattr(self, attr) + n
        if value > cap:
            raise WireLimit(f"it holds more than {cap:,} {what}")
        setattr(self, attr, value)

    def tensor(self, start: int, end: int) -> _Tensor:
        t = _Tensor()
        for number, wire, value, length in self.s.fields(start, end):
            if number == 1:  # dims: int64, one varint a field or packed
                self.dims(t.dims, wire, value, length, start)
            elif number == 2 and wire == 0:
                t.data_type = signed(value)
            elif number == 8 and wire == 2:
                t.name = self.text(value, length, "a tensor name")
            elif number == 9 and wire == 2:
                t.raw_bytes = length  # the data itself is skipped
            elif number == 6 and wire == 2:
                t.string_bytes += length
            elif number == 14 and wire == 0:
                t.data_location = signed(value)
            elif number == 13 and wire == 2:
                key, val = self.entry(value, value + length, "an external-data entry")
                t.external[key] = val
                if len(t.external) > MAX_EXTERNAL_ENTRIES:
                    raise WireLimit(f"tensor {t.name!r} has more than {MAX_EXTERNAL_ENTRIES} external-data entries")
        return t

    def dims(self, dims: list[int], wire: int, value: int, length: int, start: int) -> None:
        """Append a dims field (one varint, or packed varints) to ``dims``, at most MAX_DIMS in all."""
        if wire not in (0, 2):
            return  # not an int64: protobuf keeps it as an unknown field
        room = MAX_DIMS - len(dims)
        try:
            dims.extend(signed(v) for v in ([value] if wire == 0 else self.s.packed_varints(value, length, room)))
        except WireLimit:
            room = -1
        if room < 0 or len(dims) > MAX_DIMS:
            raise WireLimit(f"a tensor at offset {start} has more than {MAX_DIMS} dimensions")

    def entry(self, start: int, end: int, what: str) -> tuple[str, str]:
        """A StringStringEntryProto: (key, value)."""
        key = val = ""
        for number, wire, value, length in self.s.fields(start, end):
            if wire == 2 and number in (1, 2):
                text = self.text(value, length, what)
                key, val = (text, val) if number == 1 else (key, text)
        return key, val

    def sparse(self, start: int, end: int) -> _Tensor:
        """A SparseTensorProto as a tensor of its dense shape holding its values and indices."""
        values, indices, dims = _Tensor(), _Tensor(), []
        for number, wire, value, length in self.s.fields(start, end):
            if number == 1 and wire == 2:
                values = self.tensor(value, value + length)
            elif number == 2 and wire == 2:
                indices = self.tensor(value, value + length)
            elif number == 3:
                self.dims(dims, wire, value, length, start)
        t = _Tensor()
        t.name, t.data_type, t.dims, t.sparse = values.name, values.data_type, dims, (values, indices)
        return t

    def attribute(self, start: int, end: int, depth: int, node: _Node) -> None:
        name, kind, tensor, graph, graphs = "", 0, None, None, []
        for number, wire, value, length in self.s.fields(start, end):
            if number == 1 and wire == 2:
                name = self.text(value, length, "an attribute name")
            elif number == 20 and wire == 0:
                kind = signed(value)
            elif wire == 2 and number in (5, 6, 11, 22):  # t, g, graphs, sparse_tensor: walked once the type is known
                if number == 11:
                    graphs.append((value, length))
                elif number == 6:
                    graph = (value, length)
                else:
                    tensor = (number, value, length)
        if kind in (4, 11) and tensor is not None and tensor[0] == (5 if kind == 4 else 22):  # TENSOR, SPARSE_TENSOR
            self.count("tensors", MAX_TENSORS, "initializers and Constant values")
            read = self.tensor if kind == 4 else self.sparse
            node.constants.append(read(tensor[1], tensor[1] + tensor[2]))
        elif kind == 5:  # GRAPH (an empty one when the field is absent, as protobuf reads it)
            node.subgraphs.append((name, self.graph([graph] if graph else [], depth + 1)))
        elif kind == 10:  # GRAPHS
            for j, (off, n) in enumerate(graphs):
                node.subgraphs.append((f"{name}[{j}]", self.graph([(off, n)], depth + 1)))

    def node(self, start: int, end: int, depth: int) -> _Node:
        node = _Node()
        self.count("nodes", MAX_NODES, "nodes")
        for number, wire, value, length in self.s.fields(start, end):
            if wire != 2:
                continue
            if number == 1 or number == 2:
                self.edges += 1
                if self.edges > MAX_EDGES:
                    raise WireLimit(f"it holds more than {MAX_EDGES:,} node inputs and outputs")
                (node.inputs if number == 1 else node.outputs).append(self.name(value, length, "a node input"))
            elif number == 3:
                node.name = self.text(value, length, "a node name")
            elif number in (4, 7):
                raw = self.s.read(value, length) if length <= MAX_STRING else b""
                op = self._ops.get(raw) or self._ops.setdefault(raw, self.text(value, length, "an op type"))
                node.op_type, node.domain = (op, node.domain) if number == 4 else (node.op_type, op)
            elif number == 5:
                self.attribute(value, value + length, depth, node)
        if node.op_type != "Constant":
            node.constants = []
        return node

    def graph(self, ranges: Iterable[tuple[int, int]], depth: int) -> _GraphDesc:
        """A GraphProto; the occurrences of a message field merge, as protobuf merges them."""
        if depth > MAX_DEPTH:
            raise WireLimit(f"its subgraphs nest more than {MAX_DEPTH} levels deep")
        self.count("graphs", MAX_GRAPHS, "subgraphs")
        g = _GraphDesc()
        for off, n in ranges:
            for number, wire, value, length in self.s.fields(off, off + n):
                if wire != 2:
                    continue
                if number == 1:
                    g.nodes.append(self.node(value, value + length, depth))
                elif number == 2:
                    g.name = self.text(value, length, "a graph name")
                elif number in (5, 15):
                    self.count("tensors", MAX_TENSORS, "initializers and Constant values")
                    if number == 5:
                        g.initializers.append(self.tensor(value, value + length))
                    else:
                        g.sparse_initializers.append(self.sparse(value, value + length))
        return g


class _ModelDesc:
    def __init__(self) -> None:
        self.ir_version = 0
        self.producer_name = self.producer_version = ""
        self.graph: _GraphDesc | None = None
        self.opset: dict[str, int] = {}
        self.metadata: dict[str, str] = {}


def _walk_model(w: _Walker) -> _ModelDesc:
    """The ModelProto's fields; the graph's occurrences are collected first and merged."""
    m = _ModelDesc()
    graphs: list[tuple[int, int]] = []
    for number, wire, value, length in w.s.fields(0, w.s.size):
        if number == 1 and wire == 0:
            m.ir_version = signed(value)
        elif wire != 2:
            continue
        elif number in (2, 3):
            text = w.text(value, length, "the producer")
            m.producer_name, m.producer_version = (text, m.producer_version) if number == 2 else (m.producer_name,
                                                                                                 text)
        elif number == 7:
            graphs.append((value, length))
        elif number == 8:  # OperatorSetIdProto: domain (1), version (2)
            domain, version = "", 0
            for n2, w2, v2, l2 in w.s.fields(value, value + length):
                if n2 == 1 and w2 == 2:
                    domain = w.text(v2, l2, "an opset domain")
                elif n2 == 2 and w2 == 0:
                    version = signed(v2)
            m.opset[domain or "ai.onnx"] = version
        elif number == 14:
            key, val = w.entry(value, value + length, "a metadata entry")
            m.metadata[key] = val
    if graphs:
        m.graph = w.graph(graphs, 0)
    return m

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


def _role(tensor: _Tensor, name: str, slots: set[tuple[str, int]], constant: bool) -> Role:
    """Role of an initializer or Constant value from the inputs it feeds and its type.

    A weight slot (Conv W/B, Gemm/MatMul B, LSTM W/R/B …) makes a parameter; so does a float
    Constant of two or more dimensions (weights frozen into Constant nodes by TF, Paddle and
    some PyTorch exports). 32/64-bit integers elsewhere are shapes and indices (metadata).
    """
    for op, i in sorted(slots):  # sorted: the same answer on every run when consumers disagree
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
        self.sparse_initializers = 0
        self.references = 0  #: tensor rows made so far


def _check_location(ctx: _Ctx, name: str, location: str) -> None:
    """Refuse a location no file system can hold: a NUL byte, or a name past PATH_MAX/NAME_MAX."""
    if "\0" in location:
        raise invalid(ctx.path, FORMAT, f"tensor {name!r} names its external data file with a NUL byte "
                                        f"({location[:80]!r})")
    longest = max(len(part.encode("utf-8", "replace")) for part in location.replace("\\", "/").split("/"))
    total = len(location.encode("utf-8", "replace"))
    if total > MAX_LOCATION or longest > 255:
        raise invalid(ctx.path, FORMAT, f"tensor {name!r} names an external data file of {total:,} bytes "
                                        f"({location[:40]!r}…); a location may have at most {MAX_LOCATION} bytes "
                                        "and 255 per path component")


def _external_file(ctx: _Ctx, location: str) -> dict[str, Any]:
    """What ``stat`` says of an external data file, checked once per location."""
    info = ctx.external.get(location)
    if info is not None:
        return info
    try:
        target = (ctx.folder / location).resolve() if location else None
    except (OSError, RuntimeError):  # a link loop: nothing to check, nothing read
        target = None
    inside = target is not None and (target == ctx.folder or ctx.folder in target.parents)
    info = {"location": location, "inside_model_folder": inside, "exists": False, "bytes": None, "used": 0}
    if not inside:
        ctx.notes.append(f"External data location {location!r} points outside the model's folder; not checked.")
    else:
        try:
            if target.is_file():
                info["exists"] = True
                info["bytes"] = target.stat().st_size
        except OSError as exc:
            ctx.notes.append(f"External data file {location!r} cannot be checked ({exc.strerror}); sizes come from "
                             "the model's fields.")
        else:
            if not info["exists"]:
                ctx.notes.append(f"External data file {location!r} is missing; sizes come from the model's fields.")
    ctx.external[location] = info
    return info


def _external_info(ctx: _Ctx, tensor: _Tensor, dense: int) -> tuple[int, str]:
    entries = tensor.external
    location = entries.get("location", "")
    _check_location(ctx, tensor.name, location)
    try:
        offset = int(entries.get("offset", 0) or 0)
        length = int(entries["length"]) if entries.get("length") else dense
    except ValueError:
        raise invalid(ctx.path, FORMAT, f"tensor {tensor.name!r} has a non-numeric external offset or "
                                        "length") from None
    if offset < 0 or length < 0:
        raise invalid(ctx.path, FORMAT, f"tensor {tensor.name!r} has a negative external offset or length")
    info = _external_file(ctx, location)
    if info["bytes"] is not None and offset + length > info["bytes"]:
        raise invalid(
            ctx.path, FORMAT,
            f"tensor {tensor.name!r} needs bytes {offset}..{offset + length} of {location!r}, "
            f"which has {info['bytes']} bytes",
        )
    info["used"] += length
    return length, span_key(location, offset, length, f"{location}:{tensor.name}")


def _dtype(ctx: _Ctx, tensor: _Tensor) -> tuple[str, float | None, int, int]:
    """(dtype, bits per element, element count, dense bytes) of a tensor's header."""
    if any(d < 0 for d in tensor.dims):
        raise invalid(ctx.path, FORMAT, f"tensor {tensor.name!r} has a negative dimension {tensor.dims}")
    dtype, bits = DTYPES.get(tensor.data_type, (f"onnx_type_{tensor.data_type}", None))
    numel = math.prod(tensor.dims)
    return dtype, bits, numel, -(-numel * int(bits) // 8) if bits else 0


def _stored(ctx: _Ctx, tensor: _Tensor, dense: int) -> tuple[int, str | None]:
    """Bytes a tensor's data takes, from its length fields; the storage key of external data."""
    if tensor.data_location == EXTERNAL:
        nbytes, key = _external_info(ctx, tensor, dense)
        ctx.external_bytes += nbytes
        return nbytes, key
    nbytes = tensor.raw_bytes or (tensor.string_bytes if tensor.data_type == 8 else dense)
    ctx.inline_bytes += nbytes
    return nbytes, None


def _record(ctx: _Ctx, tensor: _Tensor, path: str, role: Role, key: str) -> TensorRecord:
    dtype, bits, numel, dense = _dtype(ctx, tensor)
    meta: dict[str, Any] = {"onnx_name": tensor.name}
    if tensor.sparse is None:
        nbytes, external_key = _stored(ctx, tensor, dense)
    else:  # the dense shape's elements; stored: the values and their indices
        values, indices = tensor.sparse
        stored = [_stored(ctx, t, _dtype(ctx, t)[3]) for t in (values, indices)]
        nbytes, external_key = stored[0][0] + stored[1][0], stored[0][1]
        meta["sparse"] = {"values": math.prod(values.dims), "values_bytes": stored[0][0],
                          "indices_bytes": stored[1][0]}
    if external_key is not None:
        key = external_key
        meta["external"] = True
    if not bits:  # strings and unknown types: the bits they hold on average
        bits = nbytes * 8 / numel if numel else 0.0
    return TensorRecord(
        path=path, shape=tuple(tensor.dims), dtype=dtype, bits=bits,
        role=role, stored_bytes=nbytes, storage_key=key, meta=meta,
    )


class _Value:
    """An initializer or Constant output visible in a graph's scope; recorded at its first consumer."""

    __slots__ = ("tensor", "key", "constant", "node", "record", "slots")

    def __init__(self, tensor: _Tensor, key: str, constant: bool, node: str | None = None) -> None:
        self.tensor = tensor
        self.key = key  #: scoped identity: the same name in another subgraph is another tensor
        self.constant = constant
        self.node = node  #: the Constant node that produces it
        self.record: TensorRecord | None = None
        self.slots: set[tuple[str, int]] = set()  #: (op type, input slot) of every node that reads it


class _Scope:
    """The values visible by name while graphs are walked: each name's innermost owner on top."""

    def __init__(self) -> None:
        self._stacks: dict[str, list[_Value]] = {}

    def get(self, name: str) -> _Value | None:
        stack = self._stacks.get(name)
        return stack[-1] if stack else None

    def push(self, own: dict[str, _Value]) -> None:
        for n, v in own.items():
            self._stacks.setdefault(n, []).append(v)

    def pop(self, own: dict[str, _Value]) -> None:
        for n in own:
            stack = self._stacks[n]
            stack.pop()
            if not stack:
                del self._stacks[n]


def _bind(graph: _GraphDesc, path: str, scope: _Scope, names: dict[int, tuple[dict[str, _Value], list[str]]]) -> None:
    """First pass: each graph's own values and node names, and the consumers of every value.

    Names are scoped: an initializer or Constant of a subgraph (``If``/``Loop``/``Scan`` body)
    shadows the outer one of the same name; an input is bound to the innermost value so named.
    """
    own: dict[str, _Value] = {}
    for t in graph.initializers + graph.sparse_initializers:
        own[t.name] = _Value(t, f"inline:{path or '<main>'}/{t.name}", constant=False)
    seen: Counter = Counter()
    cnames: list[str] = []
    for i, node in enumerate(graph.nodes):
        base = node.name or f"{node.op_type}_{i}"
        seen[base] += 1
        cnames.append(base if seen[base] == 1 else f"{base}#{seen[base]}")
        for t in node.constants:  # a Constant node's TENSOR attribute (the last one, as before)
            if node.outputs:
                own[node.outputs[0]] = _Value(t, f"const:{join(path, cnames[-1])}", constant=True, node=cnames[-1])
    names[id(graph)] = (own, cnames)
    scope.push(own)
    for i, node in enumerate(graph.nodes):
        for slot, inp in enumerate(node.inputs):
            value = scope.get(inp)
            if value is not None:
                value.slots.add((node.op_type, slot))
        for aname, sub in node.subgraphs:
            _bind(sub, join(join(path, cnames[i]), aname), scope, names)
    scope.pop(own)


def _node_tensors(ctx: _Ctx, node: _Node, cpath: str, scope: _Scope) -> list[TensorRecord]:
    """The initializers and Constant values a node reads: recorded at the first reader, shared after."""
    tensors: list[TensorRecord] = []
    done: set[str] = set()
    for slot, inp in enumerate(node.inputs):
        value = scope.get(inp)
        if value is None or inp in done:
            continue
        done.add(inp)
        ctx.references += 1
        if ctx.references > MAX_REFERENCES:
            raise invalid(ctx.path, FORMAT, f"its nodes read initializers and Constant values more than "
                                            f"{MAX_REFERENCES:,} times, past modelsize's limit for ONNX files "
                                            "(see SECURITY.md)")
        label = WEIGHT_SLOTS.get(node.op_type, {}).get(slot) if value.constant else None
        rpath = join(cpath, label or inp)
        if value.record is None:
            role = _role(value.tensor, inp, value.slots, value.constant)
            rec = _record(ctx, value.tensor, rpath, role, value.key)
            value.record = rec.with_(meta={**rec.meta, "onnx_input": inp,
                                           **({"constant_node": value.node} if value.node else {})})
            tensors.append(value.record)
        else:  # shared: same storage, visible at each consumer
            tensors.append(value.record.with_(path=rpath, meta={**value.record.meta, "same_as": value.record.path}))
    return tensors


def _graph(ctx: _Ctx, graph: _GraphDesc, path: str, name: str, kind: str, scope: _Scope,
           names: dict[int, tuple[dict[str, _Value], list[str]]]) -> Component:
    """One graph as a component: a child per node that holds tensors, unused initializers on itself.

    An outer value read inside a subgraph is the same tensor, shown at each consumer and counted
    once; a subgraph's own value of the same name is another tensor.
    """
    own, cnames = names[id(graph)]
    scope.push(own)
    ctx.initializers += len(graph.initializers)
    ctx.sparse_initializers += len(graph.sparse_initializers)
    children: list[Component] = []
    for i, node in enumerate(graph.nodes):
        ctx.nodes += 1
        op_type, domain = node.op_type, node.domain
        ctx.ops[f"{domain}::{op_type}" if domain not in ("", "ai.onnx") else op_type] += 1
        cpath = join(path, cnames[i])
        tensors = _node_tensors(ctx, node, cpath, scope)
        subgraphs = [_graph(ctx, sub, join(cpath, aname), aname, "Graph", scope, names)
                     for aname, sub in node.subgraphs]
        if op_type == "Constant" and node.outputs:
            value = own.get(node.outputs[0])
            if value is not None and value.record is None and not value.slots:  # read by no node (a graph output)
                role = _role(value.tensor, value.node or "", value.slots, True)
                value.record = _record(ctx, value.tensor, join(cpath, "value"), role, value.key)
                tensors.append(value.record)
        if tensors or subgraphs:
            children.append(Component(name=cnames[i], kind=op_type, path=cpath, tensors=tuple(tensors),
                                      children=tuple(subgraphs), attrs={"domain": domain} if domain else {}))
    scope.pop(own)
    unused = []
    for n, v in own.items():
        if v.record is None and not v.constant:
            unused.append(_record(ctx, v.tensor, join(path, n), _role(v.tensor, n, v.slots, False), v.key))
    if unused:
        ctx.notes.append(f"{len(unused)} initializers in graph {graph.name!r} feed no node "
                         "(graph inputs or unused).")
    return Component(name=name, kind=kind, path=path, tensors=tuple(unused), children=tuple(children),
                     attrs={"graph_name": graph.name} if graph.name else {})


def _open(path: Path) -> BinaryIO:
    """The file, unbuffered: :class:`Stream` reads a window at a time itself."""
    return path.open("rb") if is_remote(path) else open(path, "rb", buffering=0)


def _parse(path: Path) -> tuple[_ModelDesc, int]:
    """The model's description and the file's size, or our error for a broken or oversized file."""
    require_regular(path)
    size = path.stat().st_size
    if size >= 1 << 31:
        raise invalid(path, FORMAT, f"it is {size} bytes; a protobuf is at most 2 GB (larger models keep weights "
                                    "in external data files)")
    try:
        with _open(path) as fh:
            stream = Stream(fh, size, MAX_FIELDS, REMOTE_CHUNK if is_remote(path) else Stream.CHUNK)
            model = _walk_model(_Walker(stream))
    except WireLimit as exc:
        raise invalid(path, FORMAT, f"{exc}, past modelsize's limit for ONNX files (see SECURITY.md)") from None
    except WireError as exc:
        raise invalid(path, FORMAT, f"the protobuf cannot be parsed ({exc})") from None
    except OSError as exc:
        raise invalid(path, FORMAT, f"it cannot be read ({exc.strerror or exc})") from None
    if model.graph is None:
        raise invalid(path, FORMAT, "it has no graph")
    return model, size


def read_onnx(path: Path) -> Report:
    model, size = _parse(path)
    graph = model.graph
    assert graph is not None
    ctx = _Ctx(path)
    names: dict[int, tuple[dict[str, _Value], list[str]]] = {}
    _bind(graph, "", _Scope(), names)
    root = _graph(ctx, graph, "", path.name, "ModelProto", _Scope(), names)
    producer = " ".join(p for p in (model.producer_name, model.producer_version) if p)
    # the root's kind is the format; the producer's graph name is an attribute, not a kind
    attrs = {k: v for k, v in (("producer", producer), ("graph_name", graph.name)) if v}
    root = root.with_(kind="onnx", attrs=attrs)
    section = {
        "ir_version": model.ir_version,
        "opset": model.opset,
        "producer": producer or None,
        "graph_name": graph.name,
        "nodes": ctx.nodes,
        "initializers": ctx.initializers,
        "sparse_initializers": ctx.sparse_initializers,
        "op_counts": dict(ctx.ops.most_common()),
        "inline_tensor_bytes": ctx.inline_bytes,
        "external_tensor_bytes": ctx.external_bytes,
        "external_data": list(ctx.external.values()),
        "metadata": model.metadata,
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

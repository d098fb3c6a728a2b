"""TFLite flatbuffers: tensors, buffers, quantisation parameters, op counts — no TensorFlow needed.

A ``.tflite`` file is one flatbuffer (``TFL3`` identifier) whose ``buffers`` hold the constant
tensors' bytes (or, for models over 2 GB, an offset and size into the bytes after the
flatbuffer). A small bounds-checked flatbuffer walker reads the tables the schema defines
(``schema.fbs``; enum names in :mod:`._tflite_schema`). Every offset is checked against the
file before it is followed, so a corrupt file ends in :class:`InvalidFileError`.

The file is memory-mapped; the constant buffers' pages are touched only to count non-zero
elements (sparsity, zero-valued buffers), and only when their total is below
:data:`MAX_SCAN_BYTES`.
"""

from __future__ import annotations

import math
import struct
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from ..core.report import Report
from ..core.tensors import Role, TensorRecord
from ..core.tree import Component, join
from ._common import FileLayout, build_report, file_section, invalid, map_file
from ._tflite_schema import BUILTIN_OPERATORS, TENSOR_TYPES
from .declarations import TFLITE_IDENTIFIER as IDENTIFIER

FORMAT = "tflite"
#: Constant data above this total is not scanned for zeros (sizes are still exact).
MAX_SCAN_BYTES = 512 << 20
#: Constant-tensor references read at most (~800 bytes each): real models have thousands.
MAX_RECORDS = 500_000
#: Tensor and operator slots walked in the whole file, shared subgraphs and vectors included: a real model
#: has a few thousand per subgraph; a hostile one points thousands of subgraph slots at one big table.
MAX_SLOTS = 1 << 22
#: TensorType name → (modelsize dtype, bits, numpy dtype for counting non-zeros or None)
DTYPES: dict[str, tuple[str, float, str | None]] = {
    "FLOAT32": ("float32", 32, "<f4"), "FLOAT16": ("float16", 16, "<f2"), "INT32": ("int32", 32, "<i4"),
    "UINT8": ("uint8", 8, "u1"), "INT64": ("int64", 64, "<i8"), "STRING": ("string", 8, None),
    "BOOL": ("bool", 8, "u1"), "INT16": ("int16", 16, "<i2"), "COMPLEX64": ("complex64", 64, "<c8"),
    "INT8": ("int8", 8, "i1"), "FLOAT64": ("float64", 64, "<f8"), "COMPLEX128": ("complex128", 128, "<c16"),
    "UINT64": ("uint64", 64, "<u8"), "RESOURCE": ("resource", 0, None), "VARIANT": ("variant", 0, None),
    "UINT32": ("uint32", 32, "<u4"), "UINT16": ("uint16", 16, "<u2"), "INT4": ("int4", 4, None),
    "BFLOAT16": ("bfloat16", 16, "<u2"), "INT2": ("int2", 2, None), "UINT4": ("uint4", 4, None),
}


class _FB:
    """Bounds-checked access to a flatbuffer."""

    def __init__(self, buf: Any, path: Path) -> None:
        self.buf = buf
        self.n = len(buf)
        self.path = path
        self.vectors: dict[tuple[int, str], Any] = {}  #: parsed vectors by position: shared ones parsed once
        self.parsed = 0  #: bytes of distinct vectors parsed so far

    def parse_vector(self, start: int, n: int, fmt: str, size: int) -> Any:
        """The vector at ``start`` (cached); distinct vectors cannot add up to more bytes than the file."""
        key = (start, fmt)
        if key not in self.vectors:
            self.parsed += n * size
            if self.parsed > self.n:
                raise self.error(f"its vectors add up to more than the file's {self.n} bytes (they overlap)")
            if fmt == "s":
                self.vectors[key] = bytes(self.buf[start:start + n]).decode("utf-8", "replace")
            else:
                self.vectors[key] = struct.unpack_from(f"<{n}{fmt}", self.buf, start)
        return self.vectors[key]

    def error(self, defect: str) -> Exception:
        return invalid(self.path, FORMAT, defect)

    def _get(self, fmt: str, size: int, pos: int, what: str) -> Any:
        if pos < 0 or pos + size > self.n:
            raise self.error(f"{what} at offset {pos} lies outside the {self.n}-byte file")
        return struct.unpack_from(fmt, self.buf, pos)[0]

    def u8(self, pos: int, what: str) -> int:
        return self._get("<B", 1, pos, what)

    def u16(self, pos: int, what: str) -> int:
        return self._get("<H", 2, pos, what)

    def i32(self, pos: int, what: str) -> int:
        return self._get("<i", 4, pos, what)

    def u32(self, pos: int, what: str) -> int:
        return self._get("<I", 4, pos, what)

    def table(self, pos: int, what: str) -> "_Table":
        vtable = pos - self.i32(pos, what)
        vsize = self.u16(vtable, f"the vtable of {what}")
        if vsize < 4 or vsize % 2 or vtable + vsize > self.n:
            raise self.error(f"{what} has a malformed vtable at offset {vtable}")
        return _Table(self, pos, vtable, vsize, what)


class _Table:
    __slots__ = ("fb", "pos", "vtable", "vsize", "what")

    def __init__(self, fb: _FB, pos: int, vtable: int, vsize: int, what: str) -> None:
        self.fb, self.pos, self.vtable, self.vsize, self.what = fb, pos, vtable, vsize, what

    def _field(self, i: int) -> int:
        o = 4 + 2 * i
        return self.fb.u16(self.vtable + o, self.what) if o < self.vsize else 0

    def scalar(self, i: int, fmt: str, size: int, default: Any) -> Any:
        off = self._field(i)
        return self.fb._get(fmt, size, self.pos + off, self.what) if off else default

    def _indirect(self, i: int) -> int | None:
        off = self._field(i)
        if not off:
            return None
        p = self.pos + off
        return p + self.fb.u32(p, self.what)

    def table(self, i: int, what: str) -> "_Table | None":
        p = self._indirect(i)
        return None if p is None else self.fb.table(p, what)

    def vector(self, i: int, elem: int, what: str) -> tuple[int, int]:
        """(start, length) of a vector field; (0, 0) when absent."""
        p = self._indirect(i)
        if p is None:
            return 0, 0
        n = self.fb.u32(p, what)
        if n > (self.fb.n - p - 4) // max(elem, 1):
            raise self.fb.error(f"{what} claims {n} elements, past the end of the file")
        return p + 4, n

    def tables(self, i: int, what: str) -> list["_Table"]:
        return [self.fb.table(pos, f"{what}[{k}]") for k, pos in self.positions(i, what)]

    def positions(self, i: int, what: str) -> Iterator[tuple[int, int]]:
        """``(index, absolute position)`` of each table in a vector of tables, lazily (no table built)."""
        start, n = self.vector(i, 4, what)
        for k in range(n):
            yield k, start + 4 * k + self.fb.u32(start + 4 * k, what)

    def ints(self, i: int, fmt: str, size: int, what: str) -> tuple[Any, ...]:
        start, n = self.vector(i, size, what)
        return self.fb.parse_vector(start, n, fmt, size) if n else ()

    def string(self, i: int, what: str) -> str:
        start, n = self.vector(i, 1, what)
        return self.fb.parse_vector(start, n, "s", 1) if n else ""


def _op_name(code: _Table) -> str:
    deprecated = code.scalar(0, "<b", 1, 0)
    builtin = code.scalar(3, "<i", 4, 0)
    value = max(deprecated, builtin)  # the schema's rule: the larger of the two fields is the real code
    name = BUILTIN_OPERATORS.get(value, f"BUILTIN_{value}")
    if name == "CUSTOM":
        custom = code.string(1, "a custom op code")
        return f"CUSTOM:{custom}" if custom else name
    return name


def read_tflite(path: Path) -> Report:
    with map_file(path, FORMAT) as mm:
        return _read(path, mm)


@dataclass
class _Graph:
    """What the subgraph walk found: components, op counts and tensor statistics."""

    nodes: list[Component] = field(default_factory=list)
    ops: Counter = field(default_factory=Counter)
    quant_params: int = 0
    activations: int = 0
    const_buffers: set[int] = field(default_factory=set)
    shared_slots: int = 0  #: vector slots pointing at a table already visited (counted once)
    slots: int = 0  #: tensor and operator slots walked in all subgraphs (MAX_SLOTS)
    records: int = 0
    state_values: int = 0  #: constants assigned to resource variables (their initial values)


def _read(path: Path, mm: Any) -> Report:
    fb = _FB(mm, path)
    if fb.n < 8 or bytes(mm[4:8]) != IDENTIFIER:
        raise fb.error(f"the file identifier is {bytes(mm[4:8])!r}, not {IDENTIFIER!r}")
    model = fb.table(fb.u32(0, "the root offset"), "the model")
    op_names = [_op_name(c) for c in model.tables(1, "operator_codes")]
    spans = _buffer_spans(fb, model)
    metadata_buffers = {m.scalar(1, "<I", 4, 0): m.string(0, "a metadata name") for m in model.tables(6, "metadata")}
    graph = _Graph()
    subgraphs, seen_subgraphs = [], set()
    for si, pos in model.positions(2, "subgraphs"):
        if pos in seen_subgraphs:  # a slot pointing at a subgraph already listed: visited once
            graph.shared_slots += 1
            continue
        seen_subgraphs.add(pos)
        subgraphs.append((si, fb.table(pos, f"subgraphs[{si}]")))
    for si, sg in subgraphs:
        _subgraph(fb, sg, si, len(subgraphs) > 1, op_names, spans, graph, mm)
    layout, section, notes = _summary(fb, path, model, spans, metadata_buffers, graph, len(subgraphs))
    root = Component(name=path.name, kind="tflite", path="", children=tuple(graph.nodes))
    return build_report(path, FORMAT, [], root=root, framework="tflite", object_type="tflite_model",
                        sections={"file": file_section(FORMAT, [layout]), "tflite": section}, notes=notes)


def _buffer_spans(fb: _FB, model: _Table) -> list[tuple[int, int]]:
    """Buffer index → (absolute start, length); partial overlaps between buffers are refused."""
    spans: list[tuple[int, int]] = []
    for b in model.tables(4, "buffers"):
        start, n = b.vector(0, 1, "a buffer's data")
        if not n:
            offset, size = b.scalar(1, "<Q", 8, 0), b.scalar(2, "<Q", 8, 0)
            if offset > 1:  # data stored after the flatbuffer (models over 2 GB)
                if offset > fb.n or size > fb.n - offset:
                    raise fb.error(f"a buffer claims bytes {offset}..{offset + size} past the end of the file")
                start, n = offset, size
        spans.append((start, n))
    end = 0
    for start, n in sorted({s for s in spans if s[1]}):  # a shared vector is fine, a partial overlap is not
        if start < end:
            raise fb.error(f"buffers overlap at offset {start}")
        end = start + n
    return spans


def _subgraph(fb: _FB, sg: _Table, si: int, several: bool, op_names: list[str], spans: list[tuple[int, int]],
              graph: _Graph, mm: Any) -> None:
    """One subgraph's operators as components; every table is visited once, whatever points at it."""
    sg_name = sg.string(4, "a subgraph name") or f"subgraph_{si}"
    sg_path = sg_name if several else ""
    infos = _tensors(fb, sg, spans, graph)
    records_seen: dict[int, TensorRecord] = {}
    children: list[Component] = []
    seen_ops: set[int] = set()
    for oi, pos in sg.positions(3, "operators"):
        _count_slot(fb, graph)
        if pos in seen_ops:
            graph.shared_slots += 1
            continue
        seen_ops.add(pos)
        op = fb.table(pos, f"operators[{oi}]")
        idx = op.scalar(0, "<I", 4, 0)
        if idx >= len(op_names):
            raise fb.error(f"operator {oi} uses op code {idx}, but only {len(op_names)} are defined")
        opname = op_names[idx]
        graph.ops[opname] += 1
        base = f"{opname.lower()}_{oi}"
        cpath = join(sg_path, base)
        recs = []
        inputs = op.ints(1, "i", 4, "operator inputs")
        state = inputs[1] if opname == "ASSIGN_VARIABLE" and len(inputs) > 1 else None  # (handle, value)
        for ti in dict.fromkeys(inputs):  # Mul(x, x) reads x once
            if ti < 0:
                continue  # optional input left out
            if ti >= len(infos):
                raise fb.error(f"operator {oi} reads tensor {ti}, but the subgraph has {len(infos)}")
            info = infos[ti]
            if info["buffer"] and spans[info["buffer"]][1]:
                recs.extend(_records(info, cpath, records_seen, mm, state=ti == state))
                graph.state_values += ti == state
        graph.records += len(recs)
        if graph.records > min(3 * (fb.n // 4) + 64, MAX_RECORDS):  # ≤ 3 records per 4-byte input index
            raise fb.error(f"its operators expand to more than {graph.records} tensor records (a {fb.n}-byte file; "
                           f"at most {MAX_RECORDS} are read): tables or vectors shared through offsets")
        if recs:
            children.append(Component(name=base, kind=opname, path=cpath, tensors=tuple(recs)))
    if sg_path:
        graph.nodes.append(Component(name=sg_name, kind="SubGraph", path=sg_path, children=tuple(children)))
    else:
        graph.nodes.extend(children)


def _count_slot(fb: _FB, graph: _Graph) -> None:
    graph.slots += 1
    if graph.slots > MAX_SLOTS:
        raise fb.error(f"its subgraphs walk more than {MAX_SLOTS:,} tensor and operator slots (vectors shared "
                       "through offsets); modelsize stops there")


def _tensors(fb: _FB, sg: _Table, spans: list[tuple[int, int]], graph: _Graph) -> list[dict[str, Any]]:
    """The subgraph's tensors; slots that share one tensor table share one parsed tensor."""
    by_pos: dict[int, dict[str, Any]] = {}
    quant_seen: set[int] = set()
    infos = []
    for ti, pos in sg.positions(0, "tensors"):
        _count_slot(fb, graph)
        if pos in by_pos:
            graph.shared_slots += 1
            infos.append(by_pos[pos])
            continue
        info = by_pos[pos] = _tensor(fb, fb.table(pos, f"tensors[{ti}]"), ti, spans)
        infos.append(info)
        q = info["quant"]
        if q and q["pos"] not in quant_seen:
            quant_seen.add(q["pos"])
            graph.quant_params += len(q["scale"])
        if info["buffer"] and spans[info["buffer"]][1]:
            graph.const_buffers.add(info["buffer"])
        else:
            graph.activations += 1
    return infos


def _summary(fb: _FB, path: Path, model: _Table, spans: list[tuple[int, int]], metadata_buffers: dict[int, str],
             graph: _Graph, n_subgraphs: int) -> tuple[FileLayout, dict[str, Any], list[str]]:
    """The file layout, the ``tflite`` section and the notes."""
    all_records = [r for c in graph.nodes for r in c.iter_tensors()]
    unique = {r.storage_key: r for r in all_records if r.role in (Role.PARAMETER, Role.BUFFER)}
    zero = [r for r in unique.values() if r.nnz == 0 and r.numel]
    claimed: set[tuple[int, int]] = set()

    def total(indices: Any) -> int:
        out = 0
        for i in indices:
            if 0 <= i < len(spans) and spans[i][1] and spans[i] not in claimed:
                claimed.add(spans[i])
                out += spans[i][1]
        return out

    tensor_bytes = total(sorted(graph.const_buffers))
    meta_bytes = total(sorted(metadata_buffers))
    other_buffers = total(range(len(spans)))
    layout = FileLayout(path.name, fb.n, {"tensor_data": tensor_bytes, "metadata_buffers": meta_bytes,
                                          "other_buffers": other_buffers})
    layout.split["flatbuffer"] = fb.n - tensor_bytes - meta_bytes - other_buffers
    section = {
        "schema_version": model.scalar(0, "<I", 4, 0),
        "subgraphs": n_subgraphs,
        "operators": sum(graph.ops.values()),
        "op_counts": dict(graph.ops.most_common()),
        "buffers": len(spans),
        "constant_tensors": len(unique),
        "activation_tensors": graph.activations,
        "quantization_parameters": graph.quant_params,
        "state_variable_values": graph.state_values,
        "zero_buffers": len(zero),
        "zero_buffer_bytes": sum(r.stored_bytes or 0 for r in zero),
        "metadata": sorted(set(metadata_buffers.values())),
        "scanned_for_zeros": tensor_bytes <= MAX_SCAN_BYTES,
    }
    notes = []
    if zero:
        notes.append(f"{len(zero)} constant buffers ({section['zero_buffer_bytes']} bytes) hold only zeros.")
    if tensor_bytes > MAX_SCAN_BYTES:
        notes.append("Constant data is larger than the zero-scan limit; non-zero counts were not computed.")
    if graph.state_values:
        notes.append(f"{graph.state_values} constants are initial values of resource variables (state a streaming "
                     "model keeps between calls, assigned once by ASSIGN_VARIABLE): role buffer, not parameters.")
    if graph.shared_slots:
        notes.append(f"{graph.shared_slots} operator or tensor slots point at a table already read; each table "
                     "was counted once (a TFLite converter never writes this).")
    return layout, section, notes


def _tensor(fb: _FB, t: _Table, ti: int, spans: list[tuple[int, int]]) -> dict[str, Any]:
    shape = t.ints(0, "i", 4, "a tensor shape")
    if any(d < 0 for d in shape):
        shape = [max(d, 0) for d in shape]  # -1 marks a dynamic dimension in activations
    ttype = t.scalar(1, "<b", 1, 0)
    buffer = t.scalar(2, "<I", 4, 0)
    if buffer >= len(spans):
        raise fb.error(f"tensor {ti} uses buffer {buffer}, but only {len(spans)} exist")
    name = t.string(3, "a tensor name") or f"tensor_{ti}"
    q = t.table(4, "quantization parameters")
    quant = None
    if q is not None:
        scale = q.ints(2, "f", 4, "quantization scales")
        zp = q.ints(3, "q", 8, "quantization zero points")
        if scale:
            quant = {"scale": scale, "zero_point": zp, "quantized_dimension": q.scalar(6, "<i", 4, 0), "pos": q.pos}
    type_name = TENSOR_TYPES.get(ttype, f"TYPE_{ttype}")
    return {"index": ti, "name": name, "shape": tuple(shape), "type": type_name, "buffer": buffer, "quant": quant,
            "span": spans[buffer]}


def _records(info: dict[str, Any], cpath: str, seen: dict[int, TensorRecord], mm: Any,
             state: bool = False) -> list[TensorRecord]:
    """Records of a constant read by an operator; ``state``: the value ASSIGN_VARIABLE writes into a
    resource variable (a streaming model's initial state, run once by the init subgraph) — role state,
    like an ONNX RNN's initial h0/c0, not a weight."""
    tpath = join(cpath, info["name"])
    key = info["index"]
    if key in seen:  # a constant read by several operators: one storage, visible at each
        first = seen[key]
        return [first.with_(path=tpath, meta={**first.meta, "same_as": first.path})]
    dtype, bits, np_dtype = DTYPES.get(info["type"], (info["type"].lower(), 0, None))
    start, nbytes = info["span"]
    numel = math.prod(info["shape"])
    nnz = _nnz(mm, start, nbytes, numel, np_dtype, info["type"])
    meta: dict[str, Any] = {"tflite_index": info["index"], "buffer": info["buffer"]}
    if state:
        meta["state"] = "initial value of a resource variable (ASSIGN_VARIABLE)"
    out = []
    rec = TensorRecord(path=tpath, shape=info["shape"], dtype=dtype, bits=bits or (nbytes * 8 / numel if numel else 0),
                       role=Role.STATE if state else constant_role(info), stored_bytes=nbytes, nnz=nnz,
                       storage_key=f"buffer:{info['buffer']}", meta=meta)
    out.append(rec)
    seen[key] = rec
    q = info["quant"]
    if q:
        meta["quantized_dimension"] = q["quantized_dimension"]
        n = len(q["scale"])
        out.append(TensorRecord(path=f"{tpath}:scale", shape=(n,), dtype="float32", role=Role.QUANT_SCALE,
                                stored_bytes=4 * n, storage_key=f"quant@{q['pos']}:scale", meta={"in": "flatbuffer"}))
        if q["zero_point"]:
            m = len(q["zero_point"])
            out.append(TensorRecord(path=f"{tpath}:zero_point", shape=(m,), dtype="int64",
                                    role=Role.QUANT_ZERO_POINT, stored_bytes=8 * m,
                                    storage_key=f"quant@{q['pos']}:zero_point", meta={"in": "flatbuffer"}))
    return out


def constant_role(info: dict[str, Any]) -> Role:
    """A constant's role: 32/64-bit integers without quantization are shapes, axes and indices.

    The converter writes RESHAPE's target shape, PAD's paddings, GATHER's indices … as int32
    or int64 constants; they are metadata, not weights. An int32 *with* quantization
    parameters is a quantized bias and stays a parameter.
    """
    if info["type"] in ("INT32", "INT64", "UINT32", "UINT64") and not info["quant"]:
        return Role.METADATA
    return Role.PARAMETER


def _nnz(mm: Any, start: int, nbytes: int, numel: int, np_dtype: str | None, type_name: str) -> int | None:
    if np_dtype is None or nbytes > MAX_SCAN_BYTES or not numel:
        return None
    import numpy as np

    dt = np.dtype(np_dtype)
    if dt.itemsize * numel != nbytes:
        return None
    arr = np.frombuffer(mm, dtype=dt, count=numel, offset=start)
    if type_name == "BFLOAT16":
        return int(np.count_nonzero(arr & 0x7FFF))
    return int(np.count_nonzero(arr))


class TFLiteReader:
    name = "tflite"

    def sniff(self, path: Path, head: bytes) -> bool:
        return len(head) >= 8 and head[4:8] == IDENTIFIER

    def read(self, path: Path) -> Report:
        return read_tflite(path)

"""ExecuTorch programs (``.pte``): constant tensors and delegate payloads from the flatbuffer.

A ``.pte`` is a flatbuffer (identifier ``ET12``; schema ``program.fbs``), optionally followed by
data segments that an extended header (``eh00`` at offset 8: header length, program size,
segment base offset) locates. Each execution plan lists its values; a tensor value with a
``data_buffer_idx`` and no ``allocation_info`` is a constant, its bytes either in the
deprecated inline ``constant_buffer`` or in the constant segment at
``constant_segment.offsets[idx]``; one with both has an initial state (a mutable buffer). A
delegate (XNNPACK, CoreML, Vulkan …) is an opaque payload — inline or in a segment — that
holds the weights it was lowered with: it is shown with its size and backend, and a note says
its weights are inside it, not counted as parameters. Named data (delegates' shared weights)
likewise. The flatbuffer walker is the bounds-checked one of the TFLite reader; segment data
is never read.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.report import Report
from ..core.tensors import Role, TensorRecord
from ._common import FileLayout, build_report, file_section, invalid, map_file
from .tflite_file import _FB, _Table
from .declarations import EXECUTORCH_IDENTIFIER as IDENTIFIER

FORMAT = "executorch"
MAX_RECORDS = 1_000_000
#: ScalarType (c10 order, scalar_type.fbs) -> (dtype, bits)
SCALAR_TYPES: dict[int, tuple[str, int]] = {
    0: ("uint8", 8), 1: ("int8", 8), 2: ("int16", 16), 3: ("int32", 32), 4: ("int64", 64), 5: ("float16", 16),
    6: ("float32", 32), 7: ("float64", 64), 9: ("complex64", 64), 10: ("complex128", 128), 11: ("bool", 8),
    12: ("qint8", 8), 13: ("quint8", 8), 14: ("qint32", 32), 15: ("bfloat16", 16), 16: ("quint4x2", 4),
    17: ("quint2x4", 2), 23: ("float8_e5m2", 8), 24: ("float8_e4m3fn", 8), 27: ("uint16", 16), 28: ("uint32", 32),
    29: ("uint64", 64),
}
_TENSOR = 5  #: KernelTypes union tag of Tensor
_INTEGERS = frozenset({"int32", "int64", "uint32", "uint64", "int16", "uint16"})


class _PteFB(_FB):
    def error(self, defect: str) -> Exception:
        return invalid(self.path, FORMAT, defect)


@dataclass
class _Ctx:
    fb: _PteFB
    segment_base: int
    segments: list[tuple[int, int]]  #: (offset from the segment base, size)
    constants: list[int]  #: constant_segment.offsets (relative to its segment)
    constant_segment: int
    inline: list[int]  #: lengths of the deprecated inline constant buffers
    records: list[TensorRecord] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    delegates: list[dict[str, Any]] = field(default_factory=list)
    external: int = 0


def _header(fb: _PteFB) -> tuple[int, int]:
    """(program size, segment base offset) from the extended header, or the whole file and no segments."""
    if fb.n >= 32 and bytes(fb.buf[8:12]) == b"eh00":
        length = fb.u32(12, "the extended header")
        if length >= 24:
            program, base = struct.unpack_from("<QQ", fb.buf, 16)
            if program > fb.n or base > fb.n:
                raise fb.error(f"its extended header places the program at {program} and segments at {base}, "
                               f"past the {fb.n}-byte file")
            return program, base
    return fb.n, fb.n


def _segments(fb: _PteFB, program: _Table, base: int) -> list[tuple[int, int]]:
    out = []
    for seg in program.tables(4, "segments"):
        offset, size = seg.scalar(0, "<Q", 8, 0), seg.scalar(1, "<Q", 8, 0)
        if base + offset > fb.n or size > fb.n - base - offset:
            raise fb.error(f"a segment claims {size} bytes at {base + offset}, past the end of the {fb.n}-byte file")
        out.append((offset, size))
    return out


def _tensor_record(ctx: _Ctx, plan: str, vi: int, t: _Table) -> None:
    idx = t.scalar(5, "<I", 4, 0)
    if not idx:
        return  # an activation or input: no stored data
    code = t.scalar(0, "<b", 1, 0)
    if code not in SCALAR_TYPES:
        raise ctx.fb.error(f"a tensor has scalar type {code}, which this reader does not know")
    dtype, bits = SCALAR_TYPES[code]
    sizes = t.ints(2, "i", 4, "a tensor's sizes")
    if any(s < 0 for s in sizes):
        raise ctx.fb.error(f"a tensor has sizes {list(sizes)}")
    nbytes = -(-math.prod(sizes) * bits // 8)
    info = t.table(9, "a tensor's extra info")
    name = info.string(1, "a tensor's name") if info is not None else ""
    external = info is not None and info.scalar(2, "<b", 1, 0) == 1
    mutable = t.table(6, "a tensor's allocation") is not None
    key, meta = _locate(ctx, idx, nbytes, mutable, external, name or f"value {vi}")
    if len(ctx.records) >= MAX_RECORDS:
        raise ctx.fb.error(f"it holds more than {MAX_RECORDS} constant tensors")
    role = Role.BUFFER if mutable else Role.METADATA if dtype in _INTEGERS and len(sizes) <= 1 else Role.PARAMETER
    path = (f"{plan}." if plan else "") + (name or f"constant_{vi}")
    ctx.records.append(TensorRecord(path=path, shape=tuple(sizes), dtype=dtype, bits=bits, stored_bytes=nbytes,
                                    role=role, trainable=bool(t.scalar(4, "<?", 1, False)) or None,
                                    storage_key=key, meta={**meta, "value_index": vi, "data_buffer_idx": idx}))


def _locate(ctx: _Ctx, idx: int, nbytes: int, mutable: bool, external: bool, what: str) -> tuple[str, dict]:
    """Storage key and location of a constant's bytes, each range checked against the file."""
    if external:
        ctx.external += 1
        return f"external:{what}", {"in": "external"}
    if mutable:
        return f"mutable:{idx}:{what}", {"in": "mutable segment"}
    if ctx.inline:
        if idx >= len(ctx.inline) or ctx.inline[idx] < nbytes:
            raise ctx.fb.error(f"{what} points at constant buffer {idx}, which does not hold its {nbytes} bytes")
        return f"buffer:{idx}", {"in": "constant_buffer"}
    if idx >= len(ctx.constants) or ctx.constant_segment >= len(ctx.segments):
        raise ctx.fb.error(f"{what} points at constant {idx}, but the constant segment lists {len(ctx.constants)}")
    seg_offset, seg_size = ctx.segments[ctx.constant_segment]
    start = ctx.constants[idx]
    if start > seg_size or nbytes > seg_size - start:
        raise ctx.fb.error(f"{what} needs {nbytes} bytes at {start} of a {seg_size}-byte constant segment")
    return f"segment@{ctx.segment_base + seg_offset + start}+{nbytes}", {"in": "constant segment",
                                                                        "offset": ctx.segment_base + seg_offset + start}


def _delegates(ctx: _Ctx, plan_name: str, plan: _Table, inline_data: list[int]) -> None:
    for di, d in enumerate(plan.tables(7, "delegates")):
        backend = d.string(0, "a delegate's id") or "unknown"
        ref = d.table(1, "a delegate's data reference")
        location = ref.scalar(0, "<b", 1, 0) if ref is not None else 0
        index = ref.scalar(1, "<I", 4, 0) if ref is not None else 0
        sizes = inline_data if location == 0 else [s for _, s in ctx.segments]
        if index >= len(sizes):
            raise ctx.fb.error(f"delegate {di} ({backend}) points at data {index}, past the {len(sizes)} there are")
        size = sizes[index]
        where = "inline" if location == 0 else "segment"
        ctx.delegates.append({"plan": plan_name, "backend": backend, "bytes": size, "in": where})
        ctx.records.append(TensorRecord(path=f"{plan_name}.delegate_{di}_{backend}", shape=(size,), dtype="uint8",
                                        role=Role.OTHER, storage_key=f"delegate:{where}:{index}",
                                        meta={"backend": backend, "opaque": True, "in": where}))


def _read(path: Path, mm: Any) -> Report:
    fb = _PteFB(mm, path)
    if fb.n < 8 or bytes(mm[4:8]) != IDENTIFIER:
        raise fb.error(f"the file identifier is {bytes(mm[4:8])!r}, not {IDENTIFIER!r}")
    program_size, base = _header(fb)
    program = fb.table(fb.u32(0, "the root offset"), "the program")
    segments = _segments(fb, program, base)
    constant = program.table(5, "the constant segment")
    inline = [b.vector(0, 1, "a constant buffer")[1] for b in program.tables(2, "constant_buffer")]
    inline_data = [b.vector(0, 1, "delegate data")[1] for b in program.tables(3, "backend_delegate_data")]
    ctx = _Ctx(fb, base, segments, list(constant.ints(1, "Q", 8, "constant offsets")) if constant else [],
               constant.scalar(0, "<I", 4, 0) if constant else 0, inline)
    plans = program.tables(1, "execution_plan")
    names = []
    for pi, plan in enumerate(plans):
        name = plan.string(0, "a method name") or f"method_{pi}"
        names.append(name)
        prefix = name if len(plans) > 1 else ""
        for vi, pos in plan.positions(2, "values"):
            value = fb.table(pos, f"value {vi}")
            if value.scalar(0, "<B", 1, 0) == _TENSOR:
                t = value.table(1, f"tensor value {vi}")
                if t is not None:
                    _tensor_record(ctx, prefix, vi, t)
        _delegates(ctx, name, plan, inline_data)
    return _report(path, fb, ctx, program, names, program_size)


def _report(path: Path, fb: _PteFB, ctx: _Ctx, program: _Table, names: list[str], program_size: int) -> Report:
    named = program.tables(7, "named data")
    notes = ctx.notes
    if ctx.delegates:
        total = sum(d["bytes"] for d in ctx.delegates)
        backends = sorted({d["backend"] for d in ctx.delegates})
        notes.append(f"{len(ctx.delegates)} delegate payloads ({', '.join(backends)}; {total:,} bytes) are opaque: "
                     "the weights lowered into them are inside, shown with role 'other' and not counted as "
                     "parameters.")
    if named:
        notes.append(f"{len(named)} named data entries (weights a delegate shares through the named data map) are "
                     "shown by their segments' sizes with role 'other'.")
        for ni, entry in enumerate(named):
            key, seg = entry.string(0, "a named data key"), entry.scalar(1, "<I", 4, 0)
            if seg >= len(ctx.segments):
                raise fb.error(f"named data {key!r} points at segment {seg}, past the {len(ctx.segments)} there are")
            ctx.records.append(TensorRecord(path=f"named_data.{ni}", shape=(ctx.segments[seg][1],), dtype="uint8",
                                            role=Role.OTHER, storage_key=f"segment:{seg}",
                                            meta={"key": key, "opaque": True}))
    if ctx.external:
        notes.append(f"{ctx.external} tensors keep their data outside the .pte (a .ptd file): sized from their "
                     "shapes, not read.")
    used = sum({r.storage_key: r.stored_bytes or 0 for r in ctx.records if r.meta.get("in") != "external"}.values())
    layout = FileLayout(path.name, fb.n, {"tensor_data": min(used, fb.n)})
    section = {"version": program.scalar(0, "<I", 4, 0), "methods": names, "segments": len(ctx.segments),
               "delegates": ctx.delegates, "program_bytes": program_size}
    return build_report(path, FORMAT, ctx.records, framework="executorch", object_type="executorch_program",
                        notes=notes, sections={"file": file_section(FORMAT, [layout]), FORMAT: section})


def read_pte(path: Path) -> Report:
    with map_file(path, FORMAT) as mm:
        return _read(path, mm)


class ExecuTorchReader:
    """An ExecuTorch ``.pte``: the flatbuffer identifier ``ET12`` at offset 4, whatever the name."""

    name = "executorch"

    def sniff(self, path: Path, head: bytes) -> bool:
        return len(head) >= 8 and head[4:8] == IDENTIFIER

    def read(self, path: Path) -> Report:
        return read_pte(path)

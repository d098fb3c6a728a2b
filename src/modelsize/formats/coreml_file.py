"""CoreML models (``.mlmodel``, ``.mlpackage``): the spec protobuf walked, ML program weights sized.

A ``.mlmodel`` is one ``Model`` protobuf. A neural network keeps its weights inside it
(``WeightParams``: float32, float16, int8 or n-bit quantized raw bytes with linear or
look-up-table parameters); an ML program (``.mlpackage``, iOS 15+) keeps only the graph there and
points its constants at ``weights/weight.bin`` (``BlobFileValue``: file and offset). A blob file
is a 64-byte header, then for each blob a 64-byte ``blob_metadata`` (sentinel ``0xDEADBEEF``,
data type, size, data offset) and the data. Only those 64-byte records are read, never the
weights; the spec is memory-mapped and walked with a bounded protobuf walker (field numbers in
:mod:`._coreml_schema`).

Compressed ML program weights are counted by what is stored: ``constexpr_lut_to_dense``
(palettized: n-bit indices + a look-up table), ``constexpr_affine_dequantize`` and
``constexpr_blockwise_shift_scale`` (int8/int4 data + scale + zero point),
``constexpr_sparse_to_dense`` (non-zero values + a bit mask).
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from ..core.report import Report
from ..core.tensors import Role, TensorRecord
from ._common import BoundedFile, FileLayout, build_report, file_section, invalid, span_key
from ._coreml_schema import (BLOB_DTYPES, LAYER_WEIGHTS, MIL_DTYPES, ML_PROGRAM, NESTED_NETWORKS, NEURAL_NETWORKS,
                             PIPELINE_WRAPPERS, PIPELINES)
from ._protobuf import WireError, fields, varint

FORMAT = "coreml"
SENTINEL = 0xDEADBEEF
MAX_DEPTH = 32
MAX_RECORDS = 1_000_000
MAX_MANIFEST_BYTES = 16 << 20
MAX_SPEC_BYTES = 2 << 30  #: protobuf's own limit on a message
_BLOB_PREFIX = "@model_path/"
#: constexpr argument -> role of what it holds
_CONSTEXPR_ROLES: dict[str, Role] = {
    "quantized_data": Role.PARAMETER, "data": Role.PARAMETER, "indices": Role.PARAMETER,
    "nonzero_data": Role.PARAMETER, "source_val": Role.PARAMETER, "scale": Role.QUANT_SCALE, "lut": Role.QUANT_SCALE,
    "zero_point": Role.QUANT_ZERO_POINT, "offset": Role.QUANT_ZERO_POINT, "mask": Role.INDEX, "shape": Role.METADATA,
    "axis": Role.METADATA, "vector_axis": Role.METADATA,
}
_FLOATS = frozenset({"float16", "float32", "float64", "bfloat16"})


def _one(msg: Any, number: int) -> Any:
    """The last value of a field (protobuf's rule for a repeated singular field), or ``None``.

    ``msg`` may be anything a hostile file put in a field's place: only a byte string is walked.
    """
    out = None
    if not isinstance(msg, memoryview):
        return None
    for n, v in fields(msg):
        if n == number:
            out = v
    return out


def _all(msg: Any, number: int) -> Iterator[Any]:
    return (v for n, v in fields(msg) if n == number) if isinstance(msg, memoryview) else iter(())


def _int(value: Any, what: str) -> int:
    """A varint field's value; a byte string in its place is a malformed spec."""
    if value is None:
        return 0
    if not isinstance(value, int):
        raise WireError(f"{what} is a byte string, not a number")
    return value


def _text(value: Any) -> str:
    return bytes(value).decode("utf-8", "replace") if isinstance(value, memoryview) else ""


def _map(msg: Any, number: int) -> Iterator[tuple[str, Any]]:
    """Entries of a ``map<string, Message>`` field: (key, value view)."""
    for entry in _all(msg, number):
        if isinstance(entry, memoryview):
            yield _text(_one(entry, 1)), _one(entry, 2)


@dataclass
class _Ctx:
    spec_path: Path
    root: Path  #: the folder ``@model_path`` names (the spec's folder)
    records: list[TensorRecord] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    blobs: dict[str, BoundedFile] = field(default_factory=dict)
    blob_bytes: dict[str, int] = field(default_factory=dict)  #: blob file -> data bytes its records use
    blob_records: dict[str, set[int]] = field(default_factory=dict)  #: blob file -> offsets of the 64-byte records
    overrides: dict[str, Role] = field(default_factory=dict)  #: const output name -> role (from a constexpr)
    kinds: dict[str, str] = field(default_factory=dict)

    def add(self, rec: TensorRecord) -> None:
        if len(self.records) >= MAX_RECORDS:
            raise invalid(self.spec_path, FORMAT, f"it holds more than {MAX_RECORDS} weights")
        self.records.append(rec)

    def error(self, defect: str) -> Exception:
        return invalid(self.spec_path, FORMAT, defect)

    def blob(self, name: str) -> tuple[BoundedFile, str]:
        rel = name[len(_BLOB_PREFIX):] if name.startswith(_BLOB_PREFIX) else name
        parts = Path(rel).parts
        if not rel or Path(rel).is_absolute() or ".." in parts:
            raise self.error(f"a weight names blob file {name!r}, which is not inside the model's folder")
        if rel not in self.blobs:
            path = self.root / rel
            if not path.is_file():
                raise self.error(f"its weights are in {rel!r}, which is missing beside the spec")
            self.blobs[rel] = BoundedFile(path, FORMAT)
        return self.blobs[rel], rel

    def close(self) -> None:
        for f in self.blobs.values():
            f.close()


# ----------------------------------------------------------------------------------- neural networks


def _floats(value: Any) -> int:
    return len(value) // 4 if isinstance(value, memoryview) else 1


def _weight(ctx: _Ctx, wp: Any, path: str, role: Role) -> None:
    """One ``WeightParams``: its values by the field that holds them, and its quantization parameters."""
    n_float = sum(_floats(v) for n, v in fields(wp) if n == 1)
    f16, raw, i8, quant = _one(wp, 2), _one(wp, 30), _one(wp, 31), _one(wp, 40)
    updatable = bool(_one(wp, 50))
    common = {"role": role, "trainable": True if updatable else None}
    if n_float:
        ctx.add(TensorRecord(path=path, shape=(n_float,), dtype="float32", **common))
    elif f16 is not None and len(f16):
        ctx.add(TensorRecord(path=path, shape=(len(f16) // 2,), dtype="float16", stored_bytes=len(f16), **common))
    elif i8 is not None and len(i8):
        ctx.add(TensorRecord(path=path, shape=(len(i8),), dtype="int8", **common))
    elif raw is not None and len(raw):
        nbits = _int(_one(quant, 1), "numberOfBits") or 8
        if not 1 <= nbits <= 16:
            raise ctx.error(f"weight {path!r} is quantized to {nbits} bits; CoreML allows 1 to 16")
        numel = len(raw) * 8 // nbits
        ctx.add(TensorRecord(path=path, shape=(numel,), dtype=f"uint{nbits}" if nbits != 8 else "uint8", bits=nbits,
                             stored_bytes=len(raw), meta={"quantized_bits": nbits}, **common))
    else:
        return
    if isinstance(quant, memoryview):
        linear, lut = _one(quant, 101), _one(quant, 102)
        if isinstance(linear, memoryview):
            for num, name, qrole in ((1, "scale", Role.QUANT_SCALE), (2, "bias", Role.QUANT_ZERO_POINT)):
                n = sum(_floats(v) for k, v in fields(linear) if k == num)
                if n:
                    ctx.add(TensorRecord(path=f"{path}_{name}", shape=(n,), dtype="float32", role=qrole))
        if isinstance(lut, memoryview):
            n = sum(_floats(v) for k, v in fields(lut) if k == 1)
            ctx.add(TensorRecord(path=f"{path}_lut", shape=(n,), dtype="float32", role=Role.QUANT_SCALE,
                                 meta={"codebook": True}))


def _follow(msg: Any, path: tuple[int, ...]) -> Iterator[Any]:
    if not path:
        yield msg
        return
    for v in _all(msg, path[0]):
        if isinstance(v, memoryview):
            yield from _follow(v, path[1:])


def _network(ctx: _Ctx, net: Any, prefix: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ctx.error(f"its networks nest more than {MAX_DEPTH} deep")
    for i, layer in enumerate(_all(net, 1)):
        if not isinstance(layer, memoryview):
            continue
        name = f"{prefix}{_text(_one(layer, 1)) or f'layer_{i}'}".replace(".", "_")
        for num, params in fields(layer):
            if num in LAYER_WEIGHTS and isinstance(params, memoryview):
                kind, slots = LAYER_WEIGHTS[num]
                ctx.kinds[name] = kind
                for path, pname in slots:
                    role = Role.BUFFER if kind == "batchnorm" and pname in ("mean", "variance") else Role.PARAMETER
                    for k, wp in enumerate(_follow(params, path)):
                        suffix = pname.replace(".", "_") + (f"_{k}" if k else "")
                        _weight(ctx, wp, f"{name}.{suffix}", role)
            elif num in NESTED_NETWORKS and isinstance(params, memoryview):
                for sub in NESTED_NETWORKS[num]:
                    for j, inner in enumerate(_all(params, sub)):
                        _network(ctx, inner, f"{name}.{sub}_{j}.", depth + 1)


# ----------------------------------------------------------------------------------- ML programs


@dataclass(frozen=True)
class _Tensor:
    dtype: str
    bits: int
    shape: tuple[int, ...]


def _tensor_type(ctx: _Ctx, value: Any) -> _Tensor | None:
    vtype = _one(value, 2)
    ttype = _one(vtype, 1) if isinstance(vtype, memoryview) else None
    if not isinstance(ttype, memoryview):
        return None
    code = _int(_one(ttype, 1), "a tensor's data type")
    if code == 2:  # STRING
        return _Tensor("string", 8, ())
    if code not in MIL_DTYPES:
        raise ctx.error(f"a constant has MIL data type {code}, which this reader does not know")
    dims = []
    for d in _all(ttype, 3):
        const = _one(d, 1) if isinstance(d, memoryview) else None
        size = _one(const, 1) if isinstance(const, memoryview) else None
        if size is None:
            return None  # a symbolic dimension: not a constant
        dims.append(_int(size, "a dimension"))
    dtype, bits = MIL_DTYPES[code]
    return _Tensor(dtype, bits, tuple(dims))


def _blob(ctx: _Ctx, bfv: Any, what: str) -> tuple[int, str, int, int]:
    """(bytes, file, offset, MIL dtype) of a blob from its 64-byte ``blob_metadata``."""
    name, offset = _text(_one(bfv, 1)), _int(_one(bfv, 2), "a blob offset")
    f, rel = ctx.blob(name)
    sentinel, dtype, size, data = struct.unpack("<IIQQ", f.read_at(offset, 24, f"the metadata of {what}"))
    if sentinel != SENTINEL:
        raise invalid(f.path, FORMAT, f"the blob of {what} at offset {offset} has sentinel {sentinel:#x}, "
                      f"not {SENTINEL:#x}")
    f.check_range(data, size, f"the data of {what}")
    if dtype not in BLOB_DTYPES:
        raise invalid(f.path, FORMAT, f"the blob of {what} has data type {dtype}, which this reader does not know")
    seen = ctx.blob_records.setdefault(rel, set())
    if offset not in seen:  # a blob two constants share is stored once
        seen.add(offset)
        ctx.blob_bytes[rel] = ctx.blob_bytes.get(rel, 0) + size
    return size, rel, offset, BLOB_DTYPES[dtype]


def _immediate_ints(value: Any) -> list[int]:
    """The integers of an immediate tensor (``ints``/``longInts`` packed varints, or raw ``bytes`` as uint32)."""
    imm = _one(value, 3)
    tensor = _one(imm, 1) if isinstance(imm, memoryview) else None
    if not isinstance(tensor, memoryview):
        return []
    for num in (2, 5):
        rep = _one(tensor, num)
        if isinstance(rep, memoryview):
            packed = _one(rep, 1)
            if isinstance(packed, memoryview):
                out, pos = [], 0
                while pos < len(packed) and len(out) < 64:
                    v, pos = varint(packed, pos)
                    out.append(v)
                return out
    rep = _one(tensor, 7)
    raw = _one(rep, 1) if isinstance(rep, memoryview) else None
    if isinstance(raw, memoryview) and len(raw) % 4 == 0 and len(raw) <= 256:
        return list(struct.unpack(f"<{len(raw) // 4}I", raw))
    return []


def _value_record(ctx: _Ctx, value: Any, path: str, role: Role, shape: tuple[int, ...] | None = None) -> None:
    t = _tensor_type(ctx, value)
    if t is None:
        return
    bfv, imm = _one(value, 5), _one(value, 3)
    meta: dict[str, Any] = {}
    if isinstance(bfv, memoryview):
        size, rel, offset, _ = _blob(ctx, bfv, repr(path))
        key, stored = span_key(rel, offset, size, path), size
        meta["blob"] = {"file": rel, "offset": offset}
    elif isinstance(imm, memoryview):  # in the spec: its payload, without the protobuf framing
        key, stored = f"path:{path}", -(-math.prod(t.shape) * t.bits // 8) if t.dtype != "string" else len(imm)
        meta["in"] = "spec"
    else:
        return
    dtype, bits, dims = t.dtype, float(t.bits), t.shape
    if t.dtype == "string":
        dims = (stored,)  # its bytes, as the dtype gives no width
    if shape is not None and dims != shape:  # packed indices: the dense shape and the bits they encode
        n = math.prod(shape)
        bits = stored * 8 / n if n else bits
        dtype, dims = (f"uint{round(bits)}" if n and bits == round(bits) else dtype), shape
        meta["packed_shape"] = list(t.shape)
    if role is Role.PARAMETER and (t.dtype not in _FLOATS and t.bits >= 32 or t.dtype in ("bool", "string")):
        role = Role.METADATA  # shapes, axes, indices
    if role is Role.PARAMETER and not dims and t.dtype in _FLOATS:
        role = Role.METADATA  # a scalar: epsilon, alpha, a constant added — not a weight
    ctx.add(TensorRecord(path=path, shape=dims, dtype=dtype, bits=bits, stored_bytes=stored, role=role,
                         storage_key=key, meta=meta))


def _constexpr(ctx: _Ctx, op: Any, op_type: str, name: str) -> None:
    """A decompression op: its arguments (attributes in iOS 16/17, inputs in iOS 18) by their roles."""
    args = dict(_map(op, 5))
    for arg, value in _map(op, 2):
        for binding in _all(value, 1):
            bound = _text(_one(binding, 1)) if isinstance(binding, memoryview) else ""
            inline = _one(binding, 2) if isinstance(binding, memoryview) else None
            if bound:
                ctx.overrides[bound] = _CONSTEXPR_ROLES.get(arg, Role.PARAMETER)
            elif isinstance(inline, memoryview):
                args[arg] = inline
    dense: tuple[int, ...] | None = None
    if op_type == "constexpr_lut_to_dense" and "shape" in args:
        dense = tuple(_immediate_ints(args["shape"])) or None
    for arg, value in args.items():
        if arg == "name" or value is None:
            continue
        role = _CONSTEXPR_ROLES.get(arg, Role.METADATA)
        _value_record(ctx, value, f"{name}.{arg}", role, dense if arg == "indices" else None)
    ctx.kinds[name] = op_type


def _block(ctx: _Ctx, block: Any, prefix: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ctx.error(f"its program blocks nest more than {MAX_DEPTH} deep")
    consts: list[tuple[str, Any]] = []
    for op in _all(block, 3):
        if not isinstance(op, memoryview):
            continue
        op_type = _text(_one(op, 1))
        out = _one(op, 3)
        bare = _text(_one(out, 1)) if isinstance(out, memoryview) else f"op_{len(ctx.records)}"
        name = prefix + bare.replace(".", "_")
        if op_type == "const":
            consts.append((bare, dict(_map(op, 5)).get("val")))
        elif op_type.startswith("constexpr_"):
            _constexpr(ctx, op, op_type, name)
        for inner in _all(op, 4):
            _block(ctx, inner, f"{name}.", depth + 1)
    for bare, value in consts:  # after the block: constexpr ops that consume them have set their roles
        if value is not None:
            _value_record(ctx, value, prefix + bare.replace(".", "_"), ctx.overrides.get(bare, Role.PARAMETER))


def _program(ctx: _Ctx, program: Any) -> None:
    functions = list(_map(program, 2))
    for fname, fn in functions:
        specs = list(_map(fn, 3)) if isinstance(fn, memoryview) else []
        for sname, block in specs:
            prefix = "" if len(functions) == 1 and len(specs) == 1 else f"{fname}.{sname}." if len(specs) > 1 else \
                f"{fname}."
            _block(ctx, block, prefix, 0)


# ----------------------------------------------------------------------------------- the model


def _model(ctx: _Ctx, model: Any, prefix: str, depth: int, types: list[str]) -> None:
    if depth > MAX_DEPTH:
        raise ctx.error(f"its pipelines nest more than {MAX_DEPTH} deep")
    if not isinstance(model, memoryview):
        raise WireError("a pipeline's model is not a message")
    for num, value in fields(model):
        if not isinstance(value, memoryview) or num < 200:
            continue
        if num in NEURAL_NETWORKS:
            types.append(NEURAL_NETWORKS[num])
            _network(ctx, value, prefix, 0)
        elif num == ML_PROGRAM:
            types.append("mlProgram")
            _program(ctx, value)
        elif num in PIPELINES or num in PIPELINE_WRAPPERS:
            pipeline = _one(value, 1) if num in PIPELINE_WRAPPERS else value
            types.append(PIPELINES.get(num) or PIPELINE_WRAPPERS[num])
            for i, sub in enumerate(_all(pipeline, 1) if isinstance(pipeline, memoryview) else ()):
                _model(ctx, sub, f"{prefix}model_{i}.", depth + 1, types)
        else:
            types.append(f"field {num}")
            ctx.notes.append(f"{prefix or 'The model'} is a CoreML model type (Model field {num}) whose parameters "
                             "this reader does not count: they are not in the totals.")


def _read_spec(spec: Path, root: Path, package: Path | None) -> Report:
    ctx = _Ctx(spec, root)
    size = spec.stat().st_size
    if size > MAX_SPEC_BYTES:
        raise invalid(spec, FORMAT, f"its spec is {size} bytes, above protobuf's {MAX_SPEC_BYTES}-byte limit")
    try:
        view = memoryview(spec.read_bytes())
        version = _int(_one(view, 1), "specificationVersion")
        if version < 1:
            raise invalid(spec, FORMAT, "it has no specificationVersion (every CoreML spec starts with one)")
        types: list[str] = []
        _model(ctx, view, "", 0, types)
    except WireError as exc:
        raise invalid(spec, FORMAT, f"its protobuf is malformed ({exc})") from None
    finally:
        ctx.close()
    return _report(ctx, spec, package, version, types)


def _report(ctx: _Ctx, spec: Path, package: Path | None, version: int, types: list[str]) -> Report:
    spec_size = spec.stat().st_size
    label = str(spec.relative_to(package)) if package else spec.name
    inline = sum(r.stored_bytes or 0 for r in ctx.records if r.meta.get("in") == "spec" or "blob" not in r.meta)
    layouts = [FileLayout(label, spec_size, {"tensor_data": min(inline, spec_size)})]
    for rel, used in ctx.blob_bytes.items():
        size = (ctx.root / rel).stat().st_size
        headers = 64 + 64 * len(ctx.blob_records.get(rel, ()))  # the storage header and each blob's record
        layouts.append(FileLayout(str((ctx.root / rel).relative_to(package)) if package else rel, size,
                                  {"tensor_data": min(used, size), "header": min(headers, max(size - used, 0))}))
    manifest = package / "Manifest.json" if package else None
    if manifest is not None and manifest.is_file():
        layouts.append(FileLayout("Manifest.json", manifest.stat().st_size, {"metadata": manifest.stat().st_size}))
    compressed = sorted({k for k in ctx.kinds.values() if k.startswith("constexpr_")})
    if compressed:
        ctx.notes.append(f"Weights are stored compressed ({', '.join(compressed)}): stored bytes are the "
                         "compressed data; look-up tables, scales and zero points have their own roles.")
    if not types:
        ctx.notes.append("The spec names no model type (no neural network, ML program or pipeline): "
                         "there is nothing to count in it.")
    section = {"specification_version": version, "model_types": types, "compression": compressed}
    target = package or spec
    return build_report(target, FORMAT, ctx.records, framework="coreml",
                        object_type=types[0] if types else "coreml_model", kinds=ctx.kinds, notes=ctx.notes,
                        sections={"file": file_section(FORMAT, layouts), FORMAT: section})


def _package_spec(package: Path) -> Path:
    """The root model of a package: Manifest.json's ``rootModelIdentifier`` entry, else the usual path."""
    default = package / "Data" / "com.apple.CoreML" / "model.mlmodel"
    manifest = package / "Manifest.json"
    if manifest.is_file() and manifest.stat().st_size <= MAX_MANIFEST_BYTES:
        try:
            doc = json.loads(manifest.read_bytes())
            entry = doc["itemInfoEntries"][doc["rootModelIdentifier"]]
            rel = Path("Data") / str(entry["path"])
        except (ValueError, KeyError, TypeError):
            rel = None
        if rel is not None and not rel.is_absolute() and ".." not in rel.parts and (package / rel).is_file():
            return package / rel
    if not default.is_file():
        raise invalid(package, FORMAT, "the package has no Data/com.apple.CoreML/model.mlmodel")
    return default


def is_package(path: Path) -> bool:
    return path.is_dir() and (path.suffix.lower() == ".mlpackage" or (
        (path / "Manifest.json").is_file() and (path / "Data" / "com.apple.CoreML").is_dir()))


def read_coreml(path: Path) -> Report:
    if is_package(path):
        spec = _package_spec(path)
        return _read_spec(spec, spec.parent, path)
    return _read_spec(path, path.parent, None)


class CoreMLReader:
    """A CoreML ``.mlmodel`` (by its suffix: protobufs have no magic) or ``.mlpackage`` folder."""

    name = "coreml"

    def sniff(self, path: Path, head: bytes) -> bool:
        return is_package(path) or (path.is_file() and path.suffix.lower() == ".mlmodel")

    def read(self, path: Path) -> Report:
        return read_coreml(path)

"""OpenVINO IR (``model.xml`` + ``model.bin``): Const layers from the XML, sized by their offsets.

The XML lists every layer; a ``Const`` layer's ``<data>`` gives its ``element_type``, ``shape``
and the ``offset``/``size`` of its bytes in the ``.bin`` beside it. The ``.bin`` is never read:
only its size, to check every range. Compressed weights keep their stored element type
(``f16``, ``u8``, ``i8``, ``u4``, ``i4``, ``nf4`` …) and are followed through the decompression
chain OpenVINO and NNCF write (``Const → Convert → Subtract(zero point) → Multiply(scale)``), so
scales and zero points get their own roles. OpenVINO stores identical constants once, so two
Const layers at the same range share storage.

The XML is parsed as a stream (``iterparse``) after a document type declaration is refused
(no entity expansion), with caps on its size and on the number of layers.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from ..core.report import Report
from ..core.tensors import Role, TensorRecord
from ._common import FileLayout, build_report, file_section, invalid, span_key

FORMAT = "openvino"
MAX_XML_BYTES = 1 << 30
MAX_LAYERS = 2_000_000
MAX_RANK = 64
#: element_type -> (modelsize dtype, bits)
DTYPES: dict[str, tuple[str, float]] = {
    "f64": ("float64", 64), "f32": ("float32", 32), "f16": ("float16", 16), "bf16": ("bfloat16", 16),
    "f8e4m3": ("float8_e4m3fn", 8), "f8e5m2": ("float8_e5m2", 8), "f8e8m0": ("float8_e8m0fnu", 8),
    "f4e2m1": ("float4_e2m1", 4), "nf4": ("nf4", 4),
    "i64": ("int64", 64), "i32": ("int32", 32), "i16": ("int16", 16), "i8": ("int8", 8), "i4": ("int4", 4),
    "u64": ("uint64", 64), "u32": ("uint32", 32), "u16": ("uint16", 16), "u8": ("uint8", 8), "u6": ("uint6", 6),
    "u4": ("uint4", 4), "u3": ("uint3", 3), "u2": ("uint2", 2), "u1": ("uint1", 1), "boolean": ("bool", 8),
}
_INDEX_TYPES = frozenset({"i64", "i32", "u64", "u32"})
_PASS_THROUGH = frozenset({"Convert", "Reshape", "Transpose", "Unsqueeze", "Squeeze"})
#: (layer type, input port) -> role, for inputs that are neither weights nor metadata
_SLOTS: dict[tuple[str, int], Role] = {
    ("BatchNormInference", 3): Role.BUFFER, ("BatchNormInference", 4): Role.BUFFER,
    ("FakeQuantize", 1): Role.QUANT_SCALE, ("FakeQuantize", 2): Role.QUANT_SCALE,
    ("FakeQuantize", 3): Role.QUANT_SCALE, ("FakeQuantize", 4): Role.QUANT_SCALE,
    ("FakeConvert", 1): Role.QUANT_SCALE, ("FakeConvert", 2): Role.QUANT_ZERO_POINT,
}


@dataclass
class _Layer:
    id: str
    name: str
    type: str
    data: dict[str, str]


@dataclass
class _Graph:
    layers: dict[str, _Layer] = field(default_factory=dict)
    consumers: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  #: layer id -> (to layer, port)
    inputs: dict[str, dict[int, str]] = field(default_factory=dict)  #: layer id -> {port: from layer}
    version: str = ""
    name: str = ""


def _refuse_doctype(xml: Path) -> None:
    """Refuse a document type declaration: it can only come before the root ``<net``, looked for in 1 MiB."""
    with xml.open("rb") as fh:
        prolog = fh.read(1 << 20)
    root = prolog.find(b"<net")
    if root < 0:
        raise invalid(xml, FORMAT, "its root element <net> is not within its first 1 MiB")
    if b"<!DOCTYPE" in prolog[:root] or b"<!ENTITY" in prolog[:root]:
        raise invalid(xml, FORMAT, "it declares a document type (entities are refused: OpenVINO never writes one)")


def _events(xml: Path) -> Iterator[tuple[str, Any]]:
    try:
        yield from ET.iterparse(str(xml), events=("start", "end"))
    except ET.ParseError as exc:
        raise invalid(xml, FORMAT, f"its XML does not parse ({exc})") from None


def _parse(xml: Path) -> _Graph:
    """Layers (with their ``<data>``) and edges of the outer network; nested bodies are skipped."""
    size = xml.stat().st_size
    if size > MAX_XML_BYTES:
        raise invalid(xml, FORMAT, f"it is {size} bytes, above the {MAX_XML_BYTES}-byte limit for an IR .xml")
    _refuse_doctype(xml)
    g = _Graph()
    depth = 0  #: nesting of <net> (TensorIterator / Loop bodies hold their own nets)
    current: _Layer | None = None
    for event, el in _events(xml):
        tag = el.tag
        if tag == "net":
            depth += 1 if event == "start" else -1
            if event == "start" and depth == 1:
                g.version, g.name = el.get("version", ""), el.get("name", "")
            continue
        if event == "start" and tag == "layer":
            if len(g.layers) >= MAX_LAYERS:
                raise invalid(xml, FORMAT, f"it has more than {MAX_LAYERS} layers")
            current = _Layer(el.get("id", ""), el.get("name", ""), el.get("type", ""), {})
            if depth == 1 or current.type == "Const":
                g.layers.setdefault(current.id if depth == 1 else f"{depth}:{len(g.layers)}", current)
        elif event == "end" and tag == "data" and current is not None and not current.data:
            current.data = dict(el.attrib)
        elif event == "end" and tag == "edge" and depth == 1:
            src, dst, port = el.get("from-layer", ""), el.get("to-layer", ""), el.get("to-port", "")
            if port.isdigit():
                g.consumers.setdefault(src, []).append((dst, int(port)))
                g.inputs.setdefault(dst, {})[int(port)] = src
        if event == "end" and tag in ("layer", "edge"):
            el.clear()
    if depth != 0 or not g.version:
        raise invalid(xml, FORMAT, "its root element is not an OpenVINO <net> with a version")
    return g


def _effective(g: _Graph, layer_id: str, depth: int = 0) -> list[tuple[_Layer, int]]:
    """The consumers of a layer's output, looking through Convert/Reshape-like decompression steps."""
    out = []
    for dst, port in g.consumers.get(layer_id, []):
        layer = g.layers.get(dst)
        if layer is None:
            continue
        if layer.type in _PASS_THROUGH and port == 0 and depth < 8:
            out.extend(_effective(g, dst, depth + 1))
        else:
            out.append((layer, port))
    return out


def _role(g: _Graph, const: _Layer) -> tuple[Role, bool]:
    """(role, compressed) of a Const from what consumes it."""
    etype = const.data.get("element_type", "")
    direct = g.consumers.get(const.id, [])
    compressed = any(g.layers[d].type == "Convert" for d, _ in direct if d in g.layers)
    for layer, port in _effective(g, const.id):
        first = g.layers.get(g.inputs.get(layer.id, {}).get(0, ""))
        decompressing = first is not None and first.type in ("Convert", "Subtract")
        if layer.type == "Subtract" and port == 1 and decompressing:
            return Role.QUANT_ZERO_POINT, compressed
        if layer.type == "Multiply" and port == 1 and decompressing:
            return Role.QUANT_SCALE, compressed
        if (layer.type, port) in _SLOTS:
            return _SLOTS[(layer.type, port)], compressed
    if etype in _INDEX_TYPES and not compressed:
        return Role.METADATA, compressed  # shapes, axes, indices
    return Role.PARAMETER, compressed


def _shape(xml: Path, layer: _Layer) -> tuple[int, ...]:
    text = layer.data.get("shape", "").strip()
    dims = [d.strip() for d in text.split(",")] if text else []
    if len(dims) > MAX_RANK or not all(d.isdigit() and len(d) < 19 for d in dims):
        raise invalid(xml, FORMAT, f"Const {layer.name!r} has shape {text!r}, not at most {MAX_RANK} "
                      "non-negative integers")
    return tuple(int(d) for d in dims)


def _range(xml: Path, layer: _Layer, bin_size: int | None) -> tuple[int, int]:
    offset, size = layer.data.get("offset", ""), layer.data.get("size", "")
    if not (offset.isdigit() and size.isdigit()) or len(offset) > 19 or len(size) > 19:
        raise invalid(xml, FORMAT, f"Const {layer.name!r} has offset {offset!r} and size {size!r}, "
                      "not non-negative integers")
    o, n = int(offset), int(size)
    if bin_size is not None and o + n > bin_size:
        raise invalid(xml, FORMAT, f"Const {layer.name!r} needs {n} bytes at offset {o} of the .bin, "
                      f"which has only {bin_size} bytes")
    return o, n


def _records(xml: Path, g: _Graph, bin_name: str, bin_size: int | None, notes: list[str]) -> list[TensorRecord]:
    records, seen, mismatched = [], set(), []
    for layer in g.layers.values():
        if layer.type != "Const":
            continue
        etype = layer.data.get("element_type", "")
        if etype not in DTYPES:
            raise invalid(xml, FORMAT, f"Const {layer.name!r} has element type {etype!r}; known: "
                          f"{', '.join(DTYPES)}")
        shape, (offset, size) = _shape(xml, layer), _range(xml, layer, bin_size)
        dtype, bits = DTYPES[etype]
        if size != -(-math.prod(shape) * int(bits) // 8):
            mismatched.append(layer.name)
        role, compressed = _role(g, layer)
        path = (layer.name or f"const_{layer.id}").removesuffix("_compressed").replace("/", ".")
        if path in seen:
            path = f"{path}#{layer.id}"
        seen.add(path)
        meta = {"name": layer.name, "element_type": etype, "offset": offset, **({"compressed": True} if compressed
                                                                                 else {})}
        records.append(TensorRecord(path=path, shape=shape, dtype=dtype, bits=bits, stored_bytes=size, role=role,
                                    storage_key=span_key(bin_name, offset, size, path), meta=meta))
    if mismatched:
        notes.append(f"{len(mismatched)} Const layers (first {mismatched[0]!r}) hold a byte size other than "
                     "their shape and element type imply: the stored size is the one in the XML.")
    return records


def read_ir(xml: Path) -> Report:
    """Report for an IR ``.xml`` (its ``.bin`` beside it is only sized)."""
    g = _parse(xml)
    weights = xml.with_suffix(".bin")
    notes: list[str] = []
    bin_size = weights.stat().st_size if weights.is_file() else None
    if bin_size is None:
        notes.append(f"{weights.name} is missing: the weights are sized from the XML alone.")
    records = _records(xml, g, weights.name, bin_size, notes)
    used = sum({r.storage_key: r.stored_bytes or 0 for r in records}.values())
    layouts = [FileLayout(xml.name, xml.stat().st_size, {"metadata": xml.stat().st_size})]
    if bin_size is not None:
        layouts.append(FileLayout(weights.name, bin_size, {"tensor_data": min(used, bin_size)}))
    compressed = sorted({r.meta["element_type"] for r in records if r.meta.get("compressed")})
    if compressed:
        notes.append(f"Weights are stored compressed as {', '.join(compressed)} and decompressed by the graph "
                     "(Convert, Subtract, Multiply): stored bytes are the compressed ones.")
    ops: dict[str, int] = {}
    for layer in g.layers.values():
        ops[layer.type] = ops.get(layer.type, 0) + 1
    section = {"ir_version": g.version, "name": g.name, "layers": len(g.layers), "ops": ops,
               "compressed_types": compressed}
    return build_report(xml, FORMAT, records, framework="openvino", object_type="ir_model",
                        sections={"file": file_section(FORMAT, layouts), FORMAT: section}, notes=notes)


def is_ir(path: Path) -> bool:
    """Whether ``path`` is an IR ``.xml``: its root element, within the first 1 KiB, is ``<net``."""
    if path.suffix.lower() != ".xml" or not path.is_file():
        return False
    try:
        with path.open("rb") as fh:
            head = fh.read(1024)
    except OSError:
        return False
    start = head.find(b"<net")
    prolog = head[:max(start, 0)]  # only declarations, comments and a doctype (refused on read) come before
    return start >= 0 and head[start + 4:start + 5] in (b" ", b">", b"\t", b"\n") and all(
        prolog[i + 1:i + 2] in (b"?", b"!") for i in range(len(prolog)) if prolog[i:i + 1] == b"<")


def _folder_irs(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if is_ir(p))
    except OSError:
        return []


def _folder_ir(folder: Path) -> tuple[Path | None, list[Path]]:
    """The IR a folder holds (the only one, or optimum's ``openvino_model.xml``) and the others beside it."""
    irs = _folder_irs(folder)
    main = irs[0] if len(irs) == 1 else folder / "openvino_model.xml" if folder / "openvino_model.xml" in irs else None
    return main, [p for p in irs if p != main]


class OpenVINOReader:
    """An OpenVINO IR: the ``.xml``, its ``.bin`` (when an IR ``.xml`` is beside it), or a folder with one IR."""

    name = "openvino"

    def sniff(self, path: Path, head: bytes) -> bool:
        if path.is_dir():
            return _folder_ir(path)[0] is not None and not any(path.glob("*.safetensors"))
        if path.suffix.lower() == ".bin":
            return is_ir(path.with_suffix(".xml"))
        return is_ir(path)

    def read(self, path: Path) -> Report:
        if path.is_dir():
            main, others = _folder_ir(path)
            if main is None:
                raise invalid(path, FORMAT, f"the folder holds {len(others)} IR .xml files and no "
                              "openvino_model.xml; name the one to read")
            report = read_ir(main)
            if others:
                names = ", ".join(p.name for p in others)
                report = report.with_notes(f"The folder also holds {names} (tokenizer or sub-model IRs), "
                                           f"not read: inspect each by name.")
            return report
        return read_ir(path.with_suffix(".xml") if path.suffix.lower() == ".bin" else path)

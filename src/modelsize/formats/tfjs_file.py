"""TensorFlow.js models (``model.json`` + ``group*-shard*of*.bin``): the manifest only, shards sized.

A TF.js model is a JSON manifest — the model topology and a ``weightsManifest``: groups of
weights, each group stored as the concatenation of its shard files in order — beside the
binary shards. Every weight's name, shape and dtype is in the manifest, and so is its
quantization (``uint8``/``uint16`` affine with ``scale`` and ``min``, or ``float16``), so sizes
come from the manifest alone: the shards are only ``stat``-ed to check that their sizes add up
to what the manifest implies (a mismatch or a missing shard is a note, never a silent guess).

``string`` weights (graph models' lookup tables) are length-prefixed per element: their size is
not in the manifest, so it is taken as the rest of the group's bytes when it is the group's only
string weight, and said to be unknown otherwise.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.report import Report
from ..core.tensors import Role, TensorRecord
from ._common import BoundedFile, FileLayout, build_report, file_section, invalid, json_value, role_for_name

FORMAT = "tfjs"
#: model.json files above this size are refused (real ones with large topologies are ~10 MB).
MAX_MANIFEST_BYTES = 256 << 20
MAX_WEIGHTS = 1_000_000
MAX_RANK = 64
#: manifest dtype -> (modelsize dtype, bytes per element); ``string`` has no fixed width
DTYPES: dict[str, tuple[str, int]] = {"float32": ("float32", 4), "int32": ("int32", 4), "bool": ("bool", 1),
                                      "complex64": ("complex64", 8), "float16": ("float16", 2),
                                      "int64": ("int64", 8), "uint8": ("uint8", 1)}
#: quantization dtype -> (modelsize dtype, bytes per element)
QUANT_DTYPES: dict[str, tuple[str, int]] = {"uint8": ("uint8", 1), "uint16": ("uint16", 2),
                                            "float16": ("float16", 2)}
_BUFFER_NAMES = ("moving_mean", "moving_variance", "running_mean", "running_var")


@dataclass(frozen=True)
class _Kind:
    """What the manifest says about the model: graph or Keras layers, and its frozen layers."""

    graph: bool
    frozen: frozenset[str] = frozenset()  #: dotted paths of layers saved with ``trainable: false``


def _read_json(path: Path) -> Any:
    with BoundedFile(path, FORMAT) as f:
        if f.size > MAX_MANIFEST_BYTES:
            raise f.error(f"it is {f.size} bytes, above the {MAX_MANIFEST_BYTES}-byte limit for a model.json")
        raw = f.read_at(0, f.size, "the manifest")
    return json_value(raw, path, FORMAT)


def is_manifest(path: Path) -> bool:
    """Whether ``path`` is a TF.js ``model.json``: a JSON object with a ``weightsManifest`` list."""
    try:
        if not path.is_file() or path.stat().st_size > MAX_MANIFEST_BYTES:
            return False
        with path.open("rb") as fh:
            raw = fh.read()
    except OSError:
        return False
    if not raw.lstrip()[:1] == b"{" or b'"weightsManifest"' not in raw:
        return False
    try:
        value = json_value(raw, path, FORMAT)
    except ValueError:
        return False
    return isinstance(value, dict) and isinstance(value.get("weightsManifest"), list)


@dataclass
class _Group:
    index: int
    paths: list[str]
    expected: int | None = 0  #: bytes its weights need, None when a string weight's size is unknown
    on_disk: int | None = 0  #: bytes of its shard files, None when one is missing
    records: list[TensorRecord] = field(default_factory=list)


def _shard_path(manifest: Path, name: Any) -> Path:
    """A shard named by the manifest: a relative path inside the model's folder, nothing else."""
    if not isinstance(name, str) or not name or os.path.isabs(name) or ".." in Path(name).parts:
        raise invalid(manifest, FORMAT, f"shard path {name!r} is not a relative path inside the model's folder")
    return manifest.parent / name


def _shape(path: Path, w: dict[str, Any]) -> tuple[int, ...]:
    shape = w.get("shape", [])
    if not isinstance(shape, list) or len(shape) > MAX_RANK or not all(
            isinstance(d, int) and not isinstance(d, bool) and 0 <= d < 1 << 62 for d in shape):
        raise invalid(path, FORMAT, f"weight {w.get('name')!r} has shape {shape!r}, not a list of at most "
                      f"{MAX_RANK} non-negative integers")
    return tuple(shape)


def _role(name: str, dtype: str, kind: _Kind) -> tuple[Role, bool | None]:
    """Role and trainability: a layers model follows Keras (moving statistics are non-trainable parameters)."""
    short = name.rsplit("/", 1)[-1]
    if not kind.graph:
        from .keras_file import NON_TRAINABLE  # the Keras reader, only once a layers model is read

        parts = name.split("/")[:-1]
        spans = ((i, j) for i in range(len(parts)) for j in range(i + 1, len(parts) + 1))
        frozen = any(".".join(parts[i:j]) in kind.frozen for i, j in spans)
        return Role.PARAMETER, short not in NON_TRAINABLE and not frozen
    if short in _BUFFER_NAMES:
        return Role.BUFFER, None
    if dtype in ("int32", "int64", "string"):
        return Role.METADATA, None  # a graph model's integer constants are shapes, axes and indices
    return role_for_name(name), None


def _record(path: Path, w: Any, kind: _Kind, group: _Group) -> TensorRecord:
    """One weight's record; its stored bytes are its share of the group's shards."""
    if not isinstance(w, dict) or not isinstance(w.get("name"), str):
        raise invalid(path, FORMAT, f"a weight entry is {type(w).__name__} without a 'name' string")
    name, dtype, shape = w["name"], w.get("dtype"), _shape(path, w)
    quant = w.get("quantization")
    meta: dict[str, Any] = {"name": name, "group": group.index, "dtype": dtype}
    if dtype == "string":
        rec_dtype, nbytes, bits = "string", None, None
    elif dtype in DTYPES:
        rec_dtype, width = DTYPES[dtype]
        bits = 8 * width
        if quant is not None:
            if not isinstance(quant, dict) or quant.get("dtype") not in QUANT_DTYPES:
                raise invalid(path, FORMAT, f"weight {name!r} has quantization {quant!r}; the known quantized "
                              f"dtypes are {', '.join(QUANT_DTYPES)}")
            rec_dtype, width = QUANT_DTYPES[quant["dtype"]]
            bits = 8 * width
            meta["quantization"] = {k: quant[k] for k in ("dtype", "scale", "min", "original_dtype") if k in quant}
        nbytes = math.prod(shape) * width
    else:
        raise invalid(path, FORMAT, f"weight {name!r} has dtype {dtype!r}; TF.js writes "
                      f"{', '.join([*DTYPES, 'string'])}")
    if nbytes is None or group.expected is None:
        group.expected = None
    else:
        group.expected += nbytes
    role, trainable = _role(name, dtype, kind)
    return TensorRecord(path=name.replace("/", "."), shape=shape, dtype=rec_dtype, bits=bits, stored_bytes=nbytes,
                        role=role, trainable=trainable, meta=meta)


def _groups(path: Path, manifest: Any, kind: _Kind) -> list[_Group]:
    if not isinstance(manifest, list):
        raise invalid(path, FORMAT, "'weightsManifest' is not a list")
    groups: list[_Group] = []
    count = 0
    for gi, g in enumerate(manifest):
        if not isinstance(g, dict) or not isinstance(g.get("paths"), list) or not isinstance(g.get("weights"), list):
            raise invalid(path, FORMAT, f"weight group {gi} is not an object with 'paths' and 'weights' lists")
        count += len(g["weights"])
        if count > MAX_WEIGHTS:
            raise invalid(path, FORMAT, f"it lists more than {MAX_WEIGHTS} weights")
        group = _Group(gi, [str(_shard_path(path, p).relative_to(path.parent)) for p in g["paths"]])
        group.records = [_record(path, w, kind, group) for w in g["weights"]]
        groups.append(group)
    return groups


def _size_shards(path: Path, group: _Group, notes: list[str]) -> list[FileLayout]:
    """Each shard's size from ``stat`` (never read); string weights get the group's leftover bytes."""
    layouts = []
    for name in group.paths:
        shard = path.parent / name
        if not shard.is_file():
            notes.append(f"Shard {name!r} of weight group {group.index} is missing: its weights are sized from "
                         "the manifest alone.")
            group.on_disk = None
            continue
        size = shard.stat().st_size
        layouts.append(FileLayout(name, size, {"tensor_data": size}))
        if group.on_disk is not None:
            group.on_disk += size
    strings = [i for i, r in enumerate(group.records) if r.dtype == "string"]
    if len(strings) == 1 and group.on_disk is not None:
        known = sum(r.stored_bytes or 0 for r in group.records if r.dtype != "string")
        i = strings[0]
        group.records[i] = group.records[i].with_(stored_bytes=max(group.on_disk - known, 0))
        group.expected = group.on_disk if group.on_disk >= known else None
    elif strings:
        notes.append(f"Weight group {group.index} holds {len(strings)} string weights, whose sizes the manifest "
                     "does not give: their stored bytes are unknown (shown as 0).")
    if group.expected is not None and group.on_disk is not None and group.expected != group.on_disk:
        notes.append(f"The shards of weight group {group.index} hold {group.on_disk:,} bytes but the manifest's "
                     f"weights need {group.expected:,}: the files do not match the manifest.")
    return layouts


def _kind(doc: dict[str, Any]) -> tuple[str, _Kind]:
    """``layers-model`` (a Keras topology) or ``graph-model``, and a layers model's frozen layers."""
    topology = doc.get("modelTopology")
    topology = topology if isinstance(topology, dict) else {}
    config = topology.get("model_config", topology)
    keras = isinstance(config, dict) and "class_name" in config and "node" not in topology
    fmt = doc.get("format") if doc.get("format") in ("layers-model", "graph-model") else (
        "layers-model" if keras else "graph-model")
    if fmt == "graph-model" or not isinstance(config, dict):
        return fmt, _Kind(graph=fmt == "graph-model")
    from .keras_file import _trainable as _frozen_layers

    return fmt, _Kind(graph=False, frozen=frozenset(_frozen_layers(config)))


def read_tfjs(path: Path) -> Report:
    """Report for a TF.js ``model.json`` (or the folder holding it)."""
    manifest_path = path / "model.json" if path.is_dir() else path
    doc = _read_json(manifest_path)
    if not isinstance(doc, dict) or "weightsManifest" not in doc:
        raise invalid(manifest_path, FORMAT, "it is not a TF.js manifest (no 'weightsManifest')")
    fmt, kind = _kind(doc)
    groups = _groups(manifest_path, doc["weightsManifest"], kind)
    notes: list[str] = []
    layouts = [FileLayout(manifest_path.name, manifest_path.stat().st_size,
                          {"metadata": manifest_path.stat().st_size})]
    for g in groups:
        layouts.extend(_size_shards(manifest_path, g, notes))
    records = [r for g in groups for r in g.records]
    quantized = sorted({r.meta["quantization"]["dtype"] for r in records if "quantization" in r.meta})
    section = {"format": fmt, "generated_by": doc.get("generatedBy"), "converted_by": doc.get("convertedBy"),
               "groups": [{"paths": g.paths, "weights": len(g.records), "bytes": g.expected,
                           "shard_bytes": g.on_disk} for g in groups],
               "quantization": quantized}
    if quantized:
        notes.append(f"Weights are quantized to {', '.join(quantized)} in the shards (TF.js dequantizes them on "
                     "load): stored bytes are the quantized bytes, the dtype is the stored one.")
    return build_report(manifest_path, FORMAT, records, framework="tensorflowjs", object_type=fmt,
                        sections={"file": file_section(FORMAT, layouts), FORMAT: section}, notes=notes)


class TFJSReader:
    """A TF.js ``model.json`` manifest, or a folder holding one (never any other JSON)."""

    name = "tensorflow.js"

    def sniff(self, path: Path, head: bytes) -> bool:
        if path.is_dir():
            return is_manifest(path / "model.json")
        return path.suffix.lower() == ".json" and head.lstrip()[:1] == b"{" and is_manifest(path)

    def read(self, path: Path) -> Report:
        return read_tfjs(path)

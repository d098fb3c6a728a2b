"""TensorFlow SavedModel folders, header-only and without importing TensorFlow.

A SavedModel is ``saved_model.pb`` (the graph and the object graph) plus a tensor bundle
``variables/variables.index`` + ``variables/variables.data-*-of-*``. The index gives every
variable's dtype, shape, shard and byte range (:mod:`.tensor_bundle`); the object graph in
``saved_model.pb`` gives each variable's name and whether it is trainable, and says which
variables are an optimizer's slots. Tensor bytes are never read.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.report import Report
from ..core.tensors import Role, TensorRecord
from ._common import FileLayout, build_report, file_section, invalid, span_key
from ._protobuf import WireError, fields
from .tensor_bundle import BundleEntry, read_index, shard_name

FORMAT = "savedmodel"
SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"
#: ``saved_model.pb`` larger than this is not parsed for names (protobufs stop at 2 GB anyway).
MAX_GRAPH_BYTES = 1 << 31
_OPTIMIZER_PARTS = frozenset({"optimizer", "_optimizer", "optimizers"})
_NO_ELEMENTS = frozenset({"string", "resource", "variant"})


@dataclass
class _Var:
    name: str
    trainable: bool
    slot: bool = False


def _sub(msg: Any, number: int) -> list[memoryview]:
    return [v for n, v in fields(msg) if n == number and isinstance(v, memoryview)]


def _escape(local_name: str) -> str:
    """How a checkpoint key spells one object's local name (TensorFlow's ``_escape_local_name``)."""
    return local_name.replace(".", "..").replace("/", ".S")


def object_graph_variables(pb: bytes) -> dict[str, _Var]:
    """Checkpoint key → variable name, trainable flag and slot flag, from ``saved_model.pb``.

    The object graph lists each object's children by local name; a variable's key is the
    first (breadth-first) path from the root to it, as TensorFlow's saver writes it.
    """
    metas = _sub(pb, 2)
    graphs = _sub(metas[0], 7) if metas else []
    if not graphs:
        return {}
    nodes = _sub(graphs[0], 1)
    children: list[list[tuple[int, str]]] = []
    variables: dict[int, _Var] = {}
    slots: set[int] = set()
    slot_refs: list[tuple[int, int, str, int]] = []  # (optimizer node, original variable node, slot name, slot node)
    for i, node in enumerate(nodes):
        kids = []
        for ref in _sub(node, 1):
            d = dict(fields(ref))
            nid, local = d.get(1, 0), d.get(2, b"")
            kids.append((int(nid) if isinstance(nid, int) else 0, bytes(local).decode("utf-8", "replace")))
        children.append(kids)
        for slot in _sub(node, 3):
            d = dict(fields(slot))
            sid, oid, slot_name = d.get(3), d.get(1), d.get(2, b"")
            if isinstance(sid, int):
                slots.add(sid)
                if isinstance(oid, int) and isinstance(slot_name, memoryview):
                    slot_refs.append((i, oid, bytes(slot_name).decode("utf-8", "replace"), sid))
        for var in _sub(node, 7):
            d = dict(fields(var))
            name = d.get(6, b"")
            variables[i] = _Var(bytes(name).decode("utf-8", "replace") if isinstance(name, memoryview) else "",
                                bool(d.get(3, 0)))
    paths = {0: ""}
    queue = deque([0])
    while queue:
        i = queue.popleft()
        for nid, local in children[i] if i < len(children) else []:
            if nid not in paths and 0 <= nid < len(nodes):
                paths[nid] = f"{paths[i]}/{_escape(local)}" if paths[i] else _escape(local)
                queue.append(nid)
    out = {}
    for nid, var in variables.items():
        if nid in paths:
            var.slot = nid in slots
            out[paths[nid] + SUFFIX] = var
    out.update(_slots(slot_refs, children, variables, paths))
    return out


def _slots(refs: list[tuple[int, int, str, int]], children: list[list[tuple[int, str]]],
           variables: dict[int, _Var], paths: dict[int, str]) -> dict[str, _Var]:
    """Checkpoint key → slot variable of a (TF2 legacy) optimizer's slots, which the saver writes as
    ``<variable>/.OPTIMIZER_SLOT/<optimizer>/<slot>``. An unnamed slot is named by its optimizer,
    slot and the variable it belongs to (``Adam/m/dense/kernel``, as Keras' own optimizers name
    theirs), not by the checkpoint path (``layer_with_weights-0/kernel/…``)."""
    out: dict[str, _Var] = {}
    for opt, original, slot_name, sid in refs:
        owner = variables.get(original)
        if original not in paths or opt not in paths:
            continue
        var = variables.setdefault(sid, _Var("", False))
        var.slot = True
        if not var.name and owner is not None and owner.name:
            own = [variables[nid].name for nid, _ in (children[opt] if opt < len(children) else [])
                   if nid in variables and variables[nid].name]
            prefix = own[0].split("/")[0] if own else "optimizer"
            var.name = f"{prefix}/{slot_name}/{owner.name.removesuffix(':0')}"
        out[f"{paths[original]}/.OPTIMIZER_SLOT/{paths[opt]}/{_escape(slot_name)}{SUFFIX}"] = var
    return out


def _role(entry: BundleEntry, var: _Var | None) -> Role:
    parts = entry.key.split("/")
    if entry.key == "_CHECKPOINTABLE_OBJECT_GRAPH" or entry.dtype in _NO_ELEMENTS:
        return Role.METADATA
    if ".OPTIMIZER_SLOT" in parts or (var is not None and var.slot) or _OPTIMIZER_PARTS & set(parts[:-2]):
        return Role.OPTIMIZER_STATE
    if parts[:2] == ["keras_api", "metrics"]:
        return Role.METADATA  # a compiled metric's running state (total, count, confusion counts): not weights
    wide_int = entry.dtype in ("int32", "int64", "uint32", "uint64")
    if parts[0] == "save_counter" or (wide_int and (entry.numel <= 1 or (var is not None and not var.trainable))):
        return Role.METADATA  # counters and RNG seed states (Keras SeedGenerator) are bookkeeping, not weights
    return Role.PARAMETER


def _path(entry: BundleEntry, var: _Var | None) -> str:
    metric = entry.key.startswith("keras_api/metrics/")  # metric variables are all named 'total', 'count' …
    name = var.name if var is not None and var.name and not metric else entry.key.removesuffix(SUFFIX)
    return name.removesuffix(":0").replace(".", "_").replace("/", ".")


def read_savedmodel(folder: Path) -> Report:
    """A SavedModel folder: variables from the bundle index, names from ``saved_model.pb``."""
    pb_path = folder / "saved_model.pb"
    index = folder / "variables" / "variables.index"
    notes: list[str] = []
    variables: dict[str, _Var] = {}
    pb_bytes = pb_path.stat().st_size if pb_path.is_file() else 0
    if pb_path.is_file() and not pb_bytes:  # TensorFlow always writes the schema version and a meta graph
        raise invalid(pb_path, "SavedModel", "saved_model.pb is empty (0 bytes)")
    if pb_path.is_file() and pb_bytes <= MAX_GRAPH_BYTES:
        try:
            variables = object_graph_variables(pb_path.read_bytes())
        except WireError as exc:
            raise invalid(pb_path, "SavedModel", f"saved_model.pb is not a SavedModel protobuf ({exc})") from None
    if not variables:
        notes.append("saved_model.pb has no object graph (a TF1 SavedModel or none at all): names come from "
                     "the variables index and trainability is unknown.")
    records: list[TensorRecord] = []
    layouts = [FileLayout("saved_model.pb", pb_bytes, {"graph": pb_bytes})] if pb_bytes else []
    if not index.is_file():
        notes.append("The SavedModel has no variables/variables.index: its weights, if any, are constants "
                     "inside saved_model.pb, which this reader does not count.")
    else:
        bundle = read_index(index)
        shard_bytes: dict[int, int] = {}
        for s in range(bundle.num_shards):
            shard = folder / "variables" / shard_name("variables", s, bundle.num_shards)
            if shard.is_file():
                shard_bytes[s] = shard.stat().st_size
            else:
                notes.append(f"Data shard {shard.name!r} is missing; sizes come from the index.")
        owners: dict[tuple[str, str, tuple[int, ...]], TensorRecord] = {}
        duplicates = 0
        used: dict[int, int] = {}
        seen_paths: dict[str, int] = {}
        # a Keras export saves each variable under 'variables/i' and again under '_all_variables/j'
        entries = sorted(bundle.entries, key=lambda e: e.key.startswith("_all_variables/"))
        for e in entries:
            if e.shard >= bundle.num_shards:
                raise invalid(index, "TensorFlow variables index",
                              f"tensor {e.key!r} is in shard {e.shard} of {bundle.num_shards}")
            if e.shard in shard_bytes and e.offset + e.size > shard_bytes[e.shard]:
                raise invalid(index, "TensorFlow variables index",
                              f"tensor {e.key!r} needs bytes {e.offset}..{e.offset + e.size} of shard {e.shard}, "
                              f"which has {shard_bytes[e.shard]} bytes")
            used[e.shard] = used.get(e.shard, 0) + e.size
            var = variables.get(e.key)
            role = _role(e, var)
            shard = shard_name("variables", e.shard, bundle.num_shards)
            key = span_key(shard, e.offset, e.size, e.key)
            meta: dict[str, Any] = {"checkpoint_key": e.key, "shard": e.shard, "offset": e.offset}
            if e.slices:
                meta["slices"] = e.slices
            ident = (var.name if var is not None else "", e.dtype, e.shape)
            path = _path(e, var)
            owner = owners.get(ident) if e.key.startswith("_all_variables/") else None
            if owner is not None:
                # the same variable saved under a second object path: one variable, two copies on disk
                meta["same_variable_as"] = owner.meta["checkpoint_key"]
                key = str(owner.storage_key)
                path = e.key.removesuffix(SUFFIX).replace("/", ".")
                duplicates += 1
            elif var is not None and var.name:
                owners.setdefault(ident, None)  # type: ignore[arg-type]
            seen_paths[path] = seen_paths.get(path, 0) + 1
            if seen_paths[path] > 1:
                path = f"{path}#{seen_paths[path]}"
            trainable = (var.trainable if var is not None else None) if role is Role.PARAMETER else None
            shape, dtype = e.shape, e.dtype
            if dtype in _NO_ELEMENTS:  # serialized strings (the object graph): shown as the bytes they are
                shape, dtype = (e.size,), "uint8"
                meta["tf_dtype"] = e.dtype
            bits = TensorRecord(path="", shape=(), dtype=dtype).bits or (e.size * 8 / e.numel if e.numel else 0)
            rec = TensorRecord(path=path, shape=shape, dtype=dtype, bits=bits, role=role,
                               trainable=trainable, stored_bytes=e.size, storage_key=key, meta=meta)
            if var is not None and var.name and owners.get(ident) is None and owner is None:
                owners[ident] = rec
            records.append(rec)
        if duplicates:
            notes.append(f"{duplicates} variables are saved twice under different object paths (a Keras export "
                         "writes 'variables' and '_all_variables'); each is counted once, though the data "
                         "files hold both copies.")
        layouts.append(FileLayout("variables/variables.index", bundle.index_bytes, {"index": bundle.index_bytes}))
        for s, size in shard_bytes.items():
            layouts.append(FileLayout(f"variables/{shard_name('variables', s, bundle.num_shards)}", size,
                                      {"tensor_data": min(used.get(s, 0), size)}))
    if not records and not pb_path.is_file():
        raise invalid(folder, "SavedModel", "it has neither saved_model.pb nor variables/variables.index")
    fingerprint = folder / "fingerprint.pb"
    if fingerprint.is_file():
        layouts.append(FileLayout("fingerprint.pb", fingerprint.stat().st_size))
    return build_report(
        folder, FORMAT, records, framework="tensorflow", object_type="SavedModel",
        sections={"file": file_section(FORMAT, layouts)}, notes=notes,
    )


class SavedModelReader:
    """A folder with ``saved_model.pb`` and/or ``variables/variables.index``."""

    name = "tensorflow savedmodel"

    def sniff(self, path: Path, head: bytes) -> bool:
        return path.is_dir() and ((path / "saved_model.pb").is_file()
                                  or (path / "variables" / "variables.index").is_file())

    def read(self, path: Path) -> Report:
        return read_savedmodel(path)

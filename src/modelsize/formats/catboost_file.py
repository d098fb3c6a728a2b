"""CatBoost ``.cbm`` model files, header-only, without importing CatBoost.

A ``.cbm`` file is ``b"CBM1"``, a little-endian uint32 ``n``, a FlatBuffers ``TModelCore`` of ``n``
bytes (schema: ``catboost/libs/model/flatbuffers/model.fbs``), then the model parts it names in
``ModelPartIds`` (the CTR tables of categorical features). From ``TModelCore.ModelTrees`` the
reader takes each array's *length* and position — the split indices, tree sizes, leaf values and
weights, and each float feature's borders — and reads only the per-tree sizes; no leaf value or
border is read. The records are the arrays CatBoost keeps in memory, with the classical-model
roles of :mod:`modelsize.adapters.boosting_trees`: leaf values and split borders are parameters
(CatBoost's trees are oblivious, so a border is shared by every tree that splits on it and is
counted once), split indices and tree sizes are index structure, leaf weights are training
statistics. The model parts after the core are sized, not parsed.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

from ..core.report import Report
from ..core.tensors import Role, TensorRecord
from ..core.tree import Component
from ._common import FileLayout, build_report, file_section, invalid, map_file
from .tflite_file import _FB, _Table
from .declarations import CATBOOST_MAGIC as MAGIC

FORMAT = "catboost"

#: TModelTrees fields (0-based field ids of model.fbs): (name, element size, struct format, role).
_TREE_ARRAYS = (
    (1, "tree_splits", 4, "int32", Role.INDEX),
    (2, "tree_sizes", 4, "int32", Role.INDEX),
    (3, "tree_start_offsets", 4, "int32", Role.INDEX),
    (8, "leaf_values", 8, "float64", Role.PARAMETER),
    (9, "leaf_weights", 8, "float64", Role.METADATA),
    (10, "non_symmetric_step_nodes", 4, "uint16x2", Role.INDEX),
    (11, "non_symmetric_node_id_to_leaf_id", 4, "uint32", Role.INDEX),
    (16, "multi_bias", 8, "float64", Role.METADATA),  # the starting value, like XGBoost's base_score
)
_FEATURE_LISTS = ((4, "cat_features"), (5, "float_features"), (6, "one_hot_features"), (7, "ctr_features"),
                  (12, "text_features"), (13, "estimated_features"), (18, "embedding_features"))


class _CbmFB(_FB):
    """The flatbuffer reader of the TFLite reader, with errors that name this format."""

    def error(self, defect: str) -> Exception:
        return invalid(self.path, FORMAT, defect)


def _record(path: str, start: int, n: int, size: int, dtype: str, role: Role, offset: int) -> TensorRecord:
    shape = (n, 2) if dtype == "uint16x2" else (n,)
    dtype = "uint16" if dtype == "uint16x2" else dtype
    bits = 16 if dtype == "uint16" else size * 8
    return TensorRecord(path=path, shape=shape, dtype=dtype, bits=bits, role=role, stored_bytes=n * size,
                        storage_key=f"cbm@{offset + start}", meta={"offset": offset + start})


#: Feature lists whose entries carry split borders: (TModelTrees field, name, Borders field of the entry).
_BORDERED = ((5, "float_features", 3), (7, "ctr_features", 1), (13, "estimated_features", 3))


def _borders(trees: _Table, offset: int) -> list[TensorRecord]:
    """The split borders of float, CTR and estimated features: one record per feature that has any."""
    records = []
    for field_id, list_name, borders_field in _BORDERED:
        for k, feature in enumerate(trees.tables(field_id, list_name)):
            start, n = feature.vector(borders_field, 4, f"{list_name}[{k}].Borders")
            if not n:
                continue
            index = feature.scalar(1, "<i", 4, -1) if list_name == "float_features" else k
            name = f"{list_name}.{index if index >= 0 else k}.borders"
            records.append(_record(name, start, n, 4, "float32", Role.PARAMETER, offset))
    return records


def _core(fb: _CbmFB, offset: int) -> tuple[list[TensorRecord], dict[str, Any]]:
    core = fb.table(fb.u32(0, "the root offset"), "TModelCore")
    trees = core.table(1, "ModelTrees")
    if trees is None:
        raise fb.error("its TModelCore has no ModelTrees")
    records = []
    for field_id, name, size, dtype, role in _TREE_ARRAYS:
        start, n = trees.vector(field_id, size, name)
        if n or name in ("leaf_values", "tree_splits"):
            records.append(_record(name, start, n, size, dtype, role, offset))
    records.extend(_borders(trees, offset))
    sizes = trees.ints(2, "i", 4, "TreeSizes")
    info = {kv.string(0, "InfoMap key"): kv.string(1, "InfoMap value") for kv in core.tables(2, "InfoMap")}
    attrs: dict[str, Any] = {
        "format_version": core.string(0, "FormatVersion"),
        "approx_dimension": trees.scalar(0, "<i", 4, 0),
        "scale": trees.scalar(14, "<d", 8, 1.0),
        "bias": trees.scalar(15, "<d", 8, 0.0),
        "oblivious": trees.vector(10, 4, "NonSymmetricStepNodes")[1] == 0,
        "features": {name: trees.vector(i, 4, name)[1] for i, name in _FEATURE_LISTS if trees.vector(i, 4, name)[1]},
        "trees": {"count": len(sizes), "splits": sum(sizes), "max_depth": max(sizes, default=0),
                  "mean_depth": sum(sizes) / len(sizes) if sizes else 0.0},
        "model_parts": _strings(core, 3),
    }
    if "params" in info:
        attrs["has_training_params"] = True
    return records, attrs


def _strings(table: _Table, i: int) -> list[str]:
    start, n = table.vector(i, 4, "ModelPartIds")
    fb = table.fb
    out = []
    for k in range(n):
        p = start + 4 * k
        q = p + fb.u32(p, "a string offset")
        length = fb.u32(q, "a string length")
        out.append(fb.parse_vector(q + 4, length, "s", 1) if length else "")
    return out


def parse_cbm(buf: Any, path: Path) -> tuple[list[TensorRecord], dict[str, Any], int, list[str]]:
    """(records, attrs, bytes of the model core, notes) of a ``.cbm`` image (a mapped file or the bytes
    a pickled CatBoost model carries); :class:`InvalidFileError` naming ``path`` when it is not one."""
    size = len(buf)
    if size < 8 or bytes(buf[:4]) != MAGIC:
        raise invalid(path, FORMAT, f"it does not start with {MAGIC!r}")
    core_bytes = struct.unpack_from("<I", buf, 4)[0]
    if core_bytes > size - 8:
        raise invalid(path, FORMAT, f"its model core claims {core_bytes} bytes; {size - 8} follow the header")
    view = memoryview(buf)[8:8 + core_bytes]
    try:
        records, attrs = _core(_CbmFB(view, path), 8)
    finally:
        view.release()
    parts = size - 8 - core_bytes
    notes = ["CatBoost trees are oblivious: each feature's split borders are shared by every tree that splits on "
             "it, and counted once as parameters with the leaf values."]
    if parts:
        records.append(TensorRecord(path="model_parts", shape=(parts,), dtype="uint8", role=Role.OTHER,
                                    stored_bytes=parts, storage_key=f"cbm@{8 + core_bytes}",
                                    meta={"parts": attrs["model_parts"]}))
        notes.append(f"{parts} bytes of model parts ({', '.join(attrs['model_parts']) or 'unnamed'}: CTR tables of "
                     "categorical features) follow the trees; they are sized, not parsed.")
    return records, attrs, core_bytes, notes


def read_catboost(path: Path) -> Report:
    with map_file(path, FORMAT) as mm:
        size = len(mm)
        records, attrs, core_bytes, notes = parse_cbm(mm, path)
    root = Component(name=path.name, kind="CatBoostModel", path="", tensors=tuple(records), attrs=attrs)
    layout = FileLayout(path.name, size, {"header": 8, "model_core": core_bytes, "model_parts": size - 8 - core_bytes})
    return build_report(path, FORMAT, [], framework="catboost", object_type="CatBoostModel", root=root,
                        sections={"file": file_section(FORMAT, [layout]), "booster": attrs}, notes=notes)


class CatBoostReader:
    """CatBoost ``.cbm`` files, recognised by their ``CBM1`` magic."""

    name = "catboost"

    def sniff(self, path: Path, head: bytes) -> bool:
        return head.startswith(MAGIC)

    def read(self, path: Path) -> Report:
        return read_catboost(path)

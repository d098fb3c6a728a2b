"""XGBoost and LightGBM tree ensembles → components, from each library's own model dump.

Neither library exposes its trees as arrays in memory, so the structure is read from what
they export: XGBoost's JSON model (``Booster.save_raw("json")``: one array per node field)
and LightGBM's ``Booster.dump_model()`` (a nested dict per tree). Each node field becomes a
record with the element type the library keeps in memory (XGBoost: int32 child and parent
indices, uint32 split features, float32 conditions; LightGBM: int32 indices, float64
thresholds and leaf values), so a report shows which field costs what. The in-memory C++
layout adds a few bytes per node of padding and bookkeeping not visible here; the native file
sizes in the ``formats`` section are exact.

Roles follow the classical-model definition (see :mod:`modelsize.adapters.sklearn`): split
thresholds and leaf values are parameters; child/parent links, split features, default
directions and category sets are index structure; gains, hessian sums, counts and internal
node values are training statistics (metadata).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from ..core.tensors import Role, TensorRecord
from ..core.tree import Component, join
from .arrays import array_record

#: XGBoost tree fields: (dtype in memory, role). ``split_conditions`` holds the threshold of a
#: split node and the value of a leaf.
XGB_FIELDS: dict[str, tuple[str, Role]] = {
    "left_children": ("int32", Role.INDEX),
    "right_children": ("int32", Role.INDEX),
    "parents": ("int32", Role.INDEX),
    "split_indices": ("uint32", Role.INDEX),
    "split_conditions": ("float32", Role.PARAMETER),
    "default_left": ("uint8", Role.INDEX),
    "split_type": ("uint8", Role.INDEX),
    "base_weights": ("float32", Role.METADATA),
    "loss_changes": ("float32", Role.METADATA),
    "sum_hessian": ("float32", Role.METADATA),
    "categories": ("int32", Role.INDEX),
    "categories_nodes": ("int32", Role.INDEX),
    "categories_segments": ("uint64", Role.INDEX),
    "categories_sizes": ("uint64", Role.INDEX),
}

#: LightGBM split-node fields: (dtype in memory, role).
LGB_SPLIT_FIELDS: dict[str, tuple[str, Role]] = {
    "left_child": ("int32", Role.INDEX),
    "right_child": ("int32", Role.INDEX),
    "split_feature": ("int32", Role.INDEX),
    "threshold": ("float64", Role.PARAMETER),
    "decision_type": ("int8", Role.INDEX),
    "split_gain": ("float32", Role.METADATA),
    "internal_value": ("float64", Role.METADATA),
    "internal_weight": ("float64", Role.METADATA),
    "internal_count": ("int32", Role.METADATA),
}
#: LightGBM leaf fields.
LGB_LEAF_FIELDS: dict[str, tuple[str, Role]] = {
    "leaf_value": ("float64", Role.PARAMETER),
    "leaf_weight": ("float64", Role.METADATA),
    "leaf_count": ("int32", Role.METADATA),
    "leaf_parent": ("int32", Role.INDEX),
}


def _depth_from_children(left: np.ndarray, right: np.ndarray) -> int:
    """Depth (edges from the root to the deepest leaf) of a tree given child indices (-1 = none)."""
    if left.size == 0:
        return 0
    deepest = 0
    stack = [(0, 0)]
    seen = {0}  # each node once: a model file whose children loop back ends, it does not hang
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        for child in (int(left[node]), int(right[node])):
            if 0 <= child < min(left.size, right.size) and child not in seen:
                seen.add(child)
                stack.append((child, depth + 1))
    return deepest


def _key(path: str, field: str) -> str:
    """Storage key of a record built from a dump: its path (each dump array is its own storage)."""
    return f"dump:{join(path, field)}"


# --------------------------------------------------------------------------- XGBoost


def xgboost_model_json(booster: Any) -> dict[str, Any]:
    """The booster's JSON model (the same document ``save_model("model.json")`` writes)."""
    return json.loads(bytes(booster.save_raw("json")))


def xgboost_components(model: dict[str, Any], path: str) -> tuple[list[TensorRecord], list[Component], dict[str, Any]]:
    """(records on the booster, tree components, booster attrs) from the JSON model."""
    learner = model["learner"]
    booster = learner["gradient_booster"]
    kind = booster.get("name", "gbtree")
    attrs: dict[str, Any] = {"booster": kind, "objective": learner.get("objective", {}).get("name")}
    params = learner.get("learner_model_param", {})
    for key in ("num_class", "num_feature", "num_target"):
        if key in params:
            attrs[key] = int(params[key])
    records: list[TensorRecord] = []
    if kind == "gblinear":
        weights = np.asarray(booster["model"]["weights"], dtype=np.float32)
        records.append(array_record(join(path, "weights"), weights, Role.PARAMETER, key=_key(path, "weights")))
        return records, [], attrs
    gbtree = booster["gbtree"] if kind == "dart" else booster
    if kind == "dart" and len(booster.get("weight_drop", ())):
        drop = np.asarray(booster["weight_drop"], dtype=np.float32)
        records.append(array_record(join(path, "weight_drop"), drop, Role.PARAMETER, key=_key(path, "weight_drop")))
    trees = gbtree["model"]["trees"]
    container = join(path, "trees")
    children = [_xgb_tree(tree, str(i), join(container, str(i))) for i, tree in enumerate(trees)]
    tree_info = [int(c) for c in gbtree["model"].get("tree_info", [])]
    if tree_info:
        attrs["trees_per_class"] = {str(c): tree_info.count(c) for c in sorted(set(tree_info))}
    holder = Component(name="trees", kind="list", path=container, children=tuple(children))
    return records, [holder], attrs


def _xgb_tree(tree: dict[str, Any], name: str, path: str) -> Component:
    records = []
    arrays: dict[str, np.ndarray] = {}
    for field, (dtype, role) in XGB_FIELDS.items():
        values = tree.get(field)
        if values is None:
            continue
        arr = np.asarray(values, dtype=dtype)
        arrays[field] = arr
        if arr.size or field in ("left_children", "split_conditions"):
            records.append(array_record(join(path, field), arr, role, key=_key(path, field)))
    left = arrays.get("left_children", np.zeros(0, np.int32))
    right = arrays.get("right_children", np.zeros(0, np.int32))
    split_type = arrays.get("split_type", np.zeros(0, np.uint8))
    param = tree.get("tree_param", {})
    attrs = {
        "nodes": int(left.size),
        "leaves": int(np.count_nonzero(left == -1)),
        "depth": _depth_from_children(left, right),
        "categorical_splits": int(np.count_nonzero(split_type == 1)),
        "leaf_vector_size": int(param.get("size_leaf_vector", 1) or 1),
    }
    return Component(name=name, kind="XGBoostTree", path=path, tensors=tuple(records), attrs=attrs)


# --------------------------------------------------------------------------- LightGBM


def lightgbm_components(dump: dict[str, Any], path: str) -> tuple[list[Component], dict[str, Any]]:
    """Tree components and booster attrs from ``Booster.dump_model()``."""
    container = join(path, "trees")
    children = [_lgb_tree(info, str(i), join(container, str(i))) for i, info in enumerate(dump.get("tree_info", []))]
    attrs = {
        "objective": str(dump.get("objective", "")).split(" ")[0] or None,
        "num_class": int(dump.get("num_class", 1)),
        "num_tree_per_iteration": int(dump.get("num_tree_per_iteration", 1)),
        "num_feature": int(dump.get("max_feature_idx", -1)) + 1,
    }
    holder = Component(name="trees", kind="list", path=container, children=tuple(children))
    return [holder], attrs


def _lgb_tree(info: dict[str, Any], name: str, path: str) -> Component:
    """One tree of ``dump_model()`` (nested nodes) → the arrays LightGBM keeps → its component."""
    splits: dict[str, list[Any]] = {f: [] for f in LGB_SPLIT_FIELDS}
    leaves: dict[str, list[Any]] = {f: [] for f in LGB_LEAF_FIELDS}
    categorical = 0
    cat_words = 0
    deepest = 0
    root = info.get("tree_structure", {})
    # Iterative pre-order walk: split nodes are numbered by ``split_index``, leaves by ``leaf_index``.
    stack: list[tuple[dict[str, Any], int, int]] = [(root, -1, 0)]
    split_rows: dict[int, dict[str, Any]] = {}
    leaf_rows: dict[int, dict[str, Any]] = {}
    while stack:
        node, parent, depth = stack.pop()
        deepest = max(deepest, depth)
        if "leaf_index" in node or "split_index" not in node:
            leaf_rows[int(node.get("leaf_index", 0))] = {**node, "leaf_parent": parent}
            continue
        split_rows[int(node["split_index"])] = node
        if node.get("decision_type") == "==":
            categorical += 1
            cats = [int(c) for c in str(node.get("threshold", "")).split("||") if c.strip().lstrip("-").isdigit()]
            cat_words += (max(cats) // 32 + 1) if cats else 1
        for side in ("left_child", "right_child"):
            stack.append((node[side], int(node["split_index"]), depth + 1))
    for index in sorted(split_rows):
        node = split_rows[index]
        for field in LGB_SPLIT_FIELDS:
            if field in ("left_child", "right_child"):
                child = node[field]
                splits[field].append(~int(child["leaf_index"]) if "leaf_index" in child else int(child["split_index"]))
            elif field == "threshold":
                value = node.get("threshold")
                splits[field].append(float(value) if isinstance(value, (int, float)) else 0.0)
            elif field == "decision_type":
                splits[field].append(1 if node.get("decision_type") == "==" else 0)
            else:
                splits[field].append(node.get(field, 0) or 0)
    for index in sorted(leaf_rows):
        node = leaf_rows[index]
        for field in LGB_LEAF_FIELDS:
            leaves[field].append(node.get(field, 0) or 0)
    cat_threshold = None
    if cat_words:
        cat_threshold = np.zeros(cat_words, dtype=np.uint32)
    attrs = {"depth": deepest, "categorical_splits": categorical, "shrinkage": info.get("shrinkage")}
    return lgb_tree_component(name, path, {**splits, **leaves}, cat_threshold, attrs, estimated=True)


def lgb_tree_component(name: str, path: str, fields: dict[str, Any], cat_threshold: np.ndarray | None,
                       attrs: dict[str, Any], estimated: bool = False) -> Component:
    """A LightGBM tree's component from its field arrays (split fields, then leaf fields).

    The one builder for a live booster's ``dump_model()`` and for the model text that LightGBM
    writes to files and pickles (:mod:`modelsize.formats.booster_decode`). ``attrs`` brings
    ``depth``, ``categorical_splits`` and ``shrinkage``; ``cat_threshold`` is the categorical
    bitset words, ``estimated`` when counted from the dump rather than read.
    """
    records = []
    for spec in (LGB_SPLIT_FIELDS, LGB_LEAF_FIELDS):
        for field, (dtype, role) in spec.items():
            arr = np.asarray(fields[field], dtype=dtype)
            records.append(array_record(join(path, field), arr, role, key=_key(path, field)))
    if cat_threshold is not None and cat_threshold.size:
        meta = {"estimate": "one 32-bit word per 32 categories of each categorical split"} if estimated else None
        records.append(array_record(join(path, "cat_threshold"), np.asarray(cat_threshold, dtype=np.uint32),
                                    Role.INDEX, meta, key=_key(path, "cat_threshold")))
    n_splits = int(np.asarray(fields["left_child"]).size)
    n_leaves = int(np.asarray(fields["leaf_value"]).size)
    out = {"nodes": n_splits + n_leaves, "leaves": n_leaves, "depth": attrs.get("depth", 0),
           "categorical_splits": attrs.get("categorical_splits", 0), "shrinkage": attrs.get("shrinkage")}
    return Component(name=name, kind="LightGBMTree", path=path, tensors=tuple(records), attrs=out)

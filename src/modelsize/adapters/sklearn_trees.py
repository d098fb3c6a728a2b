"""Tree structures inside scikit-learn estimators → components with node statistics.

Three kinds of trees hold most of the bytes of tree-based and neighbour-based estimators:

* ``sklearn.tree._tree.Tree`` (``tree_`` of decision trees, forests, gradient boosting): an
  array of fixed-size node records plus a ``value`` array of ``n_outputs × max_n_classes``
  float64 per node — for many classes or outputs, ``value`` dominates;
* ``TreePredictor`` (``_predictors`` of histogram gradient boosting): one record per node;
* ``KDTree`` / ``BallTree`` (k-NN, KernelDensity): a copy of the training data plus the
  search structure, so their size grows with n_samples.

Each becomes a component whose tensors are the node fields (so a report shows which field
costs what) and whose attrs carry node count, leaves, depth and bytes per node.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.tensors import Role, TensorRecord
from ..core.tree import Component, join
from .arrays import array_record, field_records

#: Node fields of ``sklearn.tree._tree.Tree``: structure, split, and training statistics.
TREE_FIELD_ROLES: dict[str, Role] = {
    "left_child": Role.INDEX,
    "right_child": Role.INDEX,
    "feature": Role.INDEX,
    "threshold": Role.PARAMETER,
    "impurity": Role.METADATA,
    "n_node_samples": Role.METADATA,
    "weighted_n_node_samples": Role.METADATA,
    "missing_go_to_left": Role.INDEX,
}

#: Node fields of histogram gradient boosting's ``TreePredictor``.
PREDICTOR_FIELD_ROLES: dict[str, Role] = {
    "value": Role.PARAMETER,
    "count": Role.METADATA,
    "feature_idx": Role.INDEX,
    "num_threshold": Role.PARAMETER,
    "missing_go_to_left": Role.INDEX,
    "left": Role.INDEX,
    "right": Role.INDEX,
    "gain": Role.METADATA,
    "depth": Role.METADATA,
    "is_leaf": Role.INDEX,
    "bin_threshold": Role.PARAMETER,
    "is_categorical": Role.INDEX,
    "bitset_idx": Role.INDEX,
}


def is_sklearn_tree(obj: Any) -> bool:
    """``sklearn.tree._tree.Tree`` (checked by name: the class lives in a private module)."""
    cls = type(obj)
    return cls.__name__ == "Tree" and cls.__module__ == "sklearn.tree._tree"


def is_tree_predictor(obj: Any) -> bool:
    cls = type(obj)
    return cls.__name__ == "TreePredictor" and cls.__module__.startswith("sklearn.ensemble._hist_gradient_boosting")


def is_binary_tree(obj: Any) -> bool:
    """``KDTree`` / ``BallTree`` (and their 32-bit variants)."""
    cls = type(obj)
    return cls.__module__.startswith("sklearn.neighbors") and hasattr(obj, "get_arrays") and hasattr(obj, "query")


def tree_component(tree: Any, name: str, path: str, keepalive: list[Any]) -> Component:
    """Component for a ``sklearn.tree._tree.Tree``: node fields, ``value``, node statistics."""
    state = tree.__getstate__()
    nodes: np.ndarray = state["nodes"]
    values: np.ndarray = state["values"]
    keepalive.extend((nodes, values))
    records = field_records(path, nodes, TREE_FIELD_ROLES)
    records.append(array_record(join(path, "value"), values, Role.PARAMETER,
                                {"why": "n_outputs × max_n_classes float64 per node, internal nodes too"}))
    node_bytes = int(nodes.dtype.itemsize)
    value_bytes = int(values[0].nbytes) if values.shape[0] else int(np.prod(values.shape[1:]) * values.itemsize)
    n_nodes = int(state["node_count"])
    leaves = int(np.count_nonzero(nodes["left_child"] == -1)) if n_nodes else 0
    attrs = {
        "nodes": n_nodes,
        "leaves": leaves,
        "depth": int(state["max_depth"]),
        "n_outputs": int(values.shape[1]) if values.ndim == 3 else 1,
        "max_n_classes": int(values.shape[2]) if values.ndim == 3 else 1,
        "bytes_per_node": node_bytes + value_bytes,
        "node_record_bytes": node_bytes,
        "value_bytes_per_node": value_bytes,
        "dominant": "value" if value_bytes > node_bytes else "node records",
    }
    return Component(name=name, kind="Tree", path=path, tensors=tuple(records), attrs=attrs)


def predictor_component(predictor: Any, name: str, path: str) -> Component:
    """Component for a histogram-gradient-boosting ``TreePredictor``."""
    nodes: np.ndarray = predictor.nodes
    records: list[TensorRecord] = field_records(join(path, "nodes"), nodes, PREDICTOR_FIELD_ROLES)
    for attr in ("binned_left_cat_bitsets", "raw_left_cat_bitsets"):
        bitsets = getattr(predictor, attr, None)
        if isinstance(bitsets, np.ndarray):
            records.append(array_record(join(path, attr), bitsets, Role.INDEX, {"why": "categorical splits"}))
    n_nodes = int(nodes.shape[0])
    leaves = int(np.count_nonzero(nodes["is_leaf"])) if n_nodes else 0
    attrs = {
        "nodes": n_nodes,
        "leaves": leaves,
        "depth": int(nodes["depth"].max()) if n_nodes else 0,
        "bytes_per_node": int(nodes.dtype.itemsize),
        "categorical_splits": int(np.count_nonzero(nodes["is_categorical"])) if n_nodes else 0,
    }
    return Component(name=name, kind="TreePredictor", path=path, tensors=tuple(records), attrs=attrs)


def binary_tree_component(tree: Any, name: str, path: str, keepalive: list[Any]) -> Component:
    """Component for a ``KDTree``/``BallTree``: its own copy of the data, plus search nodes."""
    data, idx_array, node_data, node_bounds = (np.asarray(a) for a in tree.get_arrays())
    keepalive.extend((data, idx_array, node_data, node_bounds))
    records = [
        array_record(join(path, "data"), data, Role.DATA, {"why": "copy of the training samples"}),
        array_record(join(path, "idx_array"), idx_array, Role.INDEX),
    ]
    if node_data.dtype.names:
        records.extend(field_records(join(path, "node_data"), node_data, {"radius": Role.INDEX}))
    else:
        records.append(array_record(join(path, "node_data"), node_data, Role.INDEX))
    records.append(array_record(join(path, "node_bounds"), node_bounds, Role.INDEX))
    weights = getattr(tree, "sample_weight", None)
    if weights is not None:
        weights = np.asarray(weights)
        if weights.size == data.shape[0]:
            keepalive.append(weights)
            records.append(array_record(join(path, "sample_weight"), weights, Role.DATA))
    attrs = {
        "nodes": int(node_data.shape[0]),
        "leaf_size": int(getattr(tree, "leaf_size", 0) or 0),
        "n_samples": int(data.shape[0]),
        "stores_training_data": True,
    }
    return Component(name=name, kind=type(tree).__name__, path=path, tensors=tuple(records), attrs=attrs)


def tree_summary(components: list[Component]) -> dict[str, Any]:
    """Aggregate node statistics of many trees (a forest, a boosted ensemble)."""
    depths = [int(c.attrs.get("depth", 0)) for c in components]
    return {
        "count": len(components),
        "nodes": sum(int(c.attrs.get("nodes", 0)) for c in components),
        "leaves": sum(int(c.attrs.get("leaves", 0)) for c in components),
        "max_depth": max(depths) if depths else 0,
        "mean_depth": (sum(depths) / len(depths)) if depths else 0.0,
    }

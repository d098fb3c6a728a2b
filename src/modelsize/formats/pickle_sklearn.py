"""scikit-learn semantics for the pickle reader: the live adapter's roles, decided from the stream.

Why: without them a pickled forest read 62 params where the live estimator has 45 — the
``classes_`` arrays and each tree's ``n_classes`` counted as parameters, and each
``sklearn.tree._tree.Tree``'s node records (one structured array) counted as one parameter per
node. The roles here are the live adapter's (:mod:`modelsize.adapters.sklearn_walk`,
:mod:`modelsize.adapters.sklearn_trees`), applied to what the opcode stream shows statically:
an object is a scikit-learn one when its class global's module is ``sklearn.*``; a Tree is
recognised by its global ``sklearn.tree._tree.Tree``. Nothing is imported from scikit-learn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core.tensors import Role, TensorRecord
from .pickle_values import Array, Global, Obj, Ref, Seq

TREE_GLOBAL = ("sklearn.tree._tree", "Tree")
#: Histogram gradient boosting's trees: ``nodes`` is a record array too (PREDICTOR_FIELD_ROLES).
PREDICTOR_GLOBAL = ("sklearn.ensemble._hist_gradient_boosting.predictor", "TreePredictor")
#: ``KDTree``/``BallTree`` pickle their state as a tuple: these arrays first, sample_weight last.
BINARY_TREE_STATE = ("data", "idx_array", "node_data", "node_bounds")
#: Their roles in the live adapter (:func:`~modelsize.adapters.sklearn_trees.binary_tree_component`).
BINARY_TREE_ROLES = {"data": Role.DATA, "sample_weight": Role.DATA}
#: Python classes whose state is metadata wherever they sit (the live adapter: random state).
_METADATA_CLASSES = ("numpy.random",)


@dataclass(frozen=True)
class SkContext:
    """Where a value sits in a scikit-learn object: the attribute it hangs from, and its kind."""

    attr: str
    data: bool = False  #: under an attribute that copies training samples (``_fit_X`` …)
    metadata: bool = False  #: under an attribute that records fitting or names (``classes_`` …)
    tree_args: bool = False  #: a Tree's constructor arguments (n_features, n_classes, n_outputs)
    tree_nodes: str | None = None  #: a Tree's or TreePredictor's ``nodes`` record array: which
    role: Role | None = None  #: a role the live adapter gives by position (a KDTree's arrays)


def _global(value: Any) -> Global | None:
    return value.cls if isinstance(value, Obj) and isinstance(value.cls, Global) else None


def is_sklearn(value: Any) -> bool:
    cls = _global(value)
    return cls is not None and (cls.module == "sklearn" or cls.module.startswith("sklearn."))


def is_tree(value: Any) -> bool:
    cls = _global(value)
    return cls is not None and (cls.module, cls.name) == TREE_GLOBAL


def is_binary_tree(value: Any) -> bool:
    """A ``KDTree``/``BallTree``: rebuilt by ``newObj(cls)`` of ``sklearn.neighbors``, or its class."""
    cls = _global(value)
    if cls is None or not cls.module.startswith("sklearn.neighbors"):
        return False
    if cls.name == "newObj" and value.args is not None and isinstance(value.args.value, Seq):
        first = value.args.value.items[0].value if value.args.value.items else None
        return isinstance(first, Global) and first.name.startswith(("KDTree", "BallTree"))
    return cls.name.startswith(("KDTree", "BallTree"))


def positional_state(owner: Any) -> list[tuple[str, Ref]]:
    """The named arrays of a binary tree's tuple state (its other items are counters and a metric)."""
    if not is_binary_tree(owner) or owner.state is None or not isinstance(owner.state.value, Seq):
        return []
    items = owner.state.value.items
    named = list(zip(BINARY_TREE_STATE, items))
    if len(items) > len(BINARY_TREE_STATE):
        named.append(("sample_weight", items[-1]))
    return named


def _node_kind(owner: Any, attr: str) -> str | None:
    cls = _global(owner)
    if cls is None:
        return None
    if attr == "node_data" and is_binary_tree(owner):
        return "BinaryTree"
    if attr != "nodes":
        return None
    return {TREE_GLOBAL: "Tree", PREDICTOR_GLOBAL: "TreePredictor"}.get((cls.module, cls.name))


def child_context(owner: Any, key: Any, inherited: SkContext | None) -> SkContext | None:
    """The context of attribute ``key`` of ``owner`` (an object of the stream), or None outside sklearn."""
    from ..adapters.sklearn_walk import DATA_ATTRS, METADATA_ATTRS

    attr = key if isinstance(key, str) else str(key)
    cls = _global(owner)
    if is_sklearn(owner):
        base = inherited or SkContext(attr)
        return SkContext(
            attr=attr,
            data=base.data or attr in DATA_ATTRS,
            metadata=base.metadata or attr in METADATA_ATTRS,
            tree_args=is_tree(owner) and attr == "__args__",
            tree_nodes=_node_kind(owner, attr),
            role=BINARY_TREE_ROLES.get(attr, Role.INDEX) if is_binary_tree(owner) else None,
        )
    if inherited is None:
        return None
    if cls is not None and cls.module.startswith(_METADATA_CLASSES):
        return SkContext(attr, inherited.data, True)
    return SkContext(attr, inherited.data, inherited.metadata)


def _kind(dtype: str) -> str:
    if dtype.startswith(("float", "complex")):
        return "f"
    if dtype.startswith(("int", "uint", "bool")):
        return "i"
    return "O"


def array_role(arr: Array, ctx: SkContext) -> Role:
    """The live adapter's ``role_for``: data, metadata, float → parameter, integer → index."""
    if ctx.role is not None:
        return ctx.role
    if ctx.data:
        return Role.DATA
    if ctx.metadata or ctx.tree_args or ctx.attr.startswith("n_"):
        return Role.METADATA
    return {"f": Role.PARAMETER, "i": Role.INDEX}.get(_kind(arr.dtype), Role.METADATA)


def tree_node_records(
    arr: Array, path: str, key: str, meta: dict[str, Any], kind: str,
) -> list[TensorRecord] | None:
    """A tree's node array as one record per field (roles as the live adapter), plus its padding."""
    from ..adapters.sklearn_trees import PREDICTOR_FIELD_ROLES, TREE_FIELD_ROLES

    roles = {"Tree": TREE_FIELD_ROLES, "TreePredictor": PREDICTOR_FIELD_ROLES}.get(kind, {})
    if not arr.layout or not arr.itemsize:
        return None
    numel = 1
    for d in arr.shape:
        numel *= d
    base = {k: v for k, v in meta.items() if k != "fields"}
    records, used = [], 0
    for name, fdt, _offset in arr.layout:
        size = int(fdt.itemsize or 0)
        used += size
        records.append(TensorRecord(
            path=f"{path}.{name}", shape=arr.shape, dtype=fdt.name or fdt.spec, bits=size * 8,
            role=roles.get(name, Role.INDEX), stored_bytes=size * numel,
            storage_key=f"{key}:{name}", meta={**base, "field_of": path},
        ))
    padding = int(arr.itemsize) - used
    if padding < 0:
        return None
    if padding:
        records.append(TensorRecord(
            path=f"{path}._padding", shape=arr.shape + (padding,), dtype="uint8", bits=8, role=Role.OTHER,
            stored_bytes=padding * numel, storage_key=f"{key}:_padding",
            meta={**base, "why": "alignment holes in the record type"},
        ))
    return records

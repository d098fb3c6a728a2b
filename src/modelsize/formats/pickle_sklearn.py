"""scikit-learn semantics for the pickle reader: the live adapter's roles, decided from the stream.

Why: without them a pickled forest read 62 params where the live estimator has 45 — the
``classes_`` arrays and each tree's ``n_classes`` counted as parameters, and each
``sklearn.tree._tree.Tree``'s node records (one structured array) counted as one parameter per
node. The roles here are the live adapter's (:mod:`modelsize.adapters.sklearn_walk`,
:mod:`modelsize.adapters.sklearn_trees`), applied to what the opcode stream shows statically:
an object is a scikit-learn one when its class global's module is ``sklearn.*``; a Tree is
recognised by its global ``sklearn.tree._tree.Tree``. Nothing is imported from scikit-learn.

The live adapter's naming and scalar rules too, so a saved model and the live one give the same
paths and roles (an MLP read 652 params from its file and 659 live, where its weights are 163):
list items by index (``coefs_.0``), pipeline steps by name; Python and NumPy floats recorded where
the live adapter records them (``sklearn_walk.scalar_role``: an estimator is recognised by the
``_sklearn_version`` its ``__getstate__`` adds; its public attributes without a trailing underscore
are hyper-parameters, their arrays metadata); plain lists and dicts (a loss curve) as one
``object`` record; MLP's optimizer and best-epoch snapshot as optimizer state. A Tree's node
fields and values on the live paths (``tree_.threshold``, ``tree_.value``, not the state keys
``nodes`` and ``values``); NumPy int scalars and constructor arguments (a Tree's ``n_classes``)
left in their owner's state, as the live walk leaves them; a NumPy generator recorded where the
stream first holds it, which is where the live walk first meets it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable

from ..core.tensors import Role, TensorRecord
from ..core.tree import join
from .pickle_values import Array, Blob, Dict, Global, Obj, Ref, Scalar, Seq, Value, state_items

TREE_GLOBAL = ("sklearn.tree._tree", "Tree")
#: A Tree's state keys named as the live adapter names them (``tree_.value``, as ``Tree.value``).
TREE_STATE_NAMES = {"values": "value"}
#: Histogram gradient boosting's trees: ``nodes`` is a record array too (PREDICTOR_FIELD_ROLES).
PREDICTOR_GLOBAL = ("sklearn.ensemble._hist_gradient_boosting.predictor", "TreePredictor")
#: ``KDTree``/``BallTree`` pickle their state as a tuple: these arrays first, sample_weight last.
BINARY_TREE_STATE = ("data", "idx_array", "node_data", "node_bounds")
#: Their roles in the live adapter (:func:`~modelsize.adapters.sklearn_trees.binary_tree_component`).
BINARY_TREE_ROLES = {"data": Role.DATA, "sample_weight": Role.DATA}
#: Python classes whose state is metadata wherever they sit (the live adapter: random state).
_METADATA_CLASSES = ("numpy.random",)
#: A scipy.sparse matrix's index arrays (the live adapter's ``_sparse``: role INDEX).
_SPARSE_INDEX = frozenset({"indices", "indptr", "offsets"})
#: Lists and dicts nested deeper than this are not treated as one plain value.
PLAIN_DEPTH = 16


@dataclass(frozen=True)
class SkContext:
    """Where a value sits in a scikit-learn object: the attribute it hangs from, and its kind."""

    attr: str
    data: bool = False  #: under an attribute that copies training samples (``_fit_X`` …)
    metadata: bool = False  #: under an attribute that records fitting or names (``classes_`` …)
    tree_nodes: str | None = None  #: a Tree's or TreePredictor's ``nodes`` record array: which
    #: under an estimator's hyper-parameter (a public attribute without the trailing underscore): its
    #: arrays are configuration, metadata, as the live walk gives a hyper-parameter's arrays
    hyper: bool = False
    role: Role | None = None  #: a role the live adapter gives by position (a KDTree's arrays)
    estimator: bool = False  #: a direct attribute of an estimator (not inside a container or helper)
    #: configuration, or structure the live adapter does not walk: its floats and plain lists are not
    #: recorded (an estimator's public attribute without a trailing underscore, a sparse matrix's shape)
    config: bool = False
    training: str | None = None  #: inside training state (an optimizer, a weights snapshot): why

    def nested(self) -> "SkContext":
        """The context of an item of this value (a list element, a helper object's attribute)."""
        return replace(self, estimator=False) if self.estimator else self


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


def is_estimator(value: Any) -> bool:
    """An estimator: scikit-learn's ``BaseEstimator.__getstate__`` adds ``_sklearn_version`` to its state.

    Helper objects of scikit-learn (kernels, trees, MLP's optimizer, loss objects) have none.
    """
    return isinstance(value, Obj) and any(k == "_sklearn_version" for k, _ in state_items(value))


def _is_config(attr: str) -> bool:
    """An estimator's public attribute without the trailing underscore: a hyper-parameter.

    The live adapter asks ``get_params``; a file has no such list, but scikit-learn's convention
    (parameters public, fitted attributes ending in ``_``) gives the same answer, and the live
    adapter records no float it would not (see ``sklearn_walk.scalar_role``).
    """
    return not attr.startswith("_") and not attr.endswith("_")


ContextFn = Callable[[Any], "SkContext | None"]


def child_contexts(owner: Any, inherited: SkContext | None, estimator: bool | None = None) -> ContextFn:
    """key → the context of attribute ``key`` of ``owner`` (an object of the stream), None outside sklearn.

    What depends on the owner alone is decided once: a forest's file has thousands of attributes.
    An estimator's attributes start afresh, as the live walk starts each estimator afresh; a
    helper object's attributes are nested in the context it sits in. ``estimator``: whether
    ``owner`` is one, when the caller knows (:func:`is_estimator` reads the owner's whole state).
    """
    if is_sklearn(owner):
        return _sklearn_contexts(owner, inherited, is_estimator(owner) if estimator is None else estimator)
    if inherited is None:
        return lambda key: None
    cls = _global(owner)
    module = cls.module if cls is not None else ""
    data, metadata, config, training = inherited.data, inherited.metadata, inherited.config, inherited.training
    hyper = inherited.hyper
    if module.startswith(_METADATA_CLASSES):
        # the live adapter walks a generator's state as metadata wherever it sits, a hyper-parameter
        # included (pickle saves it there: gradient boosting's trees share its ``_rng`` as random_state)
        return lambda key: SkContext(_attr(key), metadata=True)
    if module.startswith("scipy.sparse"):  # the live adapter records its arrays only, indices as INDEX
        return lambda key: SkContext(_attr(key), data, metadata, config=True, training=training, hyper=hyper,
                                     role=Role.INDEX if key in _SPARSE_INDEX else None)
    return lambda key: SkContext(_attr(key), data, metadata, config=config, training=training, hyper=hyper)


def _attr(key: Any) -> str:
    return key if isinstance(key, str) else str(key)


def _sklearn_contexts(owner: Obj, inherited: SkContext | None, estimator: bool) -> ContextFn:
    from ..adapters.sklearn_walk import (DATA_ATTRS, METADATA_ATTRS, OPTIMIZER_MODULES, OPTIMIZER_WHY,
                                         TRAINING_STATE_ATTRS)

    base = SkContext("") if estimator or inherited is None else inherited
    binary = is_binary_tree(owner)
    optimizer = OPTIMIZER_WHY if owner.cls.module.startswith(OPTIMIZER_MODULES) else None

    def context(key: Any) -> SkContext:
        attr = _attr(key)
        return SkContext(
            attr=attr,
            data=base.data or attr in DATA_ATTRS,
            metadata=base.metadata or attr in METADATA_ATTRS,
            tree_nodes=_node_kind(owner, attr) if attr in ("nodes", "node_data") else None,
            role=BINARY_TREE_ROLES.get(attr, Role.INDEX) if binary else None,
            estimator=estimator,
            config=_is_config(attr) if estimator else base.config,
            hyper=_is_config(attr) if estimator else base.hyper,
            training=base.training or TRAINING_STATE_ATTRS.get(attr) or optimizer,
        )

    return context


def _kind(dtype: str) -> str:
    if dtype.startswith(("float", "complex")):
        return "f"
    if dtype.startswith(("int", "uint", "bool")):
        return "i"
    return "O"


def array_role(arr: Array, ctx: SkContext) -> Role:
    """The live adapter's ``role_for``: data, metadata, optimizer state, float → parameter, integer → index."""
    if ctx.role is not None:
        return ctx.role
    if ctx.data:
        return Role.DATA
    if ctx.metadata or ctx.hyper or ctx.attr.startswith("n_"):
        return Role.METADATA
    if ctx.training:
        return Role.OPTIMIZER_STATE
    return {"f": Role.PARAMETER, "i": Role.INDEX}.get(_kind(arr.dtype), Role.METADATA)


def unrecorded(arr: Array, ctx: SkContext) -> bool:
    """An array the live adapter does not record, whose bytes stay its owner's ``__state__``.

    Constructor arguments (``__args__``: a Tree's ``n_classes``) — the live walk reads each
    object's ``__getstate__``, never ``__reduce__``'s arguments; NumPy integer, bool and string
    scalars (``n_classes_``, ``best_index_``) — plain values to the live walk, as Python ints are;
    and NumPy floats that are configuration (:func:`scalar_role`).
    """
    if ctx.attr == "__args__":
        return True
    if not arr.meta.get("scalar"):
        return False
    return not arr.dtype.startswith(("float", "complex")) or scalar_role(ctx) is None


def is_float(value: Value) -> bool:
    """A Python float or complex (not a bool, not an int)."""
    return isinstance(value, Scalar) and isinstance(value.value, (float, complex))


def scalar_role(ctx: SkContext) -> Role | None:
    """The live adapter's ``scalar_role`` for a Python or NumPy float; None: not recorded (configuration)."""
    if ctx.data:
        return Role.DATA
    if ctx.config or ctx.attr == "__args__":  # constructor arguments: the live adapter never sees them
        return None
    if ctx.training:
        return Role.METADATA
    if ctx.attr.endswith("_") or not ctx.estimator:
        return Role.METADATA if ctx.metadata or ctx.attr.startswith("n_") else Role.PARAMETER
    return Role.METADATA  # an estimator's private float without the underscore (public ones are config)


def is_plain(value: Value, depth: int = 0) -> bool:
    """What the live adapter calls plain: strings, numbers, NumPy scalars, None, and containers of them.

    Containers nested deeper than :data:`PLAIN_DEPTH` are not (a hostile file nests lists 100,000
    deep): the walk then goes through them level by level, under its own depth limit.
    """
    if isinstance(value, (Scalar, Blob)):
        return True
    if isinstance(value, Obj):
        return value.array is not None and bool(value.array.meta.get("scalar"))
    if isinstance(value, Array):
        return bool(value.meta.get("scalar"))
    if depth >= PLAIN_DEPTH:
        return False
    if isinstance(value, Seq):
        return all(is_plain(r.value, depth + 1) for r in value.items)
    if isinstance(value, Dict):
        return all(is_plain(r.value, depth + 1) for _, r in value.items)
    return False


def plain_helper(obj: Obj, estimator: bool) -> bool:
    """A helper object (not an estimator) whose whole state is plain: the live adapter records none of it."""
    if estimator or obj.array is not None or obj.state is None or obj.list_items:
        return False
    if isinstance(obj.state.value, Seq):  # a tuple state: its dicts are what the walk reads (a KDTree has none)
        parts = state_items(obj)
        return bool(parts) and all(is_plain(r.value) for _, r in parts)
    return is_plain(obj.state.value)


def plain_bytes(value: Value) -> int:
    """The live adapter's payload estimate: UTF-8 bytes of strings, 8 bytes per number, 0 for None."""
    from ..adapters.sklearn_walk import python_bytes as _python_bytes  # the one payload rule

    if isinstance(value, Scalar):
        return _python_bytes(value.value)
    if isinstance(value, Blob):
        return value.nbytes
    if isinstance(value, Seq):
        return sum(plain_bytes(r.value) for r in value.items)
    if isinstance(value, Dict):
        return sum(_python_bytes(k) + plain_bytes(r.value) for k, r in value.items)
    return 8  # a NumPy scalar


def item_names(seq: Seq, ctx: SkContext | None) -> Iterable[tuple[str, Ref]]:
    """(name, item) pairs of a list, as the live adapter names them: by index (``estimators_.0``), or a
    scikit-learn list of steps (``Pipeline.steps``, ``ColumnTransformer.transformers_``) by step name."""
    items = seq.items
    if ctx is not None and items:
        names = [_step_name(r.value) for r in items]
        if all(n is not None for n in names) and len(set(names)) == len(names):
            return [(str(n).replace(".", "_") or "_", r.value.items[1]) for n, r in zip(names, items)]
    return [(str(i), r) for i, r in enumerate(items)]


def _step_name(value: Value) -> str | None:
    if not isinstance(value, Seq) or value.kind != "tuple" or len(value.items) < 2:
        return None
    name, step = value.items[0].value, value.items[1].value
    if not isinstance(name, Scalar) or not isinstance(name.value, str):
        return None
    if (isinstance(step, Obj) and step.array is None) or (isinstance(step, Scalar) and isinstance(step.value, str)):
        return name.value
    return None


def element_names(shape: tuple[int, ...], count: int) -> list[str]:
    """Names of an object array's elements, as the live adapter gives them: ``3``, or ``3_2`` in 2-D."""
    size = 1
    for d in shape:
        size *= d
    if len(shape) <= 1 or size != count:
        return [str(i) for i in range(count)]
    names = [""]
    for d in shape:
        names = [f"{n}_{i}" if n else str(i) for n in names for i in range(d)]
    return names


def state_name(owner: Any, key: Any) -> Any:
    """The name of attribute ``key`` of ``owner`` on its path: a Tree's ``values`` is ``value``, as the
    live adapter and ``Tree.value`` name it; any other key is its own name."""
    return TREE_STATE_NAMES.get(key, key) if isinstance(key, str) and is_tree(owner) else key


def structured_records(
    arr: Array, path: str, key: str, meta: dict[str, Any], kind: str | None, role: Role,
) -> list[TensorRecord] | None:
    """A record array as one record per field with the live adapter's roles, plus its padding.

    A Tree's node fields sit on the tree's own path (``tree_.threshold``, as the live adapter names
    them and ``Tree.threshold`` reads them), not under its state key ``nodes``; a TreePredictor's
    under ``nodes`` (its attribute); any other record array (HDBSCAN's single-linkage tree) gets
    the array's role for every field, as the live walk gives it. None: the layout is unknown.
    """
    from ..adapters.sklearn_trees import PREDICTOR_FIELD_ROLES, TREE_FIELD_ROLES

    roles = {"Tree": TREE_FIELD_ROLES, "TreePredictor": PREDICTOR_FIELD_ROLES}.get(kind or "", {})
    default = Role.INDEX if kind else role
    if not arr.layout or not arr.itemsize:
        return None
    prefix = path.rpartition(".")[0] if kind == "Tree" else path
    numel = 1
    for d in arr.shape:
        numel *= d
    base = {k: v for k, v in meta.items() if k != "fields"}
    records, used = [], 0
    for name, fdt, _offset in arr.layout:
        size = int(fdt.itemsize or 0)
        used += size
        records.append(TensorRecord(
            path=join(prefix, name), shape=arr.shape, dtype=fdt.name or fdt.spec, bits=size * 8,
            role=roles.get(name, default), stored_bytes=size * numel,
            storage_key=f"{key}:{name}", meta={**base, "field_of": path},
        ))
    padding = int(arr.itemsize) - used
    if padding < 0:
        return None
    if padding:
        records.append(TensorRecord(
            path=join(prefix, "_padding"), shape=arr.shape + (padding,), dtype="uint8", bits=8, role=Role.OTHER,
            stored_bytes=padding * numel, storage_key=f"{key}:_padding",
            meta={**base, "why": "alignment holes in the record type"},
        ))
    return records

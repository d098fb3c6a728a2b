"""Walk a fitted scikit-learn estimator's state into a component tree.

The walk follows what pickle follows — each estimator's ``__getstate__()`` — so every array a
saved model carries is found, including private ones (``_fit_X``, ``_predictors``) and those in
nested estimators (pipelines, ensembles, meta-estimators), lists, dicts, object arrays, sparse
matrices and helper objects. Roles follow the definition in :mod:`modelsize.adapters.sklearn`.

Objects reached twice (a stacking ensemble keeps its fitted estimators in ``estimators_`` and
``named_estimators_``) appear once with their tensors and once as a ``same_as`` reference, as
pickle's memo would store them.
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field, replace
from typing import Any, Iterable

import numpy as np

from ..core.tensors import Role, TensorRecord
from ..core.tree import Component, join
from . import sklearn_trees as trees
from .arrays import array_record

#: Attributes that hold copies of training samples or one value per training sample: their
#: size grows with n_samples, not with the model's capacity.
DATA_ATTRS = frozenset({
    "_fit_X", "_y", "support_vectors_", "X_train_", "y_train_", "X_fit_", "X_", "embedding_",
    "dist_matrix_", "affinity_matrix_", "dissimilarity_matrix_", "labels_", "label_distributions_",
    "transduction_", "negative_outlier_factor_", "_lrd", "_distances_fit_X_", "reachability_",
    "ordering_", "core_distances_", "predecessor_", "core_sample_indices_", "oob_decision_function_",
    "oob_prediction_", "row_labels_", "column_labels_", "rows_", "columns_",
})
#: Fitted attributes that record how fitting went or name things, not what prediction reads.
METADATA_ATTRS = frozenset({
    "classes_", "feature_names_in_", "cv_results_", "loss_curve_", "validation_scores_",
    "train_score_", "validation_score_", "oob_improvement_", "oob_scores_", "estimator_errors_",
    "scores_", "n_iter_", "best_params_", "best_score_", "best_index_", "multimetric_", "refit_time_",
    "_random_state", "random_state_", "_label_encoder", "_scorer", "scorer_",
    # MLP's training statistics: the last and best loss, the best validation score, samples seen
    "loss_", "best_loss_", "best_validation_score_", "t_",
})
#: Training state prediction never reads, counted as optimizer state: attribute → why. MLP's
#: ``fit`` keeps a copy of the weights of its best epoch for early stopping; prediction reads
#: ``coefs_`` and ``intercepts_``.
TRAINING_STATE_ATTRS = {
    "_best_coefs": "the weights snapshot fit keeps for early stopping (the best epoch's coefs_); "
                   "prediction never reads it",
    "_best_intercepts": "the biases snapshot fit keeps for early stopping (the best epoch's intercepts_); "
                        "prediction never reads it",
}
#: Modules whose objects are an optimizer (MLP's ``_optimizer``): its arrays are optimizer state,
#: its floats configuration.
OPTIMIZER_MODULES = ("sklearn.neural_network._stochastic_optimizers",)
OPTIMIZER_WHY = ("optimizer state (Adam's moment estimates ms/vs, SGD's velocities) kept so fit can go on "
                 "(warm_start, partial_fit); prediction never reads it")
#: Deeper than this, a value is not followed (a guard against self-referencing helper objects).
MAX_DEPTH = 48

_PLAIN = (str, bytes, bool, int, float, complex, np.generic, type(None))


@dataclass
class Context:
    """Role context of the value being walked: learned state or configuration, data or not."""

    learned: bool = True
    data: bool = False
    metadata: bool = False
    nested: bool = False  #: inside a container or helper object, not an estimator attribute
    training: str | None = None  #: inside training state (an optimizer, a weights snapshot): why

    def under(self, attr: str, learned: bool | None = None, nested: bool = False) -> "Context":
        return Context(
            learned=self.learned if learned is None else learned,
            data=self.data or attr in DATA_ATTRS,
            metadata=self.metadata or attr in METADATA_ATTRS,
            nested=self.nested or nested,
            training=self.training or TRAINING_STATE_ATTRS.get(attr),
        )


@dataclass
class Walk:
    """State of one walk: what was seen (by id), objects kept alive for their ids, findings."""

    seen: dict[int, str] = field(default_factory=dict)
    keepalive: list[Any] = field(default_factory=list)
    data_holders: list[tuple[str, str, int]] = field(default_factory=list)  #: (path, kind, bytes)
    truncated: list[str] = field(default_factory=list)
    #: float arrays under an attribute named as configuration that is no hyper-parameter
    configuration_named: list[str] = field(default_factory=list)

    def notes(self) -> list[str]:
        """One note per estimator kind that keeps training data, and one for truncation."""
        notes = []
        by_kind: dict[str, list[tuple[str, int]]] = {}
        for path, kind, nbytes in self.data_holders:
            by_kind.setdefault(kind, []).append((path, nbytes))
        for kind, holders in by_kind.items():
            total = sum(n for _, n in holders)
            if len(holders) == 1:
                where = f"{holders[0][0] or 'the estimator'} ({kind}) stores"
            else:
                where = f"{len(holders)} {kind} estimators (first: {holders[0][0] or 'the root'}) store"
            notes.append(f"{where} training data ({total} bytes): size grows with n_samples.")
        if self.configuration_named:
            shown = ", ".join(self.configuration_named[:3])
            more = f" and {len(self.configuration_named) - 3} more" if len(self.configuration_named) > 3 else ""
            notes.append(
                f"{shown}{more}: float arrays named as configuration (public, no trailing underscore) that are "
                "no hyper-parameter of their estimator are counted as metadata, not parameters. scikit-learn "
                "names fitted state with a trailing underscore (coef_); a saved file, which has no get_params "
                "to ask, is read by the same rule."
            )
        if self.truncated:
            notes.append(
                f"{len(self.truncated)} deeply nested value(s) were not followed and are not counted "
                f"(first: {self.truncated[0]})."
            )
        return notes


def role_for(arr: np.ndarray, attr: str, ctx: Context) -> Role:
    """The role of an array in an estimator's state (see the module docstring of ``sklearn``)."""
    if ctx.data:
        return Role.DATA
    if ctx.metadata or not ctx.learned or attr.startswith("n_"):
        return Role.METADATA
    if ctx.training:
        return Role.OPTIMIZER_STATE
    kind = arr.dtype.kind
    if kind in "fc":
        return Role.PARAMETER
    if kind in "iub":
        return Role.INDEX
    return Role.METADATA


def scalar_role(key: str, ctx: Context) -> Role | None:
    """The role of a fitted Python or NumPy float, or None where it is configuration (not recorded).

    A float that follows the trailing-underscore convention (``intercept_``, ``offset_``) or sits
    in a container or helper object is learned, a parameter (metadata where ``role_for`` says
    so: ``loss_``, ``n_*``); a private one without the underscore (``_ewa_inertia``) is a value
    the estimator keeps, metadata; a public one that is no hyper-parameter either (SVC's
    ``epsilon``, Lasso's ``l1_ratio``) is a constant the class sets: configuration, like the
    hyper-parameters. An optimizer's floats (``beta_1``, ``learning_rate``) are its
    configuration, metadata. These rules need only the attribute name, so the pickle reader
    (``pickle_sklearn.scalar_role``) applies them to a file without importing anything.
    """
    if ctx.data:
        return Role.DATA
    if not ctx.learned:
        return None
    if ctx.training:
        return Role.METADATA
    if key.endswith("_") or ctx.nested:
        return Role.METADATA if ctx.metadata or key.startswith("n_") else Role.PARAMETER
    return Role.METADATA if key.startswith("_") else None


def is_estimator(obj: Any) -> bool:
    """A scikit-learn-compatible estimator (has ``get_params`` and ``fit``), class not instance."""
    return not isinstance(obj, type) and hasattr(obj, "get_params") and hasattr(obj, "fit")


def is_fitted(est: Any) -> bool:
    """Whether scikit-learn considers ``est`` fitted (its own rule, ``check_is_fitted``)."""
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(est)
    except NotFittedError:
        return False
    except TypeError:  # not an estimator after all: it cannot be fitted
        return False
    return True


def _is_plain(value: Any) -> bool:
    if isinstance(value, _PLAIN):
        return True
    if isinstance(value, (list, tuple, set, frozenset)):
        return all(_is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(_is_plain(k) and _is_plain(v) for k, v in value.items())
    return False


def _configuration_name(key: str) -> bool:
    """Named as configuration: public, without the trailing underscore of fitted attributes.

    scikit-learn's convention names hyper-parameters so and fitted state with the underscore. An
    estimator attribute so named that is no hyper-parameter is a constant the class sets (a
    forest's ``estimator_params``) or a cache outside the convention (a Gaussian process
    classifier's ``f_cached``, the posterior mode kept for warm starts, which prediction never
    reads): configuration too. The pickle reader, which has no ``get_params``, decides by this
    name rule alone (``pickle_sklearn._is_config``), so both give such attributes the same roles.
    """
    return not key.startswith("_") and not key.endswith("_")


def _skip(value: Any) -> bool:
    """Values pickle stores by reference (functions, classes, modules) hold no model state."""
    return isinstance(
        value,
        (type, types.FunctionType, types.BuiltinFunctionType, types.MethodType, types.ModuleType),
    )


def _name(key: Any) -> str:
    """A component or tensor name: dots would break dotted paths."""
    return str(key).replace(".", "_") or "_"


def python_bytes(value: Any) -> int:
    """Payload of plain Python values: UTF-8 length of strings, 8 bytes per number."""
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogatepass"))
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    if isinstance(value, dict):
        return sum(python_bytes(k) + python_bytes(v) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return sum(python_bytes(v) for v in value)
    if value is None:
        return 0
    return 8


def _count_items(value: Any) -> int:
    if isinstance(value, dict):
        return len(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return len(value)
    return 1


class Walker:
    """Builds components from estimator state; one instance per report."""

    def __init__(self) -> None:
        self.walk = Walk()

    # ----------------------------------------------------------------------- estimators

    def estimator(self, est: Any, name: str, path: str, depth: int = 0) -> Component:
        """Component for an estimator: its fitted state, nested estimators as children."""
        self.walk.seen[id(est)] = path
        self.walk.keepalive.append(est)
        boosted = self._boosting_component(est, name, path)
        if boosted is not None:
            return boosted
        try:
            params = set(est.get_params(deep=False))
        except (AttributeError, TypeError):  # a third-party estimator with a broken get_params
            params = set()
        state = est.__getstate__() if hasattr(est, "__getstate__") else vars(est)
        records: list[TensorRecord] = []
        children: list[Component] = []
        if isinstance(state, dict):
            for key, value in state.items():
                if key == "_sklearn_version":
                    continue
                learned = key not in params and not _configuration_name(key)
                if (key not in params and not learned and isinstance(value, np.ndarray)
                        and value.dtype.kind in "fc" and value.size):
                    self.walk.configuration_named.append(join(path, _name(key)))
                ctx = Context().under(key, learned=learned)
                if key in params and not self._worth_walking_param(value):
                    continue
                recs, kids = self.value(value, key, path, ctx, depth + 1)
                records.extend(recs)
                children.extend(kids)
        attrs: dict[str, Any] = {"fitted": is_fitted(est)}
        component = Component(name=name, kind=type(est).__name__, path=path, tensors=tuple(records),
                              children=tuple(children), attrs=attrs)
        return self._annotate(component)

    def _worth_walking_param(self, value: Any) -> bool:
        """Hyper-parameters are configuration; follow only those holding fitted state or arrays.

        ``Pipeline.steps`` and ``FeatureUnion.transformer_list`` are hyper-parameters that hold
        the fitted steps themselves; an unfitted template (``RandomForest.estimator``) holds
        nothing learned and is skipped. A NumPy generator given as ``random_state`` is state
        pickle saves (its 624-word key, twice): walked as metadata. Gradient boosting hands its
        own ``_rng`` to each tree this way, so the generator is first met, in the walk as in the
        pickle stream, at the first tree's ``random_state``, and ``_rng`` refers to it.
        """
        if isinstance(value, (np.ndarray, np.random.RandomState, np.random.Generator)):
            return True
        if is_estimator(value):
            return is_fitted(value)
        if isinstance(value, (list, tuple)):
            return any(self._worth_walking_param(v) for v in value)
        if isinstance(value, dict):
            return any(self._worth_walking_param(v) for v in value.values())
        return False

    def _boosting_component(self, est: Any, name: str, path: str) -> Component | None:
        module = type(est).__module__
        if not module.startswith(("xgboost", "lightgbm")):
            return None
        from . import boosting

        return boosting.component_for(est, name, path)

    def _annotate(self, component: Component) -> Component:
        """Add tree statistics and the training-data flag to an estimator component."""
        attrs = dict(component.attrs)
        tree_nodes = [
            c for c in component.walk()
            if c.kind in ("Tree", "TreePredictor", "XGBoostTree", "LightGBMTree") and c is not component
        ]
        if len(tree_nodes) > 1:
            attrs["trees"] = trees.tree_summary(tree_nodes)
        own = list(_own_tensors(component))
        unique = {r.storage_key: r for r in own if r.role is Role.DATA}
        data_bytes = sum(int(r.stored_bytes or 0) for r in unique.values())
        if data_bytes:
            attrs["training_data_bytes"] = data_bytes
            self.walk.data_holders.append((component.path, component.kind, data_bytes))
        if data_bytes or any(
            c.attrs.get("stores_training_data") for c in component.walk() if c is not component
        ):
            attrs["stores_training_data"] = True
        return component.with_(attrs=attrs)

    # ----------------------------------------------------------------------- values

    def value(
        self, value: Any, key: str, parent: str, ctx: Context, depth: int
    ) -> tuple[list[TensorRecord], list[Component]]:
        """Records (attached to the parent) and child components for one attribute value."""
        name = _name(key)
        path = join(parent, name)
        if depth > MAX_DEPTH:
            self.walk.truncated.append(path)
            return [], []
        if value is None or _skip(value):
            return [], []
        if isinstance(value, (float, np.floating, complex, np.complexfloating)):
            role = scalar_role(key, ctx)
            if role is None:
                return [], []
            arr = np.asarray(value)
            self.walk.keepalive.extend((arr, value))
            rec = array_record(path, arr, role, {"python_scalar": True})
            # A NumPy scalar is an object pickle's memo stores once however often it is referenced
            # (Birch's sq_norm_ and squared_sum_); a Python float is written at each occurrence.
            storage = f"scalar:{id(value)}" if isinstance(value, np.generic) else f"scalar:{path}"
            return [rec.with_(storage_key=storage)], []
        if isinstance(value, _PLAIN):
            return [], []
        if isinstance(value, np.ndarray):
            return self._array(value, key, path, ctx, depth)
        if _is_sparse(value):
            return [], [self._sparse(value, name, path, key, ctx)]
        if id(value) in self.walk.seen:
            return [], [Component(name=name, kind=type(value).__name__, path=path,
                                  attrs={"same_as": self.walk.seen[id(value)]})]
        if is_estimator(value):
            if not is_fitted(value):  # a template (``estimator_`` of a forest): nothing learned
                return [], []
            return [], [self.estimator(value, name, path, depth)]
        self.walk.seen[id(value)] = path
        self.walk.keepalive.append(value)
        if trees.is_sklearn_tree(value):
            return [], [trees.tree_component(value, name, path, self.walk.keepalive)]
        if trees.is_tree_predictor(value):
            return [], [trees.predictor_component(value, name, path)]
        if trees.is_binary_tree(value):
            return [], [trees.binary_tree_component(value, name, path, self.walk.keepalive)]
        if isinstance(value, (np.random.RandomState, np.random.Generator)):
            return self._container(_generator_state(value), key, name, path, Context(learned=True, metadata=True),
                                   depth, kind=type(value).__name__)
        if isinstance(value, (list, tuple, dict, set, frozenset)):
            if _is_plain(value):
                return self._plain(value, path, ctx)
            return self._container(value, key, name, path, ctx, depth)
        return self._object(value, key, name, path, ctx, depth)

    def _plain(self, value: Any, path: str, ctx: Context) -> tuple[list[TensorRecord], list[Component]]:
        """A list/dict of plain Python values (a vocabulary, best_params_): one estimated record."""
        if not ctx.learned or not value:
            return [], []
        nbytes = python_bytes(value)
        rec = TensorRecord(
            path=path, shape=(_count_items(value),), dtype="object",
            role=Role.DATA if ctx.data else Role.METADATA,
            stored_bytes=nbytes, storage_key=f"py:{id(value)}",
            meta={"python_objects": type(value).__name__, "payload": "UTF-8 bytes of strings, 8 bytes per number"},
        )
        return [rec], []

    def _array(
        self, arr: np.ndarray, key: str, path: str, ctx: Context, depth: int
    ) -> tuple[list[TensorRecord], list[Component]]:
        self.walk.keepalive.append(arr)
        if arr.dtype.names:
            from .arrays import field_records

            role = role_for(arr, key, ctx)
            recs = field_records(path, arr, {n: role for n in arr.dtype.names}, default=role)
            return [], [Component(name=_name(key), kind="structured array", path=path, tensors=tuple(recs))]
        if arr.dtype.kind == "O" and not all(_is_plain(v) for v in arr.ravel()):
            items = {("_".join(map(str, idx)) if arr.ndim > 1 else str(idx[0])): v for idx, v in np.ndenumerate(arr)}
            return self._container(items, key, _name(key), path, ctx, depth, kind="object array")
        role = role_for(arr, key, ctx)
        meta = {"why": ctx.training} if role is Role.OPTIMIZER_STATE else None
        return [array_record(path, arr, role, meta)], []

    def _sparse(self, matrix: Any, name: str, path: str, key: str, ctx: Context) -> Component:
        """scipy.sparse: values with the attribute's role, indices and pointers as INDEX."""
        records: list[TensorRecord] = []
        data = np.asarray(matrix.data)
        self.walk.keepalive.append(matrix)
        records.append(array_record(join(path, "data"), data, role_for(data, key, ctx)))
        if hasattr(matrix, "coords"):
            index_arrays = [(f"coords_{i}", a) for i, a in enumerate(matrix.coords)]
        else:
            index_arrays = [(n, getattr(matrix, n)) for n in ("indices", "indptr", "offsets") if hasattr(matrix, n)]
        for index_name, arr in index_arrays:
            arr = np.asarray(arr)
            records.append(array_record(join(path, index_name), arr, Role.INDEX))
        attrs = {"format": str(getattr(matrix, "format", "")), "shape": list(matrix.shape), "nnz": int(matrix.nnz)}
        return Component(name=name, kind=type(matrix).__name__, path=path, tensors=tuple(records), attrs=attrs)

    def _container(
        self, value: Any, key: str, name: str, path: str, ctx: Context, depth: int, kind: str | None = None
    ) -> tuple[list[TensorRecord], list[Component]]:
        """A list/tuple/dict/object array: a component whose children are its items."""
        records: list[TensorRecord] = []
        children: list[Component] = []
        for item_name, item in _items(value):
            recs, kids = self.value(item, item_name, path, ctx.under(key, nested=True), depth + 1)
            records.extend(recs)
            children.extend(kids)
        if not records and not children:
            return [], []
        kind = kind or type(value).__name__
        return [], [Component(name=name, kind=kind, path=path, tensors=tuple(records), children=tuple(children))]

    def _object(
        self, obj: Any, key: str, name: str, path: str, ctx: Context, depth: int
    ) -> tuple[list[TensorRecord], list[Component]]:
        """Any other object: walk what pickle would save of it (its ``__getstate__``)."""
        getstate = getattr(obj, "__getstate__", None)
        if getstate is None:
            return [], []
        try:
            state = getstate()
        except TypeError:  # objects that refuse to be pickled hold nothing a saved model has
            return [], []
        if isinstance(state, tuple) and len(state) == 2 and (state[0] is None or isinstance(state[0], dict)):
            state = {**(state[0] or {}), **(state[1] or {})}  # (dict, slots) form
        if state is None or _is_plain(state):
            return [], []
        if type(obj).__module__.startswith(OPTIMIZER_MODULES):
            ctx = replace(ctx, training=OPTIMIZER_WHY)
        return self._container(state, key, name, path, ctx, depth, kind=type(obj).__name__)


def _generator_state(rng: Any) -> dict[str, Any]:
    """What pickle saves of a NumPy RandomState or Generator, from its ``__reduce__``.

    Its own state (a RandomState's ``get_state`` dict) and, under ``__args__``, the state of the
    bit generator it is rebuilt from: NumPy 2 pickles the MT19937 key twice, once in each, and the
    pickle reader finds both on these paths. A bit generator whose state is only integers (PCG64)
    holds no array and is not recorded, as any helper object whose state is plain.
    """
    try:
        _, args, state = rng.__reduce__()[:3]
    except (TypeError, ValueError):  # not reducible as NumPy does today: its documented state
        return rng.get_state(legacy=False) if hasattr(rng, "get_state") else dict(rng.bit_generator.state)
    out: dict[str, Any] = dict(state) if isinstance(state, dict) else {}
    bit_generators = {str(i): a.state for i, a in enumerate(args or ())
                      if isinstance(a, np.random.BitGenerator) and not _is_plain(a.state)}
    if bit_generators:
        out["__args__"] = bit_generators
    return out


def _items(value: Any) -> Iterable[tuple[str, Any]]:
    """(name, item) pairs: named steps by their name, dicts by key, sequences by index."""
    if isinstance(value, dict):
        return [(_name(k), v) for k, v in value.items()]
    if isinstance(value, (set, frozenset)):
        return [(str(i), v) for i, v in enumerate(sorted(value, key=repr))]
    items = list(value)
    names = [_step_name(item) for item in items]
    if all(n is not None for n in names) and len(set(names)) == len(names):
        # Pipeline.steps, FeatureUnion.transformer_list, ColumnTransformer.transformers_:
        # (name, estimator, ...) tuples are shown under the step's name.
        return [(_name(n), item[1]) for n, item in zip(names, items)]
    return [(str(i), v) for i, v in enumerate(items)]


def _step_name(item: Any) -> str | None:
    if isinstance(item, tuple) and len(item) >= 2 and isinstance(item[0], str) and (
        is_estimator(item[1]) or isinstance(item[1], str)
    ):
        return item[0]
    return None


def _is_sparse(value: Any) -> bool:
    module = type(value).__module__
    return module.startswith("scipy.sparse") and hasattr(value, "nnz") and hasattr(value, "data")


def _is_estimator_node(component: Component) -> bool:
    return "fitted" in component.attrs


def _own_tensors(component: Component) -> Iterable[TensorRecord]:
    """Tensors of an estimator and its helper objects, not those of nested estimators."""
    stack = [component]
    while stack:
        node = stack.pop()
        yield from node.tensors
        stack.extend(c for c in node.children if not _is_estimator_node(c))

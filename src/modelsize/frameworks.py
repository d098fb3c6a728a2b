"""Every framework modelsize knows, in one table: one entry per framework, one id everywhere.

An entry owns what the rest of modelsize needs to know about a framework, as ``"module:Attr"``
strings imported only when that framework's model comes (fsspec's ``known_implementations``):
its adapter (live object → Report; the adapter's ``can_handle`` is the framework's detection),
compute profiler, shrink backend (which also trains and runs the model for sweeps: one
training/prediction stack), the files a user usually writes (``main_formats``) and the
per-layer shapes for ``inspect --input``. ``capabilities`` name what the
entry's code can do that others cannot (asked by name, never by comparing framework ids), and
``packages`` name the modules where the framework's own knowledge lives — the only modules
allowed to branch on its name (``tests/test_import_graph.py`` checks it).

The order is declared here, once: Keras before PyTorch (a Keras 3 model on the torch backend is
an ``nn.Module``), boosting before scikit-learn (``XGBClassifier`` is a ``BaseEstimator``).
``modelsize.adapters.registry.ADAPTERS``, ``modelsize.compute.frameworks.PROFILERS`` and
``modelsize.shrink.runner.BACKENDS`` are views of this table (plus their plugin groups).

Adding a framework: one package of modules (listed in ``packages``), one entry below, one
conformance fixture (``tests/test_conformance.py``) — see the README's "Adding a framework".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from .core.registry import Registry

#: ``capabilities`` values: ``nnz`` — ``inspect(nnz=...)`` can skip counting non-zeros;
#: ``global_state`` — training touches process-wide state (graph, RNG, threads), so sweep
#: trials of this framework hold the process lock; ``exact_formats`` — the adapter's
#: ``format_sizes(..., exact=True)`` runs a slow writer (a converter) whose size is otherwise estimated.
CAPABILITIES = frozenset({"nnz", "global_state", "exact_formats"})


@dataclass(frozen=True)
class Framework:
    """One framework's entry: its id, label, the names its libraries go by, and where its code lives."""

    name: str
    label: str
    #: other names the framework's libraries go by (``torch``, ``tf_keras``, ``xgboost`` …);
    #: never used as ids, listed so the import-graph test recognises a branch on them
    aliases: tuple[str, ...] = ()
    #: modules (dotted, under ``modelsize.``; a trailing ``.`` or ``_`` is a prefix) that hold
    #: the framework's own knowledge
    packages: tuple[str, ...] = ()
    #: live object -> Report; its ``can_handle`` is the framework's detection (``framework_of``)
    adapter: str | None = None
    #: FLOPs / memory of a forward pass (``modelsize.compute``)
    profiler: str | None = None
    #: the shrink runner's :class:`~modelsize.shrink.protocols.Backend`; sweeps train and predict through it
    backend: str | None = None
    #: ``f(model, compression) -> list[FormatSize]``: the files a user of the framework ships
    main_formats: str | None = None
    #: ``f(model, inputs) -> {layer: {"input": [...], "output": [...]}}`` for ``inspect --input``
    layer_shapes: str | None = None
    capabilities: frozenset[str] = frozenset()

    def has(self, capability: str) -> bool:
        if capability not in CAPABILITIES:
            raise KeyError(f"unknown framework capability {capability!r}; known: {sorted(CAPABILITIES)}")
        return capability in self.capabilities

    def owns(self, module: str) -> bool:
        """Whether ``module`` (``modelsize.x.y`` or ``x.y``) is one of this framework's own modules."""
        short = module.removeprefix("modelsize.")
        return any(short.startswith(p) if p.endswith((".", "_")) else short == p or short.startswith(p + ".")
                   for p in self.packages)


#: id -> entry, in detection order
FRAMEWORKS: Mapping[str, Framework] = MappingProxyType({f.name: f for f in (
    Framework(
        "keras", "Keras", aliases=("tf_keras", "keras3", "tensorflow"),
        packages=("adapters.keras", "adapters.keras_", "compute.keras_", "formats.keras_file",
                  "formats.savedmodel_file", "serialize.keras_", "shrink.keras", "examples.seed_keras"),
        adapter="modelsize.adapters.keras:KerasAdapter",
        profiler="modelsize.compute.frameworks:KerasProfiler",
        backend="modelsize.shrink.keras.backend:KerasBackend",
        main_formats="modelsize.adapters.keras:main_formats",
        layer_shapes="modelsize.compute.keras_flops:keras_layer_shapes",
        capabilities=frozenset({"global_state", "exact_formats"}),
    ),
    Framework(
        "pytorch", "PyTorch", aliases=("torch", "pt"),
        packages=("adapters.pytorch", "compute.torch_", "compute.layer_shapes", "formats.torch_file",
                  "serialize.torch_", "shrink.torch", "examples.seed"),
        adapter="modelsize.adapters.pytorch:PyTorchAdapter",
        profiler="modelsize.compute.frameworks:TorchProfiler",
        backend="modelsize.shrink.torch.backend:TorchBackend",
        main_formats="modelsize.adapters.pytorch:main_formats",
        layer_shapes="modelsize.compute.layer_shapes:torch_layer_shapes",
        capabilities=frozenset({"nnz", "global_state"}),
    ),
    Framework(
        "boosting", "XGBoost/LightGBM", aliases=("xgboost", "lightgbm", "catboost"),
        packages=("adapters.boosting", "adapters.boosting_", "serialize.boosting_", "shrink.boosting",
                  "formats.booster_", "formats.pickle_boosters", "formats.catboost_file"),
        adapter="modelsize.adapters.boosting:BoostingAdapter",
        backend="modelsize.shrink.boosting.backend:BoostingBackend",
        main_formats="modelsize.adapters.boosting:main_formats",
    ),
    Framework(
        "sklearn", "scikit-learn", aliases=("scikit-learn",),
        packages=("adapters.sklearn", "adapters.sklearn_", "formats.pickle_sklearn", "serialize.sklearn_",
                  "shrink.sklearn", "examples.seed_sklearn"),
        adapter="modelsize.adapters.sklearn:SklearnAdapter",
        backend="modelsize.shrink.sklearn.backend:SklearnBackend",
        main_formats="modelsize.adapters.sklearn:main_formats",
    ),
    Framework(
        "onnx", "ONNX", aliases=("onnxruntime",),
        packages=("formats.onnx_file", "shrink.onnx"),
        backend="modelsize.shrink.onnx.backend:OnnxBackend",
    ),
)})


def view(kind: str, field: str, *, group: str, instantiate: bool) -> Registry:
    """A :class:`~modelsize.core.registry.Registry` ``id -> entry.<field>`` of the frameworks that
    have one, in the table's order (``ADAPTERS``, ``PROFILERS``, ``BACKENDS``)."""
    specs = {f.name: getattr(f, field) for f in FRAMEWORKS.values() if getattr(f, field)}
    return Registry(kind, specs, group=group, instantiate=instantiate)


def load(spec: str) -> Any:
    """The attribute a ``"module:Attr"`` string names (its module imported now)."""
    import importlib

    module, _, attr = spec.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def hook(framework: str, field: str) -> Any:
    """The loaded ``module:Attr`` of ``FRAMEWORKS[framework].<field>``, or ``None`` when the
    framework is not in the table or has no such entry (plugin adapters included)."""
    entry = FRAMEWORKS.get(framework)
    spec = getattr(entry, field) if entry is not None else None
    return load(spec) if spec else None


def can(framework: str, capability: str) -> bool:
    """Whether the framework ``framework`` (an id; unknown ids and plugins: no) has ``capability``."""
    entry = FRAMEWORKS.get(framework)
    return entry is not None and entry.has(capability)


def labels_having(capability: str) -> str:
    """The labels of the frameworks with ``capability``, for messages (``"PyTorch"``)."""
    return " and ".join(f.label for f in FRAMEWORKS.values() if f.has(capability))

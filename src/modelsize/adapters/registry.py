"""Find the adapter for a live object, importing only the adapter modules, never a framework.

Entries are ``"module:Class"`` strings (fsspec-style) so listing them costs nothing; each
adapter's ``can_handle`` checks ``sys.modules`` before touching a framework.
"""

from __future__ import annotations

from typing import Any

from ..core.errors import UnsupportedObjectError
from ..core.registry import Registry

#: Order matters: the first adapter whose ``can_handle`` answers yes wins. Other packages add
#: adapters through the ``modelsize.adapters`` entry-point group (tried after these).
ADAPTERS = Registry("adapter", instantiate=True, group="modelsize.adapters", entries=[
    "modelsize.adapters.keras:KerasAdapter",  # before pytorch: a Keras 3 model on torch is an nn.Module
    "modelsize.adapters.pytorch:PyTorchAdapter",
    "modelsize.adapters.boosting:BoostingAdapter",  # before sklearn: XGBClassifier is a BaseEstimator
    "modelsize.adapters.sklearn:SklearnAdapter",
])


def _load(entry: str) -> Any:
    """The adapter instance of an entry (its name or its ``"module:Class"`` string)."""
    return ADAPTERS[entry if entry in ADAPTERS else Registry.name_of(entry)]


def adapter_for(obj: Any) -> Any:
    """The adapter that handles ``obj``, or :class:`UnsupportedObjectError`."""
    for adapter in ADAPTERS.values():
        if adapter.can_handle(obj):
            return adapter
    kind = f"{type(obj).__module__}.{type(obj).__qualname__}"
    names = ", ".join(a.name for a in ADAPTERS.values())
    raise UnsupportedObjectError(
        f"modelsize cannot measure an object of type {kind}. Supported frameworks: {names}. "
        "Pass a model object (e.g. a torch.nn.Module or its state_dict) or a model file."
    )

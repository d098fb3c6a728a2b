"""Find the adapter for a live object, importing only the adapter modules, never a framework.

Entries are ``"module:Class"`` strings (fsspec-style) so listing them costs nothing; each
adapter's ``can_handle`` checks ``sys.modules`` before touching a framework.
"""

from __future__ import annotations

import importlib
from typing import Any

from ..core.errors import UnsupportedObjectError

#: Order matters: the first adapter whose ``can_handle`` answers yes wins.
ADAPTERS: list[str] = [
    "modelsize.adapters.keras:KerasAdapter",  # before pytorch: a Keras 3 model on torch is an nn.Module
    "modelsize.adapters.pytorch:PyTorchAdapter",
    "modelsize.adapters.boosting:BoostingAdapter",  # before sklearn: XGBClassifier is a BaseEstimator
    "modelsize.adapters.sklearn:SklearnAdapter",
]

_instances: dict[str, Any] = {}


def _load(entry: str) -> Any:
    if entry not in _instances:
        module_name, cls_name = entry.split(":")
        module = importlib.import_module(module_name)
        _instances[entry] = getattr(module, cls_name)()
    return _instances[entry]


def adapter_for(obj: Any) -> Any:
    """The adapter that handles ``obj``, or :class:`UnsupportedObjectError`."""
    for entry in ADAPTERS:
        adapter = _load(entry)
        if adapter.can_handle(obj):
            return adapter
    kind = f"{type(obj).__module__}.{type(obj).__qualname__}"
    names = ", ".join(_load(e).name for e in ADAPTERS)
    raise UnsupportedObjectError(
        f"modelsize cannot measure an object of type {kind}. Supported frameworks: {names}. "
        "Pass a model object (e.g. a torch.nn.Module or its state_dict) or a model file."
    )

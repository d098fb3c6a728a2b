"""Find the adapter for a live object, importing only the adapter modules, never a framework.

Entries are ``"module:Class"`` strings (fsspec-style) so listing them costs nothing; each
adapter's ``can_handle`` checks ``sys.modules`` before touching a framework.
"""

from __future__ import annotations

from typing import Any

from ..core.errors import UnsupportedObjectError
from ..frameworks import FRAMEWORKS, Framework, view

#: framework id -> adapter, a view of :data:`modelsize.frameworks.FRAMEWORKS` (its order: the
#: first adapter whose ``can_handle`` answers yes wins). Other packages add adapters through the
#: ``modelsize.adapters`` entry-point group (tried after these).
ADAPTERS = view("adapter", "adapter", group="modelsize.adapters", instantiate=True)


def _load(entry: str) -> Any:
    """The adapter instance of an entry (its framework id or its ``"module:Class"`` string)."""
    if entry not in ADAPTERS:
        entry = next((name for name, spec in ADAPTERS.specs().items() if spec == entry), entry)
    return ADAPTERS[entry]


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


def framework_of(obj: Any) -> Framework | None:
    """The :data:`~modelsize.frameworks.FRAMEWORKS` entry whose adapter takes ``obj`` (the
    framework's detection), or ``None`` (also for a plugin adapter's object); imports no framework."""
    for name in ADAPTERS:
        if ADAPTERS[name].can_handle(obj):
            return FRAMEWORKS.get(name)
    return None

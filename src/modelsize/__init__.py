"""modelsize — measure, explain and shrink the size of any machine-learning model.

Public API only; importing this package loads no machine-learning framework — and not even
NumPy: every name but the errors is loaded on first use (PEP 562 ``__getattr__``), so
``import modelsize`` and ``modelsize --help`` start fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .core.errors import (
    InvalidFileError,
    MissingDependencyError,
    ModelSizeError,
    ModelStateError,
    OptionError,
    RecipeError,
    TargetError,
    UnsupportedObjectError,
)

if TYPE_CHECKING:  # pragma: no cover
    from .api import inspect
    from .core.report import Report, Source
    from .core.tensors import Role, TensorRecord
    from .core.tree import Component
    from .factors.spec import Sweep

__version__ = "0.1.0"

#: public name -> module that defines it, imported on first access
_LAZY = {
    "inspect": "modelsize.api",
    "Report": "modelsize.core.report",
    "Source": "modelsize.core.report",
    "Role": "modelsize.core.tensors",
    "TensorRecord": "modelsize.core.tensors",
    "Component": "modelsize.core.tree",
    "Sweep": "modelsize.factors.spec",
}

__all__ = [
    "Component",
    "InvalidFileError",
    "MissingDependencyError",
    "ModelSizeError",
    "ModelStateError",
    "OptionError",
    "RecipeError",
    "Report",
    "Role",
    "Source",
    "Sweep",
    "TargetError",
    "TensorRecord",
    "UnsupportedObjectError",
    "inspect",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'modelsize' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))

"""modelsize — measure, explain and shrink the size of any machine-learning model.

Public API only; importing this package loads no machine-learning framework.
"""

from .api import inspect
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
from .core.report import Report, Source
from .core.tensors import Role, TensorRecord
from .core.tree import Component

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # Sweep loads on first use: the factors package pulls in NumPy and the trial machinery,
    # which would cost every ``modelsize inspect FILE`` a few hundred milliseconds of start-up.
    if name == "Sweep":
        from .factors.spec import Sweep

        return Sweep
    raise AttributeError(f"module 'modelsize' has no attribute {name!r}")

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

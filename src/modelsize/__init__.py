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
from .factors.spec import Sweep

__version__ = "0.1.0"

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

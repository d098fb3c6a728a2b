"""Compare two models: which components were added, removed, renamed or changed, and by how much.

``modelsize diff OLD NEW`` and :func:`compare` take any two reports (two files, a file and a
live model, two formats of one model, a model before and after shrinking).
"""

from .compare import compare
from .model import ComponentDiff, Delta, FormatDelta, ModelDiff, TensorDiff

__all__ = ["ComponentDiff", "Delta", "FormatDelta", "ModelDiff", "TensorDiff", "compare"]

"""modelsize's own errors.

Every error subclasses :class:`ModelSizeError` *and* the builtin it refines, so callers can
catch ``ValueError`` as usual while the CLI maps only our own errors to one-line messages
(anything else is a bug and keeps its traceback).
"""

from __future__ import annotations


class ModelSizeError(Exception):
    """Base of every error modelsize raises on purpose."""


class UnsupportedObjectError(ModelSizeError, TypeError):
    """The object or file is of a kind no adapter or reader handles."""


class InvalidFileError(ModelSizeError, ValueError):
    """A model file is truncated, corrupt, or declares impossible lengths."""


class TargetError(ModelSizeError, ValueError):
    """A CLI target (file, ``module:attr`` or ``file.py:attr``) could not be resolved."""


class OptionError(ModelSizeError, ValueError):
    """An option or argument has a value outside what is allowed."""


class ModelStateError(ModelSizeError, ValueError):
    """The model is not in a state that can be measured (an unfitted estimator, an unbuilt model)."""


class RecipeError(ModelSizeError, ValueError):
    """A shrink recipe cannot be applied to this model or this data (the message names the recipe)."""


class MissingDependencyError(ModelSizeError, ImportError):
    """An optional dependency needed for this work is not installed."""


def option_error(name: str, allowed: str, got: object) -> OptionError:
    """Build an error in the one template: what failed, what is allowed, what was given."""
    return OptionError(f"The {name!r} option must be {allowed}. Got {got!r}.")

"""modelsize's own errors.

Every error subclasses :class:`ModelSizeError` *and* the builtin it refines, so callers can
catch ``ValueError`` as usual while the CLI maps only our own errors to one-line messages
(anything else is a bug and keeps its traceback).
"""

from __future__ import annotations

from pathlib import Path

#: the installed ``modelsize`` package folder: code under it is ours
_PACKAGE_DIR = Path(__file__).resolve().parents[1]


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


class ComputationError(ModelSizeError, ValueError):
    """A result could not be computed from measured data (a growth law from unusable points …).

    What an :class:`OptionError` raised inside modelsize's own calls becomes: the values came
    from our code, not from the user, so the CLI exits 1 (the work failed), not 2 (usage).
    """


class UnsafeModelError(ModelSizeError):
    """``--require-safe``: the file's safety verdict is not 'safe' (dangerous, unknown, or none)."""


class RemoteError(ModelSizeError, ConnectionError):
    """A remote model (URL, ``hf://``) could not be read: network, server or cache trouble."""


class MissingDependencyError(ModelSizeError, ImportError):
    """An optional dependency needed for this work is not installed."""


class InternalError(RuntimeError):
    """A bug in modelsize itself, never shown as a problem of the user's model, data or options.

    Deliberately *not* a :class:`ModelSizeError`: the CLI prints the traceback for it, and code
    that records the user's failures (a sweep trial, a format that refuses a model) lets it pass.
    """


def is_our_bug(exc: BaseException) -> bool:
    """Whether ``exc`` is a bug of ours: not one of our errors, and raised by a line of modelsize.

    The innermost frame of the traceback decides: an exception raised inside the user's code
    or a framework (even when modelsize called it) is theirs; a ``TypeError`` or ``KeyError``
    raised by a line under ``src/modelsize`` is ours.
    """
    if isinstance(exc, (ModelSizeError, InternalError)):
        return False
    tb = exc.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    try:
        Path(tb.tb_frame.f_code.co_filename).resolve().relative_to(_PACKAGE_DIR)
    except ValueError:
        return False
    return True


def internal_error(exc: BaseException, doing: str) -> InternalError:
    """The one message for a bug of ours (chain it: ``raise internal_error(exc, ...) from exc``)."""
    return InternalError(f"modelsize's own code failed while {doing} ({type(exc).__name__}: {exc}). This is a bug in "
                         "modelsize, not in your model or options: please report it with the traceback.")


def computation_error(exc: OptionError, doing: str) -> ComputationError:
    """An option error from one of our own calls, as the failure of the work it was part of."""
    return ComputationError(f"{doing[:1].upper()}{doing[1:]} failed: {exc}")


def option_error(name: str, allowed: str, got: object) -> OptionError:
    """Build an error in the one template: what failed, what is allowed, what was given.

    ``got=None`` means the option was left out: never "Got None." but "It was not given." (or
    nothing, when ``allowed`` already says it must be given)."""
    if got is None:
        missing = "" if allowed.startswith("given") else " It was not given."
        return OptionError(f"The {name!r} option must be {allowed}.{missing}")
    return OptionError(f"The {name!r} option must be {allowed}. Got {_shown(got)}.")


def _shown(got: object) -> str:
    """``got`` as the user wrote it: objects with a ``user_text()`` (input specs) show that text,
    never their internal repr (``TensorSpec(shape=…``), also inside lists and mappings."""
    return repr(_plain(got))


def _plain(got: object) -> object:
    text = getattr(got, "user_text", None)
    if callable(text) and not isinstance(got, type):
        return text()
    if isinstance(got, (list, tuple)) and any(callable(getattr(g, "user_text", None)) for g in got):
        return ", ".join(str(_plain(g)) for g in got)
    if isinstance(got, dict) and any(callable(getattr(v, "user_text", None)) for v in got.values()):
        return {k: _plain(v) for k, v in got.items()}
    return got

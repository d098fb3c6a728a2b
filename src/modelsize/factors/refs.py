"""References to user code in a sweep spec: ``"package.module:attr"`` or ``"path/to/file.py:attr"``.

A YAML spec can only name code, never hold it, and a spec's hash must not change between
processes, so callables are identified by these strings. A callable given directly (Python
API) gets the same kind of name from its module and qualified name; a lambda or a function
defined inside another one has no importable name, so its source text is hashed into the
reference instead (editing it makes a new sweep, as it should).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import os
from pathlib import Path
from typing import Any, Callable

from ..core.errors import TargetError

FORMS = "'package.module:attr' or 'path/to/file.py:attr'"


def is_ref(value: Any) -> bool:
    """Whether ``value`` looks like a code reference (a string with a ``:`` before a name)."""
    if not isinstance(value, str):
        return False
    source, sep, attr = value.rpartition(":")
    return bool(sep and source and attr) and not _is_drive(source)


def absolute_ref(ref: str, base: str | os.PathLike[str]) -> str:
    """Make a ``file.py:attr`` reference absolute against ``base`` (the spec's folder).

    Workers may run in another directory, so file references are fixed when a spec is loaded.
    """
    source, _, attr = ref.rpartition(":")
    if source.endswith(".py") and not os.path.isabs(source):
        return f"{(Path(base) / source).resolve()}:{attr}"
    return ref


def resolve(ref: str | Callable[..., Any], what: str = "factory") -> Callable[..., Any]:
    """The callable named by ``ref`` (a callable is returned as it is)."""
    if callable(ref):
        return ref
    if not is_ref(ref):
        raise TargetError(f"The {what!r} reference must be {FORMS}. Got {ref!r}.")
    return _resolve_text(str(ref), what)


@functools.lru_cache(maxsize=64)
def _resolve_text(ref: str, what: str) -> Callable[..., Any]:
    """Through the one loader of user code (:func:`modelsize.targets.load_code`): a file named as a
    CLI target and as a sweep factory is one module object."""
    from ..targets import load_code, lookup

    source, _, attr = ref.rpartition(":")
    kind = f"{what!r} reference"
    obj = lookup(load_code(source, ref, kind), attr, ref, kind)
    if not callable(obj):
        raise TargetError(f"The {what!r} reference {ref!r} must name a class or a function. Got a {type(obj).__name__}.")
    return obj


def name_of(obj: Any) -> str | None:
    """A stable text identity for ``obj``: the reference itself, or module:qualname (+ source hash)."""
    if obj is None:
        return None
    if isinstance(obj, str):
        return obj
    if isinstance(obj, functools.partial):
        args = ", ".join([repr(a) for a in obj.args] + [f"{k}={v!r}" for k, v in sorted(obj.keywords.items())])
        return f"partial({name_of(obj.func)}, {args})"
    module = getattr(obj, "__module__", None) or type(obj).__module__
    qualname = getattr(obj, "__qualname__", None) or type(obj).__qualname__
    text = f"{module}:{qualname}"
    if "<" in qualname or module == "__main__":
        try:
            source = inspect.getsource(obj)
        except (OSError, TypeError):
            source = repr(obj)
        text += "#" + hashlib.sha256(source.encode()).hexdigest()[:12]
    return text


def _is_drive(source: str) -> bool:
    """``C:\\models\\x.pt`` is a Windows path, not ``module:attr``."""
    return len(source) == 1 and source.isalpha()

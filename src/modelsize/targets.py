"""Turn a CLI target string into the thing to measure.

A target is one of:

* a file or folder — measured by a file reader (``modelsize.formats``);
* ``https://…`` or ``hf://ORG/NAME[@REV][/PATH]`` — a remote model, read header-only
  (``modelsize.formats.remote``);
* ``package.module:attr`` — the module is imported and ``attr`` (dotted) looked up;
* ``path/to/file.py:attr`` — the file is run as a module, then ``attr`` looked up.

A class or a function found this way is called with no arguments to get the model (a factory);
a model object (``nn.Module`` instances are callable too) is used as it is.

Every failure is a :class:`TargetError` naming the target and what to do. An exception raised
by the user's own module or factory is wrapped too, and the message says the error is in that
code (``MODELSIZE_DEBUG=1`` shows its traceback through the exception chain).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from .core import timing
from .core.errors import TargetError

FORMS = "a model file or folder, 'package.module:attr' or 'path/to/file.py:attr'"


@dataclass(frozen=True)
class Resolved:
    """What a target names: a file path, or a live object (``path`` is ``None``)."""

    target: str
    path: Path | None = None
    obj: Any = None
    remote: bool = False  #: an https:// or hf:// model, read header-only by formats/remote

    @property
    def is_file(self) -> bool:
        return self.path is not None

    @property
    def value(self) -> Any:
        """What :func:`modelsize.inspect` takes (a string attribute is refused: it is not a model)."""
        if self.remote:
            return self.target
        return self.path if self.path is not None else _not_text(self.obj, self.target)


def resolve(target: str) -> Resolved:
    """Resolve ``target`` (see the module docstring) or raise :class:`TargetError`."""
    target = str(target)
    if not target.strip():
        raise TargetError(f"The target is empty. Give {FORMS}.")
    if target.lower().startswith(("http://", "https://", "hf://")):
        return Resolved(target, remote=True)
    if os.path.exists(target):
        return Resolved(target, path=Path(target))
    source, sep, attr = target.rpartition(":")
    if not sep or not source or _is_drive(source):
        raise TargetError(
            f"No such file or folder: {target!r}. Check the path; to measure a Python object "
            f"write 'package.module:attr' or 'path/to/file.py:attr'."
        )
    if not attr:
        raise TargetError(f"The target {target!r} names no attribute after ':'. Write 'module:attr', e.g. 'mypkg.models:build_model'.")
    with _on_sys_path(_code_folder(source)):
        with timing.step("import"):
            module = load_code(source, target)
        obj = lookup(module, attr, target)
        with timing.step("build"):
            return Resolved(target, obj=_maybe_call(obj, attr, target))


def load_code(source: str, ref: str, kind: str = "target") -> ModuleType:
    """The module named before the ``:`` of a reference: ``path/to/file.py`` is run as a module,
    anything else imported. The one loader of user code, for CLI targets and sweep factories
    (:mod:`modelsize.factors.refs`) alike: one file is one module object in a process, under one
    name (``_modelsize_target_<stem>_<hash of the path>``), run again only when the file changed.
    ``kind`` names the reference in errors ("target", "'factory' reference" …)."""
    with _on_sys_path(_code_folder(source)):
        if _looks_like_file(source):
            return _load_file(source, ref, kind)
        return _import_module(source, ref, kind)


def _code_folder(source: str) -> str:
    """The folder the user's code imports its neighbours from: the file's, or the working folder."""
    return str(Path(source).resolve().parent) if _looks_like_file(source) else os.getcwd()


def _not_text(obj: Any, target: str) -> Any:
    """A string (or path) attribute is data, not a model: never silently read it as a file path."""
    if isinstance(obj, (str, bytes, os.PathLike)):
        shown = os.fspath(obj) if isinstance(obj, os.PathLike) else obj
        raise TargetError(
            f"The target {target!r} is a {type(obj).__name__} ({shown!r}), not a model. modelsize does not read "
            "attribute strings as file paths: to measure a file, give its path as the target "
            f"(modelsize inspect {shown!s}).")
    return obj


def _is_drive(source: str) -> bool:
    """``C`` in ``C:\\models\\x.pt`` is a Windows drive, not a module."""
    return len(source) == 1 and source.isalpha()


def _looks_like_file(source: str) -> bool:
    return source.endswith(".py") or "/" in source or os.sep in source


@contextmanager
def _on_sys_path(folder: str) -> Iterator[None]:
    """Let the user's code import its neighbours while it is loaded and its factory runs,
    the way ``python file.py`` and ``python -m`` do."""
    added = folder not in sys.path
    if added:
        sys.path.insert(0, folder)
    try:
        yield
    finally:
        if added and folder in sys.path:
            sys.path.remove(folder)


def _user_code_failed(action: str, target: str, exc: BaseException, kind: str = "target") -> TargetError:
    message = " ".join(str(exc).split()) or "(no message)"
    return TargetError(
        f"{action} for {kind} {target!r} raised {type(exc).__name__}: {message}. The error is in "
        "that code (or a package it imports), not in modelsize; set MODELSIZE_DEBUG=1 to see its traceback."
    )


def _import_module(name: str, target: str, kind: str = "target") -> ModuleType:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing and (name == missing or name.startswith(missing + ".")):
            raise TargetError(
                f"Cannot import module {name!r} for {kind} {target!r}: no module named {missing!r}. "
                "Check the spelling, install the package, or run modelsize from the folder that contains it."
            ) from exc
        raise _user_code_failed(f"Importing module {name!r}", target, exc, kind) from exc
    except (Exception, SystemExit) as exc:  # the user's module failed while importing
        raise _user_code_failed(f"Importing module {name!r}", target, exc, kind) from exc


#: the module attribute that records which version of its file a loaded module ran
_STAMP = "__modelsize_source_stamp__"


def _load_file(source: str, target: str, kind: str = "target") -> ModuleType:
    path = Path(source)
    if not path.is_file():
        raise TargetError(
            f"No such Python file: {source!r} ({kind} {target!r}). Check the path; "
            "file references look like 'path/to/file.py:attr'."
        )
    # a stable name (str hash is salted per process): pickles of the model, and so file sizes, repeat exactly
    import hashlib  # only for a .py target: OpenSSL's loading is a few ms of every command

    resolved = path.resolve()
    digest = hashlib.sha256(str(resolved).encode()).hexdigest()[:16]
    name = f"_modelsize_target_{path.stem}_{digest}"
    info = resolved.stat()
    stamp = (info.st_mtime_ns, info.st_size)
    loaded = sys.modules.get(name)
    if loaded is not None and getattr(loaded, _STAMP, None) == stamp:
        return loaded  # one file, one module object: its classes and functions are the same objects
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise TargetError(f"Cannot load {source!r} as Python code ({kind} {target!r}). Give a .py file.")
    module = importlib.util.module_from_spec(spec)
    setattr(module, _STAMP, stamp)
    sys.modules[name] = module  # so pickling and dataclasses inside the file find their module
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:  # the user's file failed while running
        sys.modules.pop(name, None)
        raise _user_code_failed(f"Running {source!r}", target, exc, kind) from exc
    return module


def lookup(module: ModuleType, attr: str, target: str, kind: str = "target") -> Any:
    """``module.attr`` (``attr`` may be dotted), or a :class:`TargetError` listing what is there."""
    obj: Any = module
    walked: list[str] = []
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            owner = ".".join([module.__name__, *walked]) if walked else _module_label(module)
            raise TargetError(
                f"{owner} has no attribute {part!r} ({kind} {target!r}). "
                f"{_available(obj)}Check the name after ':'."
            ) from None
        except Exception as exc:  # a property or module __getattr__ of the user's code failed
            raise _user_code_failed(f"Looking up {attr!r}", target, exc, kind) from exc
        walked.append(part)
    return obj


def _module_label(module: ModuleType) -> str:
    name = module.__name__
    if name.startswith("_modelsize_target_"):
        return f"File {getattr(module, '__file__', name)!r}"
    return f"Module {name!r}"


def _available(obj: Any, limit: int = 12) -> str:
    names = [n for n in dir(obj) if not n.startswith("_")]
    if isinstance(obj, ModuleType):
        names = [n for n in names if _defined_in(obj, n)]
    if not names:
        return ""
    shown = ", ".join(names[:limit]) + (", …" if len(names) > limit else "")
    return f"Available: {shown}. "


def _defined_in(module: ModuleType, name: str) -> bool:
    """Whether ``module.name`` belongs to the module (not an import like ``Any`` or ``annotations``)."""
    try:
        value = inspect.getattr_static(module, name)
    except AttributeError:
        value = None  # created by a module __getattr__ (lazy attributes): the module's own
    if isinstance(value, ModuleType) or type(value).__name__ == "_Feature":
        return False
    if inspect.isclass(value) or inspect.isroutine(value):
        return getattr(value, "__module__", None) == module.__name__
    return True


def _is_factory(obj: Any) -> bool:
    """Classes and plain functions build models; model objects (even callable ones) are kept."""
    return inspect.isclass(obj) or inspect.isroutine(obj) or isinstance(obj, functools.partial)


def _maybe_call(obj: Any, attr: str, target: str) -> Any:
    if not _is_factory(obj):
        return obj
    what = "class" if inspect.isclass(obj) else "function"
    required = _required_parameters(obj)
    if required:
        raise TargetError(
            f"The target {target!r} is a {what} that needs arguments ({', '.join(required)}); "
            "modelsize calls it with none. Point the target at a model object, or at a function "
            "that takes no arguments and returns the model."
        )
    try:
        return obj()
    except (Exception, SystemExit) as exc:  # the user's factory failed
        raise _user_code_failed(f"Calling {attr}()", target, exc) from exc


def _required_parameters(func: Any) -> list[str]:
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):  # builtins without a signature: just try the call
        return []
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return [
        p.name for p in signature.parameters.values() if p.kind in kinds and p.default is inspect.Parameter.empty
    ]

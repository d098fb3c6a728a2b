"""One lazy registry type for every "name → ``module:Attr``" table in modelsize.

Adapters, readers, shrink backends, shrink recipes, CLI commands, studies and compute
profilers are all looked up the same way (fsspec's ``known_implementations`` idea): the table
holds import strings, so listing or testing membership imports nothing; an entry's module is
imported the first time the entry is used. The registry is an ordered, read-only
:class:`~collections.abc.Mapping` (name → the loaded attribute, or a cached instance of it);
it changes only through :meth:`Registry.register`, which refuses to replace an entry unless
asked to. Other packages add entries without touching modelsize through an entry-point group
(``[project.entry-points."modelsize.readers"] myformat = "mypkg.reader:MyReader"``); those come
after the built-in entries, in name order, and never replace one.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

from .errors import OptionError

_SPEC = re.compile(r"^[A-Za-z_][\w.]*(:[A-Za-z_][\w.]*)?$")


class Registry(Mapping[str, Any]):
    """An ordered, lazily imported, read-only mapping ``name -> object``.

    ``entries``: a mapping ``name -> "module:Attr"``, or a sequence of ``"module:Attr"`` strings
    named after their attribute (``"pkg.mod:MyReader"`` → ``"MyReader"``). ``attr``: the
    attribute to take when an entry names a module only (``"pkg.cmd"`` → ``pkg.cmd.app``).
    ``instantiate``: call the loaded attribute once and hand out that instance (adapters,
    readers, backends). ``group``: the entry-point group other packages add entries through.
    """

    def __init__(self, kind: str, entries: Mapping[str, str] | Iterable[str] = (), *, attr: str | None = None,
                 instantiate: bool = False, group: str | None = None) -> None:
        self.kind = kind
        self.group = group
        self._attr = attr
        self._instantiate = instantiate
        self._specs: dict[str, str] = {}
        self._loaded: dict[str, Any] = {}
        self._plugins_done = group is None
        pairs = entries.items() if isinstance(entries, Mapping) else ((self.name_of(s), s) for s in entries)
        for name, spec in pairs:
            self.register(name, spec)

    @staticmethod
    def name_of(spec: str) -> str:
        """The default name of a ``"module:Attr"`` entry: its attribute."""
        return spec.rpartition(":")[2] if ":" in spec else spec.rpartition(".")[2]

    # ------------------------------------------------------------------ changing

    def register(self, name: str, target: Any, *, replace: bool = False) -> None:
        """Add ``name`` → ``target`` (a ``"module:Attr"`` string, or the object itself) at the end.

        An existing name is an error unless ``replace=True`` (then it keeps its place in the order).
        """
        if not isinstance(name, str) or not name:
            raise OptionError(f"The 'name' option of the {self.kind} registry must be a non-empty string. Got {name!r}.")
        if isinstance(target, str):
            if not _SPEC.match(target) or (":" not in target and self._attr is None):
                raise OptionError(f"The 'target' option of the {self.kind} registry must be a 'module:Attr' string "
                                  f"or an object. Got {target!r}.")
            spec, obj = target, None
        else:
            spec, obj = f"{getattr(target, '__module__', '?')}:{getattr(target, '__qualname__', type(target).__name__)}", target
        if name in self._specs and not replace:
            raise OptionError(f"The {self.kind} registry already has an entry named {name!r} ({self._specs[name]}). "
                              "Pass replace=True to replace it.")
        self._specs[name] = spec
        self._loaded.pop(name, None)
        if obj is not None:
            self._loaded[name] = obj() if self._instantiate and isinstance(obj, type) else obj

    def unregister(self, name: str) -> None:
        """Remove ``name`` (tests and plugins that register something temporary)."""
        self._ensure_plugins()
        if name not in self._specs:
            raise KeyError(name)
        del self._specs[name]
        self._loaded.pop(name, None)

    # ------------------------------------------------------------------ reading

    def spec(self, name: str) -> str:
        """The ``"module:Attr"`` string of ``name`` (nothing is imported; the installed packages' entry
        points are scanned only for a name that is not built in)."""
        if name not in self._specs:
            self._ensure_plugins()
        return self._specs[name]

    def specs(self) -> Mapping[str, str]:
        """A read-only snapshot ``name -> "module:Attr"`` in order (nothing is imported)."""
        self._ensure_plugins()
        return MappingProxyType(dict(self._specs))

    def __getitem__(self, name: str) -> Any:
        if name not in self._specs:
            self._ensure_plugins()  # plugins never replace a built-in entry: scan only for other names
            if name not in self._specs:
                raise KeyError(name)
        if name not in self._loaded:
            self._loaded[name] = self._load(self._specs[name])
        return self._loaded[name]

    def __contains__(self, name: object) -> bool:
        if name in self._specs:
            return True
        self._ensure_plugins()
        return name in self._specs

    def __iter__(self) -> Iterator[str]:
        """Names in order. Plugin entries come after the built-in ones, so the installed packages'
        entry points (a scan of every distribution, tens of milliseconds) are read only when the
        iteration gets past the built-in entries: a reader found among them costs no scan."""
        known = list(self._specs)
        yield from known
        if not self._plugins_done:
            self._ensure_plugins()
            yield from [name for name in self._specs if name not in known]

    def __len__(self) -> int:
        self._ensure_plugins()
        return len(self._specs)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {list(self._specs)!r})"

    # ------------------------------------------------------------------ internals

    def _load(self, spec: str) -> Any:
        module_name, _, attr = spec.partition(":")
        attr = attr or self._attr or ""
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
        return obj() if self._instantiate else obj

    def _ensure_plugins(self) -> None:
        """Add the entry-point group's entries once, after the built-in ones, never replacing one."""
        if self._plugins_done:
            return
        self._plugins_done = True
        from importlib.metadata import entry_points

        for ep in sorted(entry_points(group=self.group or ""), key=lambda e: e.name):
            if ep.name not in self._specs and _SPEC.match(ep.value):
                self._specs[ep.name] = ep.value

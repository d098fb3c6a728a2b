"""Component: a node of the model tree (a layer, a block, an estimator, a file section).

The tree is plain, immutable data. Each component owns the tensors registered directly on it
and its children; ``path`` is the dotted path from the root ("" for the root itself).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Iterator, Mapping

from .tensors import TensorRecord, _jsonable


@dataclass(frozen=True)
class Component:
    """One node. ``kind`` is the class or layer type (``Linear``, ``Conv2D``, ``DecisionTree``)."""

    name: str
    kind: str
    path: str = ""
    tensors: tuple[TensorRecord, ...] = ()
    children: tuple["Component", ...] = ()
    attrs: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def walk(self) -> Iterator["Component"]:
        """This component and every descendant, depth first, in registration order."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))

    def iter_tensors(self) -> Iterator[TensorRecord]:
        """Every tensor reference in the subtree (shared tensors appear at each place)."""
        for node in self.walk():
            yield from node.tensors

    def find(self, path: str) -> "Component | None":
        """The component at a dotted path, or ``None``."""
        for node in self.walk():
            if node.path == path:
                return node
        return None

    def with_(self, **changes: Any) -> "Component":
        """A copy with some fields changed."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready nested dict."""
        return {
            "name": self.name,
            "kind": self.kind,
            "path": self.path,
            "attrs": _jsonable(dict(self.attrs)),
            "tensors": [t.to_dict() for t in self.tensors],
            "children": [c.to_dict() for c in self.children],
        }


def join(prefix: str, name: str) -> str:
    """Dotted-path join that handles the empty root prefix."""
    return f"{prefix}.{name}" if prefix else name


def from_flat(
    records: list[TensorRecord],
    root_name: str = "model",
    root_kind: str = "Model",
    kinds: Mapping[str, str] | None = None,
    attrs: Mapping[str, Mapping[str, Any]] | None = None,
) -> Component:
    """Group flat dotted tensor paths (``a.b.weight``) into a tree by name prefix.

    Used for state dicts and files, where only tensor names are known. ``kinds`` maps a
    component path to its type when a reader knows it (e.g. from a config).
    """
    kinds = kinds or {}
    attrs = attrs or {}

    class _Node:
        __slots__ = ("children", "tensors")

        def __init__(self) -> None:
            self.children: dict[str, _Node] = {}
            self.tensors: list[TensorRecord] = []

    top = _Node()
    for rec in records:
        parts = rec.path.split(".")
        node = top
        for part in parts[:-1]:
            node = node.children.setdefault(part, _Node())
        node.tensors.append(rec)

    def build(node: _Node, name: str, path: str, default_kind: str) -> Component:
        children = tuple(
            build(child, cname, join(path, cname), "Module") for cname, child in node.children.items()
        )
        return Component(
            name=name,
            kind=kinds.get(path, default_kind),
            path=path,
            tensors=tuple(node.tensors),
            children=children,
            attrs=dict(attrs.get(path, {})),
        )

    return build(top, root_name, "", root_kind)

"""Symbolic values of the pickle scanner: what a stack entry stands for, never the object itself.

Classes are names (:class:`Global`), objects are "class, arguments, state" records
(:class:`Obj`), large payloads are (offset, length) pairs (:class:`Blob`), and every stack entry
(:class:`Ref`) remembers the byte span of the opcodes that produced it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

class Value:
    """Base of the symbolic values on the stack."""

    __slots__ = ()


class Scalar(Value):
    """A small constant whose value is known (int, float, str, bool, None, short bytes)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class Blob(Value):
    """A large bytes or str payload, skipped: where it is and how long it is."""

    __slots__ = ("offset", "length", "kind", "nbytes")

    def __init__(self, offset: int | None, length: int, kind: str, nbytes: int | None = None) -> None:
        self.offset = offset
        self.length = length  #: bytes it takes in the stream
        self.kind = kind  #: 'bytes', 'bytearray', 'str', 'buffer'
        self.nbytes = length if nbytes is None else nbytes  #: bytes of the value once loaded


class Global(Value):
    __slots__ = ("module", "name")

    def __init__(self, module: str, name: str) -> None:
        self.module = module
        self.name = name

    @property
    def qualname(self) -> str:
        return f"{self.module}.{self.name}"


class Persistent(Value):
    """What a persistent id resolves to (PyTorch storages)."""

    __slots__ = ("pid", "info")

    def __init__(self, pid: Value, info: Any = None) -> None:
        self.pid = pid
        self.info = info


@dataclass(eq=False)
class Array(Value):
    """A tensor-like payload: NumPy array, joblib-wrapped array or framework tensor."""

    dtype: str
    shape: tuple[int, ...]
    itemsize: float  #: bytes per element (bits / 8)
    nbytes: int  #: bytes the data takes in the file
    offset: int | None  #: where the data starts (stream offset), None if unknown
    source: str  #: 'numpy', 'joblib', 'torch'
    storage_key: str | None = None
    padding: int = 0  #: alignment bytes written before the data
    meta: dict[str, Any] = field(default_factory=dict)
    items: "Ref | None" = None  #: object arrays: the pickled elements
    encoded_bytes: int | None = None  #: bytes in the stream when encoding inflates them (protocols 0-2)
    layout: "list[tuple[str, DType, int]] | None" = None  #: structured arrays: their fields (see DType)
    value: Any = None  #: a NumPy number scalar's value (a dict key: ``coefs_paths_`` is keyed by class)

    @property
    def stream_bytes(self) -> int:
        return self.nbytes if self.encoded_bytes is None else self.encoded_bytes


@dataclass(eq=False)
class DType(Value):
    """A ``numpy.dtype`` being rebuilt."""

    spec: str
    itemsize: int | None = None
    name: str | None = None
    fields: list[str] | None = None
    #: structured dtypes: (field name, field dtype, byte offset in the record), in field order
    layout: list[tuple[str, "DType", int]] | None = None


@dataclass(eq=False)
class Obj(Value):
    """An instance: class (or callable), its arguments, state from BUILD, items appended to it."""

    cls: Value
    args: "Ref | None" = None
    state: "Ref | None" = None
    how: str = "reduce"
    dict_items: list[tuple[Any, "Ref"]] = field(default_factory=list)
    list_items: list["Ref"] = field(default_factory=list)
    array: Array | None = None  #: set when a BUILD completes a NumPy array or joblib wrapper


@dataclass(eq=False)
class Dict(Value):
    items: list[tuple[Any, "Ref"]] = field(default_factory=list)
    cls: str = "dict"


@dataclass(eq=False)
class Seq(Value):
    kind: str  #: 'list', 'tuple', 'set', 'frozenset'
    items: list["Ref"] = field(default_factory=list)


class Ref:
    """A stack entry: a value and the byte span ``[start, end)`` of the opcodes that made it here."""

    __slots__ = ("value", "start", "end")

    def __init__(self, value: Value, start: int, end: int) -> None:
        self.value = value
        self.start = start
        self.end = end


def key_of(ref: Ref) -> Any:
    """A dict key as a plain Python value where it is one (str, int …), else a short label."""
    v = ref.value
    if isinstance(v, Scalar):
        return v.value
    if isinstance(v, Seq) and v.kind == "tuple":
        return tuple(key_of(r) for r in v.items)
    if isinstance(v, Global):
        return v.qualname
    if isinstance(v, Obj) and v.array is not None and v.array.value is not None:
        return v.array.value  # a NumPy int key, named as its value (the live adapter's str(key))
    return f"<{type(v).__name__.lower()}>"


def scalar(ref: Ref | None, default: Any = None) -> Any:
    if ref is not None and isinstance(ref.value, Scalar):
        return ref.value.value
    return default


def int_tuple(ref: Ref | None) -> tuple[int, ...] | None:
    """A tuple of non-negative ints (a shape), or None when it is anything else."""
    if ref is None or not isinstance(ref.value, Seq):
        return None
    out = []
    for r in ref.value.items:
        v = scalar(r)
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            return None
        out.append(v)
    return tuple(out)



def _text_key(key: Any) -> Any:
    """A Python 2 ``str`` key arrives as bytes; ``pickle.load(encoding='latin1')`` makes it text."""
    return key.decode("latin-1") if isinstance(key, bytes) else key


def dict_of(ref: Ref | None) -> dict[Any, Ref]:
    if ref is None:
        return {}
    v = ref.value
    if isinstance(v, Dict):
        return {_text_key(k): r for k, r in v.items}
    if isinstance(v, Seq) and v.kind == "tuple" and v.items and isinstance(v.items[0].value, Dict):
        return {_text_key(k): r for k, r in v.items[0].value.items}
    return {}


def state_items(obj: Obj) -> list[tuple[Any, Ref]]:
    """An object's attributes: its BUILD state dict (and slot state) plus SETITEMS on it."""
    out: list[tuple[Any, Ref]] = []
    if obj.state is not None:
        v = obj.state.value
        if isinstance(v, Dict):
            out.extend(v.items)
        elif isinstance(v, Seq) and v.kind == "tuple":
            for part in v.items:
                if isinstance(part.value, Dict):
                    out.extend(part.value.items)
    out.extend(obj.dict_items)
    return out


#: A hook that turns a REDUCE of a known callable into a value: (scanner, callable, args) → Value.
Reducer = Callable[[Any, Global, Ref], "Value | None"]

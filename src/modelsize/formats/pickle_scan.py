"""Static analysis of a pickle stream: a symbolic stack machine that never unpickles.

Loading a pickle runs whatever its ``GLOBAL``/``REDUCE`` opcodes name, so modelsize never calls
``pickle.load``. Instead :class:`Scanner` walks the opcodes (the same ones ``pickletools``
documents) and keeps a *symbolic* stack: classes are names, objects are records of "class,
arguments, state", bytes payloads are (offset, length) pairs that are skipped, never read. A few
well-known reductions are understood, which is enough to find every array and its size:

* NumPy arrays (``_reconstruct`` + ``BUILD``, ``_frombuffer`` for protocol 5, ``_codecs.encode``
  for protocol-2 bytes), with their dtype;
* joblib's ``NumpyArrayWrapper``, whose raw bytes follow the pickle opcodes in the file;
* PyTorch tensors (``_rebuild_tensor_v2`` over a persistent-id storage), via a hook.

Each stack entry remembers the byte span of the opcodes that produced it, so the bytes of the
file can be attributed to attribute paths (``estimators_[3].tree_.nodes``). Every global the
file names is recorded with a risk level: the security view of what loading it would import.
"""


from __future__ import annotations

import math
import pickletools
import struct
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Callable

from .pickle_numpy import BASE_REDUCERS, dtype_state, numpy_state
from .pickle_values import (
    Array, Blob, Dict, DType, Global, Obj, Persistent, Reducer, Ref, Scalar, Seq, Value, dict_of, int_tuple, key_of,
    scalar,
)

#: Payloads larger than this are skipped (kept as offset + length), never read into memory.
SMALL_PAYLOAD = 1 << 16
#: Longest text line accepted from protocol-0 opcodes (module names, decimal numbers).
MAX_LINE = 1 << 16
#: Nesting of joblib object arrays (a pickle inside a pickle) we follow.
MAX_NESTED = 8


_UTF8_CONTINUATION = bytes(range(0x80, 0xC0))


class ScanError(Exception):
    """A defect in the stream; the reader turns it into InvalidFileError naming the file."""


# --------------------------------------------------------------------------- streams


class Stream:
    """Forward reads with a position; ``read`` is only used for small, bounded amounts."""

    def __init__(self, fh: BinaryIO, size: int | None, start: int = 0) -> None:
        self._fh = fh
        self.size = size  #: None for a decompressed stream of unknown length
        self.pos = start

    def read(self, n: int) -> bytes:
        if n < 0:
            raise ScanError(f"a negative length {n} at offset {self.pos}")
        if self.size is not None and n > self.size - self.pos:
            raise ScanError(
                f"a field at offset {self.pos} needs {n} bytes but only {self.size - self.pos} remain"
            )
        data = self._fh.read(n)
        if len(data) != n:
            raise ScanError(f"the stream ends at offset {self.pos + len(data)} inside a {n}-byte field")
        self.pos += n
        return data

    def skip(self, n: int) -> None:
        """Move past ``n`` bytes without keeping them (seek on files, discard on streams)."""
        if n < 0:
            raise ScanError(f"a negative length {n} at offset {self.pos}")
        if self.size is not None:
            if n > self.size - self.pos:
                raise ScanError(
                    f"a payload at offset {self.pos} claims {n} bytes but only {self.size - self.pos} remain"
                )
            self._fh.seek(n, 1)
            self.pos += n
            return
        left = n
        while left:
            chunk = self._fh.read(min(left, 1 << 20))
            if not chunk:
                raise ScanError(f"the stream ends at offset {self.pos} inside a {n}-byte payload")
            left -= len(chunk)
            self.pos += len(chunk)

    def readline(self) -> bytes:
        """A short text argument (protocol 0 names and numbers), at most MAX_LINE bytes."""
        line = self._fh.readline(MAX_LINE + 1)
        self.pos += len(line)
        if not line.endswith(b"\n"):
            if len(line) > MAX_LINE:
                raise ScanError(f"a text argument at offset {self.pos - len(line)} is longer than {MAX_LINE} bytes")
            raise ScanError(f"the stream ends at offset {self.pos} inside a text argument")
        return line[:-1]

    def text_payload(self) -> "Scalar | Blob":
        """A protocol-0 string line, which may be a whole array's bytes: kept only when short.

        Protocol 0 writes text as raw-unicode-escape, where one escaped character (``\\uXXXX``)
        takes six bytes; the loaded length is the line length minus five per escape.
        """
        at = self.pos
        first = self._fh.readline(SMALL_PAYLOAD)
        self.pos += len(first)
        if first.endswith(b"\n"):
            return Scalar(first[:-1])
        if not first:
            raise ScanError(f"the stream ends at offset {self.pos} inside a text argument")
        length, escapes, tail = len(first), first.count(b"\\u"), first[-1:]
        while True:
            part = self._fh.readline(1 << 20)
            if not part:
                raise ScanError(f"the stream ends at offset {self.pos} inside a text argument")
            self.pos += len(part)
            escapes += (tail + part).count(b"\\u") - tail.count(b"\\u")
            tail = part[-1:]
            length += len(part)
            if part.endswith(b"\n"):
                length -= 1
                return Blob(at, length + 1, "str", nbytes=length - 5 * escapes)

    def count_utf8_chars(self, n: int) -> int:
        """Skip ``n`` bytes of UTF-8 text, returning the number of characters (for latin-1 bytes)."""
        if self.size is not None and n > self.size - self.pos:
            raise ScanError(f"a string at offset {self.pos} claims {n} bytes but only {self.size - self.pos} remain")
        chars = 0
        left = n
        while left:
            chunk = self._fh.read(min(left, 1 << 20))
            if not chunk:
                raise ScanError(f"the stream ends at offset {self.pos} inside a {n}-byte string")
            chars += len(chunk.translate(None, _UTF8_CONTINUATION))  # 0b10xxxxxx starts no character
            left -= len(chunk)
            self.pos += len(chunk)
        return chars


@dataclass
class ScanResult:
    """What a pickle stream holds, without loading it."""

    root: Ref
    start: int
    end: int  #: offset just past STOP
    protocol: int
    opcodes: int
    globals: Counter = field(default_factory=Counter)  #: (module, name) → times referenced
    arrays: list[Array] = field(default_factory=list)
    nested: list["ScanResult"] = field(default_factory=list)


class Scanner:
    """Walks one pickle stream symbolically.

    ``reducers`` maps ``(module, name)`` to a hook for REDUCE of that callable (PyTorch adds its
    tensor rebuilders); ``persistent`` resolves a persistent id (PyTorch storages).
    """

    def __init__(
        self,
        stream: Stream,
        reducers: dict[tuple[str, str], Reducer] | None = None,
        persistent: Callable[[Value], Any] | None = None,
        depth: int = 0,
    ) -> None:
        self.s = stream
        self.reducers = dict(BASE_REDUCERS)
        self.reducers.update(reducers or {})
        self.persistent = persistent
        self.depth = depth
        self.globals: Counter = Counter()
        self.arrays: list[Array] = []
        self.nested: list[ScanResult] = []

    # -- helpers used by reducers
    def new_array(self, arr: Array) -> Array:
        self.arrays.append(arr)
        return arr

    def run(self) -> ScanResult:
        s = self.s
        start = s.pos
        stack: list[Ref] = []
        metastack: list[tuple[list[Ref], int]] = []
        memo: dict[int, Ref] = {}
        protocol = 0
        ops = 0

        def pop_mark() -> tuple[list[Ref], int]:
            nonlocal stack
            if not metastack:
                raise ScanError(f"an opcode at offset {pos} needs a MARK but none is open")
            items = stack
            stack, mark_pos = metastack.pop()
            return items, mark_pos

        def pop() -> Ref:
            if not stack:
                raise ScanError(f"an opcode at offset {pos} pops from an empty stack")
            return stack.pop()

        def top() -> Ref:
            if not stack:
                raise ScanError(f"an opcode at offset {pos} needs a value but the stack is empty")
            return stack[-1]

        def push(value: Value, begin: int) -> None:
            stack.append(Ref(value, begin, s.pos))

        def first(refs: list[Ref], default: int) -> int:
            return min([r.start for r in refs] + [default])

        while True:
            pos = s.pos
            code = s.read(1)[0]
            ops += 1
            op = _OPS.get(code)
            if op is None:
                raise ScanError(f"byte 0x{code:02x} at offset {pos} is not a pickle opcode")
            # ---- constants
            if op == "PROTO":
                protocol = s.read(1)[0]
                if protocol > 5:
                    raise ScanError(f"pickle protocol {protocol} at offset {pos} is not supported (max 5)")
            elif op == "FRAME":
                s.read(8)
            elif op == "STOP":
                break
            elif op == "NONE":
                push(Scalar(None), pos)
            elif op == "NEWTRUE":
                push(Scalar(True), pos)
            elif op == "NEWFALSE":
                push(Scalar(False), pos)
            elif op == "BININT":
                push(Scalar(struct.unpack("<i", s.read(4))[0]), pos)
            elif op == "BININT1":
                push(Scalar(s.read(1)[0]), pos)
            elif op == "BININT2":
                push(Scalar(struct.unpack("<H", s.read(2))[0]), pos)
            elif op in ("LONG1", "LONG4"):
                n = s.read(1)[0] if op == "LONG1" else struct.unpack("<i", s.read(4))[0]
                if n < 0 or n > 1 << 16:
                    raise ScanError(f"a {n}-byte integer at offset {pos} is out of range")
                push(Scalar(int.from_bytes(s.read(n), "little", signed=True)), pos)
            elif op in ("INT", "LONG"):
                push(Scalar(_decimal(s.readline(), pos)), pos)
            elif op == "FLOAT":
                try:
                    push(Scalar(float(s.readline())), pos)
                except ValueError:
                    raise ScanError(f"a FLOAT at offset {pos} is not a number") from None
            elif op == "BINFLOAT":
                push(Scalar(struct.unpack(">d", s.read(8))[0]), pos)
            elif op in ("SHORT_BINBYTES", "BINBYTES", "BINBYTES8", "BYTEARRAY8", "SHORT_BINSTRING", "BINSTRING"):
                n = _length(s, op)
                kind = "bytearray" if op == "BYTEARRAY8" else "bytes"
                if n <= 256:
                    push(Scalar(s.read(n)), pos)
                else:
                    at = s.pos
                    s.skip(n)
                    push(Blob(at, n, kind), pos)
            elif op in ("SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8"):
                n = _length(s, op)
                if n <= SMALL_PAYLOAD:
                    raw = s.read(n)
                    try:
                        push(Scalar(raw.decode("utf-8", "surrogatepass")), pos)
                    except UnicodeDecodeError:
                        raise ScanError(f"a string at offset {pos} is not valid UTF-8") from None
                else:
                    at = s.pos
                    chars = s.count_utf8_chars(n)
                    push(Blob(at, n, "str", nbytes=chars), pos)
            elif op in ("UNICODE", "STRING"):
                text = s.text_payload()
                if isinstance(text, Scalar) and op == "UNICODE":
                    text = Scalar(text.value.decode("raw_unicode_escape", "replace"))
                elif isinstance(text, Scalar):
                    text = Scalar(_unquote(text.value))
                push(text, pos)
            elif op in ("NEXT_BUFFER", "READONLY_BUFFER"):
                if op == "NEXT_BUFFER":
                    push(Blob(None, 0, "buffer"), pos)
            # ---- containers
            elif op == "EMPTY_LIST":
                push(Seq("list"), pos)
            elif op == "EMPTY_TUPLE":
                push(Seq("tuple"), pos)
            elif op == "EMPTY_DICT":
                push(Dict(), pos)
            elif op == "EMPTY_SET":
                push(Seq("set"), pos)
            elif op in ("TUPLE1", "TUPLE2", "TUPLE3"):
                n = int(op[-1])
                if len(stack) < n:
                    raise ScanError(f"{op} at offset {pos} needs {n} values on the stack")
                items = stack[-n:]
                del stack[-n:]
                push(Seq("tuple", items), first(items, pos))
            elif op in ("TUPLE", "LIST", "FROZENSET"):
                items, mark_pos = pop_mark()
                push(Seq(op.lower(), items), mark_pos)
            elif op == "DICT":
                items, mark_pos = pop_mark()
                if len(items) % 2:
                    raise ScanError(f"DICT at offset {pos} has an odd number of items")
                push(Dict([(key_of(k), v) for k, v in zip(items[::2], items[1::2])]), mark_pos)
            elif op == "APPEND":
                item = pop()
                _append(top(), [item], pos)
                top().end = s.pos
            elif op in ("APPENDS", "ADDITEMS"):
                items, _ = pop_mark()
                _append(top(), items, pos)
                top().end = s.pos
            elif op == "SETITEM":
                v = pop()
                k = pop()
                _setitems(top(), [k, v], pos)
                top().end = s.pos
            elif op == "SETITEMS":
                items, _ = pop_mark()
                if len(items) % 2:
                    raise ScanError(f"SETITEMS at offset {pos} has an odd number of items")
                _setitems(top(), items, pos)
                top().end = s.pos
            # ---- stack and memo
            elif op == "MARK":
                metastack.append((stack, pos))
                stack = []
            elif op == "POP":
                if stack:
                    stack.pop()
                else:
                    pop_mark()
            elif op == "POP_MARK":
                pop_mark()
            elif op == "DUP":
                r = top()
                stack.append(Ref(r.value, pos, s.pos))
            elif op in ("PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"):
                if op == "MEMOIZE":
                    idx = len(memo)
                elif op == "PUT":
                    idx = _decimal(s.readline(), pos)
                else:
                    idx = s.read(1)[0] if op == "BINPUT" else struct.unpack("<I", s.read(4))[0]
                r = top()
                memo[idx] = r
                r.end = s.pos
            elif op in ("GET", "BINGET", "LONG_BINGET"):
                if op == "GET":
                    idx = _decimal(s.readline(), pos)
                else:
                    idx = s.read(1)[0] if op == "BINGET" else struct.unpack("<I", s.read(4))[0]
                if idx not in memo:
                    raise ScanError(f"{op} at offset {pos} refers to memo slot {idx}, which was never set")
                push(memo[idx].value, pos)
            # ---- globals and objects
            elif op in ("GLOBAL", "INST"):
                module = s.readline().decode("utf-8", "replace")
                name = s.readline().decode("utf-8", "replace")
                g = self._global(module, name)
                if op == "GLOBAL":
                    push(g, pos)
                else:
                    items, mark_pos = pop_mark()
                    args = Ref(Seq("tuple", items), mark_pos, s.pos)
                    push(self._call(g, args, "inst"), mark_pos)
            elif op == "STACK_GLOBAL":
                name_ref = pop()
                mod_ref = pop()
                module, name = scalar(mod_ref), scalar(name_ref)
                if not isinstance(module, str) or not isinstance(name, str):
                    raise ScanError(f"STACK_GLOBAL at offset {pos} needs two strings")
                push(self._global(module, name), mod_ref.start)
            elif op in ("EXT1", "EXT2", "EXT4"):
                n = {"EXT1": 1, "EXT2": 2, "EXT4": 4}[op]
                code_ = int.from_bytes(s.read(n), "little")
                push(self._global("copyreg", f"<extension {code_}>"), pos)
            elif op == "REDUCE":
                args = pop()
                func = pop()
                push(self._call(func.value, args, "reduce"), func.start)
            elif op == "NEWOBJ":
                args = pop()
                cls = pop()
                push(self._call(cls.value, args, "newobj"), cls.start)
            elif op == "NEWOBJ_EX":
                pop()  # kwargs
                args = pop()
                cls = pop()
                push(self._call(cls.value, args, "newobj"), cls.start)
            elif op == "OBJ":
                items, mark_pos = pop_mark()
                if not items:
                    raise ScanError(f"OBJ at offset {pos} has no class")
                args = Ref(Seq("tuple", items[1:]), mark_pos, s.pos)
                push(self._call(items[0].value, args, "obj"), mark_pos)
            elif op == "BUILD":
                state = pop()
                target = top()
                self._build(target, state)
                target.end = s.pos
            elif op in ("PERSID", "BINPERSID"):
                if op == "PERSID":
                    pid: Ref = Ref(Scalar(s.readline().decode("ascii", "replace")), pos, s.pos)
                else:
                    pid = pop()
                info = self.persistent(pid.value) if self.persistent else None
                push(Persistent(pid.value, info), pid.start if op == "BINPERSID" else pos)
            else:  # pragma: no cover - every opcode of protocols 0-5 is handled above
                raise ScanError(f"opcode {op} at offset {pos} is not handled")

        if len(stack) != 1 or metastack:
            raise ScanError(f"STOP at offset {pos} leaves {len(stack)} values on the stack (expected 1)")
        return ScanResult(
            root=stack[0], start=start, end=s.pos, protocol=protocol, opcodes=ops,
            globals=self.globals, arrays=self.arrays, nested=self.nested,
        )

    # -- opcode semantics
    def _global(self, module: str, name: str) -> Global:
        self.globals[(module, name)] += 1
        return Global(module, name)

    def _call(self, func: Value, args: Ref, how: str) -> Value:
        if isinstance(func, Global):
            hook = self.reducers.get((func.module, func.name))
            if hook is not None:
                out = hook(self, func, args)
                if out is not None:
                    return out
        return Obj(cls=func, args=args, how=how)

    def _build(self, target: Ref, state: Ref) -> None:
        obj = target.value
        if isinstance(obj, DType):
            dtype_state(obj, state)
        elif isinstance(obj, Obj):
            obj.state = state
            cls = obj.cls
            if isinstance(cls, Global) and cls.name == "ndarray" and obj.how == "ndarray":
                obj.array = numpy_state(self, state)
            elif isinstance(cls, Global) and cls.name == "NumpyArrayWrapper" and cls.module.endswith("numpy_pickle"):
                obj.array = self._joblib_array(state)
        elif isinstance(obj, Dict):
            pass  # e.g. OrderedDict's _metadata attribute: plain values only
        # other targets (scalars …) would fail at load time; statically we just ignore it

    def _joblib_array(self, state: Ref) -> Array:
        """joblib writes the array bytes right after the wrapper's BUILD; skip them."""
        st = dict_of(state)
        shape = int_tuple(st.get("shape"))
        dtype_ref = st.get("dtype")
        dt = dtype_ref.value if dtype_ref is not None else None
        if shape is None or not isinstance(dt, DType):
            raise ScanError(f"a joblib array wrapper before offset {self.s.pos} has no readable shape or dtype")
        numel = math.prod(shape)
        if dt.spec.lstrip("<>|=").startswith("O"):
            if self.depth >= MAX_NESTED:
                raise ScanError(f"object arrays nest deeper than {MAX_NESTED} levels")
            at = self.s.pos
            inner = Scanner(self.s, self.reducers, self.persistent, self.depth + 1).run()
            self.nested.append(inner)
            self.globals.update(inner.globals)
            self.arrays.extend(inner.arrays)
            arr = Array("object", shape, 8, self.s.pos - at, at, "joblib", items=inner.root,
                        meta={"order": scalar(st.get("order"))})
            return self.new_array(arr)
        if dt.itemsize is None:
            raise ScanError(f"a joblib array at offset {self.s.pos} has an unknown dtype {dt.spec!r}")
        padding = 0
        if scalar(st.get("numpy_array_alignment_bytes")) is not None:
            padding = 1 + self.s.read(1)[0]
            self.s.skip(padding - 1)
        nbytes = numel * dt.itemsize
        at = self.s.pos
        self.s.skip(nbytes)
        arr = Array(dt.name or dt.spec, shape, dt.itemsize, nbytes, at, "joblib", padding=padding,
                    meta={"order": scalar(st.get("order"))})
        if dt.fields:
            arr.meta["fields"] = dt.fields
        return self.new_array(arr)


def _decimal(line: bytes, pos: int) -> int:
    text = line.rstrip(b"L")
    if text == b"00":
        return False
    if text == b"01":
        return True
    try:
        return int(text)
    except ValueError:
        raise ScanError(f"a decimal argument at offset {pos} is not a number") from None


def _unquote(raw: bytes) -> bytes:
    """A protocol-0 STRING argument is a quoted Python literal; keep its content bytes."""
    if len(raw) >= 2 and raw[:1] == raw[-1:] and raw[:1] in (b"'", b'"'):
        return raw[1:-1]
    return raw


def _length(s: Stream, op: str) -> int:
    if op in ("SHORT_BINBYTES", "SHORT_BINSTRING", "SHORT_BINUNICODE"):
        return s.read(1)[0]
    if op in ("BINBYTES", "BINUNICODE"):
        return struct.unpack("<I", s.read(4))[0]
    if op == "BINSTRING":
        n = struct.unpack("<i", s.read(4))[0]
        if n < 0:
            raise ScanError(f"BINSTRING at offset {s.pos - 5} has a negative length {n}")
        return n
    return struct.unpack("<Q", s.read(8))[0]


def _append(target: Ref, items: list[Ref], pos: int) -> None:
    v = target.value
    if isinstance(v, Seq):
        v.items.extend(items)
    elif isinstance(v, Obj):
        v.list_items.extend(items)
    # appending to anything else would fail at load time; nothing to record


def _setitems(target: Ref, items: list[Ref], pos: int) -> None:
    pairs = [(key_of(k), v) for k, v in zip(items[::2], items[1::2])]
    v = target.value
    if isinstance(v, Dict):
        v.items.extend(pairs)
    elif isinstance(v, Obj):
        v.dict_items.extend(pairs)



_OPS: dict[int, str] = {ord(op.code): op.name for op in pickletools.opcodes}


def scan(stream: Stream, **kwargs: Any) -> ScanResult:
    """Scan one pickle stream from the stream's current position."""
    return Scanner(stream, **kwargs).run()

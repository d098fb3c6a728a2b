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
file can be attributed to attribute paths (``estimators_.3.tree_.threshold``). Every global the
file names is recorded with a risk level: the security view of what loading it would import.
"""


from __future__ import annotations

import io
import math
import pickletools
import struct
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Callable

from .pickle_numpy import BASE_REDUCERS, dtype_state, numpy_state
from .pickle_security import resolve
from .pickle_values import (
    Array, Blob, Dict, DType, Global, Obj, Persistent, Reducer, Ref, Scalar, Seq, Value, dict_of, int_tuple, key_of,
    scalar,
)

#: Payloads larger than this are skipped (kept as offset + length), never read into memory.
SMALL_PAYLOAD = 1 << 16
#: Longest text line accepted from protocol-0 opcodes (module names, decimal numbers).
MAX_LINE = 1 << 16
#: Nesting of pickles inside pickles (joblib object arrays, ``pickle.loads`` payloads) we follow.
MAX_NESTED = 8
#: Caps on the symbolic machine, so that memory stays bounded whatever the stream says. A real
#: model pickle stays far below them (a 500-tree random forest: ~60,000 values, stack depth < 50).
MAX_STACK = 1 << 20  #: values on the stack at once
MAX_MARKS = 1 << 16  #: open MARKs
MAX_MEMO = 1 << 21  #: memo entries
MAX_VALUES = 1 << 21  #: symbolic values created in one stream (each costs ~150 bytes)
MAX_OPCODES = 1 << 24  #: opcodes in one stream (~2 million a second: about 8 s at most)
#: Embedded pickles (``pickle.loads(b"...")``) larger than this are flagged but not scanned.
MAX_NESTED_BYTES = 16 << 20  #: x MAX_NESTED levels held at once at most: 128 MiB
#: Callables that unpickle a bytes argument: their payload is scanned as a pickle of its own.
NESTED_LOADERS = frozenset({("pickle", "loads"), ("_pickle", "loads"), ("pickle", "_loads"), ("dill", "loads"),
                            ("dill._dill", "loads"), ("cloudpickle", "loads"), ("torch.serialization", "_load"),
                            ("pickle", "Unpickler"), ("_pickle", "Unpickler")})


_UTF8_CONTINUATION = bytes(range(0x80, 0xC0))


class ScanError(Exception):
    """A defect in the stream; the reader turns it into InvalidFileError naming the file.

    A stream that aborts may already have named globals the real loader imported before it failed
    (a payload then junk): :meth:`Scanner.run` records them in ``globals`` with the number of
    opcodes read, so the verdict of an unparseable stream is never lost.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.globals: Counter = Counter()  #: (module, name) seen before the stream aborted
        self.aliases: dict[tuple[str, str], tuple[str, str]] = {}
        self.constructs: list[tuple[str, str, str]] = []
        self.opcodes = 0  #: opcodes read before the abort (the outermost stream's)


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

    def peek_at(self, offset: int, n: int) -> bytes | None:
        """``n`` bytes at ``offset``, position unchanged; None when the stream cannot seek back."""
        if self.size is None or offset < 0 or n > self.size - offset:
            return None
        here = self._fh.tell()
        self._fh.seek(offset - self.pos + here)
        data = self._fh.read(n)
        self._fh.seek(here)
        return data if len(data) == n else None

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
    globals: Counter = field(default_factory=Counter)  #: (module, name) as the loader resolves it → count
    arrays: list[Array] = field(default_factory=list)
    nested: list["ScanResult"] = field(default_factory=list)
    aliases: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)  #: resolved → as written
    notes: list[str] = field(default_factory=list)  #: what the scan could not follow
    #: (risk, what, why) for constructs that are unsafe whatever globals they use (BUILD on a class)
    constructs: list[tuple[str, str, str]] = field(default_factory=list)
    #: (wrapper class, file name) of joblib's NDArrayWrapper/ZNDArrayWrapper: files joblib.load opens too
    side_files: list[tuple[str, Any]] = field(default_factory=list)


_NONE, _TRUE, _FALSE = Scalar(None), Scalar(True), Scalar(False)


class Scanner:
    """Walks one pickle stream symbolically, one handler per opcode (:data:`_HANDLERS`).

    ``reducers`` maps ``(module, name)`` to a hook for REDUCE of that callable (PyTorch adds its
    tensor rebuilders); ``persistent`` resolves a persistent id (PyTorch storages). The stack,
    marks, memo and number of values are capped (:data:`MAX_STACK` …) so that a hostile stream
    ends in :class:`ScanError`, never in an exhausted memory.
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
        self.aliases: dict[tuple[str, str], tuple[str, str]] = {}
        self.notes: list[str] = []
        self.constructs: list[tuple[str, str, str]] = []
        self.side_files: list[tuple[str, Any]] = []
        self.ops = 0  #: opcodes read so far
        self.stack: list[Ref] = []
        self.metastack: list[tuple[list[Ref], int]] = []
        self.memo: dict[int, Ref] = {}
        self.protocol = 0
        self.values = 0
        self.pos = stream.pos  #: offset of the opcode being run

    # -- helpers used by reducers
    def new_array(self, arr: Array) -> Array:
        self.arrays.append(arr)
        return arr

    def run(self) -> ScanResult:
        try:
            return self._run()
        except ScanError as exc:  # keep what the loader would have imported before the abort
            exc.globals.update(self.globals)
            exc.aliases.update(self.aliases)
            exc.constructs.extend(self.constructs)
            exc.opcodes = exc.opcodes or self.ops
            raise

    def _run(self) -> ScanResult:
        s = self.s
        start = s.pos
        self.ops = 0
        while True:
            self.pos = s.pos
            code = s.read(1)[0]
            self.ops += 1
            if self.ops > MAX_OPCODES:
                raise ScanError(f"the stream has more than {MAX_OPCODES} opcodes (at offset {self.pos})")
            handler = _HANDLERS.get(code)
            if handler is None:
                raise ScanError(f"byte 0x{code:02x} at offset {self.pos} is not a pickle opcode")
            if handler(self):
                break
        if len(self.stack) != 1 or self.metastack:
            raise ScanError(f"STOP at offset {self.pos} leaves {len(self.stack)} values on the stack (expected 1)")
        return ScanResult(
            root=self.stack[0], start=start, end=s.pos, protocol=self.protocol, opcodes=self.ops,
            globals=self.globals, arrays=self.arrays, nested=self.nested, aliases=self.aliases, notes=self.notes,
            constructs=self.constructs, side_files=self.side_files,
        )

    # -- the symbolic stack
    def push(self, value: Value, begin: int | None = None) -> None:
        if len(self.stack) >= MAX_STACK:
            raise ScanError(f"the stack grows past {MAX_STACK} values at offset {self.pos}")
        self.values += 1
        if self.values > MAX_VALUES:
            raise ScanError(f"the stream builds more than {MAX_VALUES} values (at offset {self.pos})")
        self.stack.append(Ref(value, self.pos if begin is None else begin, self.s.pos))

    def pop(self) -> Ref:
        if not self.stack:
            raise ScanError(f"an opcode at offset {self.pos} pops from an empty stack")
        return self.stack.pop()

    def top(self) -> Ref:
        if not self.stack:
            raise ScanError(f"an opcode at offset {self.pos} needs a value but the stack is empty")
        return self.stack[-1]

    def mark(self) -> None:
        if len(self.metastack) >= MAX_MARKS:
            raise ScanError(f"more than {MAX_MARKS} MARKs are open at offset {self.pos}")
        self.metastack.append((self.stack, self.pos))
        self.stack = []

    def pop_mark(self) -> tuple[list[Ref], int]:
        if not self.metastack:
            raise ScanError(f"an opcode at offset {self.pos} needs a MARK but none is open")
        items = self.stack
        self.stack, mark_pos = self.metastack.pop()
        return items, mark_pos

    def memoize(self, idx: int) -> None:
        if idx not in self.memo and len(self.memo) >= MAX_MEMO:
            raise ScanError(f"the memo grows past {MAX_MEMO} entries at offset {self.pos}")
        r = self.top()
        self.memo[idx] = r
        r.end = self.s.pos

    # -- opcode semantics
    def _global(self, module: str, name: str) -> Global:
        key = resolve(module, name, self.protocol)
        if key != (module, name):
            self.aliases[key] = (module, name)
        self.globals[key] += 1
        return Global(*key)

    def _call(self, func: Value, args: Ref, how: str) -> Value:
        if not isinstance(func, Global):
            self.constructs.append((
                "unknown", f"a call of a value built in the stream (offset {self.pos})",
                "the callable is not a named global (a chain such as getattr(...)(...) or type(x)(...)), "
                "so the allowlist cannot judge what runs"))
        if isinstance(func, Global):
            if (func.module, func.name) in NESTED_LOADERS:
                self._nested_pickle(func, args)
            hook = self.reducers.get((func.module, func.name))
            if hook is not None:
                out = hook(self, func, args)
                if out is not None:
                    return out
        return Obj(cls=func, args=args, how=how)

    def _nested_pickle(self, func: Global, args: Ref) -> None:
        """``pickle.loads(payload)``: the payload is a pickle the loader runs too; scan it."""
        items = args.value.items if isinstance(args.value, Seq) else []
        arg = items[0].value if items else None
        data: bytes | None = None
        if isinstance(arg, Scalar) and isinstance(arg.value, (bytes, str)):
            data = arg.value if isinstance(arg.value, bytes) else arg.value.encode("latin-1", "replace")
        elif isinstance(arg, Blob) and arg.offset is not None and arg.length <= MAX_NESTED_BYTES:
            data = self.s.peek_at(arg.offset, arg.length) if arg.length == arg.nbytes else None
        if data is None:
            self.notes.append(f"{func.qualname} at offset {self.pos} unpickles a payload that was not scanned.")
            return
        if self.depth >= MAX_NESTED:
            self.notes.append(f"Pickles nest deeper than {MAX_NESTED} levels; the payload of {func.qualname} at "
                              f"offset {self.pos} (level {self.depth + 1}) was not scanned.")
            return
        try:
            inner = Scanner(Stream(io.BytesIO(data), len(data)), self.reducers, None, self.depth + 1).run()
        except ScanError as exc:
            self.notes.append(f"{func.qualname} at offset {self.pos} unpickles a payload that is not a valid "
                              f"pickle ({exc}).")
            return
        self.nested.append(inner)
        self.globals.update(inner.globals)
        self.aliases.update(inner.aliases)
        self.constructs.extend(inner.constructs)
        self.notes.extend(inner.notes)

    def _build(self, target: Ref, state: Ref) -> None:
        obj = target.value
        if isinstance(obj, Global):
            self.constructs.append((
                "dangerous", f"BUILD on the class {obj.qualname} (offset {self.pos})",
                "it sets attributes of a class object (class-state tampering, e.g. PosixPath.exists = bool): "
                "loading rewrites the process without running a named function"))
        if isinstance(obj, DType):
            dtype_state(obj, state)
        elif isinstance(obj, Obj):
            obj.state = state
            cls = obj.cls
            if isinstance(cls, Global) and cls.name == "ndarray" and obj.how == "ndarray":
                obj.array = numpy_state(self, state)
            elif isinstance(cls, Global) and cls.name == "NumpyArrayWrapper" and cls.module.endswith("numpy_pickle"):
                obj.array = self._joblib_array(state)
            elif isinstance(cls, Global) and cls.name in ("NDArrayWrapper", "ZNDArrayWrapper"):
                # old joblib: the array lives in a sibling file that joblib.load opens with np.load(allow_pickle)
                self.side_files.append((cls.qualname, scalar(dict_of(state).get("filename"))))
        # other targets (dicts, scalars …) get plain values or would fail at load time: nothing to record

    def _joblib_array(self, state: Ref) -> Array:
        """joblib writes the array bytes right after the wrapper's BUILD; skip them."""
        st = dict_of(state)
        shape = int_tuple(st.get("shape"))
        dtype_ref = st.get("dtype")
        dt = dtype_ref.value if dtype_ref is not None else None
        if shape is None or not isinstance(dt, DType):
            raise ScanError(f"a joblib array wrapper before offset {self.s.pos} has no readable shape or dtype")
        numel = math.prod(shape)
        if has_object(dt):  # joblib pickles arrays whose dtype holds objects (structured ones too)
            if self.depth >= MAX_NESTED:
                raise ScanError(f"object arrays nest deeper than {MAX_NESTED} levels")
            at = self.s.pos
            inner = Scanner(self.s, self.reducers, self.persistent, self.depth + 1).run()
            self.nested.append(inner)
            self.globals.update(inner.globals)
            self.aliases.update(inner.aliases)
            self.constructs.extend(inner.constructs)
            self.notes.extend(inner.notes)
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
            arr.layout = dt.layout
        return self.new_array(arr)


def has_object(dt: DType) -> bool:
    """Whether a dtype holds Python objects (``O``, or a structured dtype with an ``O`` field or
    fields we could not read): numpy and joblib pickle such arrays instead of writing bytes."""
    if dt.spec.lstrip("<>|=").startswith("O"):
        return True
    if dt.fields:
        return dt.layout is None or any(has_object(sub) for _, sub, _ in dt.layout)
    return False


# --------------------------------------------------------------------------- opcode handlers
# Each handler runs one opcode on the scanner and returns True only for STOP.

Handler = Callable[[Scanner], "bool | None"]


def _proto(sc: Scanner) -> None:
    sc.protocol = sc.s.read(1)[0]
    if sc.protocol > 5:
        raise ScanError(f"pickle protocol {sc.protocol} at offset {sc.pos} is not supported (max 5)")


def _constant(value: Scalar) -> Handler:
    return lambda sc: sc.push(value)


def _packed(fmt: str, size: int) -> Handler:
    return lambda sc: sc.push(Scalar(struct.unpack(fmt, sc.s.read(size))[0]))


def _long(sc: Scanner, n: int) -> None:
    if n < 0 or n > 1 << 16:
        raise ScanError(f"a {n}-byte integer at offset {sc.pos} is out of range")
    sc.push(Scalar(int.from_bytes(sc.s.read(n), "little", signed=True)))


def _float(sc: Scanner) -> None:
    try:
        sc.push(Scalar(float(sc.s.readline())))
    except ValueError:
        raise ScanError(f"a FLOAT at offset {sc.pos} is not a number") from None


def _bytes(op: str) -> Handler:
    kind = "bytearray" if op == "BYTEARRAY8" else "bytes"

    def handler(sc: Scanner) -> None:
        n = _length(sc.s, op)
        if n <= 256:
            sc.push(Scalar(sc.s.read(n)))
        else:
            at = sc.s.pos
            sc.s.skip(n)
            sc.push(Blob(at, n, kind))
    return handler


def _unicode(op: str) -> Handler:
    def handler(sc: Scanner) -> None:
        n = _length(sc.s, op)
        if n <= SMALL_PAYLOAD:
            try:
                sc.push(Scalar(sc.s.read(n).decode("utf-8", "surrogatepass")))
            except UnicodeDecodeError:
                raise ScanError(f"a string at offset {sc.pos} is not valid UTF-8") from None
        else:
            at = sc.s.pos
            sc.push(Blob(at, n, "str", nbytes=sc.s.count_utf8_chars(n)))
    return handler


def _text(op: str) -> Handler:
    def handler(sc: Scanner) -> None:
        text = sc.s.text_payload()
        if isinstance(text, Scalar) and op == "UNICODE":
            text = Scalar(text.value.decode("raw_unicode_escape", "replace"))
        elif isinstance(text, Scalar):
            text = Scalar(_unquote(text.value))
        sc.push(text)
    return handler


def _next_buffer(sc: Scanner) -> None:
    sc.push(Blob(None, 0, "buffer"))


def _empty(make: Callable[[], Value]) -> Handler:
    return lambda sc: sc.push(make())


def _tuple_n(n: int) -> Handler:
    def handler(sc: Scanner) -> None:
        if len(sc.stack) < n:
            raise ScanError(f"TUPLE{n} at offset {sc.pos} needs {n} values on the stack")
        items = sc.stack[-n:]
        del sc.stack[-n:]
        sc.push(Seq("tuple", items), min([r.start for r in items] + [sc.pos]))
    return handler


def _marked_seq(kind: str) -> Handler:
    def handler(sc: Scanner) -> None:
        items, mark_pos = sc.pop_mark()
        sc.push(Seq(kind, items), mark_pos)
    return handler


def _dict(sc: Scanner) -> None:
    items, mark_pos = sc.pop_mark()
    if len(items) % 2:
        raise ScanError(f"DICT at offset {sc.pos} has an odd number of items")
    sc.push(Dict([(key_of(k), v) for k, v in zip(items[::2], items[1::2])]), mark_pos)


def _append(sc: Scanner) -> None:
    item = sc.pop()
    _extend(sc.top(), [item])
    sc.top().end = sc.s.pos


def _appends(sc: Scanner) -> None:
    items, _ = sc.pop_mark()
    _extend(sc.top(), items)
    sc.top().end = sc.s.pos


def _setitem(sc: Scanner) -> None:
    v = sc.pop()
    k = sc.pop()
    _setitems(sc.top(), [k, v])
    sc.top().end = sc.s.pos


def _setitems_op(sc: Scanner) -> None:
    items, _ = sc.pop_mark()
    if len(items) % 2:
        raise ScanError(f"SETITEMS at offset {sc.pos} has an odd number of items")
    _setitems(sc.top(), items)
    sc.top().end = sc.s.pos


def _pop(sc: Scanner) -> None:
    if sc.stack:
        sc.stack.pop()
    else:
        sc.pop_mark()


def _dup(sc: Scanner) -> None:
    sc.push(sc.top().value)


def _index(op: str, sc: Scanner) -> int:
    if op in ("PUT", "GET"):
        return _decimal(sc.s.readline(), sc.pos)
    if op in ("BINPUT", "BINGET"):
        return sc.s.read(1)[0]
    return struct.unpack("<I", sc.s.read(4))[0]


def _put(op: str) -> Handler:
    def handler(sc: Scanner) -> None:
        sc.memoize(len(sc.memo) if op == "MEMOIZE" else _index(op, sc))
    return handler


def _get(op: str) -> Handler:
    def handler(sc: Scanner) -> None:
        idx = _index(op, sc)
        if idx not in sc.memo:
            raise ScanError(f"{op} at offset {sc.pos} refers to memo slot {idx}, which was never set")
        sc.push(sc.memo[idx].value)
    return handler


def _global_op(inst: bool) -> Handler:
    def handler(sc: Scanner) -> None:
        module = sc.s.readline().decode("utf-8", "replace")
        name = sc.s.readline().decode("utf-8", "replace")
        g = sc._global(module, name)
        if not inst:
            sc.push(g)
            return
        items, mark_pos = sc.pop_mark()
        args = Ref(Seq("tuple", items), mark_pos, sc.s.pos)
        sc.push(sc._call(g, args, "inst"), mark_pos)
    return handler


def _stack_global(sc: Scanner) -> None:
    name_ref = sc.pop()
    mod_ref = sc.pop()
    module, name = scalar(mod_ref), scalar(name_ref)
    if not isinstance(module, str) or not isinstance(name, str):
        raise ScanError(f"STACK_GLOBAL at offset {sc.pos} needs two strings")
    sc.push(sc._global(module, name), mod_ref.start)


def _ext(n: int) -> Handler:
    def handler(sc: Scanner) -> None:
        code = int.from_bytes(sc.s.read(n), "little")
        sc.push(sc._global("copyreg", f"<extension {code}>"))
    return handler


def _reduce(how: str, kwargs: bool = False) -> Handler:
    def handler(sc: Scanner) -> None:
        if kwargs:
            sc.pop()
        args = sc.pop()
        func = sc.pop()
        sc.push(sc._call(func.value, args, how), func.start)
    return handler


def _obj(sc: Scanner) -> None:
    items, mark_pos = sc.pop_mark()
    if not items:
        raise ScanError(f"OBJ at offset {sc.pos} has no class")
    args = Ref(Seq("tuple", items[1:]), mark_pos, sc.s.pos)
    sc.push(sc._call(items[0].value, args, "obj"), mark_pos)


def _build_op(sc: Scanner) -> None:
    state = sc.pop()
    target = sc.top()
    sc._build(target, state)
    target.end = sc.s.pos


def _persid(binary: bool) -> Handler:
    def handler(sc: Scanner) -> None:
        if binary:
            pid = sc.pop()
        else:
            pid = Ref(Scalar(sc.s.readline().decode("ascii", "replace")), sc.pos, sc.s.pos)
        info = sc.persistent(pid.value) if sc.persistent else None
        sc.push(Persistent(pid.value, info), pid.start if binary else sc.pos)
    return handler


def _ignore(n: int) -> Handler:
    def handler(sc: Scanner) -> None:
        if n:
            sc.s.read(n)
    return handler


_BY_NAME: dict[str, Handler] = {
    # constants
    "PROTO": _proto, "FRAME": _ignore(8), "STOP": lambda sc: True,
    "NONE": _constant(_NONE), "NEWTRUE": _constant(_TRUE), "NEWFALSE": _constant(_FALSE),
    "BININT": _packed("<i", 4), "BININT1": _packed("<B", 1), "BININT2": _packed("<H", 2),
    "LONG1": lambda sc: _long(sc, sc.s.read(1)[0]),
    "LONG4": lambda sc: _long(sc, struct.unpack("<i", sc.s.read(4))[0]),
    "INT": lambda sc: sc.push(Scalar(_decimal(sc.s.readline(), sc.pos))),
    "LONG": lambda sc: sc.push(Scalar(_decimal(sc.s.readline(), sc.pos))),
    "FLOAT": _float, "BINFLOAT": _packed(">d", 8),
    **{op: _bytes(op) for op in ("SHORT_BINBYTES", "BINBYTES", "BINBYTES8", "BYTEARRAY8", "SHORT_BINSTRING",
                                 "BINSTRING")},
    **{op: _unicode(op) for op in ("SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8")},
    "UNICODE": _text("UNICODE"), "STRING": _text("STRING"),
    "NEXT_BUFFER": _next_buffer, "READONLY_BUFFER": _ignore(0),
    # containers
    "EMPTY_LIST": _empty(lambda: Seq("list")), "EMPTY_TUPLE": _empty(lambda: Seq("tuple")),
    "EMPTY_DICT": _empty(Dict), "EMPTY_SET": _empty(lambda: Seq("set")),
    "TUPLE1": _tuple_n(1), "TUPLE2": _tuple_n(2), "TUPLE3": _tuple_n(3),
    "TUPLE": _marked_seq("tuple"), "LIST": _marked_seq("list"), "FROZENSET": _marked_seq("frozenset"),
    "DICT": _dict, "APPEND": _append, "APPENDS": _appends, "ADDITEMS": _appends,
    "SETITEM": _setitem, "SETITEMS": _setitems_op,
    # stack and memo
    "MARK": Scanner.mark, "POP": _pop, "POP_MARK": lambda sc: sc.pop_mark() and None, "DUP": _dup,
    **{op: _put(op) for op in ("PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE")},
    **{op: _get(op) for op in ("GET", "BINGET", "LONG_BINGET")},
    # globals and objects
    "GLOBAL": _global_op(inst=False), "INST": _global_op(inst=True), "STACK_GLOBAL": _stack_global,
    "EXT1": _ext(1), "EXT2": _ext(2), "EXT4": _ext(4),
    "REDUCE": _reduce("reduce"), "NEWOBJ": _reduce("newobj"), "NEWOBJ_EX": _reduce("newobj", kwargs=True),
    "OBJ": _obj, "BUILD": _build_op, "PERSID": _persid(False), "BINPERSID": _persid(True),
}
#: opcode byte → handler; every opcode of protocols 0-5 has one.
_HANDLERS: dict[int, Handler] = {ord(op.code): _BY_NAME[op.name] for op in pickletools.opcodes}


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


def _extend(target: Ref, items: list[Ref]) -> None:
    v = target.value
    if isinstance(v, Seq):
        v.items.extend(items)
    elif isinstance(v, Obj):
        v.list_items.extend(items)
    # appending to anything else would fail at load time; nothing to record


def _setitems(target: Ref, items: list[Ref]) -> None:
    pairs = [(key_of(k), v) for k, v in zip(items[::2], items[1::2])]
    v = target.value
    if isinstance(v, Dict):
        v.items.extend(pairs)
    elif isinstance(v, Obj):
        v.dict_items.extend(pairs)



def scan(stream: Stream, **kwargs: Any) -> ScanResult:
    """Scan one pickle stream from the stream's current position."""
    return Scanner(stream, **kwargs).run()

"""How NumPy arrays (and a few containers) appear in a pickle, as REDUCE hooks of the scanner.

``ndarray.__reduce__`` gives ``_reconstruct(ndarray, (0,), b'b')`` then ``BUILD`` with
``(version, shape, dtype, is_fortran, raw_bytes)``; protocol 5 uses ``_frombuffer``; protocol 2
writes bytes as ``_codecs.encode(text, 'latin1')``; a dtype is ``numpy.dtype(spec)`` + ``BUILD``.
The hooks turn these into :class:`~.pickle_values.Array` values with exact byte counts, without
reading the array data.
"""

from __future__ import annotations

import math
import re
from typing import Any

from .pickle_values import Array, Blob, DType, Dict, Global, Obj, Reducer, Ref, Scalar, Seq, Value, int_tuple, scalar

_NP_MULTIARRAY = ("numpy.core.multiarray", "numpy._core.multiarray")
_NP_NUMERIC = ("numpy.core.numeric", "numpy._core.numeric")
_DTYPE_SPEC = re.compile(r"^[<>|=]?[A-Za-z]\d{0,9}$")


def _np_dtype(scanner: Any, func: Global, args: Ref) -> Value:
    spec = scalar(args.value.items[0]) if isinstance(args.value, Seq) and args.value.items else None
    if isinstance(spec, bytes):  # Python 2 wrote the spec as a byte string ('f8')
        spec = spec.decode("latin-1")
    if not isinstance(spec, str):
        return DType(spec="?")
    dt = DType(spec=spec)
    if _DTYPE_SPEC.match(spec):
        import numpy as np

        try:
            npd = np.dtype(spec)
        except (TypeError, ValueError):
            return dt
        dt.itemsize = npd.itemsize
        dt.name = npd.name
    return dt


def dtype_state(dt: DType, state: Ref) -> None:
    """``numpy.dtype.__setstate__``: (version, byteorder, subarray, names, fields, itemsize, …)."""
    v = state.value
    if not isinstance(v, Seq) or len(v.items) < 6:
        return
    names = v.items[3].value
    itemsize = scalar(v.items[5])
    if isinstance(names, Seq) and names.items:
        dt.fields = [str(scalar(r)) for r in names.items]
        if isinstance(itemsize, int) and itemsize > 0:
            dt.itemsize = itemsize
            dt.name = f"void{itemsize * 8}"
        dt.layout = _field_layout(dt.fields, v.items[4].value)


def _field_layout(names: list[str], fields: Value) -> list[tuple[str, DType, int]] | None:
    """``{name: (dtype, offset)}`` of a structured dtype, in field order; None unless all are known."""
    if not isinstance(fields, Dict):
        return None
    by_name = {str(k): r.value for k, r in fields.items}
    layout = []
    for name in names:
        entry = by_name.get(name)
        if not isinstance(entry, Seq) or len(entry.items) < 2:
            return None
        fdt, offset = entry.items[0].value, scalar(entry.items[1])
        if not isinstance(fdt, DType) or not fdt.itemsize or not isinstance(offset, int) or offset < 0:
            return None
        layout.append((name, fdt, offset))
    return layout


def _np_reconstruct(scanner: Any, func: Global, args: Ref) -> Value | None:
    items = args.value.items if isinstance(args.value, Seq) else []
    cls = items[0].value if items else None
    if isinstance(cls, Global) and cls.name in ("ndarray", "matrix", "memmap", "MaskedArray"):
        return Obj(cls=Global(cls.module, "ndarray"), args=args, how="ndarray")
    return None


def numpy_state(scanner: Any, state: Ref) -> Array | None:
    """``ndarray.__setstate__((version, shape, dtype, is_fortran, rawdata))``; a masked array's state
    adds ``(mask, fill_value)``: its data is the array (``MaskedArray.nbytes``, the live adapter's
    count), its mask stays the owner's state."""
    v = state.value
    if not isinstance(v, Seq) or len(v.items) not in (4, 5, 7):
        return None
    items = v.items if len(v.items) == 4 else v.items[1:5]
    shape = int_tuple(items[0])
    dt = items[1].value
    raw = items[3]
    if shape is None or not isinstance(dt, DType):
        return None
    numel = math.prod(shape)
    if isinstance(raw.value, Seq):  # object array: the elements are pickled objects
        arr = Array("object", shape, 8, raw.end - raw.start, raw.start, "numpy", items=raw)
        return scanner.new_array(arr)
    if isinstance(raw.value, Blob):
        nbytes, offset, encoded = raw.value.nbytes, raw.value.offset, raw.value.length
    elif isinstance(raw.value, Scalar) and isinstance(raw.value.value, (bytes, str)):
        nbytes, offset, encoded = len(raw.value.value), raw.start, len(raw.value.value)
    else:
        return None
    itemsize = dt.itemsize if dt.itemsize is not None else (nbytes / numel if numel else 0)
    arr = Array(dt.name or dt.spec, shape, itemsize, nbytes, offset, "numpy",
                encoded_bytes=encoded if encoded != nbytes else None)
    if dt.fields:
        arr.meta["fields"] = dt.fields
        arr.layout = dt.layout
    return scanner.new_array(arr)


def _np_frombuffer(scanner: Any, func: Global, args: Ref) -> Value | None:
    """Protocol 5: ``_frombuffer(buffer, dtype, shape, order)``."""
    items = args.value.items if isinstance(args.value, Seq) else []
    if len(items) != 4:
        return None
    buf, dt, shape = items[0].value, items[1].value, int_tuple(items[2])
    if not isinstance(dt, DType) or shape is None:
        return None
    if isinstance(buf, Blob):
        nbytes, offset = buf.nbytes, buf.offset
    elif isinstance(buf, Scalar) and isinstance(buf.value, bytes):
        nbytes, offset = len(buf.value), items[0].start
    else:
        return None
    itemsize = dt.itemsize if dt.itemsize is not None else 0
    arr = Array(dt.name or dt.spec, shape, itemsize, nbytes, offset, "numpy",
                meta={"out_of_band": buf.kind == "buffer"} if isinstance(buf, Blob) else {})
    if dt.fields:
        arr.meta["fields"] = dt.fields
        arr.layout = dt.layout
    return Obj(cls=Global("numpy", "ndarray"), args=args, how="frombuffer", array=scanner.new_array(arr))


def _codecs_encode(scanner: Any, func: Global, args: Ref) -> Value | None:
    """Protocol 2 writes bytes as ``_codecs.encode(latin1_text, 'latin1')``."""
    items = args.value.items if isinstance(args.value, Seq) else []
    if not items:
        return None
    text = items[0].value
    if isinstance(text, Blob):
        return Blob(text.offset, text.length, "bytes", nbytes=text.nbytes)
    if isinstance(text, Scalar) and isinstance(text.value, str):
        return Scalar(text.value.encode("latin-1", "replace"))
    return None


def _empty_bytes(scanner: Any, func: Global, args: Ref) -> Value | None:
    """Protocols 0-2 write empty bytes as ``bytes()``: an empty array's data (a predictor's bitsets)."""
    if isinstance(args.value, Seq) and not args.value.items:
        return Scalar(b"")
    return None


def _np_scalar(scanner: Any, func: Global, args: Ref) -> Value | None:
    """``numpy.core.multiarray.scalar(dtype, raw_bytes)``: a 0-d value, reported as a shape-() array."""
    items = args.value.items if isinstance(args.value, Seq) else []
    if len(items) != 2 or not isinstance(items[0].value, DType):
        return None
    dt, raw = items[0].value, items[1]
    if isinstance(raw.value, Scalar) and isinstance(raw.value.value, bytes):
        nbytes = len(raw.value.value)
    elif isinstance(raw.value, Blob):
        nbytes = raw.value.nbytes
    else:
        return None
    arr = Array(dt.name or dt.spec, (), dt.itemsize or nbytes, nbytes, raw.start, "numpy", meta={"scalar": True},
                value=_number(dt, raw.value))
    return Obj(cls=Global("numpy", "generic"), args=args, how="scalar", array=scanner.new_array(arr))


def _ma_reconstruct(scanner: Any, func: Global, args: Ref) -> Value:
    """``numpy.ma.core._mareconstruct(MaskedArray, ndarray, (0,), 'b')``: an array built by BUILD
    (``cv_results_``' parameter columns of a search are masked arrays)."""
    return Obj(cls=Global(func.module, "ndarray"), args=args, how="ndarray")


def _number(dt: DType, raw: Value) -> Any:
    """A NumPy bool, integer or float scalar's value, decoded from its bytes (no object is built
    but a Python number); None for other kinds or when the bytes do not fit the dtype."""
    if dt.name is None or not isinstance(raw, Scalar) or not isinstance(raw.value, bytes):
        return None
    import numpy as np

    npd = np.dtype(dt.spec)  # a plain spec ('<i8'): _np_dtype checked it
    if npd.kind not in "biuf" or len(raw.value) != npd.itemsize:
        return None
    return np.frombuffer(raw.value, dtype=npd)[0].item()


def _ordered_dict(scanner: Any, func: Global, args: Ref) -> Value:
    """``OrderedDict()`` then SETITEMS (Python 3), or ``OrderedDict([[k, v], …])`` (Python 2's reduce)."""
    out = Dict(cls=func.name)
    items = args.value.items if isinstance(args.value, Seq) else []
    if func.name == "OrderedDict" and items and isinstance(items[0].value, Seq):
        for pair in items[0].value.items:
            kv = pair.value
            if isinstance(kv, Seq) and len(kv.items) == 2:
                out.items.append((scalar(kv.items[0]), kv.items[1]))
    return out


def _copyreg_reconstructor(scanner: Any, func: Global, args: Ref) -> Value | None:
    items = args.value.items if isinstance(args.value, Seq) else []
    if items and isinstance(items[0].value, Global):
        return Obj(cls=items[0].value, args=args, how="reconstructor")
    return None


BASE_REDUCERS: dict[tuple[str, str], Reducer] = {}
for _m in _NP_MULTIARRAY:
    BASE_REDUCERS[(_m, "_reconstruct")] = _np_reconstruct
    BASE_REDUCERS[(_m, "scalar")] = _np_scalar
for _m in _NP_NUMERIC:
    BASE_REDUCERS[(_m, "_frombuffer")] = _np_frombuffer
BASE_REDUCERS[("numpy", "dtype")] = _np_dtype
BASE_REDUCERS[("numpy.ma.core", "_mareconstruct")] = _ma_reconstruct
BASE_REDUCERS[("_codecs", "encode")] = _codecs_encode
BASE_REDUCERS[("builtins", "bytes")] = _empty_bytes
BASE_REDUCERS[("collections", "OrderedDict")] = _ordered_dict
BASE_REDUCERS[("collections", "defaultdict")] = _ordered_dict
BASE_REDUCERS[("copyreg", "_reconstructor")] = _copyreg_reconstructor
BASE_REDUCERS[("copy_reg", "_reconstructor")] = _copyreg_reconstructor

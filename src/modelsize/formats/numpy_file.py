"""NumPy ``.npy`` and ``.npz`` files, header-only, with a safety verdict.

An ``.npy`` file is a magic string, a version, a Python-literal header (``descr``, ``fortran_order``,
``shape``) and the raw array bytes. The header is parsed with :func:`ast.literal_eval` (as NumPy
does), never ``eval``; the data is not read. Arrays of Python objects (``descr`` ``|O``, or a
structured dtype with an object field) are stored as a *pickle* that ``np.load(allow_pickle=True)``
— and joblib's ``NDArrayWrapper`` — unpickles: that stream is scanned like any pickle
(:mod:`.pickle_scan`) and judged. An ``.npz`` is a zip of ``.npy`` members, each read the same way.
"""

from __future__ import annotations

import ast
import math
import os
import struct
import zipfile
from pathlib import Path
from typing import Any, BinaryIO

from ..core.errors import InvalidFileError
from ..core.report import Report
from ..core.tensors import Role, TensorRecord
from ._common import FileLayout, build_report, check_expansion, file_section, invalid
from .pickle_scan import ScanError, Stream, scan
from .declarations import NPY_MAGIC as MAGIC

FORMAT = "numpy"
#: Longest header accepted (NumPy's own loader refuses more than 10,000 bytes by default).
MAX_HEADER = 1 << 20
#: Members of an ``.npz`` read at most; past it the file is refused (a real one holds a few hundred).
MAX_MEMBERS = 100_000


def _has_object(dtype: Any) -> bool:
    return bool(dtype.hasobject)


def _header(fh: BinaryIO, size: int, where: str) -> tuple[dict[str, Any], int]:
    """The header dict and the offset of the data, from ``fh`` at the magic."""
    head = fh.read(10)
    if len(head) < 10 or not head.startswith(MAGIC):
        raise ValueError(f"{where} does not start with the .npy magic")
    major = head[6]
    if major == 1:
        hlen, start = struct.unpack("<H", head[8:10])[0], 10
    elif major in (2, 3):
        hlen, start = struct.unpack("<I", head[8:10] + fh.read(2))[0], 12
    else:
        raise ValueError(f"{where} has .npy version {major}.{head[7]}, not 1, 2 or 3")
    if hlen > MAX_HEADER or start + hlen > size:
        raise ValueError(f"{where} declares a {hlen}-byte header (at most {min(MAX_HEADER, size - start)} possible)")
    text = fh.read(hlen).decode("utf-8" if major == 3 else "latin-1", "replace")
    try:
        header = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        raise ValueError(f"{where} has a header that is not a Python literal") from None
    if not isinstance(header, dict) or not {"descr", "fortran_order", "shape"} <= set(header):
        raise ValueError(f"{where} has a header without descr, fortran_order and shape")
    shape = header["shape"]
    if not isinstance(shape, tuple) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise ValueError(f"{where} has an invalid shape {shape!r}")
    return header, start + hlen


def _dtype(descr: Any, where: str) -> Any:
    import numpy as np

    try:
        return np.dtype(descr if isinstance(descr, str) else [tuple(f) for f in descr])
    except (TypeError, ValueError, MemoryError):
        raise ValueError(f"{where} has a dtype {str(descr)[:80]!r} NumPy does not know") from None


def _array(fh: BinaryIO, size: int, name: str, where: str) -> tuple[TensorRecord, dict[str, Any], int]:
    """One ``.npy`` stream: its record, its security section (object arrays) and its data bytes."""
    header, data_at = _header(fh, size, where)
    dtype = _dtype(header["descr"], where)
    shape = header["shape"]
    numel = math.prod(shape)
    if _has_object(dtype):
        try:
            result = scan(Stream(fh, size, data_at))
        except ScanError as exc:
            from .safety import aborted

            raise aborted(where, FORMAT, exc, "its object array's pickle: ") from None
        from .pickle_tree import globals_section

        sec = globals_section(result)
        nbytes = result.end - data_at
        rec = TensorRecord(name, shape, "object", role=Role.METADATA, stored_bytes=nbytes, bits=64,
                           meta={"pickled": True})
        return rec, sec, nbytes
    nbytes = numel * dtype.itemsize
    if data_at + nbytes > size:
        raise ValueError(f"{where} declares {nbytes} bytes of data but only {size - data_at} follow the header")
    dt = dtype.name if dtype.fields is None else f"void{dtype.itemsize * 8}"
    rec = TensorRecord(name, shape, dt, stored_bytes=nbytes, bits=dtype.itemsize * 8,
                       meta={"fortran_order": bool(header["fortran_order"])})
    return rec, {}, nbytes


def read_npy(path: Path) -> Report:
    size = os.path.getsize(path)
    try:
        with path.open("rb") as fh:
            rec, sec, nbytes = _array(fh, size, path.stem, str(path))
    except ValueError as exc:
        if isinstance(exc, InvalidFileError):
            raise
        raise invalid(path, FORMAT, str(exc).replace(str(path), "it")) from None
    return _report(path, [rec], [FileLayout(path.name, size, {"tensor_data": nbytes})], {path.stem: sec})


def read_npz(path: Path) -> Report:
    size = os.path.getsize(path)
    records, secs, data = [], {}, 0
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:
        raise invalid(path, FORMAT, f"its zip directory cannot be read ({exc})") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise invalid(path, FORMAT, f"it lists {len(infos)} members (at most {MAX_MEMBERS} are read)")
        for info in infos:
            if not info.filename.endswith(".npy"):  # np.load returns other members as bytes: nothing runs
                continue
            name = info.filename.removesuffix(".npy")
            check_expansion(path, FORMAT, info.filename, info.compress_size, info.file_size)
            try:
                with zf.open(info) as fh:
                    rec, sec, nbytes = _array(fh, info.file_size, name, f"{path}:{info.filename}")
            except ValueError as exc:
                if isinstance(exc, InvalidFileError):
                    raise
                raise invalid(path, FORMAT, str(exc).replace(f"{path}:", "member ")) from None
            except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
                raise invalid(path, FORMAT, f"member {info.filename!r} cannot be read ({exc})") from None
            records.append(rec)
            secs[name] = sec
            data += info.compress_size
    layout = FileLayout(path.name, size, {"tensor_data": data, "zip_structure": size - data})
    return _report(path, records, [layout], secs)


def _report(path: Path, records: list[TensorRecord], layouts: list[FileLayout],
            secs: dict[str, dict[str, Any]]) -> Report:
    """One ``numpy`` section: the arrays' pickles judged together (each listed under ``streams``)."""
    from .safety import worst

    pickled = {k: v for k, v in secs.items() if v}
    streams = [{"stream": f"{k} (object array pickle)", "verdict": v["verdict"], "dangerous": v["dangerous"],
                "unknown": v["unknown"]} for k, v in pickled.items()]
    section: dict[str, Any] = {
        "arrays": len(records),
        "object_arrays": sorted(pickled),
        "verdict": worst(s["verdict"] for s in streams),
        "globals": [g for v in pickled.values() for g in v["globals"]],
        "constructs": [c for v in pickled.values() for c in v.get("constructs", [])],
        "stream_name": "arrays" if not pickled else "object arrays",
    }
    notes = []
    if pickled:
        notes.append(f"{len(pickled)} object arrays ({', '.join(sorted(pickled)[:3])}) are pickles that "
                     "np.load(allow_pickle=True) would unpickle; their streams were judged without loading them.")
    return build_report(path, FORMAT, records, framework="numpy", object_type="arrays",
                        sections={"file": file_section(FORMAT, layouts), "numpy": section}, notes=notes)


class NumpyReader:
    """``.npy`` (magic ``\\x93NUMPY``) and ``.npz`` (a zip of ``.npy`` members)."""

    name = "numpy"

    def sniff(self, path: Path, head: bytes) -> bool:
        if head.startswith(MAGIC):
            return True
        if head.startswith(b"PK\x03\x04") and path.suffix.lower() == ".npz":
            return True
        return False

    def read(self, path: Path) -> Report:
        with path.open("rb") as fh:
            head = fh.read(len(MAGIC))
        return read_npy(path) if head == MAGIC else read_npz(path)

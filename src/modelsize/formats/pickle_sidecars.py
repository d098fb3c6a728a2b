"""Side-car arrays a pickle lists (gensim's ``SaveLoad``): read header-only from beside the file.

``gensim``'s ``save()`` takes large arrays out of an object before pickling it, writes each with
``np.save`` to ``<file>.<attribute path>.npy`` (``.npz`` with ``compress``), and lists them in
the object's pickled ``__dict__``:

* ``__numpys``: dense arrays → ``<file>.<path>.<attr>.npy``;
* ``__scipys``: sparse matrices → ``<file>.<path>.<attr>.{data,indptr,indices}.npy`` plus the
  array-less matrix pickled in ``<file>.<path>.<attr>.sparse.npy``;
* ``__ignoreds``: attributes dropped on purpose (loaded as ``None``).

``<path>`` is the attribute path of the object inside the saved one (``wv`` for a Word2Vec's
vectors). Each side-car's NumPy header gives shape and dtype; the array bytes are not read.
A side-car that is missing or not a NumPy file is a note naming it.
"""

from __future__ import annotations

import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from ..core.tensors import Role, TensorRecord
from ..core.tree import join
from ._common import FileLayout
from .pickle_values import Obj, Scalar, Seq, state_items

LISTS = ("__numpys", "__scipys", "__ignoreds")
SPARSE_PARTS = ("data", "indptr", "indices")
#: NumPy's own cap on a header (``np.load``'s ``max_header_size``).
MAX_HEADER = 10000


@dataclass
class SideCars:
    """What the side-car files of one pickle added to its report."""

    records: list[TensorRecord] = field(default_factory=list)
    layouts: list[FileLayout] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def listing(obj: Obj) -> dict[str, list[str]]:
    """``{'__numpys': [...], '__scipys': [...], '__ignoreds': [...]}`` of an object, empty when it lists none."""
    out: dict[str, list[str]] = {}
    for key, ref in state_items(obj):
        if key in LISTS and isinstance(ref.value, Seq):
            names = [r.value.value for r in ref.value.items if isinstance(r.value, Scalar)]
            out[key] = [n for n in names if isinstance(n, str)]
    return out


def _npy_header(fh: BinaryIO) -> tuple[tuple[int, ...], np.dtype]:
    """(shape, dtype) from a ``.npy`` header (NumPy's own safe header parser); ValueError if it is not one."""
    version = np.lib.format.read_magic(fh)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(fh, max_header_size=MAX_HEADER)
    elif version in ((2, 0), (3, 0)):
        shape, _, dtype = np.lib.format.read_array_header_2_0(fh, max_header_size=MAX_HEADER)
    else:
        raise ValueError(f"NumPy format version {version} is not known")
    return shape, dtype


def _header_of(path: Path, member: str | None) -> tuple[tuple[int, ...], np.dtype, int, int]:
    """(shape, dtype, header bytes, file bytes) of an ``.npy`` file, or of a member of an ``.npz``
    (``member``, else its first array); only the member's first bytes are decompressed."""
    size = path.stat().st_size
    if path.suffix == ".npz":
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if n.endswith(".npy") and (member is None or n == f"{member}.npy")]
            if not names:
                raise ValueError(f"the .npz archive holds no {member or 'array'}.npy member")
            with zf.open(names[0]) as member_fh:
                shape, dtype = _npy_header(member_fh)
        return shape, dtype, 0, size
    with path.open("rb") as fh:
        shape, dtype = _npy_header(fh)
        return shape, dtype, fh.tell(), size


def _record(file: Path, path: str, role: Role,
            member: str | None = None) -> tuple[TensorRecord | None, FileLayout | None, str | None]:
    if not file.is_file():
        return None, None, f"The side-car array {path!r} should be in {file.name!r} beside the pickle; it is missing."
    try:
        shape, dtype, header, size = _header_of(file, member)
    except (ValueError, OSError, EOFError, SyntaxError, zipfile.BadZipFile) as exc:
        return None, None, f"The side-car {file.name!r} of {path!r} is not a NumPy array file ({exc})."
    numel = math.prod(shape)
    nbytes = numel * dtype.itemsize
    if dtype.hasobject:
        role = Role.METADATA  # pickled Python objects, not numbers
    stored = nbytes if file.suffix == ".npy" else None  # compressed: the archive's bytes are on its layout
    record = TensorRecord(path=path, shape=tuple(shape), dtype=dtype.name, bits=dtype.itemsize * 8, role=role,
                          stored_bytes=stored, storage_key=f"sidecar:{file.name}:{member or ''}",
                          meta={"source": "side-car", "file": file.name})
    split = {"tensor_data": nbytes, "header": header} if file.suffix == ".npy" else {"compressed_stream": size}
    if file.suffix == ".npy" and size > nbytes + header:
        split["trailing"] = size - nbytes - header
    return record, FileLayout(file.name, size, split), None


def read(pickle_file: Path, obj_path: str, lists: dict[str, list[str]], role_of: Any) -> SideCars:
    """Records for the side-cars an object at ``obj_path`` lists; ``role_of(path)`` gives each its role."""
    out = SideCars()
    compressed = pickle_file.name.endswith((".gz", ".bz2"))
    suffix = ".npz" if compressed else ".npy"
    stem = f"{pickle_file.name}.{obj_path}." if obj_path else f"{pickle_file.name}."
    for attr in lists.get("__numpys", []):
        _add(out, pickle_file.with_name(f"{stem}{attr}{suffix}"), join(obj_path, attr), role_of)
    for attr in lists.get("__scipys", []):
        for part in SPARSE_PARTS:  # compressed: one .npz holds data, indptr and indices
            name = f"{stem}{attr}.{part}.npy" if not compressed else f"{stem}{attr}.sparse.npz"
            _add(out, pickle_file.with_name(name), join(join(obj_path, attr), part), role_of,
                 Role.INDEX if part != "data" else None, part if compressed else None)
        sparse = pickle_file.with_name(f"{stem}{attr}.sparse.npy")
        if not compressed and sparse.is_file():
            out.layouts.append(FileLayout(sparse.name, sparse.stat().st_size, {"object_state": sparse.stat().st_size}))
            out.notes.append(f"{sparse.name!r} (the sparse matrix {join(obj_path, attr)!r} without its arrays) is a "
                             "pickle of its own; loading the model would unpickle it. It was not scanned.")
    ignored = lists.get("__ignoreds", [])
    if ignored:
        where = f" of {obj_path!r}" if obj_path else ""
        out.notes.append(f"Attributes{where} left out of the saved file on purpose (loaded as None): "
                         f"{', '.join(ignored)}.")
    return out


def _add(out: SideCars, file: Path, path: str, role_of: Any, role: Role | None = None,
         member: str | None = None) -> None:
    record, layout, note = _record(file, path, role or role_of(path), member)
    if record is not None:
        out.records.append(record)
    if layout is not None and all(known.path != layout.path for known in out.layouts):
        out.layouts.append(layout)
    if note is not None:
        out.notes.append(note)

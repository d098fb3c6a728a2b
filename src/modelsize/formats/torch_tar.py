"""Pre-1.0 ``torch.save`` files: a tar archive with ``storages``, ``tensors`` and ``pickle`` members.

``torch.load(weights_only=False)`` still opens them (any file that is a tar archive), and it
unpickles many streams: in ``storages`` a count, then per storage its ``(key, location, type)``
and the raw bytes, then the storage views; in ``tensors`` a count, then per tensor its
``(key, storage id, type)`` and packed sizes; and the ``pickle`` member, the object itself. Every
one of those streams is judged here (:func:`read_tar`); tensor sizes are not decoded (a note says
so), so the report holds the verdict and the file's bytes, never a silent zero.
"""

from __future__ import annotations

import os
import struct
import tarfile
from pathlib import Path
from typing import Any, BinaryIO

from ..core.report import Report
from ._common import FileLayout, build_report, file_section, invalid
from .pickle_scan import ScanError, Scanner, Stream
from .pickle_tree import globals_section, security_notes
from .pickle_values import Global, Seq, scalar
from .safety import aborted

FORMAT = "pytorch"
MEMBERS = ("storages", "tensors", "pickle")
#: Storages or tensors one member may declare (each costs at least one opcode and 8 bytes).
MAX_ITEMS = 1 << 22
_ELEMENT_BYTES = {"Double": 8, "Float": 4, "Half": 2, "BFloat16": 2, "Long": 8, "Int": 4, "Short": 2, "Char": 1,
                  "Byte": 1, "Bool": 1, "ComplexFloat": 8, "ComplexDouble": 16, "QInt8": 1, "QUInt8": 1, "QInt32": 4}


def is_torch_tar(path: Path) -> bool:
    """A tar archive (``ustar`` at 257) with a ``pickle`` member among its first entries."""
    try:
        with path.open("rb") as fh:
            block = fh.read(512)
        if block[257:262] != b"ustar":
            return False
        with tarfile.open(path, mode="r:") as tar:
            names = []
            for _ in range(16):
                info = tar.next()
                if info is None:
                    break
                names.append(info.name)
        return "pickle" in names
    except (OSError, tarfile.TarError, ValueError):
        return False


def _count(scanner_result: Any, what: str) -> int:
    n = scalar(scanner_result.root)
    if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= MAX_ITEMS:
        raise ScanError(f"the {what} count is {n!r} (0 to {MAX_ITEMS} allowed)")
    return n


def _storage_stream(fh: BinaryIO, size: int, results: list[Any]) -> None:
    """``storages``: count, then per storage a pickle, an int64 element count and the bytes; then the views."""
    s = Stream(fh, size)
    first = Scanner(s).run()
    results.append(first)
    for _ in range(_count(first, "storage")):
        args = Scanner(s).run()
        results.append(args)
        v = args.root.value
        stype = v.items[2].value if isinstance(v, Seq) and len(v.items) == 3 else None
        name = stype.name.removesuffix("Storage") if isinstance(stype, Global) else None
        if name not in _ELEMENT_BYTES:
            raise ScanError(f"a storage at offset {args.start} has type {stype!r}, not a torch storage class")
        numel = struct.unpack("<q", s.read(8))[0]
        s.skip(numel * _ELEMENT_BYTES[name])
    results.append(Scanner(s).run())


def _tensor_stream(fh: BinaryIO, size: int, results: list[Any]) -> None:
    """``tensors``: count, then per tensor a pickle and packed ndim, sizes, strides and offset."""
    s = Stream(fh, size)
    first = Scanner(s).run()
    results.append(first)
    for _ in range(_count(first, "tensor")):
        results.append(Scanner(s).run())
        ndim = struct.unpack("<i", s.read(4))[0]
        if not 0 <= ndim <= 64:
            raise ScanError(f"a tensor at offset {s.pos - 4} has {ndim} dimensions")
        s.skip(4 + 16 * ndim + 8)


def read_tar(path: Path) -> Report:
    """The verdict of every stream of a pre-1.0 tar checkpoint (the sizes of its tensors are not decoded)."""
    results: list[Any] = []
    try:
        with tarfile.open(path, mode="r:") as tar:
            members = {m.name: m for m in tar.getmembers()[:64]}
            missing = [m for m in MEMBERS if m not in members]
            if missing:
                raise invalid(path, FORMAT, f"the tar checkpoint has no {', '.join(missing)} member")
            for name, walk in (("storages", _storage_stream), ("tensors", _tensor_stream)):
                fh = tar.extractfile(members[name])
                if fh is None:
                    raise invalid(path, FORMAT, f"its {name} member is not a file")
                walk(fh, members[name].size, results)
            fh = tar.extractfile(members["pickle"])
            if fh is None:
                raise invalid(path, FORMAT, "its pickle member is not a file")
            main = Scanner(Stream(fh, members["pickle"].size)).run()
    except ScanError as exc:
        raise aborted(path, FORMAT, exc, "tar checkpoint: ") from None
    except (tarfile.TarError, EOFError, struct.error) as exc:
        raise invalid(path, FORMAT, f"its tar archive cannot be read ({exc})") from None
    for extra in results:
        main.globals.update(extra.globals)
        main.aliases.update(extra.aliases)
        main.constructs.extend(extra.constructs)
    size = os.path.getsize(path)
    section = {"format": "tar", "pickle_protocol": main.protocol, "streams_judged": len(results) + 1,
               **globals_section(main)}
    notes = security_notes(section, "torch.load(weights_only=False)") + [
        f"A pre-1.0 tar checkpoint: its {len(results) + 1} pickle streams (storages, tensors, pickle) were judged, "
        "but its tensor sizes are not decoded: parameters are not counted (the file's bytes are)."]
    layout = FileLayout(path.name, size, {"tar_checkpoint": size})
    return build_report(path, FORMAT, [], framework="pytorch", object_type="tar_checkpoint",
                        sections={"file": file_section(FORMAT, [layout]), "pytorch": section}, notes=notes)

"""Exact size of the file ``torch.save(obj, filename)`` writes — computed, not written.

torch's own pickling path tells us every record it would write (:mod:`.torch_records`); the
zip arithmetic of its writer places them (:mod:`.zip_layout`). No tensor byte is read, so this
takes milliseconds for a model of any size, works for models on the ``meta`` device (sized as
the materialised CPU model would be: ``torch.save`` itself cannot write meta data), and for
GPU models without copying them to the host.

The size depends on the file name: every record is stored as ``<stem>/<record>``, where the stem
is the base name without its extension (``archive`` for a file object). So
``torch_save_size(sd, "model.pt")`` and ``torch_save_size(sd, "checkpoint-0001.pt")`` differ.

If torch's private serialization API ever changes shape, we fall back to a *counting sink*:
``torch.save`` into a file object that counts bytes and keeps only the central directory, from
which the records are re-laid out under the requested file name.
"""

from __future__ import annotations

import io
import os
import struct
from dataclasses import dataclass
from typing import Any

from ..core.errors import UnsupportedObjectError
from .torch_records import TorchInternalsChanged, run_torch_pickler
from .zip_layout import BUFFER_ARCHIVE_NAME, ZipLayout, archive_name, end_of_file_records, plan

FilenameLike = str | os.PathLike[str] | None

METHOD_ARITHMETIC = "format arithmetic"
METHOD_META = "format arithmetic (meta tensors sized from storage nbytes; torch.save cannot write meta data)"
METHOD_SINK = "counting sink"


@dataclass(frozen=True)
class TorchSavePlan:
    """The archive ``torch.save`` would write, record by record."""

    layout: ZipLayout
    method: str
    meta_tensors: int = 0  #: meta tensors sized as if materialised on the CPU
    pickle_bytes: bytes = b""  #: ``data.pkl`` (empty when it was not captured)

    @property
    def total(self) -> int:
        return self.layout.total


def storage_alignment() -> int:
    """The data alignment torch.save uses now (``torch.utils.serialization.config.save``)."""
    import torch

    get = getattr(torch.serialization, "_get_storage_alignment", None)
    return int(get()) if get is not None else 64


def plan_torch_save(obj: Any, filename: FilenameLike = "model.pt") -> TorchSavePlan:
    """Every record, offset and byte count of ``torch.save(obj, filename)``, without writing.

    Raises :class:`~.torch_records.NotPicklableError` when torch.save cannot pickle ``obj``.
    """
    archive = archive_name(filename)
    alignment = storage_alignment()
    try:
        result = run_torch_pickler(obj)
    except TorchInternalsChanged:
        return _counting_sink_plan(obj, archive, alignment)
    records = result.records + end_of_file_records({name for name, _ in result.records})
    method = METHOD_META if result.meta_tensors else METHOD_ARITHMETIC
    return TorchSavePlan(plan(records, archive, alignment), method, result.meta_tensors, result.pickle_bytes)


def torch_save_size(obj: Any, filename: FilenameLike = "model.pt") -> int:
    """Size in bytes of the file ``torch.save(obj, filename)`` writes with default settings.

    ``filename=None`` gives the size written to a file object (``torch.save(obj, f)``).
    """
    return plan_torch_save(obj, filename).total


# ------------------------------------------------------------------- counting-sink fallback


class CentralDirectoryCapture(io.RawIOBase):
    """A file object for ``torch.save`` that counts bytes and keeps only the central directory.

    torch's writer emits the whole central directory in one write that starts with its
    signature, so only that write is copied; tensor data is counted and dropped.
    """

    def __init__(self) -> None:
        super().__init__()
        self.count = 0
        self.central: bytes = b""

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:  # type: ignore[override]
        view = memoryview(data).cast("B")
        if view[:4] == b"PK\x01\x02":
            self.central = bytes(view)
        self.count += view.nbytes
        return view.nbytes

    def records(self) -> list[tuple[str, int]]:
        """(name without the archive prefix, size) of every record, in write order."""
        out: list[tuple[str, int]] = []
        data, pos = self.central, 0
        while data[pos:pos + 4] == b"PK\x01\x02":
            usize, = struct.unpack_from("<I", data, pos + 24)
            n_name, n_extra, n_comment = struct.unpack_from("<HHH", data, pos + 28)
            name = data[pos + 46:pos + 46 + n_name].decode("utf-8")
            extra = data[pos + 46 + n_name:pos + 46 + n_name + n_extra]
            if usize == 0xFFFFFFFF and extra[:2] == b"\x01\x00":
                usize, = struct.unpack_from("<Q", extra, 4)
            out.append((name.split("/", 1)[1], usize))
            pos += 46 + n_name + n_extra + n_comment
        return out


def _has_meta_tensors(obj: Any, torch: Any) -> bool:
    """Meta tensors among a module's parameters and buffers or a mapping's values."""
    if isinstance(obj, torch.nn.Module):
        tensors: Any = list(obj.parameters()) + list(obj.buffers())
    elif isinstance(obj, dict):
        tensors = obj.values()
    else:
        tensors = [obj]
    return any(isinstance(t, torch.Tensor) and t.is_meta for t in tensors)


def _counting_sink_plan(obj: Any, archive: str, alignment: int) -> TorchSavePlan:
    import torch

    if _has_meta_tensors(obj, torch):
        raise UnsupportedObjectError(
            "This torch version's serialization internals are not the ones modelsize mirrors, and "
            "only through them can meta tensors be sized; materialise the model to size it.")
    sink = CentralDirectoryCapture()
    torch.save(obj, sink)
    records = sink.records()
    check = plan(records, BUFFER_ARCHIVE_NAME, alignment)
    if check.total != sink.count:
        raise TorchInternalsChanged(
            f"torch.save wrote {sink.count} bytes to a file object; the zip layout of its records "
            f"gives {check.total}. This torch version writes archives this module does not know.")
    return TorchSavePlan(plan(records, archive, alignment), METHOD_SINK)

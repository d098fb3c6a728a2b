"""Serialized sizes of a PyTorch model in every format it is commonly saved in.

``format_sizes(obj, compression)`` is what the PyTorch adapter reports in a report's ``formats``
section: ``torch.save(state_dict)``, ``torch.save(module)`` (modules only) and ``safetensors``,
each exact to the byte and computed without writing a file, each with its zstd size when
compression is on. The model is only read: ``state_dict()`` and pickling change nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Callable

from ..core.errors import UnsupportedObjectError
from ..core.optional import require
from .base import CompressedSize, CompressionOptions, FormatSize
from .compress import SampleCache, check_options, compressed_size
from .safetensors_size import SafetensorsPlan, SaveFileRefusal, plan_safetensors
from .torch_bytes import storage_view
from .torch_records import NotPicklableError, run_torch_pickler
from .torch_save import FilenameLike, TorchSavePlan, plan_torch_save
from .zip_layout import BUFFER_ARCHIVE_NAME, plan
from .zip_rewrite import StreamMismatch, ZipRewriter

NO_DATA_NOTE = "no compressed size: meta tensors have no data to compress"


@dataclass(frozen=True)
class TorchSaveForm:
    """``torch.save(obj, filename)`` as a stream for :mod:`.compress`."""

    obj: Any
    plan: TorchSavePlan

    @property
    def total(self) -> int:
        return self.plan.total

    @property
    def data_bytes(self) -> int:
        return sum(e.size for e in self.plan.layout.entries if e.name.startswith("data/"))

    @property
    def payload(self) -> bytes:
        return self.plan.pickle_bytes

    def write(self, sink: Any) -> None:
        """The exact file bytes: torch writes to a file object, the rewriter renames the archive."""
        import torch

        layout = self.plan.layout
        records = [(e.name, e.size) for e in layout.entries]
        rewriter = ZipRewriter(sink, plan(records, BUFFER_ARCHIVE_NAME, layout.alignment), layout)
        torch.save(self.obj, rewriter)
        rewriter.finish()

    def feed_data(self, consume: Callable[[memoryview], Any]) -> None:
        run_torch_pickler(self.obj, on_storage=lambda _name, storage: consume(storage_view(storage)))


def _join(*notes: str | None) -> str | None:
    text = "; ".join(n for n in notes if n)
    return text or None


def torch_save_format(label: str, obj: Any, compression: CompressionOptions,
                      filename: FilenameLike = "model.pt", cache: SampleCache | None = None) -> FormatSize:
    """One ``torch.save`` row: exact size, compressed size, and why either may be missing."""
    try:
        save_plan = plan_torch_save(obj, filename)
    except NotPicklableError as exc:
        return FormatSize(label, None, False, "not picklable", note=str(exc))
    except UnsupportedObjectError as exc:
        return FormatSize(label, None, False, "not sizable", note=str(exc))
    where = "a file object" if filename is None else f"file name {str(filename)!r}"
    name_note = (f"{where}: records are stored under '{save_plan.layout.archive}/', "
                 "so the size depends on the name")
    compressed: CompressedSize | None = None
    why_none = None
    if compression.enabled:
        if save_plan.meta_tensors:
            why_none = NO_DATA_NOTE
        else:
            compressed, why_none = _compressed(TorchSaveForm(obj, save_plan), compression, cache)
    note = _join(name_note, why_none)
    return FormatSize(label, save_plan.total, True, save_plan.method, compressed, note)


def _compressed(form: Any, compression: CompressionOptions,
                cache: SampleCache | None = None) -> tuple[CompressedSize | None, str | None]:
    """The compressed size, or None and why: a stream that disagrees with our layout is
    reported, not turned into a number."""
    try:
        return compressed_size(form, compression, cache), None
    except StreamMismatch as exc:
        return None, f"no compressed size: {exc}"


def _safetensors_plan(obj: Any, torch: Any) -> tuple[SafetensorsPlan, str]:
    if isinstance(obj, torch.nn.Module):
        return plan_safetensors(obj), "as safetensors.torch.save_model(module) writes it"
    try:
        return plan_safetensors(obj), "as safetensors.torch.save_file(state_dict) writes it"
    except SaveFileRefusal as exc:
        how = f"{exc} Sized as save_model stores it (shared storage once, tensors made contiguous)"
        return plan_safetensors(obj, dedupe_shared=True), how


def _safetensors_compressed(st: SafetensorsPlan, compression: CompressionOptions,
                            cache: SampleCache | None = None) -> tuple[CompressedSize | None, str | None]:
    packed, why_none = _compressed(st, compression, cache)
    if packed is None or not packed.exact or st.metadata is None or len(st.metadata) < 2:
        return packed, why_none
    # The writer stores __metadata__ from a Rust HashMap, in a per-process random order: a
    # permutation of that JSON object can change the compressed size by at most its length.
    spread = len(json.dumps(st.metadata, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    bound = round(spread / max(packed.bytes, 1), 6)
    return CompressedSize(packed.codec, packed.level, packed.bytes, False, packed.method, bound), None


def safetensors_format(obj: Any, compression: CompressionOptions, cache: SampleCache | None = None) -> FormatSize:
    """The ``safetensors`` row."""
    torch = require("torch", "size PyTorch formats")
    label = "safetensors"
    try:
        st, how = _safetensors_plan(obj, torch)
    except UnsupportedObjectError as exc:
        return FormatSize(label, None, False, "not storable", note=str(exc))
    dropped = None
    if st.dropped:
        pairs = ", ".join(f"{name} -> {kept}" for name, kept in sorted(st.dropped.items()))
        dropped = f"shared tensors stored once; dropped names recorded in __metadata__: {pairs}"
    meta = "meta tensors sized as their materialised CPU copies" if st.meta_tensors else None
    compressed: CompressedSize | None = None
    why_none = None
    if compression.enabled:
        if st.meta_tensors:
            why_none = NO_DATA_NOTE
        else:
            compressed, why_none = _safetensors_compressed(st, compression, cache)
    note = _join(how, dropped, meta, why_none)
    return FormatSize(label, st.total, True, "format arithmetic", compressed, note)


def format_sizes(obj: Any, compression: CompressionOptions, *,
                 filename: FilenameLike = "model.pt") -> list[FormatSize]:
    """Sizes of ``obj`` (an ``nn.Module`` or a state dict) as torch.save and safetensors files.

    ``filename`` is the name the torch.save rows assume (their size depends on it).
    """
    torch = require("torch", "size PyTorch formats")
    if isinstance(obj, torch.nn.Module):
        targets = [("torch.save(state_dict)", obj.state_dict()), ("torch.save(module)", obj)]
    elif isinstance(obj, Mapping) and all(isinstance(k, str) for k in obj):
        targets = [("torch.save(state_dict)", obj)]
    else:
        raise UnsupportedObjectError(
            f"PyTorch formats are sized for an nn.Module or a state dict (a mapping of str to "
            f"tensors). Got {type(obj).__name__}.")
    if compression.enabled:
        check_options(compression)
    # Every row holds the same tensor data, so one sample serves them all. safetensors goes
    # first: its data streams from tensor views, torch.save's through another pickler run.
    cache = SampleCache()
    last = safetensors_format(obj, compression, cache)
    rows = [torch_save_format(label, target, compression, filename, cache) for label, target in targets]
    return rows + [last]

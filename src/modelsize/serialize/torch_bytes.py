"""Zero-copy byte views of torch storages and tensors, for streaming them into a compressor."""

from __future__ import annotations

from typing import Any


def storage_view(storage: Any) -> memoryview:
    """The bytes of an untyped CPU storage, without copying them."""
    import torch

    nbytes = storage.nbytes()
    if nbytes == 0:
        return memoryview(b"")
    if storage.device.type != "cpu":
        storage = storage.cpu()
    flat = torch.empty(0, dtype=torch.uint8).set_(storage, 0, (nbytes,), (1,))
    return memoryview(flat.numpy())


def tensor_view(tensor: Any) -> memoryview:
    """The bytes a writer of row-major data stores for ``tensor`` (its contiguous form).

    Zero-copy for a contiguous CPU tensor; a non-contiguous or device tensor is copied once.
    """
    import torch

    t = tensor.detach()
    if t.device.type != "cpu":
        t = t.cpu()
    if t.is_conj() or t.is_neg():
        t = t.resolve_conj().resolve_neg()
    if not t.is_contiguous():
        t = t.contiguous()
    nbytes = t.numel() * t.element_size()
    if nbytes == 0:
        return memoryview(b"")
    start = t.storage_offset() * t.element_size()
    flat = torch.empty(0, dtype=torch.uint8).set_(t.untyped_storage(), start, (nbytes,), (1,))
    return memoryview(flat.numpy())

"""The records ``torch.save`` writes, found by running torch's own pickling path.

``torch.serialization._save`` pickles the object and hands each record (``data.pkl``, the
version markers, one ``data/N`` per storage) to a zip writer. We pass it a
:class:`RecordingWriter` that keeps only each record's name and length, so the pickle bytes are
the ones torch writes while no tensor byte is read or copied.

Two details keep the pickle identical to a real save:

* ``skip_data`` mode is on, so ``_save`` reports storages by size instead of moving them to the
  CPU first (no GPU→CPU copy, and meta storages are accepted). Quantized and nested tensors
  refuse ``skip_data``; we see them first (in ``reducer_override``) and rerun without it — on
  the CPU that still copies nothing, because the writer receives the storage object itself.
* Tensors on the ``meta`` device have no data, and ``torch.save`` pickles them as data-less
  tensors. To size the file the *materialised* model would give, meta tensors are reduced as
  torch reduces a CPU tensor (``_rebuild_tensor_v2`` with a storage reference of the storage's
  byte length, location ``"cpu"``); shared meta storages stay shared.
"""

from __future__ import annotations

import inspect
import pickle
import sys
from collections import OrderedDict
from dataclasses import dataclass, field
from types import BuiltinFunctionType, FunctionType, SimpleNamespace
from typing import Any, Callable

from ..core.errors import ModelSizeError, UnsupportedObjectError

#: The exact string object torch's ``_cpu_tag`` returns: the pickler memoizes strings by
#: identity, so location tags must be this object for the pickle to match a CPU save.
_CPU = sys.intern("cpu")
#: Parameter names of ``torch.serialization._save`` this module was written against.
#: Types torch's ``persistent_id`` always answers ``None`` for: they are never storages.
_NEVER_STORAGES = frozenset({str, int, float, bool, type(None), tuple, list, dict, set, frozenset, bytes, OrderedDict,
                             type, FunctionType, BuiltinFunctionType})
_SAVE_PARAMS = ("obj", "zip_file", "pickle_module", "pickle_protocol", "_disable_byteorder_record")
#: Errors the pickler raises for objects it cannot pickle (lambdas, locks, local classes …).
PICKLING_ERRORS = (pickle.PicklingError, AttributeError, TypeError)


class NotPicklableError(UnsupportedObjectError):
    """torch.save cannot pickle the object (it holds a lambda, a lock, a local class …)."""


class TorchInternalsChanged(ModelSizeError, RuntimeError):
    """torch's private serialization API is not the one this module mirrors."""


@dataclass
class RecordingWriter:
    """Stands in for ``torch._C.PyTorchFileWriter``: records names and lengths only.

    ``on_storage(name, storage)`` (optional) sees each storage object as torch hands it over —
    used to sample tensor bytes for compression estimates without copying whole tensors.
    """

    on_storage: Callable[[str, Any], None] | None = None
    records: list[tuple[str, int]] = field(default_factory=list)
    pickle_bytes: bytes = b""
    _names: set[str] = field(default_factory=set, repr=False)  # the duplicate check stays O(1)

    def _add(self, name: str, nbytes: int) -> None:
        if name in self._names:
            raise TorchInternalsChanged(f"torch wrote the record {name!r} twice.")
        self._names.add(name)
        self.records.append((name, int(nbytes)))

    def write_record(self, name: str, data: Any, nbytes: int) -> None:
        self._add(name, nbytes)
        if name == "data.pkl" and isinstance(data, bytes):
            self.pickle_bytes = data
        elif self.on_storage is not None and not isinstance(data, (bytes, str)):
            self.on_storage(name, data)

    def write_record_metadata(self, name: str, nbytes: int) -> None:
        self._add(name, nbytes)


class _NeedsRealStorages(Exception):
    """Raised from the pickler when a tensor refuses ``skip_data`` (quantized, nested)."""


@dataclass
class PickleResult:
    """What one run of torch's pickling path produced."""

    records: list[tuple[str, int]]
    pickle_bytes: bytes
    meta_tensors: int  #: meta tensors sized as if materialised on the CPU


def _meta_reduce(tensor: Any, torch: Any) -> tuple[Any, tuple[Any, ...]]:
    """Reduce a dense meta tensor exactly as ``Tensor._reduce_ex_internal`` reduces a CPU one."""
    if tensor.layout != torch.strided or tensor.is_quantized or tensor.is_nested:
        raise UnsupportedObjectError(
            f"A meta tensor with layout {tensor.layout} cannot be sized as a CPU tensor; "
            "materialise the model (model.to_empty(device='cpu')) to size it.")
    if tensor.dtype in torch.storage._new_dtypes():
        rebuild: Any = torch._utils._rebuild_tensor_v3
        storage: Any = tensor.untyped_storage()
    else:
        rebuild = torch._utils._rebuild_tensor_v2
        storage = torch.storage.TypedStorage(
            wrap_storage=tensor.untyped_storage(), dtype=tensor.dtype, _internal=True)
    # persistent_id reads the location from _fake_device when present.
    storage._fake_device = _CPU
    args: tuple[Any, ...] = (storage, tensor.storage_offset(), tuple(tensor.size()), tensor.stride(),
                             tensor.requires_grad, OrderedDict())
    if isinstance(storage, torch.UntypedStorage):
        args = args + (tensor.dtype,)
    metadata = torch._utils.get_tensor_metadata(tensor)
    if metadata:
        args = args + (metadata,)
    return rebuild, args


def _pickle_module(torch: Any, skip_data: bool, counter: list[int]) -> Any:
    """A stand-in for the ``pickle`` module whose Pickler sizes meta tensors as CPU tensors."""

    class Pickler(pickle.Pickler):
        def __init_subclass__(cls, **kwargs: Any) -> None:
            """torch's ``_save`` subclasses this Pickler with a ``persistent_id`` that runs two Python
            frames and several type checks for every object pickled (about 10,000 for GPT-2 as a
            module). Only storages have a persistent id: objects of plain built-in types answer
            ``None`` at once, anything else still asks torch."""
            super().__init_subclass__(**kwargs)
            torch_persistent_id = cls.__dict__.get("persistent_id")
            if torch_persistent_id is None:
                return

            def persistent_id(self: Any, obj: Any) -> Any:
                if type(obj) in _NEVER_STORAGES:
                    return None
                return torch_persistent_id(self, obj)

            cls.persistent_id = persistent_id  # type: ignore[method-assign]

        def reducer_override(self, obj: Any) -> Any:
            if not isinstance(obj, torch.Tensor):
                return NotImplemented
            if skip_data and (obj.is_quantized or obj.is_nested) and not obj.is_meta:
                raise _NeedsRealStorages
            if not obj.is_meta or isinstance(obj, torch.nn.Parameter):
                return NotImplemented  # a Parameter reduces to its .data, which comes back here
            state = torch._utils._get_obj_state(obj)
            counter[0] += 1
            func, args = _meta_reduce(obj, torch)
            if type(obj) is torch.Tensor and not state:
                return func, args
            if type(obj) is not torch.Tensor and torch.overrides.has_torch_function_unary(obj):
                raise UnsupportedObjectError(
                    f"Meta tensors of type {type(obj).__name__} cannot be sized as CPU tensors.")
            return torch._tensor._rebuild_from_type_v2, (func, type(obj), args, state)

    return SimpleNamespace(Pickler=Pickler)


def _check_internals(torch: Any) -> Callable[..., Any]:
    save = getattr(torch.serialization, "_save", None)
    if save is None:
        raise TorchInternalsChanged("torch.serialization._save is missing.")
    params = tuple(inspect.signature(save).parameters)
    if params != _SAVE_PARAMS:
        raise TorchInternalsChanged(f"torch.serialization._save takes {params}, expected {_SAVE_PARAMS}.")
    return save


def run_torch_pickler(obj: Any, on_storage: Callable[[str, Any], None] | None = None) -> PickleResult:
    """Run torch.save's pickling path on ``obj`` with a recording writer.

    With ``on_storage`` the storages are handed over as objects (not ``skip_data``), so a
    caller can read their bytes; meta tensors then have nothing to hand over and are refused.
    """
    import torch

    save = _check_internals(torch)
    protocol = torch.serialization.DEFAULT_PROTOCOL
    attempts = (False,) if on_storage is not None else (True, False)
    for skip_data in attempts:
        counter = [0]
        writer = RecordingWriter(on_storage=on_storage)
        try:
            if skip_data:
                with torch.serialization.skip_data():
                    save(obj, writer, _pickle_module(torch, True, counter), protocol, False)
            else:
                save(obj, writer, _pickle_module(torch, False, counter), protocol, False)
        except _NeedsRealStorages:
            continue
        except ModelSizeError:
            raise
        except PICKLING_ERRORS as exc:
            raise NotPicklableError(
                f"torch.save cannot pickle this {type(obj).__name__}: {type(exc).__name__}: {exc}") from exc
        except NotImplementedError as exc:
            if counter[0]:
                raise UnsupportedObjectError(
                    "This object mixes meta tensors with quantized or nested tensors, whose data "
                    "torch.save must read; materialise it to size it.") from exc
            raise
        return PickleResult(writer.records, writer.pickle_bytes, counter[0])
    raise TorchInternalsChanged("torch.serialization._save refused every mode.")  # pragma: no cover

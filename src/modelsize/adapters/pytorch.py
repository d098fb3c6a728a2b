"""PyTorch adapter: ``nn.Module`` objects and state dicts → Report.

What it gets right that a ``sum(p.numel())`` does not:

* tied weights (GPT-2's ``lm_head.weight`` *is* ``transformer.wte.weight``) share a storage key,
  so totals count them once and the alias stays visible;
* buffers (BatchNorm running statistics) are their own role, non-persistent ones are marked;
* pruning re-parametrisation (``weight_orig`` + ``weight_mask``) is flagged: the effective
  sparsity is reported, and the mask's bytes and the zeros stored dense are shown as cost;
* ``torch.ao`` quantized modules report their packed int8 weights, scales and zero points at
  the bytes they occupy, not fp32 bytes;
* meta-device modules are sized from shapes alone, without allocating.

Measuring never changes the model: it only reads attributes, never calls ``forward``,
``state_dict`` (which runs user hooks) or anything that moves or mutates tensors.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence, Set as AbstractSet
from typing import Any, Iterator

from ..core import optional
from ..core.errors import UnsupportedObjectError
from ..core.report import Report, Source
from ..core.tensors import Role, TensorRecord
from ..core.tree import Component, from_flat, join
from ..core.totals import span_key
from ..serialize.base import CompressionOptions, FormatSize

#: Buffer names PyTorch modules use for statistics: role BUFFER when only a state dict is known.
_BUFFER_NAMES = frozenset({"running_mean", "running_var", "num_batches_tracked"})
#: Keys under which training checkpoints keep optimizer state.
_OPTIMIZER_KEYS = frozenset({"optimizer", "optim", "optimizer_state", "optimizer_state_dict", "opt"})
#: How deep a nested checkpoint dict is followed before giving up (a cycle guard, not a limit users hit).
_MAX_NESTING = 16
#: Counting non-zeros reads every byte of the weights (memory-bandwidth bound: about 40 ms for
#: GPT-2's 498 MB on a quiet 2-core machine, four times torchinfo's whole summary). By default
#: it runs only when the unique tensor data is at most this many bytes; ``nnz=True`` forces it.
NNZ_AUTO_LIMIT = 64 << 20


class PyTorchAdapter:
    """Adapter for ``torch.nn.Module`` and (possibly nested) mappings of tensors."""

    name = "pytorch"

    def can_handle(self, obj: Any) -> bool:
        torch = optional.loaded("torch")
        if torch is None:
            return False
        if isinstance(obj, torch.nn.Module):
            return True
        if isinstance(obj, Mapping):
            return any(True for _ in _iter_tensor_items(obj, "", torch, 0))
        return False

    def to_report(self, obj: Any, target: str | None = None, nnz: bool | None = None) -> Report:
        """``nnz``: count non-zero values — ``True`` always, ``False`` never, ``None`` (default)
        when the tensor data is at most :data:`NNZ_AUTO_LIMIT` bytes."""
        torch = optional.require("torch", "measure PyTorch models")
        if isinstance(obj, torch.nn.Module):
            return _module_report(obj, target, torch, nnz)
        if isinstance(obj, Mapping):
            return _state_dict_report(obj, target, torch, nnz)
        raise UnsupportedObjectError(
            f"The PyTorch adapter measures nn.Module objects and state dicts. Got {type(obj).__name__}."
        )

    def format_sizes(self, obj: Any, compression: CompressionOptions) -> list[FormatSize]:
        from ..serialize.torch_formats import format_sizes

        return format_sizes(obj, compression)


# --------------------------------------------------------------------------- tensors → records


def dtype_name(dtype: Any) -> str:
    """``torch.float32`` → ``'float32'``."""
    return str(dtype).removeprefix("torch.")


def storage_key(tensor: Any) -> str:
    """Equal for tensors on the same bytes of the same storage: identity is (storage, byte range).

    Based on the storage's identity (``_cdata``, valid on every device including meta) and the
    bytes the view spans, so ``lm_head.weight`` and ``wte.weight`` match, the gates of a
    cuDNN-flattened LSTM (views at different offsets of one buffer) stay distinct, and a view
    inside another tensor's bytes counts once (:func:`modelsize.core.totals.canonical_keys`).
    """
    if tensor.is_quantized or tensor.layout != _torch().strided or inner_tensors(tensor) is not None:
        return f"obj:{id(tensor)}"
    if tensor.numel() == 0:
        return f"obj:{id(tensor)}"
    size = tensor.element_size()
    if tensor.is_contiguous():  # most weights: the view spans exactly its elements
        extent = tensor.numel()
    else:
        extent = 1 + sum((d - 1) * abs(s) for d, s in zip(tensor.shape, tensor.stride()))
    return span_key(f"torch:{tensor.untyped_storage()._cdata}", tensor.storage_offset() * size, extent * size)


def _torch() -> Any:
    # Called per tensor: a dict lookup when torch is loaded (it always is by then).
    return sys.modules.get("torch") or optional.require("torch")


def inner_tensors(tensor: Any) -> list[tuple[str, Any]] | None:
    """The plain tensors inside a wrapper subclass (torchao's ``Int8Tensor`` …), else ``None``.

    Such a tensor reports the logical dtype (float32) and shape of the weight it stands for,
    while its bytes live in inner tensors (``qdata`` int8, ``scale``, ``zero_point``) named by
    ``__tensor_flatten__``; nested wrappers are followed.
    """
    torch = _torch()
    if type(tensor) in (torch.Tensor, torch.nn.Parameter):  # plain tensors, the common case: no walk
        return None
    from torch.utils._python_dispatch import is_traceable_wrapper_subclass

    if not is_traceable_wrapper_subclass(tensor):
        return None
    names, _context = tensor.__tensor_flatten__()
    found: list[tuple[str, Any]] = []
    for name in names:
        inner = getattr(tensor, name)
        nested = inner_tensors(inner)
        if nested is None:
            found.append((name, inner))
        else:
            found.extend((f"{name}.{sub}", t) for sub, t in nested)
    return found


def _inner_role(name: str) -> Role:
    leaf = name.rsplit(".", 1)[-1].lower()
    if "zero" in leaf or leaf in ("zp", "zeros"):
        return Role.QUANT_ZERO_POINT
    if "scale" in leaf:
        return Role.QUANT_SCALE
    return Role.PARAMETER


def subclass_records(tensor: Any, path: str, trainable: bool | None, inner: list[tuple[str, Any]],
                     counter: "NonzeroCounter | None" = None) -> list[TensorRecord]:
    """Records for a wrapper-subclass tensor: its data at the weight's logical shape, the rest apart.

    The data record keeps the logical shape (so parameter counts stay those of the weight) with
    the stored bytes and dtype of the inner data; its ``bits`` are stored bits per logical
    element (4 for int4 packed two per byte). Scales and zero points get their own roles.
    """
    kind = type(tensor).__name__
    data = [(n, t) for n, t in inner if _inner_role(n) is Role.PARAMETER]
    rest = [(n, t) for n, t in inner if _inner_role(n) is not Role.PARAMETER]
    numel = math.prod(tensor.shape)
    stored = sum(_stored_bytes(t) for _, t in data)
    dtype = dtype_name(max(data, key=lambda nt: _stored_bytes(nt[1]))[1].dtype) if data else dtype_name(tensor.dtype)
    nnz = None
    if len(data) == 1 and data[0][1].numel() == numel:
        nnz = (counter or NonzeroCounter()).count(data[0][1], f"obj:{id(data[0][1])}")
    records = [TensorRecord(
        path=path, shape=tuple(tensor.shape), dtype=dtype, role=Role.PARAMETER, trainable=trainable,
        stored_bytes=stored, bits=(8.0 * stored / numel) if numel else None, nnz=nnz,
        storage_key=f"obj:{id(tensor)}", device=str(tensor.device),
        meta={"subclass": kind, "logical_dtype": dtype_name(tensor.dtype),
              "inner": {n: [list(t.shape), dtype_name(t.dtype)] for n, t in data}},
    )]
    for name, t in rest:
        records.append(tensor_record(t, f"{path}.{name}", _inner_role(name), False, nnz=None, of=path, subclass=kind))
    return records


def _has_data(tensor: Any) -> bool:
    return tensor.device.type != "meta" and not _is_fake(tensor)


class NonzeroCounter:
    """Non-zero counts for one measurement: each storage key is read once, or nothing is read.

    Tied weights and other views with one storage key are counted once; meta and fake tensors
    have no data and get ``None``. When counting is off, ``skipped`` says why (shown in the
    report), so a missing sparsity is never mistaken for "no zeros".
    """

    def __init__(self, enabled: bool = True, skipped: str | None = None) -> None:
        self.enabled = enabled
        self.skipped = skipped
        self._memo: dict[str, int | None] = {}

    @classmethod
    def for_tensors(cls, tensors: Iterator[Any], nnz: bool | None) -> "NonzeroCounter":
        """The policy for one model: ``nnz`` True/False, or None = count up to NNZ_AUTO_LIMIT bytes."""
        if nnz is not None:
            return cls(bool(nnz), None if nnz else "skipped: nnz=False was given")
        total, dataless = _data_bytes(tensors)
        if dataless and not total:
            return cls(False, "skipped: meta and fake tensors have no data to read")
        if total <= NNZ_AUTO_LIMIT:
            return cls()
        return cls(False, f"skipped: {total:,} bytes of tensor data is over the automatic limit of "
                          f"{NNZ_AUTO_LIMIT:,} bytes; count them with nnz=True, or --nnz on the command line")

    def count(self, tensor: Any, key: str) -> int | None:
        """Non-zeros of ``tensor`` (read once per ``key``), ``None`` when off or without data."""
        if not self.enabled or not _has_data(tensor):
            return None
        if key not in self._memo:
            self._memo[key] = _count_nonzero(tensor)
        return self._memo[key]

    def section(self) -> dict[str, Any]:
        """What the report's source details say about the count."""
        return {"counted": self.enabled, "storages_read": sum(v is not None for v in self._memo.values()),
                "skipped": self.skipped}


def _data_bytes(tensors: Iterator[Any]) -> tuple[int, int]:
    """Bytes of distinct tensors that hold readable data (what counting non-zeros would read),
    and how many tensors hold none (meta, fake)."""
    lazy = _torch().nn.parameter.UninitializedTensorMixin
    seen: set[int] = set()
    total = dataless = 0
    for tensor in tensors:
        if id(tensor) in seen or isinstance(tensor, lazy):
            continue
        seen.add(id(tensor))
        if _has_data(tensor):
            total += _dense_nbytes(tensor)
        else:
            dataless += 1
    return total, dataless


def _is_fake(tensor: Any) -> bool:
    return type(tensor).__name__ == "FakeTensor"


def _count_nonzero(tensor: Any) -> int | None:
    """Non-zeros of the values, ``None`` when there is no data to read."""
    torch = _torch()
    if not _has_data(tensor):
        return None
    with torch.no_grad():
        if tensor.is_quantized:
            # A quantized zero is the zero point, not the integer 0.
            values = tensor.dequantize()
            return int(torch.count_nonzero(values).item())
        if tensor.layout == torch.sparse_coo:
            return int(torch.count_nonzero(tensor.coalesce().values()).item())
        if tensor.layout in (torch.sparse_csr, torch.sparse_csc, torch.sparse_bsr, torch.sparse_bsc):
            return int(torch.count_nonzero(tensor.values()).item())
        return int(torch.count_nonzero(tensor.detach()).item())


def _stored_bytes(tensor: Any) -> int:
    """Bytes the tensor's values occupy in memory (sparse layouts: values + indices)."""
    torch = _torch()
    if tensor.layout == torch.sparse_coo:
        t = tensor if tensor.is_coalesced() else tensor.detach().coalesce()
        return _dense_nbytes(t.values()) + _dense_nbytes(t.indices())
    if tensor.layout in (torch.sparse_csr, torch.sparse_bsr):
        return _dense_nbytes(tensor.values()) + _dense_nbytes(tensor.crow_indices()) + _dense_nbytes(tensor.col_indices())
    if tensor.layout in (torch.sparse_csc, torch.sparse_bsc):
        return _dense_nbytes(tensor.values()) + _dense_nbytes(tensor.ccol_indices()) + _dense_nbytes(tensor.row_indices())
    return _dense_nbytes(tensor)


def _dense_nbytes(tensor: Any) -> int:
    return math.prod(tensor.shape) * tensor.element_size()


def tensor_record(
    tensor: Any,
    path: str,
    role: Role,
    trainable: bool | None = None,
    nnz: int | None | str = "count",
    counter: NonzeroCounter | None = None,
    key: str | None = None,
    **meta: Any,
) -> TensorRecord:
    """One record from one tensor; ``nnz='count'`` asks ``counter`` (one per measurement,
    reading each storage once; a fresh one when not given) for the non-zeros. ``key``: the
    storage identity when the tensor's own is not one (a temporary, see :func:`_packed_records`)."""
    torch = _torch()
    key = key or storage_key(tensor)
    count = (counter or NonzeroCounter()).count(tensor, key) if nnz == "count" else nnz
    if tensor.layout != torch.strided:
        meta.setdefault("layout", str(tensor.layout).removeprefix("torch."))
    if tensor.is_quantized:
        meta.setdefault("qscheme", str(tensor.qscheme()).removeprefix("torch."))
    return TensorRecord(
        path=path,
        shape=tuple(tensor.shape),
        dtype=dtype_name(tensor.dtype),
        role=role,
        trainable=trainable,
        stored_bytes=_stored_bytes(tensor),
        nnz=count,
        storage_key=key,
        device=str(tensor.device),
        meta=meta,
    )


def _quant_param_records(qtensor: Any, path: str) -> list[TensorRecord]:
    """Scale and zero-point records that travel with a quantized tensor.

    Per-tensor parameters are one float64 scale and one int64 zero point (as PyTorch keeps
    and serializes them); per-channel ones are tensors with one entry per channel.
    """
    torch = _torch()
    scheme = qtensor.qscheme()
    if scheme in (torch.per_tensor_affine, torch.per_tensor_symmetric):
        return [
            TensorRecord(f"{path}.scale", (), "float64", Role.QUANT_SCALE, trainable=False,
                         storage_key=f"qscale:{id(qtensor)}", meta={"of": path}),
            TensorRecord(f"{path}.zero_point", (), "int64", Role.QUANT_ZERO_POINT, trainable=False,
                         storage_key=f"qzp:{id(qtensor)}", meta={"of": path}),
        ]
    scales = qtensor.q_per_channel_scales()
    zero_points = qtensor.q_per_channel_zero_points()
    axis = qtensor.q_per_channel_axis()
    return [
        tensor_record(scales, f"{path}.scale", Role.QUANT_SCALE, False, nnz=None, of=path, axis=axis),
        tensor_record(zero_points, f"{path}.zero_point", Role.QUANT_ZERO_POINT, False, nnz=None, of=path, axis=axis),
    ]


# --------------------------------------------------------------------------- modules


def _pruning_hooks(module: Any) -> dict[str, str]:
    """``{tensor_name: method}`` for ``torch.nn.utils.prune`` re-parametrisations on a module."""
    if not module._forward_pre_hooks:  # most modules: no hooks, nothing to import or walk
        return {}
    from torch.nn.utils import prune

    found: dict[str, str] = {}
    for hook in module._forward_pre_hooks.values():
        if isinstance(hook, prune.PruningContainer):
            methods = "+".join(type(h).__name__ for h in hook._pruning_methods)
            found[hook._tensor_name] = methods
        elif isinstance(hook, prune.BasePruningMethod):
            found[hook._tensor_name] = type(hook).__name__
    return found


def _quantized_weights(module: Any) -> list[tuple[str, Any]] | None:
    """(name, tensor) pairs of a ``torch.ao`` quantized module's packed weights, else ``None``.

    Packed parameters live in opaque C++ objects, so they appear in no ``named_parameters``;
    the modules expose them through ``weight()``/``bias()`` or ``get_weight()``/``get_bias()``.
    """
    if not type(module).__module__.startswith("torch.ao.nn.quantized"):
        return None
    pairs: list[tuple[str, Any]] = []
    get_weight = getattr(module, "get_weight", None)
    if callable(get_weight) and hasattr(module, "_all_weight_values"):  # dynamic LSTM/GRU
        pairs.extend(get_weight().items())
        pairs.extend(module.get_bias().items())
        return pairs
    weight = getattr(module, "weight", None)
    if callable(weight) and hasattr(module, "_packed_params"):
        pairs.append(("weight", weight()))
        bias = module.bias() if callable(getattr(module, "bias", None)) else None
        if bias is not None:
            pairs.append(("bias", bias))
        return pairs
    return None


def _module_records(
    module: Any, path: str, notes: list[str], counter: NonzeroCounter
) -> tuple[list[TensorRecord], dict[str, Any]]:
    """Records registered directly on one module, and the component's attributes."""
    records: list[TensorRecord] = []
    attrs: dict[str, Any] = {}
    pruned = _pruning_hooks(module)
    records += _parameter_records(module, path, notes, counter, pruned, attrs)
    records += _buffer_records(module, path, counter, pruned)
    _describe_pruning(path, pruned, records, notes, attrs)
    quantized = _quantized_weights(module)
    if quantized is not None:
        attrs["quantized"] = _kind(module)
        records += _packed_records(module, path, quantized, counter)
    return records, attrs


def _parameter_records(module: Any, path: str, notes: list[str], counter: NonzeroCounter,
                       pruned: dict[str, str], attrs: dict[str, Any]) -> list[TensorRecord]:
    """Parameters: plain, pruned originals (non-zeros after the mask), wrapper subclasses."""
    torch = _torch()
    originals = {f"{name}_orig": name for name in pruned}
    records: list[TensorRecord] = []
    for name, param in _own_tensors(module, "named_parameters"):
        if isinstance(param, torch.nn.parameter.UninitializedParameter):
            notes.append(f"{join(path, name)} is an uninitialised lazy parameter: its size is unknown "
                         "until the first forward pass, so it is not counted.")
        elif name in originals:
            effective = originals[name]
            records.append(tensor_record(param, join(path, name), Role.PARAMETER, param.requires_grad,
                                         nnz=_masked_nnz(param, module._buffers.get(f"{effective}_mask")),
                                         pruned=True, mask=join(path, f"{effective}_mask"),
                                         effective=join(path, effective)))
        elif (inner := inner_tensors(param)) is not None:
            records.extend(subclass_records(param, join(path, name), param.requires_grad, inner, counter))
            attrs["quantized"] = type(param).__name__
        else:
            records.append(tensor_record(param, join(path, name), Role.PARAMETER, param.requires_grad,
                                         counter=counter))
    return records


def _own_tensors(module: Any, method: str) -> list[tuple[str, Any]]:
    """``module.named_parameters`` / ``named_buffers`` with ``recurse=False``: read from the module's
    own dict when the class keeps PyTorch's method (per module, the generator machinery costs more
    than the records), through the method when a class overrides it."""
    if getattr(type(module), method) is getattr(_torch().nn.Module, method):
        table = module._parameters if method == "named_parameters" else module._buffers
        return [(name, tensor) for name, tensor in table.items() if tensor is not None]
    return list(getattr(module, method)(recurse=False, remove_duplicate=False))


def _module_tensors(module: Any) -> Iterator[Any]:
    """Every parameter and buffer of ``module`` and its descendants, in one walk of the modules."""
    for sub in module.modules():
        for _, tensor in _own_tensors(sub, "named_parameters"):
            yield tensor
        for _, tensor in _own_tensors(sub, "named_buffers"):
            yield tensor


def _masked_nnz(tensor: Any, mask: Any) -> int | None:
    """Non-zeros of a pruned original after its mask. Always counted, whatever the non-zero
    policy: sparsity is the point of a pruned weight."""
    if mask is None or not _has_data(tensor):
        return None
    torch = _torch()
    with torch.no_grad():
        return int(torch.count_nonzero(tensor.detach() * mask).item())


def _buffer_records(module: Any, path: str, counter: NonzeroCounter, pruned: dict[str, str]) -> list[TensorRecord]:
    """Buffers: pruning masks get their role, non-persistent buffers are marked."""
    masks = {f"{name}_mask": name for name in pruned}
    non_persistent = getattr(module, "_non_persistent_buffers_set", set())
    records: list[TensorRecord] = []
    for name, buf in _own_tensors(module, "named_buffers"):
        if name in masks:
            records.append(tensor_record(buf, join(path, name), Role.PRUNING_MASK, False, counter=counter,
                                         of=join(path, masks[name])))
            continue
        extra = {"persistent": False} if name in non_persistent else {}
        records.append(tensor_record(buf, join(path, name), Role.BUFFER, None, counter=counter, **extra))
    return records


def _describe_pruning(path: str, pruned: dict[str, str], records: list[TensorRecord],
                      notes: list[str], attrs: dict[str, Any]) -> None:
    """The ``pruned`` attribute and a note per pruned weight: sparsity and what the mask costs."""
    for effective, method in pruned.items():
        orig = next((r for r in records if r.path == join(path, f"{effective}_orig")), None)
        mask = next((r for r in records if r.path == join(path, f"{effective}_mask")), None)
        attrs.setdefault("pruned", {})[effective] = {
            "method": method,
            "sparsity": orig.sparsity if orig else None,
            "mask_bytes": mask.stored_bytes if mask else 0,
            "dense_bytes": orig.stored_bytes if orig else 0,
        }
        if orig is not None:
            sparsity = "unknown" if orig.sparsity is None else f"{100 * orig.sparsity:.1f}%"
            notes.append(
                f"{join(path, effective)} is pruned ({method}, {sparsity} zeros) but still stored dense "
                f"as {orig.path} plus a {mask.stored_bytes if mask else 0}-byte mask: pruning alone "
                "makes the model larger until the zeros are removed or stored sparse."
            )


def _packed_records(module: Any, path: str, quantized: list[tuple[str, Any]],
                    counter: NonzeroCounter) -> list[TensorRecord]:
    """A ``torch.ao`` quantized module's packed weights, their scales, and its output qparams."""
    records: list[TensorRecord] = []
    for name, tensor in quantized:
        # Unpacking makes new tensors at each call, freed after this module: their ids and storages
        # are reused by the next module's, so identity (and the non-zero memo) is the record's path.
        weight_path = join(path, name)
        records.append(tensor_record(tensor, weight_path, Role.PARAMETER, False, counter=counter,
                                     key=f"packed:{weight_path}", packed=True))
        if tensor.is_quantized:
            records += [r.with_(storage_key=f"packed:{r.path}") for r in _quant_param_records(tensor, weight_path)]
    for name in ("scale", "zero_point"):
        value = getattr(module, name, None)
        if isinstance(value, (int, float)):
            # Output quantization parameters: saved as a float32 / int64 scalar tensor.
            dtype, role = ("float32", Role.QUANT_SCALE) if name == "scale" else ("int64", Role.QUANT_ZERO_POINT)
            records.append(TensorRecord(join(path, name), (), dtype, role, trainable=False,
                                        meta={"of": "output"}))
    return records


def _module_children(module: Any) -> Iterator[tuple[str, Any]]:
    """Children to walk: quantized modules fold their ``_packed_params`` holder into themselves."""
    folds = _quantized_weights(module) is not None
    for name, child in module.named_children():
        if folds and name == "_packed_params":
            continue
        yield name, child


def _build_component(module: Any, name: str, path: str, notes: list[str], counter: NonzeroCounter) -> Component:
    records, attrs = _module_records(module, path, notes, counter)
    extra = _extra_repr(module)
    if extra:
        attrs["config"] = extra
    children = tuple(
        _build_component(child, child_name, join(path, child_name), notes, counter)
        for child_name, child in _module_children(module)
    )
    return Component(name=name, kind=_kind(module), path=path, tensors=tuple(records),
                     children=children, attrs=attrs)


def _kind(module: Any) -> str:
    """The name PyTorch itself prints (``DynamicQuantizedLinear``, not the class's ``Linear``)."""
    get_name = getattr(module, "_get_name", None)
    return str(get_name()) if callable(get_name) else type(module).__name__


def _extra_repr(module: Any) -> str:
    try:
        return str(module.extra_repr())
    except Exception:  # noqa: BLE001 - a user's extra_repr may fail; the size report must not
        return ""


def _module_report(module: Any, target: str | None, torch: Any, nnz: bool | None = None) -> Report:
    notes: list[str] = []
    counter = NonzeroCounter.for_tensors(_module_tensors(module), nnz)
    root = _build_component(module, _kind(module), "", notes, counter)
    devices = sorted({r.device for r in root.iter_tensors() if r.device})
    if "meta" in devices:
        notes.append("Tensors on the meta device have no data: sizes come from shapes and dtypes; "
                     "non-zero counts and compressed sizes are not available.")
    _note_skipped(counter, notes)
    source = Source(
        framework="pytorch",
        object_type=f"{type(module).__module__}.{type(module).__qualname__}",
        target=target,
        details={"devices": devices, "training": bool(module.training), "torch_version": torch.__version__,
                 "nonzeros": counter.section()},
    )
    return Report(root=root, source=source, notes=tuple(notes))


def _note_skipped(counter: NonzeroCounter, notes: list[str]) -> None:
    if not counter.enabled and "meta" not in (counter.skipped or ""):  # meta has its own note
        notes.append(f"Non-zero values were not counted, so sparsity is not shown ({counter.skipped}).")


# --------------------------------------------------------------------------- state dicts


def _iter_tensor_items(obj: Any, prefix: str, torch: Any, depth: int) -> Iterator[tuple[str, Any]]:
    """Flatten nested mappings / sequences of tensors into dotted paths."""
    if depth > _MAX_NESTING:
        return
    if isinstance(obj, torch.Tensor):
        yield prefix, obj
    elif isinstance(obj, Mapping):
        for key, value in obj.items():
            yield from _iter_tensor_items(value, join(prefix, str(key)), torch, depth + 1)
    elif isinstance(obj, Sequence) and not isinstance(obj, (str, bytes)):
        for i, value in enumerate(obj):
            yield from _iter_tensor_items(value, join(prefix, str(i)), torch, depth + 1)


def _state_dict_role(path: str, names: AbstractSet[str]) -> tuple[Role, dict[str, Any]]:
    """Role of a state-dict entry from its name — the only evidence a bare dict gives."""
    parts = path.split(".")
    leaf = parts[-1]
    if any(p in _OPTIMIZER_KEYS for p in parts[:-1]):
        return Role.OPTIMIZER_STATE, {"role_from": "name"}
    if leaf.endswith("_mask") and f"{path[: -len('_mask')]}_orig" in names:
        return Role.PRUNING_MASK, {"role_from": "name"}
    if leaf in _BUFFER_NAMES:
        return Role.BUFFER, {"role_from": "name"}
    return Role.PARAMETER, {}


def _state_dict_report(state: Mapping[str, Any], target: str | None, torch: Any, nnz: bool | None = None) -> Report:
    items = list(_iter_tensor_items(state, "", torch, 0))
    if not items:
        raise UnsupportedObjectError("The mapping holds no tensors: it is not a state dict modelsize can measure.")
    tensors = dict(items)
    counter = NonzeroCounter.for_tensors(iter(tensors.values()), nnz)
    records: list[TensorRecord] = []
    notes: list[str] = []
    for path, tensor in items:
        role, meta = _state_dict_role(path, tensors.keys())
        if (inner := inner_tensors(tensor)) is not None:
            records.extend(subclass_records(tensor, path, None, inner, counter))
            continue
        count: int | None | str = "count"
        if path.endswith("_orig") and f"{path[: -len('_orig')]}_mask" in tensors:
            count = _masked_nnz(tensor, tensors[f"{path[: -len('_orig')]}_mask"])
            meta.update(pruned=True, mask=f"{path[: -len('_orig')]}_mask")
        records.append(tensor_record(tensor, path, role, None, nnz=count, counter=counter, **meta))
        if tensor.is_quantized:
            records.extend(_quant_param_records(tensor, path))
    _note_skipped(counter, notes)
    notes.append("Measured from a state dict: module types and trainable flags are unknown, and roles "
                 "other than parameter are inferred from names (running_mean, *_mask, optimizer.*).")
    root = from_flat(records, root_name="state_dict", root_kind="StateDict")
    source = Source(framework="pytorch", object_type=type(state).__name__, target=target,
                    details={"torch_version": torch.__version__, "nonzeros": counter.section()})
    return Report(root=root, source=source, notes=tuple(notes))


def main_formats(model: Any, compression: CompressionOptions) -> list[FormatSize]:
    """The files a PyTorch user ships: ``torch.save(state_dict)`` and safetensors (the
    ``main_formats`` of the framework's entry in :data:`modelsize.frameworks.FRAMEWORKS`)."""
    from ..serialize.torch_formats import safetensors_format, torch_save_format

    return [torch_save_format("torch.save(state_dict)", model.state_dict(), compression),
            safetensors_format(model, compression)]

"""Trace on the meta device instead of fake tensors, where that gives the same ops as CPU.

``FakeTensorMode`` costs more than the trace it serves on the config path: its ``__init__``
imports ``torch._dynamo.config``, hence all of ``torch._dynamo`` (~0.9–1.7 s of CPU, more than
half of ``import torch``; its exit hook then imports ``tabulate``), and every op goes through
its Python dispatch and cache (~0.3 ms an op). Meta tensors propagate shapes, dtypes and
strides in C++ with none of that, and have storages whose identity, size and lifetime the
activation ledger reads as it reads fake ones.

What a meta trace gives differently from a fake CPU trace is what ATen decides by device. On
the modules this path takes, that is two things. ``scaled_dot_product_attention`` asks the
device's backend chooser, which meta does not have, so meta always runs the composite math
path where CPU runs its fused flash kernel: :func:`cpu_semantics_mode` makes that decision with
CPU's own chooser (``aten._fused_sdp_choice`` dispatched to its CPU kernel, which reads only
shapes, strides, dtypes and flags) and, where CPU picks flash, calls the op CPU calls
(``_scaled_dot_product_flash_attention_for_cpu``); any other choice (CPU takes its math path
with dropout, for one), or a boolean mask (which CPU converts with ops of its own), is
:class:`Unsupported` and the profile takes the fake path. And ``torch.tensor(data)`` lifts the
new tensor with an op of its own (``aten.lift_fresh``) on CPU but not on meta: the mode calls it.

Meta tensors alone do not avoid ``torch._dynamo``: torch's Python meta kernels (the
elementwise references: ``add``, ``mul``, ``cos`` …) are wrapped in ``torch._disable_dynamo``,
whose first call imports ``torch._dynamo`` to build the wrapper it caches on the function.
Outside a ``torch.compile`` trace that wrapper only calls the function, so :func:`no_dynamo_import`
gives the wrapped functions the function itself as that cache for the trace, and takes it away
again in ``finally`` (nothing is changed when ``torch._dynamo`` is already imported).

Only models that declare it (``_modelsize_meta_trace = True``, the stand-ins of
:mod:`.hf_standins`, whose forward runs no other device-dependent code) are traced this way,
with every parameter and buffer on meta and inputs made from the spec; any failure falls back
to the fake trace. An inference-only profile traces such a model in place (no deep copy) and puts
back what the pass changes (``torch_profile._state_restored``). ``tests/compute/test_compute_hf_standins.py``
checks every figure of the profile against transformers' model traced on fake CPU tensors, and
``tests/compute/test_compute_meta_trace.py`` the two traces of the same modules against each other.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

#: Class attribute a model sets to be traced on meta (see the module docstring).
MARKER = "_modelsize_meta_trace"


class Unsupported(Exception):
    """The meta trace cannot reproduce what CPU would do here; the fake trace is used instead."""


def applies(model: Any, real: Any, torch: Any) -> bool:
    """Whether ``model`` is traced on meta: it declares it, holds only meta tensors, inputs from the spec."""
    if real is not None or not getattr(type(model), MARKER, False):
        return False
    tensors = list(model.parameters()) + list(model.buffers())
    return all(t.device.type == "meta" for t in tensors)


def meta_like(t: Any, torch: Any) -> Any:
    """A fresh meta tensor (or parameter) with ``t``'s shape, strides, dtype and grad flag."""
    fresh = torch.empty_strided(tuple(t.shape), tuple(t.stride()), dtype=t.dtype, device="meta")
    if isinstance(t, torch.nn.Parameter):
        return torch.nn.Parameter(fresh, requires_grad=t.requires_grad)
    return fresh.requires_grad_(t.requires_grad) if t.requires_grad else fresh


def cpu_semantics_mode(torch: Any) -> Any:
    """A ``TorchFunctionMode`` answering ``scaled_dot_product_attention`` and ``torch.tensor`` on meta as CPU does."""
    from torch.overrides import TorchFunctionMode

    sdpa = torch.nn.functional.scaled_dot_product_attention
    aten = torch.ops.aten
    cpu = torch._C.DispatchKeySet(torch._C.DispatchKey.CPU)
    flash = int(torch.nn.attention.SDPBackend.FLASH_ATTENTION)

    class CpuSemantics(TorchFunctionMode):
        def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            kwargs = kwargs or {}
            if func is torch.tensor:  # from data: on CPU the new tensor is lifted by an op of its own
                out = func(*args, **kwargs)
                return aten.lift_fresh.default(out) if out.is_meta else out
            if func is not sdpa:
                return func(*args, **kwargs)
            q, k, v, mask, dropout, causal, scale, gqa = _sdpa_arguments(args, kwargs)
            if not q.is_meta:
                return func(*args, **kwargs)
            if mask is not None and mask.dtype == torch.bool:
                raise Unsupported("a boolean attention mask (CPU converts it with ops of its own)")
            choice = aten._fused_sdp_choice.default.redispatch(
                cpu, q, k, v, mask, dropout, causal, scale=scale, enable_gqa=gqa)
            if choice != flash:
                raise Unsupported(f"CPU would take SDPA backend {choice}, not its flash kernel")
            return aten._scaled_dot_product_flash_attention_for_cpu.default(
                q, k, v, dropout, causal, attn_mask=mask, scale=scale)[0]

    return CpuSemantics()


_SDPA_NAMES = ("query", "key", "value", "attn_mask", "dropout_p", "is_causal")
_SDPA_DEFAULTS = (None, 0.0, False)


def _sdpa_arguments(args: Any, kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """``(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa)`` of an SDPA call."""
    if len(args) > len(_SDPA_NAMES):
        raise Unsupported("scaled_dot_product_attention called with more positional arguments than it takes")
    values = list(args) + [None] * (len(_SDPA_NAMES) - len(args))
    for i, name in enumerate(_SDPA_NAMES):
        if name in kwargs:
            values[i] = kwargs[name]
        elif i >= len(args) and i >= 3:
            values[i] = _SDPA_DEFAULTS[i - 3]
    return (*values[:6], kwargs.get("scale"), bool(kwargs.get("enable_gqa", False)))


@contextlib.contextmanager
def no_dynamo_import(torch: Any) -> Iterator[None]:
    """Python meta kernels called without importing ``torch._dynamo`` (restored on exit).

    ``torch._disable_dynamo(fn)`` returns ``inner``, which on its first call imports
    ``torch._dynamo`` and caches ``torch._dynamo.disable(fn)`` as ``fn.__dynamo_disable``; with
    no compilation running, that disabled function is ``fn`` itself. Every such ``fn`` among the
    meta and decomposition tables is given ``fn`` as its cache for the duration, and the entries
    this context added are removed on exit, so the first call after it builds the real one.
    """
    if "torch._dynamo" in sys.modules:
        yield
        return
    seeded = []
    for fn in _dynamo_disabled_functions(torch):
        if "__dynamo_disable" not in vars(fn):
            setattr(fn, "__dynamo_disable", fn)
            seeded.append(fn)
    try:
        yield
    finally:
        for fn in seeded:
            if vars(fn).get("__dynamo_disable") is fn:
                delattr(fn, "__dynamo_disable")


def _dynamo_disabled_functions(torch: Any) -> list[Any]:
    """The functions ``torch._disable_dynamo`` wraps among the meta kernels and decompositions."""
    from torch._compile import _disable_dynamo
    from torch._decomp import global_decomposition_table

    inner = _disable_dynamo(_no_op).__code__
    seen: set[int] = set()
    found: list[Any] = []
    stack = [fn for table in global_decomposition_table.values() for fn in table.values()]
    while stack:
        fn = stack.pop()
        code = getattr(fn, "__code__", None)
        if id(fn) in seen or code is None:
            continue
        seen.add(id(fn))
        cells = dict(zip(code.co_freevars, fn.__closure__ or ()))
        if code is inner and "fn" in cells:
            found.append(cells["fn"].cell_contents)
        if getattr(fn, "__wrapped__", None) is not None:
            stack.append(fn.__wrapped__)
        for cell in cells.values():
            with contextlib.suppress(ValueError):  # an empty cell
                if callable(cell.cell_contents):
                    stack.append(cell.cell_contents)
    return found


def _no_op() -> None:
    return None

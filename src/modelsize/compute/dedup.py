"""Trace each distinct layer once: identical layers replay the first one's trace.

A 70B decoder has 80 layers of one kind; tracing each on fake tensors costs ~30 ms of Python
per layer. Layers are grouped when their module class, configuration (every submodule's class,
parameter and buffer shapes and dtypes, plain attributes — the layer index excepted) and the
shapes of the inputs they are called with are identical. The first call of a group runs under
the profiling mode as usual while its events are recorded: every counted op (name, status,
MACs, elementwise FLOPs, running modules), every allocation and free of the activation ledger,
the submodule calls. A later member called with the same input shapes does not run: the
events are applied again under its own module paths, and its outputs are new fake tensors of
the recorded shapes whose storages carry the recorded allocations, so the totals, per-module
rows, coverage and memory peak equal a full trace (tested on Llama-3, Mixtral, Gemma-2,
DeepSeek-V3-like and Jamba configs).

What a skipped layer would have stored elsewhere (its slice of a KV cache) is kept alive, as
bytes, until the pass ends, like the cache that held it. A call whose outputs are not fresh
allocations (a layer returning a view of its input), or that frees storage it did not
allocate, is never replayed: that member runs. Layers that read another layer's state through
a shared object (cross-layer KV sharing) would not see the skipped layer's writes, so the
profile falls back to a full trace when a deduplicated pass fails.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

#: Attributes that number a layer and change nothing about its compute.
_INDEX_NAMES = frozenset({"layer_idx", "layer_id", "layer_number", "layer_index", "idx"})
_PRIMITIVE = (int, float, str, bool, type(None))


def _attr_key(value: Any, torch: Any) -> Any:
    if isinstance(value, _PRIMITIVE) or isinstance(value, (torch.dtype, torch.device)):
        return value
    if isinstance(value, (tuple, list)) and all(isinstance(v, _PRIMITIVE) for v in value):
        return tuple(value)
    if isinstance(value, torch.Tensor):
        return ("tensor", tuple(value.shape), value.dtype)
    if isinstance(value, dict):
        return ("dict", len(value))
    if isinstance(value, (set, frozenset)):
        return ("set", tuple(sorted(repr(v) for v in value)))
    if callable(value) and not isinstance(value, torch.nn.Module):
        return ("callable", getattr(value, "__qualname__", type(value).__qualname__))
    return ("object", id(value))


def module_signature(module: Any, torch: Any) -> tuple[Any, ...]:
    """Class, parameters, buffers and plain attributes of ``module`` and every submodule."""
    parts: list[Any] = []
    for name, sub in module.named_modules(remove_duplicate=False):
        tensors = [(k, tuple(t.shape), t.dtype, t.requires_grad) for k, t in sub._parameters.items() if t is not None]
        tensors += [(k, tuple(t.shape), t.dtype) for k, t in sub._buffers.items() if t is not None]
        attrs = [(k, _attr_key(v, torch)) for k, v in vars(sub).items()
                 if k not in _INDEX_NAMES and k not in ("_parameters", "_buffers", "_modules")]
        parts.append((name, type(sub), tuple(tensors), tuple(sorted(attrs, key=lambda kv: kv[0]))))
    return tuple(parts)


def call_key(args: Any, kwargs: Any, torch: Any) -> tuple[Any, ...]:
    """Shapes, strides and dtypes of a call's tensors; values of its plain arguments."""
    from torch.utils._pytree import tree_flatten

    leaves, spec = tree_flatten((args, kwargs))
    key: list[Any] = [str(spec)]
    for leaf in leaves:
        if isinstance(leaf, torch.Tensor):
            key.append((tuple(leaf.shape), tuple(leaf.stride()), leaf.dtype, leaf.device, leaf.requires_grad))
        elif isinstance(leaf, _PRIMITIVE):
            key.append(leaf)
        else:
            key.append(("object", type(leaf).__qualname__))
    return tuple(key)


@dataclass
class _Tape:
    """One recorded call: ops, ledger events, submodule calls, outputs and what else stayed live."""

    path: str
    ops: list[tuple[Any, ...]]
    events: list[tuple[Any, ...]]
    calls: dict[str, int]
    observed: dict[str, Any]
    out_spec: Any
    outputs: list[tuple[Any, ...]]  #: per output leaf: (token, size, stride, offset, dtype, device) or a plain value
    kept: list[Any]  #: tokens of other storages allocated in the call and still live at its end


@dataclass
class LayerDedup:
    """Replays identical layers of one pass (install with :meth:`installed`)."""

    torch: Any
    fake_mode: Any
    tally: Any
    ledger: Any
    tracker: Any
    observed: Any = None
    replayed: int = 0  #: layer calls not run
    _tapes: dict[tuple[Any, Any], _Tape | None] = field(default_factory=dict)
    _busy: bool = False
    _keep: list[Any] = field(default_factory=list)

    @staticmethod
    def groups(root: Any, torch: Any) -> list[list[Any]]:
        """Members of each ``ModuleList`` that share a signature with another member."""
        out: list[list[Any]] = []
        for module in root.modules():
            if not isinstance(module, torch.nn.ModuleList) or len(module) < 2:
                continue
            by_sig: dict[Any, list[Any]] = {}
            for layer in module:
                by_sig.setdefault(module_signature(layer, torch), []).append(layer)
            out.extend(members for members in by_sig.values() if len(members) > 1)
        return out

    @contextlib.contextmanager
    def installed(self, root: Any) -> Iterator["LayerDedup"]:
        patched: list[tuple[Any, Any]] = []
        try:
            for number, members in enumerate(self.groups(root, self.torch)):
                for layer in members:
                    patched.append((layer, layer.__dict__.get("forward")))
                    object.__setattr__(layer, "forward", self._forward(layer, number, layer.forward))
            yield self
        finally:
            for layer, own in patched:
                if own is None:
                    layer.__dict__.pop("forward", None)
                else:
                    object.__setattr__(layer, "forward", own)

    def release(self) -> None:
        """The pass is over: what skipped layers kept alive is freed."""
        self._keep.clear()

    def _forward(self, layer: Any, group: int, forward: Any) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            path = self.tracker.path_of(layer)
            if self._busy or path is None:
                return forward(*args, **kwargs)
            key = (group, call_key(args, kwargs, self.torch))
            if key in self._tapes:
                tape = self._tapes[key]
                if tape is not None and tape.path != path:
                    return self._replay(tape, path)
                return forward(*args, **kwargs)
            return self._record(key, path, forward, args, kwargs)

        return run

    def _record(self, key: Any, path: str, forward: Any, args: Any, kwargs: Any) -> Any:
        from torch.utils._pytree import tree_flatten

        ops: list[tuple[Any, ...]] = []
        events: list[tuple[Any, ...]] = []
        calls_before = dict(self.tracker.calls)
        observed_before = dict(self.observed.layers) if self.observed is not None else {}
        self._busy, self.tally.tape, self.ledger.tape = True, ops, events
        try:
            out = forward(*args, **kwargs)
        finally:
            self._busy, self.tally.tape, self.ledger.tape = False, None, None
        inner = path + "."
        calls = {p[len(path):]: n - calls_before.get(p, 0) for p, n in self.tracker.calls.items()
                 if p.startswith(inner) and n != calls_before.get(p, 0)}
        observed = {p[len(path):]: v for p, v in (self.observed.layers if self.observed is not None else {}).items()
                    if p.startswith(inner) and p not in observed_before}
        leaves, spec = tree_flatten(out)
        self._tapes[key] = _tape(path, ops, events, calls, observed, leaves, spec, self.torch)
        return out

    def _replay(self, tape: _Tape, path: str) -> Any:
        from torch.utils._pytree import tree_unflatten
        from torch.utils._python_dispatch import _disable_current_modes

        renamed: dict[Any, list[str]] = {}  # a layer's ops run under a handful of module sets

        def rename(parents: Any) -> list[str]:
            out = renamed.get(parents)
            if out is None:
                out = renamed[parents] = [path + p[len(tape.path):] if p == tape.path or p.startswith(tape.path + ".")
                                          else p for p in parents]
            return out

        for phase, op, status, macs, elem, parents in tape.ops:
            self.tally.add(phase, op, status, macs, elem, rename(parents))
        for sub, n in tape.calls.items():
            self.tracker.calls[path + sub] = self.tracker.calls.get(path + sub, 0) + n
        if self.observed is not None:
            for sub, value in tape.observed.items():
                self.observed.layers[path + sub] = value
        live = self.ledger.replay(tape.events, rename)
        with _disable_current_modes(), self.fake_mode:
            bases = {token: self.torch.empty((entry.nbytes,), dtype=self.torch.uint8, device=device)
                     for token, (entry, device) in _devices(live, tape).items()}
        for token, base in bases.items():
            self.ledger.adopt(base, live[token])
        leaves = []
        with _disable_current_modes(), self.fake_mode:
            for item in tape.outputs:
                if item[0] != "tensor":
                    leaves.append(item[1])
                    continue
                _, token, size, stride, offset, dtype, _ = item
                leaves.append(bases[token].view(dtype).as_strided(size, stride, offset))
        self._keep.extend(bases[token] for token in tape.kept)
        self.replayed += 1
        return tree_unflatten(leaves, tape.out_spec)


def _devices(live: dict[Any, Any], tape: _Tape) -> dict[Any, tuple[Any, Any]]:
    """Each live entry with the device its storage was allocated on."""
    devices = {event[1]: event[4] for event in tape.events if event[0] == "alloc"}
    return {token: (entry, devices[token]) for token, entry in live.items()}


def _tape(path: str, ops: list[Any], events: list[Any], calls: dict[str, int], observed: dict[str, Any],
          leaves: list[Any], spec: Any, torch: Any) -> _Tape | None:
    """The recorded call, or None when it cannot be replayed faithfully."""
    allocated: dict[Any, int] = {}
    for event in events:
        if event[0] == "alloc":
            allocated[event[1]] = event[2]
        elif event[0] == "free":
            if event[1] not in allocated:
                return None  # it freed storage from before the call
            del allocated[event[1]]
    outputs: list[tuple[Any, ...]] = []
    for leaf in leaves:
        if not isinstance(leaf, torch.Tensor):
            if not isinstance(leaf, _PRIMITIVE):
                return None
            outputs.append(("value", leaf))
            continue
        token = id(leaf.untyped_storage())
        if token not in allocated or allocated[token] != int(leaf.untyped_storage().nbytes()) \
                or leaf.layout != torch.strided or leaf.requires_grad:
            return None  # a view of an input, or not a plain tensor: run it instead
        outputs.append(("tensor", token, tuple(leaf.shape), tuple(leaf.stride()), leaf.storage_offset(),
                        leaf.dtype, leaf.device))
    output_tokens = {item[1] for item in outputs if item[0] == "tensor"}
    kept = [token for token in allocated if token not in output_tokens]
    return _Tape(path, ops, events, calls, observed, spec, outputs, kept)

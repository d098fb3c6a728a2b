"""Activation memory from tensor lifetimes: allocations and frees of fake tensors' storages.

Every op output the profiling mode sees is checked for a storage not seen before; its bytes are
added to the live total, and a weak reference on the storage takes them off when the last
tensor using it dies — on fake tensors, so nothing is allocated. Views and in-place ops reuse
a storage and cost nothing, as in eager PyTorch. Weights and buffers are registered up front
and never counted as activations.

The ledger keeps each storage's allocation and free time so the moment of the peak can be
taken apart afterwards (which of the live bytes were gradients, which activations).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any, Iterable

INPUT = "input"
ACTIVATION = "activation"
GRADIENT = "gradient"
WORKSPACE = "workspace"

_CONVOLUTIONS = frozenset({"convolution", "_convolution", "convolution_overrideable", "_slow_conv2d_forward"})


def kernel_workspace(func: Any, args: Any, out: Any) -> int:
    """Transient bytes PyTorch's CPU convolutions use beyond their inputs and outputs.

    Measured on PyTorch's CPU (oneDNN) convolutions with the allocator returning freed memory at
    once: a forward holds a second copy of its output (the result in oneDNN's blocked layout,
    then reordered); a backward holds copies of ``grad_output`` and ``input``. Other CPU kernels
    showed no workspace worth counting. Fake tensors never run the kernels, so this is the one
    piece of the activation trace that is a rule, not a trace.
    """
    name = func.overloadpacket.__name__
    if name in _RNN_LAYERS:
        return _rnn_workspace(name, args)
    if name not in _CONVOLUTIONS and name != "convolution_backward":
        return 0
    first = args[0]
    if getattr(first, "device", None) is None or first.device.type != "cpu" or not first.is_floating_point():
        return 0
    if name == "convolution_backward":
        grad_out, inp = args[0], args[1]
        return _nbytes(grad_out) + _nbytes(inp)
    result = out[0] if isinstance(out, (tuple, list)) else out
    return _nbytes(result)


# oneDNN LSTM layers (``mkldnn_rnn_layer``), measured on CPU with freed memory returned at once
# (1×200×128 → 256 hidden): a forward holds a reordered copy of the two weight matrices and
# the gate pre-activations (rows × 4H) while it runs; in training it also returns a workspace
# of rows × 5H (gates and cell states) kept for backward, which fake tensors give as empty
# (see :func:`rnn_training_workspace`). A backward holds two weight-sized copies (reordered
# weights and their gradient in oneDNN's layout) and two rows × 4H gate-gradient buffers.
_RNN_LAYERS = frozenset({"mkldnn_rnn_layer", "mkldnn_rnn_layer_backward"})
_RNN_WORKSPACE_GATES = 5  # per hidden unit and row: 4 gates + the cell state


def _rnn_workspace(name: str, args: Any) -> int:
    inp, w_ih, w_hh = args[0], args[1], args[2]
    if getattr(inp, "device", None) is None or inp.device.type != "cpu":
        return 0
    hidden = int(w_hh.shape[-1])
    rows = _nbytes(inp) // (int(inp.shape[-1]) * inp.element_size()) if inp.shape[-1] else 0
    weights = _nbytes(w_ih) + _nbytes(w_hh)
    gates = rows * 4 * hidden * inp.element_size()
    return weights + gates if name == "mkldnn_rnn_layer" else 2 * weights + 2 * gates


def rnn_training_workspace(func: Any, args: Any, out: Any, torch: Any) -> Any:
    """``out`` of a training ``mkldnn_rnn_layer`` with its workspace given its real size.

    The fake kernel returns an empty workspace; the real one keeps rows × 5H elements alive
    until backward. A fake tensor of that size takes its place, so the ledger and the
    saved-tensor hooks see the bytes the real step holds.
    """
    if func.overloadpacket.__name__ != "mkldnn_rnn_layer" or not args[15] or _nbytes(out[3]) > 0:
        return out
    inp, w_hh = args[0], args[2]
    rows = 1
    for d in inp.shape[:-1]:
        rows *= int(d)
    workspace = torch.empty((rows * _RNN_WORKSPACE_GATES * int(w_hh.shape[-1]),), dtype=inp.dtype, device=inp.device)
    return (out[0], out[1], out[2], workspace)


def _nbytes(t: Any) -> int:
    n = 1
    for d in t.shape:
        n *= int(d)
    return n * t.element_size()


@dataclass
class _Entry:
    nbytes: int
    born: int
    died: int | None = None
    kind: str = ACTIVATION


@dataclass
class MemoryLedger:
    """Live bytes over time, the peak, and the peak seen while each module was running."""

    current: int = 0
    peak: int = 0
    peak_time: int = 0
    module_peak: dict[str, int] = field(default_factory=dict)
    _time: int = 0
    _live: dict[int, _Entry] = field(default_factory=dict)
    _entries: list[_Entry] = field(default_factory=list)
    _ignored: set[int] = field(default_factory=set)
    _refs: list[Any] = field(default_factory=list)
    tape: list[tuple[Any, ...]] | None = None  #: events recorded for a replay (see compute.dedup)

    def ignore(self, tensors: Iterable[Any]) -> None:
        """Storages that are not activations (weights, buffers): never counted."""
        for t in tensors:
            self._ignored.add(id(t.untyped_storage()))

    def is_ignored(self, tensor: Any) -> bool:
        return id(tensor.untyped_storage()) in self._ignored

    def track(self, tensors: Iterable[Any], parents: Iterable[str], kind: str = ACTIVATION) -> None:
        """Count storages of ``tensors`` not seen before as allocated now.

        ``module_peak`` is the most bytes live while each running module (``parents``) ran.
        """
        for t in tensors:
            storage = t.untyped_storage()
            key = id(storage)
            if key in self._live or key in self._ignored:
                continue
            entry = _Entry(int(storage.nbytes()), self._tick(), kind=kind)
            self._live[key] = entry
            self._entries.append(entry)
            self._refs.append(weakref.ref(storage, self._on_free(key)))
            self.current += entry.nbytes
            if self.tape is not None:
                self.tape.append(("alloc", key, entry.nbytes, kind, t.device))
            if self.current > self.peak:
                self.peak, self.peak_time = self.current, self._time
        parents = tuple(parents)
        if self.tape is not None:
            self.tape.append(("touch", parents))
        for path in parents:  # also for ops that allocate nothing (a view still runs in its module)
            if self.current > self.module_peak.get(path, -1):
                self.module_peak[path] = self.current

    def transient(self, nbytes: int, parents: Iterable[str]) -> None:
        """Bytes a kernel holds only while it runs (a workspace): they count towards the peak."""
        if nbytes <= 0:
            return
        parents = tuple(parents)
        if self.tape is not None:
            self.tape.append(("transient", nbytes, parents))
        self._tick()
        level = self.current + nbytes
        if level > self.peak:
            # The workspace is gone right after: book it as an entry that dies at once.
            self.peak, self.peak_time = level, self._time
            self._entries.append(_Entry(nbytes, self._time, self._time + 1, kind=WORKSPACE))
        for path in parents:
            if level > self.module_peak.get(path, 0):
                self.module_peak[path] = level
        self._tick()

    def _tick(self) -> int:
        self._time += 1
        return self._time

    def _on_free(self, key: int) -> Any:
        def free(_: Any) -> None:
            entry = self._live.pop(key, None)
            if entry is not None:
                entry.died = self._tick()
                self.current -= entry.nbytes
                if self.tape is not None:
                    self.tape.append(("free", key))

        return free

    def replay(self, events: list[tuple[Any, ...]], rename: Any) -> dict[Any, _Entry]:
        """Apply a recorded call's events again (``rename`` maps the recorded module paths);
        returns the entries still live at its end, keyed by their recorded token."""
        live: dict[Any, _Entry] = {}
        for event in events:
            if event[0] == "alloc":
                entry = _Entry(event[2], self._tick(), kind=event[3])
                self._entries.append(entry)
                live[event[1]] = entry
                self.current += entry.nbytes
                if self.current > self.peak:
                    self.peak, self.peak_time = self.current, self._time
            elif event[0] == "free":
                entry = live.pop(event[1])
                entry.died = self._tick()
                self.current -= entry.nbytes
            elif event[0] == "touch":
                for path in rename(event[1]):
                    if self.current > self.module_peak.get(path, -1):
                        self.module_peak[path] = self.current
            else:
                self.transient(event[1], rename(event[2]))
        return live

    def adopt(self, tensor: Any, entry: _Entry) -> None:
        """``tensor``'s storage is the replayed live ``entry``: freed when it dies."""
        storage = tensor.untyped_storage()
        key = id(storage)
        self._live[key] = entry
        self._refs.append(weakref.ref(storage, self._on_free(key)))

    def mark(self, tensors: Iterable[Any], kind: str) -> None:
        """Relabel live storages (e.g. the parameters' ``.grad`` after backward)."""
        for t in tensors:
            entry = self._live.get(id(t.untyped_storage()))
            if entry is not None:
                entry.kind = kind

    def at_peak(self) -> dict[str, int]:
        """Bytes live at the moment of the peak, by kind (input, activation, gradient)."""
        return self.live_at(self.peak_time)

    def live_at(self, time: int) -> dict[str, int]:
        out: dict[str, int] = {}
        for e in self._entries:
            if e.born <= time and (e.died is None or e.died > time):
                out[e.kind] = out.get(e.kind, 0) + e.nbytes
        return out

    def live_now(self) -> dict[str, int]:
        return self.live_at(self._time)


@dataclass
class SavedTensors:
    """Bytes autograd saves for backward, per module (a storage counted once per module).

    Saved storages stay alive until backward, so their ids are stable while forward packs them.
    """

    ledger: MemoryLedger
    total: int = 0
    weights: int = 0
    per_module: dict[str, int] = field(default_factory=dict)
    _seen: set[int] = field(default_factory=set)
    _seen_by_module: dict[str, set[int]] = field(default_factory=dict)
    parents: Any = None  #: callable returning the running module paths

    def pack(self, tensor: Any) -> Any:
        storage = tensor.untyped_storage()
        key = id(storage)
        nbytes = int(storage.nbytes())
        if self.ledger.is_ignored(tensor):
            if key not in self._seen:
                self._seen.add(key)
                self.weights += nbytes
            return tensor
        if key not in self._seen:
            self._seen.add(key)
            self.total += nbytes
        for path in self.parents():
            seen = self._seen_by_module.setdefault(path, set())
            if key not in seen:
                seen.add(key)
                self.per_module[path] = self.per_module.get(path, 0) + nbytes
        return tensor

    @staticmethod
    def unpack(tensor: Any) -> Any:
        return tensor

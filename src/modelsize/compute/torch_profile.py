"""Profile a ``torch.nn.Module`` on fake tensors: FLOPs per op and module, activation memory.

The model is never run on real data here, and never touched: it is deep-copied with every
parameter, buffer and tensor attribute swapped for a fake tensor (``FakeTensorMode``: shapes,
dtypes and devices without storage), so a 7B-parameter model profiles in seconds and a few
hundred MB. A ``TorchDispatchMode`` stacked on the fake mode sees every ATen op: it counts
FLOPs (``flops.OpRules``), attributes them to the running modules (``tracker``), and traces
storage lifetimes (``activations.MemoryLedger``).

In the copy, modules whose real kernels cannot run on fake tensors or would cost one dispatch
per time step get stand-ins with the same FLOPs: mixture-of-experts routing (``moe``) and
recurrent layers (``rnn``).

Models that declare it (modelsize's own stand-ins built from a config.json) are traced on meta
tensors instead, without ``FakeTensorMode`` (:mod:`.meta_trace`); for an inference-only profile
they are traced in place, and what the pass changes on them is put back.

Two passes at most: an inference forward (copy in eval mode, no grad) for FLOPs, coverage and
the forward peak; with ``backward=True`` a training step (train mode, grad on, forward +
backward) for backward FLOPs, bytes saved for backward and the step's peak.
"""

from __future__ import annotations

import contextlib
import copy
import gc
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..core.errors import ModelStateError
from . import meta_trace, rnn
from .activations import GRADIENT, INPUT, MemoryLedger, SavedTensors, kernel_workspace, rnn_training_workspace
from .bugs import ProfilerBugError, ours
from .dedup import LayerDedup
from .fastpath import CausalMasks, structural_torch
from .flops import COUNTED, OpRules, op_name
from .inputs import InputSpec, is_packed, make_tensors
from .moe import Observed, install_standins, moe_profile
from .result import Coverage, MemoryStats, ModuleStats, OpStat, PassTotals, with_container_rows
from .tracker import ModulePathTracker
from .training_memory import StepTrace

FORWARD = "forward"
BACKWARD = "backward"
_REAL_INDEX_LIMIT = 1 << 16  #: largest real integer tensor computed for real (batch sizes of a packed input)


@dataclass
class _Tally:
    """Op statistics and per-module FLOPs, by phase."""

    ops: dict[tuple[str, str], list[Any]] = field(default_factory=dict)  # (phase, op) → [status, calls, macs, elem]
    modules: dict[tuple[str, str], list[int]] = field(default_factory=dict)  # (phase, path) → [macs, elem]
    tape: list[tuple[Any, ...]] | None = None  #: calls recorded for a replay (see compute.dedup)

    def add(self, phase: str, op: str, status: str, macs: int, elem: int, parents: Any) -> None:
        if self.tape is not None:
            self.tape.append((phase, op, status, macs, elem, tuple(parents)))
        row = self.ops.setdefault((phase, op), [status, 0, 0, 0])
        row[1] += 1
        row[2] += macs
        row[3] += elem
        if macs or elem:
            for path in parents:
                acc = self.modules.setdefault((phase, path), [0, 0])
                acc[0] += macs
                acc[1] += elem

    def totals(self, phase: str) -> PassTotals:
        rows = [r for (p, _), r in self.ops.items() if p == phase]
        return PassTotals(sum(r[2] for r in rows), sum(r[3] for r in rows))

    def coverage(self, phase: str) -> Coverage:
        stats = [OpStat(op, r[0], r[1], r[2], r[3]) for (p, op), r in self.ops.items() if p == phase]
        stats.sort(key=lambda s: (s.status != COUNTED, -s.flops, -s.calls, s.op))
        return Coverage(tuple(stats))

    def module(self, phase: str, path: str) -> PassTotals:
        macs, elem = self.modules.get((phase, path), (0, 0))
        return PassTotals(macs, elem)


def _dispatch_mode_class() -> type:
    """Build the TorchDispatchMode subclass (torch is imported only when profiling)."""
    import torch
    from torch._subclasses.fake_tensor import FakeTensor
    from torch.utils._python_dispatch import TorchDispatchMode, _disable_current_modes
    from torch.utils._pytree import tree_flatten

    aten = torch.ops.aten
    metadata_ops = {
        aten.sym_size.default, aten.sym_stride.default, aten.sym_numel.default, aten.sym_storage_offset.default,
        aten.size.default, aten.stride.default, aten.numel.default, aten.dim.default,
        aten.storage_offset.default, aten.is_contiguous.default, aten.is_contiguous.memory_format,
        aten.is_strides_like_format.default, aten.is_non_overlapping_and_dense.default,
        torch.ops.prim.layout.default, torch.ops.prim.device.default,
    }

    def _only_real_tensors(args: Any, kwargs: Any) -> bool:
        """Small real integer tensors only (index bookkeeping such as a packed sequence's batch
        sizes): anything else goes through the fake mode, so no real arithmetic escapes counting."""
        leaves = [t for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)]
        return bool(leaves) and all(
            not isinstance(t, FakeTensor) and not t.is_meta and not t.is_floating_point() and not t.is_complex()
            and t.numel() <= _REAL_INDEX_LIMIT for t in leaves
        )

    class ProfileMode(TorchDispatchMode):
        """Counts and attributes every op; traces output storages."""

        @classmethod
        def _should_skip_dynamo(cls) -> bool:
            # TorchDispatchMode wraps a subclass's __torch_dispatch__ in torch._disable_dynamo,
            # whose first call imports torch._dynamo (~1 s). Nothing here is ever compiled.
            return False

        def __init__(self, rules: OpRules, tracker: ModulePathTracker, ledger: MemoryLedger, tally: _Tally) -> None:
            super().__init__()
            self.rules, self.tracker, self.ledger, self.tally = rules, tracker, ledger, tally

        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            kwargs = kwargs or {}
            if func in metadata_ops or not hasattr(func, "overloadpacket"):
                return func(*args, **kwargs)
            if _only_real_tensors(args, kwargs):
                # Index bookkeeping on real tensors we kept real on purpose (a packed sequence's
                # batch sizes): computed for real, so their values can be read; no FLOPs.
                with _disable_current_modes():
                    return func(*args, **kwargs)
            kind, _ = self.rules.kind(func)
            if kind == "unknown":
                # As FlopCounterMode: an op we have no rule for may decompose into ops we have.
                with self:
                    out = func.decompose(*args, **kwargs)
                if out is not NotImplemented:
                    return out
            out = func(*args, **kwargs)  # the op itself: its failures are the model's
            out = ours("RNN workspace sizing", rnn_training_workspace)(func, args, out, torch)
            self._record(func, args, kwargs, out)
            return out

        def _record_unguarded(self, func: Any, args: Any, kwargs: Any, out: Any) -> None:
            """Our bookkeeping for one op: count it, attribute it, trace its output storages."""
            count = self.rules.count(func, args, kwargs, out)
            phase = BACKWARD if torch._C._current_graph_task_id() != -1 else FORWARD
            parents = set(self.tracker.parents)
            self.tally.add(phase, op_name(func), count.status, count.macs, count.elementwise, parents)
            leaves, _ = tree_flatten(out)
            tensors = [t for t in leaves if isinstance(t, torch.Tensor) and t.layout == torch.strided]
            self.ledger.track(tensors, parents)
            self.ledger.transient(kernel_workspace(func, args, out), parents)

        def _record(self, func: Any, args: Any, kwargs: Any, out: Any) -> None:
            ours(f"FLOP counting of {op_name(func)}", self._record_unguarded)(func, args, kwargs, out)

    return ProfileMode


# --------------------------------------------------------------------------- fake copy


def fake_copy(model: Any, fake_mode: Any, like: Any = None) -> Any:
    """A deep copy of ``model`` whose tensors are fake (no storage); the model is not touched.

    Parameters, buffers and plain tensor attributes are pre-seeded in ``deepcopy``'s memo with
    fake stand-ins, so no data is copied; tied weights stay tied (one memo entry per object).
    Meta tensors become fake CPU tensors, so the CPU code paths run. ``like`` (tensor, torch →
    tensor) makes the stand-ins another way (fresh meta tensors for a meta trace).
    """
    import torch

    like = like or _fake_like
    memo: dict[int, Any] = {}
    with fake_mode:
        for module in model.modules():
            tensors = list(module._parameters.values()) + list(module._buffers.values())
            tensors += [v for v in vars(module).values() if isinstance(v, torch.Tensor)]
            for t in tensors:
                if t is None or id(t) in memo:
                    continue
                memo[id(t)] = like(t, torch)
    try:
        fmodel = copy.deepcopy(model, memo)
    except Exception as exc:  # noqa: BLE001 - any failure of the user's objects to copy
        raise ModelStateError(
            f"The model could not be copied for profiling ({type(exc).__name__}: {exc}). modelsize "
            "profiles a copy so the model itself is never modified; make the model deep-copyable."
        ) from exc
    for module in fmodel.modules():
        object.__setattr__(module, "to", _fake_safe_to(module))
    return fmodel


def _fake_safe_to(module: Any) -> Any:
    """``module.to(...)`` for the fake copy: a no-op when nothing would change.

    Forwards that call ``self.x = self.x.to(self.dtype)`` (Switch Transformers' router) fail on
    fake parameters in torch ≥ 2.x: ``Module._apply`` swaps fake tensors in place, which
    FakeTensorMode's weak references forbid. When dtype and device already match, the real
    ``to`` would change nothing either.
    """
    import torch

    original = module.to

    def to(*args: Any, **kwargs: Any) -> Any:
        device, dtype, _, _ = torch._C._nn._parse_to(*args, **kwargs)
        tensors = list(module.parameters()) + list(module.buffers())
        if all((dtype is None or not t.is_floating_point() or t.dtype == dtype)
               and (device is None or t.device == device) for t in tensors):
            return module
        return original(*args, **kwargs)

    return to


def _fake_like(t: Any, torch: Any) -> Any:
    if t.is_quantized or t.layout != torch.strided:
        raise ModelStateError(
            f"The model holds a {'quantized' if t.is_quantized else str(t.layout)} tensor of shape "
            f"{tuple(t.shape)}: its compute cannot be profiled on fake tensors. Profile the float model."
        )
    device = "cpu" if t.device.type == "meta" else t.device
    fake = torch.empty_strided(tuple(t.shape), tuple(t.stride()), dtype=t.dtype, device=device)
    if isinstance(t, torch.nn.Parameter):
        return torch.nn.Parameter(fake, requires_grad=t.requires_grad)
    return fake.requires_grad_(t.requires_grad) if t.requires_grad else fake


def model_float_dtype(model: Any) -> str:
    """The dtype of the first floating parameter (what unspecified float inputs become)."""
    for p in model.parameters():
        if p.is_floating_point():
            return str(p.dtype).removeprefix("torch.")
    return "float32"


def _model_device(model: Any, torch: Any) -> Any:
    for t in list(model.parameters()) + list(model.buffers()):
        return torch.device("cpu") if t.device.type == "meta" else t.device
    return torch.device("cpu")


def _fake_inputs(spec: InputSpec, real: Any, fake_mode: Any, device: Any, torch: Any,
                 masks: CausalMasks | None = None) -> tuple[list[Any], dict[str, Any]]:
    if real is None:
        with fake_mode:
            return make_tensors(spec, torch, device)
    args, kwargs = real

    def conv(v: Any) -> Any:
        if is_packed(v):  # fake rows; the batch sizes stay real (the RNN reads their values)
            return v._replace(data=fake_mode.from_tensor(v.data))
        if not isinstance(v, torch.Tensor):
            return v
        fake = fake_mode.from_tensor(v)
        return masks.from_real(v, fake, torch) if masks is not None else fake

    return [conv(a) for a in args], {k: conv(v) for k, v in kwargs.items()}


def _unique_storage_bytes(tensors: list[Any]) -> int:
    seen: dict[int, int] = {}
    for t in tensors:
        s = t.untyped_storage()
        seen[id(s)] = int(s.nbytes())
    return sum(seen.values())


def _first_grad_output(out: Any, torch: Any) -> Any:
    from torch.utils._pytree import tree_flatten

    if isinstance(out, Mapping) and "loss" in out and isinstance(out["loss"], torch.Tensor):
        return out["loss"]
    leaves, _ = tree_flatten(out)
    for t in leaves:
        if isinstance(t, torch.Tensor) and t.requires_grad and t.is_floating_point():
            return t
    return None


# --------------------------------------------------------------------------- the passes


@dataclass
class TorchPasses:
    """Everything the passes measured, before it becomes a ComputeProfile."""

    tally: _Tally  #: inference forward
    train_tally: _Tally  #: training step (forward in train mode + backward)
    modules: dict[str, ModuleStats]
    memory: MemoryStats
    backward_ran: bool
    trace: StepTrace | None = None  #: the training step, for the training-memory estimate
    notes: list[str] = field(default_factory=list)
    moe: Any = None  #: MoEProfile when the model has experts modules


@dataclass
class _Session:
    """What both passes share: the fake mode, the fake copy, the op rules."""

    torch: Any
    fake_mode: Any
    fmodel: Any
    device: Any
    spec: InputSpec
    real: Any
    rules: OpRules
    mode_cls: type
    masks: CausalMasks = field(default_factory=CausalMasks)
    function_mode: Any = None  #: entered around each pass (the meta trace's CPU semantics)

    @property
    def params(self) -> list[Any]:
        return list(self.fmodel.parameters())

    @property
    def weights(self) -> list[Any]:
        return self.params + list(self.fmodel.buffers())

    def start(self) -> tuple[list[Any], dict[str, Any], MemoryLedger, ModulePathTracker]:
        """Fresh fake inputs, a ledger that ignores the weights and counts the inputs, a tracker."""
        args, kwargs = _fake_inputs(self.spec, self.real, self.fake_mode, self.device, self.torch, self.masks)
        ledger = MemoryLedger()
        ledger.ignore(self.weights)
        ledger.track(_tensors(args, kwargs, self.torch), (), kind=INPUT)
        return args, kwargs, ledger, ModulePathTracker(self.fmodel)

    def modes(self) -> contextlib.ExitStack:
        """The fake mode (nothing on a meta trace) and the function mode, for one pass."""
        stack = contextlib.ExitStack()
        stack.enter_context(self.fake_mode)
        if self.function_mode is not None:
            stack.enter_context(self.function_mode)
        return stack


@dataclass
class _Inference:
    tally: _Tally
    peak: int
    output_bytes: int
    module_peak: dict[str, int]
    calls: dict[str, int]
    replayed: int = 0  #: layer calls replayed from an identical layer's trace


@dataclass
class _Training:
    tally: _Tally
    ran_backward: bool
    saved_total: int
    saved_per_module: dict[str, int]
    peak: int
    gradient_bytes: int
    at_peak: dict[str, int]
    at_end: dict[str, int]


def _inference_pass(s: _Session, dedup: bool = False, observed: Any = None) -> _Inference:
    """Eval mode, no grad: FLOPs, coverage, the forward peak (identical layers replayed when ``dedup``)."""
    torch = s.torch
    s.fmodel.eval()
    args, kwargs, ledger, tracker = s.start()
    tally = _Tally()
    replay = LayerDedup(torch, s.fake_mode, tally, ledger, tracker, observed) if dedup else None
    with contextlib.ExitStack() as stack:
        if replay is not None:
            stack.enter_context(replay.installed(s.fmodel))
        with s.modes(), tracker, s.mode_cls(s.rules, tracker, ledger, tally), torch.no_grad():
            out = _call(s.fmodel, args, kwargs)
            output_bytes = ledger.live_now().get("activation", 0)
            del out
            if replay is not None:
                replay.release()
    return _Inference(tally, ledger.peak, output_bytes, dict(ledger.module_peak), dict(tracker.calls),
                      replay.replayed if replay is not None else 0)


def _training_pass(s: _Session, notes: list[str]) -> _Training:
    """Train mode, grad on: forward with saved-tensor hooks, then backward from the first output."""
    torch = s.torch
    s.fmodel.train()
    args, kwargs, ledger, tracker = s.start()
    saved = SavedTensors(ledger, parents=lambda: set(tracker.parents))
    tally = _Tally()
    ran = False
    with s.modes(), tracker, s.mode_cls(s.rules, tracker, ledger, tally), torch.enable_grad():
        with torch.autograd.graph.saved_tensors_hooks(ours("saved-tensor tracking", saved.pack), saved.unpack):
            out = _call(s.fmodel, args, kwargs)
        root = _first_grad_output(out, torch)
        if root is None:
            notes.append("No output requires grad (no trainable parameters reached it): backward was not run.")
        else:
            _call(root.backward, [torch.ones_like(root)], {}, what="backward")
            ran = True
        del out, root
    grads = [p.grad for p in s.params if p.grad is not None]
    ledger.mark(grads, GRADIENT)
    return _Training(
        tally=tally, ran_backward=ran, saved_total=saved.total, saved_per_module=saved.per_module,
        peak=ledger.peak, gradient_bytes=_unique_storage_bytes(grads), at_peak=ledger.at_peak(),
        at_end=ledger.live_now(),
    )


def run_passes(model: Any, spec: InputSpec, real: Any, *, include_elementwise: bool, backward: bool,
               dedup_layers: bool = False) -> TorchPasses:
    """Run the inference pass (and the training step when ``backward``) on a fake copy.

    Models that declare it are traced on meta tensors instead (:mod:`.meta_trace`: no
    ``FakeTensorMode``, hence no ``torch._dynamo`` import); where that cannot reproduce CPU's
    ops, the fake trace runs.
    """
    import torch

    with _gc_paused():
        if meta_trace.applies(model, real, torch):
            try:
                in_place = not backward  # no gradients to write: the declared model itself, its state restored
                with meta_trace.no_dynamo_import(torch), _state_restored(model) if in_place else contextlib.nullcontext():
                    session = _meta_session(model, spec, include_elementwise, torch, in_place)
                    return _passes(session, backward, dedup_layers)
            except (meta_trace.Unsupported, ModelStateError):
                pass  # the fake trace below gives the answer (and the error, if the model itself fails)
        return _passes(_fake_session(model, spec, real, include_elementwise, torch), backward, dedup_layers)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off for the trace, as ``timeit`` does; its state restored after.

    The trace allocates tens of thousands of short-lived objects, which set off a full collection
    of everything ``import torch`` left on the heap (0.15–0.2 s of a 0.4 s config-path profile).
    Storages are freed by reference counting as before (the activation ledger's free events).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _fake_session(model: Any, spec: InputSpec, real: Any, include_elementwise: bool, torch: Any) -> _Session:
    from torch._subclasses.fake_tensor import FakeTensorMode

    fake_mode = FakeTensorMode(allow_non_fake_inputs=True)
    return _Session(torch, fake_mode, fake_copy(model, fake_mode), _model_device(model, torch), spec, real,
                    OpRules(include_elementwise), _dispatch_mode_class())


def _meta_session(model: Any, spec: InputSpec, include_elementwise: bool, torch: Any, in_place: bool) -> _Session:
    none = contextlib.nullcontext()
    traced = model if in_place else fake_copy(model, none, meta_trace.meta_like)
    return _Session(torch, none, traced, torch.device("meta"), spec, None, OpRules(include_elementwise),
                    _dispatch_mode_class(), function_mode=meta_trace.cpu_semantics_mode(torch))


_ABSENT = object()


@contextlib.contextmanager
def _state_restored(model: Any) -> Iterator[None]:
    """What a pass changes on a model traced in place — each module's train/eval flag and the
    ``forward`` the MoE, RNN and layer-dedup stand-ins set on instances — put back on exit.

    Only for models that declare a meta trace (:mod:`.meta_trace`), on an inference-only profile:
    the 80-layer module tree is not deep-copied (~0.1 s on the config path)."""
    saved = [(m, m.training, m.__dict__.get("forward", _ABSENT)) for m in model.modules()]
    try:
        yield
    finally:
        for module, training, forward in saved:
            module.training = training
            if forward is _ABSENT:
                module.__dict__.pop("forward", None)
            else:
                object.__setattr__(module, "forward", forward)


def _passes(session: _Session, backward: bool, dedup_layers: bool) -> TorchPasses:
    torch = session.torch
    observed = Observed()
    install_standins(session.fmodel, observed)  # routing-free experts (see compute.moe)
    rnn.install_standins(session.fmodel)  # all time steps at once (see compute.rnn)
    notes: list[str] = []
    with structural_torch(torch, session.masks):  # fused fast paths off, causal masks answered structurally
        inference = _deduplicated(session, observed, notes) if dedup_layers else _inference_pass(session)
        training = _training_pass(session, notes) if backward else None
    ran = training is not None and training.ran_backward

    modules: dict[str, ModuleStats] = {}
    kinds = {path: type(mod).__name__ for path, mod in session.fmodel.named_modules()}
    for path, mod in session.fmodel.named_modules():
        if path not in inference.calls:
            continue
        modules[path] = ModuleStats(
            path=path,
            kind=type(mod).__name__,
            calls=inference.calls[path],
            forward=inference.tally.module(FORWARD, path),
            backward=training.tally.module(BACKWARD, path) if ran else None,
            activation_peak_bytes=inference.module_peak.get(path, 0),
            saved_for_backward_bytes=training.saved_per_module.get(path, 0) if training else None,
        )
    modules = with_container_rows(modules, kinds)
    params, weights = session.params, session.weights
    memory = MemoryStats(
        weights_bytes=_unique_storage_bytes(weights),
        input_bytes=session.spec.nbytes,
        forward_peak_bytes=inference.peak,
        output_bytes=inference.output_bytes,
        saved_for_backward_bytes=training.saved_total if training else None,
        training_step_peak_bytes=training.peak if training else None,
    )
    trace = None
    if ran:
        trainable = [p for p in params if p.requires_grad]
        trace = StepTrace(
            weights_bytes=memory.weights_bytes,
            param_bytes=_unique_storage_bytes(params),
            trainable_param_bytes=_unique_storage_bytes(trainable),
            trainable_numel=sum(p.numel() for p in trainable),
            trainable_tensors=len(trainable),
            largest_param_bytes=max((int(p.untyped_storage().nbytes()) for p in trainable), default=0),
            param_element_size=max((p.element_size() for p in trainable if p.is_floating_point()), default=4),
            gradient_bytes=training.gradient_bytes,
            at_peak=training.at_peak,
            at_end=training.at_end,
        )
    experts_flops = {path: m.forward.flops for path, m in modules.items()}
    return TorchPasses(
        moe=moe_profile(session.fmodel, observed, experts_flops, session.spec.tokens),
        tally=inference.tally,
        train_tally=training.tally if training else _Tally(),
        modules=modules,
        memory=memory,
        backward_ran=ran,
        trace=trace,
        notes=notes,
    )


def _deduplicated(session: _Session, observed: Any, notes: list[str]) -> _Inference:
    """The inference pass tracing each distinct layer once; a full trace if that fails."""
    try:
        inference = _inference_pass(session, dedup=True, observed=observed)
    except ModelStateError as exc:
        observed.layers.clear()
        notes.append(f"Identical layers could not be replayed ({exc}); every layer was traced.")
        return _inference_pass(session)
    if inference.replayed:
        notes.append(f"{inference.replayed} layer calls replayed from an identical layer's trace (same class, "
                     "configuration and input shapes): totals equal a full trace.")
    return inference


def _tensors(args: list[Any], kwargs: dict[str, Any], torch: Any) -> list[Any]:
    values = [v.data if is_packed(v) else v for v in list(args) + list(kwargs.values())]
    return [v for v in values if isinstance(v, torch.Tensor)]


def _call(fn: Any, args: list[Any], kwargs: dict[str, Any], what: str = "forward") -> Any:
    """Run the user's forward (or backward); its failures become our error, naming the cause."""
    try:
        return fn(*args, **kwargs)
    except (ModelStateError, ProfilerBugError, meta_trace.Unsupported):
        raise
    except Exception as exc:  # noqa: BLE001 - the user's code can raise anything
        if type(exc).__name__ in ("DynamicOutputShapeException", "DataDependentOutputException"):
            raise ModelStateError(
                f"The model's {what} reads tensor values ({type(exc).__name__}: {exc}), which fake tensors "
                "do not have: the input spec is not the cause. Typical sources are mixture-of-experts "
                "routing written with nonzero/where (modelsize replaces Hugging Face style experts "
                "modules, forward(hidden_states, indices, weights), by a routing-free stand-in; other "
                "layouts are not recognised), .item() or data-dependent control flow."
            ) from exc
        raise ModelStateError(
            f"The model's {what} failed on fake inputs of the given shapes ({type(exc).__name__}: {exc}). "
            "Check the input spec (shapes, dtypes, keyword names); code that reads tensor values "
            "(data-dependent control flow, .item()) cannot be profiled on fake tensors."
        ) from exc

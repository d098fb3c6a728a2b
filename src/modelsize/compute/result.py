"""The compute section of a report: FLOPs, memory, coverage and the optional extras.

Plain frozen data with ``to_dict()`` — raw integers (FLOPs, MACs, bytes), no formatting.
Per-module numbers are keyed by the module path of the report tree (``""`` is the model).
Module numbers are inclusive: a module's FLOPs cover its children.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping

from .flops import CONVENTION, COUNTED, EXCLUDED, NOT_COUNTED, ZERO


@dataclass(frozen=True)
class PassTotals:
    """FLOPs of one pass; ``flops = 2 * macs + elementwise_flops``."""

    macs: int = 0
    elementwise_flops: int = 0

    @property
    def flops(self) -> int:
        return 2 * self.macs + self.elementwise_flops

    def __add__(self, other: "PassTotals") -> "PassTotals":
        return PassTotals(self.macs + other.macs, self.elementwise_flops + other.elementwise_flops)

    def to_dict(self) -> dict[str, int]:
        return {"flops": self.flops, "macs": self.macs, "elementwise_flops": self.elementwise_flops}


@dataclass(frozen=True)
class OpStat:
    """One op over a pass: how it was counted, how often it ran, what it added up to."""

    op: str
    status: str
    calls: int
    macs: int = 0
    elementwise_flops: int = 0

    @property
    def flops(self) -> int:
        return 2 * self.macs + self.elementwise_flops

    def to_dict(self) -> dict[str, Any]:
        return {"op": self.op, "status": self.status, "calls": self.calls, "flops": self.flops,
                "macs": self.macs}


@dataclass(frozen=True)
class Coverage:
    """Which ops ran, which were counted, which were not (with call counts)."""

    ops: tuple[OpStat, ...] = ()

    def by_status(self, status: str) -> dict[str, int]:
        return {o.op: o.calls for o in self.ops if o.status == status}

    @property
    def not_counted(self) -> dict[str, int]:
        return self.by_status(NOT_COUNTED)

    def to_dict(self) -> dict[str, Any]:
        calls = {s: sum(o.calls for o in self.ops if o.status == s) for s in (COUNTED, ZERO, EXCLUDED, NOT_COUNTED)}
        return {
            "ops_seen": len(self.ops),
            "calls": sum(o.calls for o in self.ops),
            "calls_by_status": calls,
            "counted": self.by_status(COUNTED),
            "zero_by_definition": self.by_status(ZERO),
            "excluded": self.by_status(EXCLUDED),
            "not_counted": self.not_counted,
            "ops": [o.to_dict() for o in self.ops],
        }


@dataclass(frozen=True)
class ModuleStats:
    """One module (inclusive of its children)."""

    path: str
    kind: str
    calls: int
    forward: PassTotals
    backward: PassTotals | None = None
    activation_peak_bytes: int | None = None
    saved_for_backward_bytes: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "calls": self.calls,
            "forward": self.forward.to_dict(),
            "backward": self.backward.to_dict() if self.backward is not None else None,
            "activation_peak_bytes": self.activation_peak_bytes,
            "saved_for_backward_bytes": self.saved_for_backward_bytes,
        }


def with_container_rows(modules: Mapping[str, ModuleStats], kinds: Mapping[str, str]) -> dict[str, ModuleStats]:
    """``modules`` plus a row for every container that never ran itself (a ``ModuleList``, a
    ``ModuleDict``: no ``forward`` of its own) but whose children did: the sum of its children's
    passes and saved bytes, the largest of their activation peaks, ``calls`` 0. ``kinds`` maps every
    module path to its class name in definition order, which the result keeps (parents before
    children), so a transformer's ``layers`` row carries the decoder layers' share of the FLOPs."""
    rows = dict(modules)
    below: dict[str, list[str]] = {}
    for path in kinds:
        if path:
            below.setdefault(path.rpartition(".")[0], []).append(path)
    for path in sorted(kinds, key=lambda p: -p.count(".")):  # deepest first: nested lists add up
        if path in rows or path == "":
            continue
        children = [rows[c] for c in below.get(path, ()) if c in rows]
        if not children:
            continue
        backward = [c.backward for c in children]
        saved = [c.saved_for_backward_bytes for c in children]
        peaks = [c.activation_peak_bytes for c in children]
        rows[path] = ModuleStats(
            path=path, kind=kinds[path], calls=0,
            forward=sum((c.forward for c in children), PassTotals()),
            backward=sum(backward, PassTotals()) if all(b is not None for b in backward) else None,
            activation_peak_bytes=max(peaks) if all(p is not None for p in peaks) else None,
            saved_for_backward_bytes=sum(saved) if all(s is not None for s in saved) else None,
        )
    return {path: rows[path] for path in kinds if path in rows} | {p: m for p, m in rows.items() if p not in kinds}


@dataclass(frozen=True)
class MemoryStats:
    """Activation memory (weights excluded) traced on fake tensors.

    ``forward_peak_bytes``: most bytes live at once in an inference forward (eval mode, no
    grad), inputs included. ``saved_for_backward_bytes``: unique bytes autograd keeps for
    backward (training mode). ``training_step_peak_bytes``: most bytes live in forward +
    backward, gradients included.
    """

    weights_bytes: int
    input_bytes: int
    forward_peak_bytes: int
    output_bytes: int
    saved_for_backward_bytes: int | None = None
    training_step_peak_bytes: int | None = None
    method: str = ("fake tensors: each op's output storages traced from allocation to free; CPU "
                   "convolutions add their measured workspace (a copy of output, or of grad_output + input)")

    def to_dict(self) -> dict[str, Any]:
        return {
            "weights_bytes": self.weights_bytes,
            "input_bytes": self.input_bytes,
            "forward_peak_bytes": self.forward_peak_bytes,
            "output_bytes": self.output_bytes,
            "saved_for_backward_bytes": self.saved_for_backward_bytes,
            "training_step_peak_bytes": self.training_step_peak_bytes,
            "method": self.method,
        }


@dataclass(frozen=True)
class ComputeProfile:
    """What one profile found; ``Report.with_section("compute", profile)`` stores it."""

    framework: str
    inputs: Any  # InputSpec or a framework's own description with to_dict()
    include_elementwise: bool
    forward: PassTotals
    memory: MemoryStats
    modules: Mapping[str, ModuleStats]
    coverage: Coverage
    backward: PassTotals | None = None
    backward_coverage: Coverage | None = None
    tokens: int | None = None
    mode: str = "eval"
    training: Any = None
    kv_cache: Any = None
    latency: Any = None
    footprint: Any = None
    notes: tuple[str, ...] = ()
    convention: str = CONVENTION
    moe: Any = None  #: compute.moe.MoEProfile for mixture-of-experts models

    @property
    def flops(self) -> int:
        """Forward FLOPs of one call with the given inputs."""
        return self.forward.flops

    @property
    def macs(self) -> int:
        return self.forward.macs

    def with_(self, **changes: Any) -> "ComputeProfile":
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        per_token = None
        if self.tokens:
            per_token = {"flops": self.forward.flops // self.tokens, "macs": self.forward.macs // self.tokens}
        return {
            "framework": self.framework,
            "convention": {
                "flops_per_mac": 2,
                "include_elementwise": self.include_elementwise,
                "text": self.convention,
            },
            "inputs": self.inputs.to_dict() if hasattr(self.inputs, "to_dict") else self.inputs,
            "mode": self.mode,
            "tokens": self.tokens,
            "forward": self.forward.to_dict(),
            "forward_per_token": per_token,
            "backward": self.backward.to_dict() if self.backward is not None else None,
            "memory": self.memory.to_dict(),
            "modules": {path: m.to_dict() for path, m in self.modules.items()},
            "coverage": self.coverage.to_dict(),
            "backward_coverage": self.backward_coverage.to_dict() if self.backward_coverage is not None else None,
            "training": _maybe(self.training),
            "kv_cache": _maybe(self.kv_cache),
            "latency": _maybe(self.latency),
            "footprint": _maybe(self.footprint),
            "moe": _maybe(self.moe),
            "notes": list(self.notes),
        }


def _maybe(value: Any) -> Any:
    return value.to_dict() if value is not None else None

"""Mixture-of-experts: cost under top-k routing without running the routing for real.

Routing is data-dependent: an experts module gathers each expert's tokens with ``nonzero`` /
``where`` (shapes that depend on values) or with grouped matmuls that need real kernels, so
it cannot run on fake tensors. In the fake copy being profiled, every experts module (the
Hugging Face layout: ``experts(hidden_states, top_k_index, top_k_weights)`` with the weights of
all experts in 3-D tensors, or a container of expert modules with that ``forward``, as Switch
Transformers') gets a stand-in ``forward``:

* the router and the shared experts around it run as written (they are dense);
* the ``T·k`` (token, expert) pairs the router produced go through **one** expert as ``T·k``
  rows — the same FLOPs as spreading them over the experts, since every expert has the same
  shape — then are weighted by the routing weights and summed per token.

**Routing assumption** (stored with the result): each token goes through exactly ``k`` of the
``E`` experts; which ones does not change the FLOPs. Tokens dropped by a capacity limit are
not modelled (none are dropped); load imbalance changes latency, not FLOPs. Active parameters
per token count ``k/E`` of every experts module (the expected share under uniform routing) on
top of every always-on parameter (embeddings, attention, norms, routers, shared experts, LM head).
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field
from typing import Any

ASSUMPTION = (
    "top-k routing: every token goes through exactly k of the E experts of each MoE layer (the "
    "expected cost; which experts does not change FLOPs, all experts having one shape), counted as "
    "T·k rows through one expert; no token is dropped by a capacity limit. Active parameters count "
    "k/E of each experts module (uniform routing) plus every always-on parameter. Inference memory "
    "keeps all experts resident."
)


@dataclass
class Observed:
    """What the stand-ins saw during the fake pass: per experts-module path, (experts, top_k)."""

    layers: dict[str, tuple[int, int]] = field(default_factory=dict)


def is_experts_module(module: Any) -> bool:
    """A module holding the experts of one MoE layer, in a layout the stand-in understands:
    ``forward(hidden_states, routing indices or mask, routing weights)``."""
    if not _takes_routing(module):
        return False
    if _fused_weights(module) is not None:
        return True
    # A container of experts that routes by itself (Switch Transformers' ModuleDict).
    import torch

    own_forward = type(module).forward is not torch.nn.Module.forward
    children = list(module.children())
    return (
        own_forward
        and len(children) > 1
        and type(module).__name__.lower().endswith("experts")
        and len({type(c) for c in children}) == 1
    )


def _takes_routing(module: Any) -> bool:
    import inspect

    try:
        params = list(inspect.signature(type(module).forward).parameters.values())[1:]
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 3 or any(p.kind == p.VAR_POSITIONAL for p in params)


def _fused_weights(module: Any) -> tuple[Any, Any] | None:
    """(up or gate_up weights, down weights) of a fused experts module, each [E, …, …]."""
    up = getattr(module, "gate_up_proj", None)
    if up is None:
        up = getattr(module, "up_proj", None)
    down = getattr(module, "down_proj", None)
    if up is None or down is None or not hasattr(up, "dim") or not hasattr(down, "dim"):
        return None
    return (up, down) if up.dim() == 3 and down.dim() == 3 else None


def experts_modules(model: Any) -> dict[str, Any]:
    """``path → experts module`` of every MoE layer of ``model``."""
    return {path: m for path, m in model.named_modules() if path and is_experts_module(m)}


def install_standins(fmodel: Any, observed: Observed) -> None:
    """Give every experts module of the fake copy ``fmodel`` the routing-free stand-in forward."""
    for path, module in experts_modules(fmodel).items():
        module.forward = types.MethodType(_standin(path, observed), module)


def _standin(path: str, observed: Observed) -> Any:
    def forward(self: Any, hidden_states: Any, index: Any, weights: Any, *args: Any, **kwargs: Any) -> Any:
        tokens, hidden = hidden_states.shape[0], hidden_states.shape[-1]
        top_k = max(1, weights.numel() // max(tokens, 1))
        fused = _fused_weights(self)
        experts = fused[0].shape[0] if fused is not None else len(list(self.children()))
        observed.layers[path] = (int(experts), int(top_k))
        rows = hidden_states.repeat_interleave(top_k, dim=0)  # the T·k (token, expert) pairs
        out = _fused_expert(self, rows) if fused is not None else next(iter(self.children()))(rows)
        weighted = out * weights.reshape(-1, 1).to(out.dtype)
        return weighted.view(tokens, top_k, hidden).sum(dim=1).to(hidden_states.dtype)

    return forward


def _fused_expert(self: Any, rows: Any) -> Any:
    """Expert 0 of a fused experts module on ``rows`` (as transformers' batched_mm computes it)."""
    import torch

    has_gate = getattr(self, "has_gate", getattr(self, "gate_up_proj", None) is not None)
    up_name = "gate_up_proj" if has_gate else "up_proj"
    transposed = bool(getattr(self, "is_transposed", False))

    def linear(x: Any, name: str) -> Any:
        weight = getattr(self, name)[0]
        bias = getattr(self, f"{name}_bias", None) if getattr(self, "has_bias", False) else None
        y = x @ weight if transposed else torch.nn.functional.linear(x, weight)
        return y + bias[0] if bias is not None else y

    proj = linear(rows, up_name)
    if has_gate:
        apply_gate = getattr(self, "_apply_gate", None)
        if apply_gate is not None:
            proj = apply_gate(proj)
        else:
            gate, up = proj.chunk(2, dim=-1)
            proj = self.act_fn(gate) * up
    else:
        proj = self.act_fn(proj)
    proj = linear(proj, "down_proj")
    if getattr(self, "has_post_expert_norm", False):
        proj = self.post_expert_norm(proj)
    return proj


# --------------------------------------------------------------------------- the report


@dataclass(frozen=True)
class MoELayer:
    path: str
    experts: int
    top_k: int
    params: int  #: all experts of this layer
    bytes: int

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "experts": self.experts, "top_k": self.top_k, "params": self.params,
                "bytes": self.bytes, "params_per_expert": self.params // self.experts}


@dataclass(frozen=True)
class MoEProfile:
    """Total vs active parameters, expert vs always-on bytes, expert FLOPs, under :data:`ASSUMPTION`."""

    layers: tuple[MoELayer, ...]
    total_params: int
    active_params_per_token: int
    expert_params: int
    always_on_params: int
    expert_bytes: int
    always_on_bytes: int
    expert_flops: int  #: forward FLOPs inside the experts modules, for the whole input
    tokens: int | None
    assumption: str = ASSUMPTION

    @property
    def inference_weights_bytes(self) -> int:
        """Weights resident for inference: all experts, whatever the routing."""
        return self.expert_bytes + self.always_on_bytes

    def to_dict(self) -> dict[str, Any]:
        per_token = self.expert_flops // self.tokens if self.tokens else None
        return {
            "total_params": self.total_params,
            "active_params_per_token": self.active_params_per_token,
            "expert_params": self.expert_params,
            "always_on_params": self.always_on_params,
            "expert_bytes": self.expert_bytes,
            "always_on_bytes": self.always_on_bytes,
            "inference_weights_bytes": self.inference_weights_bytes,
            "expert_flops": self.expert_flops,
            "expert_flops_per_token": per_token,
            "layers": [layer.to_dict() for layer in self.layers],
            "assumption": self.assumption,
        }


def moe_profile(model: Any, observed: Observed, expert_flops: dict[str, int], tokens: int | None) -> MoEProfile | None:
    """Parameter split of ``model`` (fake copy or original: only shapes are read)."""
    if not observed.layers:
        return None
    modules = dict(model.named_modules())
    seen: set[int] = set()
    total = total_bytes = 0
    for p in list(model.parameters()):
        if id(p) not in seen:
            seen.add(id(p))
            total += p.numel()
            total_bytes += p.numel() * p.element_size()
    layers = []
    for path, (experts, top_k) in sorted(observed.layers.items()):
        params = list(modules[path].parameters())
        layers.append(MoELayer(path, experts, top_k, sum(p.numel() for p in params),
                               sum(p.numel() * p.element_size() for p in params)))
    expert_params = sum(layer.params for layer in layers)
    expert_bytes = sum(layer.bytes for layer in layers)
    # Expected active share of each experts module: k of E experts (integer: exact division
    # whenever the experts of a layer are equal, which the stand-in already assumes).
    active_experts = sum(layer.params * layer.top_k // layer.experts for layer in layers)
    return MoEProfile(
        layers=tuple(layers),
        total_params=total,
        active_params_per_token=total - expert_params + active_experts,
        expert_params=expert_params,
        always_on_params=total - expert_params,
        expert_bytes=expert_bytes,
        always_on_bytes=total_bytes - expert_bytes,
        expert_flops=sum(expert_flops.get(layer.path, 0) for layer in layers),
        tokens=tokens,
    )

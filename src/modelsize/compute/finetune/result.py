"""The typed result of a fine-tuning plan: one row per method × checkpointing, every byte per GPU."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .options import FinetuneOptions


@dataclass(frozen=True)
class PlanRow:
    """One way to fine-tune and what it needs on each GPU (bytes)."""

    name: str
    method: str  #: full, lora or qlora
    checkpointing: bool
    selected: bool  #: the setup the options asked for
    trainable_params: int
    weights_bytes: int  #: the model's weights (QLoRA: NF4 base + the rest in the compute dtype + adapters)
    quantized_base_bytes: int  #: the NF4 part of the weights (QLoRA), else 0
    gradient_bytes: int  #: gradients alive at the peak
    optimizer_bytes: int  #: optimizer state + fp32 master weights
    activation_bytes: int | None  #: activations (and step temporaries) at the peak; None: not modelled
    comm_bytes: int
    overhead_bytes: int
    peak_phase: str
    budget_bytes: int | None
    min_gpus: int | None = None  #: smallest GPU count that fits (under ``min_gpus_shard``)
    min_gpus_shard: str = "zero3"

    @property
    def training_state_bytes(self) -> int:
        return self.gradient_bytes + self.optimizer_bytes

    @property
    def total_bytes(self) -> int:
        return (self.weights_bytes + self.training_state_bytes + (self.activation_bytes or 0) + self.comm_bytes
                + self.overhead_bytes)

    @property
    def fits(self) -> bool | None:
        """None when there is no budget, or when activations could not be modelled (never a guessed yes)."""
        if self.budget_bytes is None or self.activation_bytes is None:
            return None
        return self.total_bytes <= self.budget_bytes

    @property
    def margin_bytes(self) -> int | None:
        return None if self.budget_bytes is None else self.budget_bytes - self.total_bytes

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "method": self.method, "checkpointing": self.checkpointing, "selected": self.selected,
            "trainable_params": self.trainable_params, "weights_bytes": self.weights_bytes,
            "quantized_base_bytes": self.quantized_base_bytes, "gradient_bytes": self.gradient_bytes,
            "optimizer_bytes": self.optimizer_bytes, "training_state_bytes": self.training_state_bytes,
            "activation_bytes": self.activation_bytes, "comm_bytes": self.comm_bytes,
            "overhead_bytes": self.overhead_bytes, "total_bytes": self.total_bytes, "fits": self.fits,
            "margin_bytes": self.margin_bytes, "peak_phase": self.peak_phase, "min_gpus": self.min_gpus,
            "min_gpus_shard": self.min_gpus_shard,
        }


@dataclass(frozen=True)
class FinetunePlan:
    """The plan: rows for full / LoRA / QLoRA × checkpointing under one setup, and what it assumed."""

    options: FinetuneOptions
    rows: tuple[PlanRow, ...]
    params: int
    seq_len: int
    source: str
    lora_targets: tuple[str, ...] = ()
    inputs: str | None = None
    assumptions: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def row(self, method: str, checkpointing: bool = False) -> PlanRow:
        """The row for ``method`` with or without checkpointing (KeyError when the plan has none)."""
        for r in self.rows:
            if r.method == method and r.checkpointing == checkpointing:
                return r
        raise KeyError((method, checkpointing))

    @property
    def selected(self) -> PlanRow | None:
        return next((r for r in self.rows if r.selected), None)

    def to_dict(self) -> dict[str, Any]:
        """The ``fit`` section: the ``--fit`` keys (``options``, ``fits``, …) plus the planner's own."""
        o = self.options
        return {
            "planner": "finetune",
            "budget_bytes": o.budget_bytes,
            "seq_len": self.seq_len,
            "batch": o.batch,
            "training": o.method,
            "params": self.params,
            "kv_cache": None,
            "gpus": o.gpus,
            "shard": o.shard,
            "optimizer": o.optimizer,
            "precision": o.precision,
            "rank": o.rank,
            "target_modules": o.target_modules if isinstance(o.target_modules, str) else list(o.target_modules),
            "lora_modules": len(self.lora_targets),
            "grad_checkpointing": o.grad_checkpointing,
            "device": o.device,
            "source": self.source,
            "inputs": self.inputs,
            "options": [r.to_dict() for r in self.rows],
            "fits": [r.name for r in self.rows if r.fits],
            "assumptions": list(self.assumptions),
            "notes": list(self.notes),
        }

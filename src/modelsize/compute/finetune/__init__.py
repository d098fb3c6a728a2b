""""Will fine-tuning fit?": a memory planner for full, LoRA and QLoRA fine-tuning on one GPU or many.

``plan_finetune(target, FinetuneOptions(budget_bytes=24 << 30, method="qlora"))`` returns a
:class:`FinetunePlan`: rows for full / LoRA / QLoRA × gradient checkpointing, each with weights,
trainable parameters, gradients, optimizer state, activations, NF4 base bytes, communication
buffers, overhead, total, fits and margin — per GPU — and the smallest GPU count that fits.

One job per module: :mod:`.options` (the setup), :mod:`.structure` (what is read from the model),
:mod:`.lora` (peft's adapters), :mod:`.nf4` (QLoRA's base), :mod:`.optimizers` (state layouts),
:mod:`.sharding` (DDP / ZeRO / FSDP), :mod:`.activations` (the traced step), :mod:`.plan` (the
rows), :mod:`.result` (the typed result), :mod:`.target` (what a target is).
"""

from __future__ import annotations

from .options import FinetuneOptions, parse_targets
from .result import FinetunePlan, PlanRow
from .target import finetune_report, plan_finetune, plan_structure

__all__ = ["FinetuneOptions", "FinetunePlan", "PlanRow", "finetune_report", "parse_targets", "plan_finetune",
           "plan_structure"]

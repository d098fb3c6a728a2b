"""What a plan is made from: a live model, a config (mapping, ``config.json`` or a folder holding one),
weight files, or a report (a remote target read header-only) — and the plan itself."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ...core.errors import ModelSizeError
from ...core.report import Report
from . import plan as plan_mod
from . import structure as st
from .options import FinetuneOptions
from .result import FinetunePlan

_TRACE_DTYPES = {"fp32": "float32", "bf16-mixed": "bfloat16", "bf16": "bfloat16", "fp16-mixed": "float16"}


def plan_finetune(target: Any, options: FinetuneOptions | None = None) -> FinetunePlan:
    """The fine-tuning plan of ``target`` (see :mod:`modelsize.compute.finetune`)."""
    o = options or FinetuneOptions()
    o.validate()
    notes: list[str] = []
    return plan_structure(structure_of(target, notes), o, notes)


def plan_structure(structure: st.Structure, o: FinetuneOptions, notes: list[str] | None = None) -> FinetunePlan:
    """The plan for an already-read structure; activations are traced when it has a model."""
    o.validate()
    notes = list(notes or [])
    seq = plan_mod.seq_len_for(structure.config, o, notes)
    adapters = plan_mod.resolve_adapters(structure, o, notes)
    steps: dict[tuple[str, bool], Any] = {}
    inputs = None
    if structure.model is None:
        notes.append("No model to trace (tensor headers without a config.json transformers can build): activations "
                     "are not counted, so no row says it fits.")
    else:
        import torch

        dtype = getattr(torch, _TRACE_DTYPES[o.precision])
        for kind in ("full", "lora"):
            if kind == "lora" and adapters is None:
                continue
            for ckpt in (False, True):
                try:
                    step, more = _trace(structure, dtype, adapters if kind == "lora" else None, ckpt, o, seq)
                except ModelSizeError as exc:
                    notes.append(f"Activations of {kind}{' + ckpt' if ckpt else ''} not traced: {exc}")
                    continue
                steps[(kind, ckpt)] = step
                inputs = step.inputs
                notes.extend(n for n in more if n not in notes)
    return plan_mod.assemble(structure, o, seq, steps, adapters, inputs, plan_mod.assumptions_for(o), notes)


def _trace(structure: st.Structure, dtype: Any, adapters: Any, ckpt: bool, o: FinetuneOptions, seq: int) -> Any:
    from .activations import trace_deep

    return trace_deep(structure.model, dtype, adapters, ckpt, o.batch, seq, o.inputs)


def structure_of(target: Any, notes: list[str]) -> st.Structure:
    """Read ``target`` (see the module docstring)."""
    if isinstance(target, Report):
        return _from_report(target, notes)
    if isinstance(target, Mapping):
        return st.from_config(target, "the config")
    if isinstance(target, (str, os.PathLike)):
        return _from_path(Path(target), notes)
    if type(target).__module__.startswith("torch") or _is_torch_module(target):
        return st.from_module(target, f"the live model ({type(target).__name__})")
    raise ModelSizeError(f"Fine-tuning plans are made for PyTorch models, Hugging Face configs and weight files. "
                         f"Got {type(target).__module__}.{type(target).__qualname__}.")


def _is_torch_module(obj: Any) -> bool:
    import sys

    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.nn.Module)


def _from_path(path: Path, notes: list[str]) -> st.Structure:
    from ..from_config import config_file

    file = config_file(path)
    if file is not None:
        data = _read_config(file)
        try:
            return st.from_config(data, file.name)
        except ModelSizeError as exc:
            notes.append(f"The architecture could not be built from {file.name} ({exc}); read from tensor headers.")
    from ...formats import registry

    return _from_report(registry.read(path), notes)


def _read_config(file: Path) -> dict[str, Any]:
    from ..from_config import _read_json

    data = _read_json(file)
    if not isinstance(data, dict):
        raise ModelSizeError(f"{str(file)!r} is not a JSON object.")
    return data


def _from_report(report: Report, notes: list[str]) -> st.Structure:
    config = report.sections.get("config")
    if isinstance(config, Mapping) and config.get("model_type"):
        try:
            return st.from_config(config, "the report's config section")
        except ModelSizeError as exc:
            notes.append(f"The architecture could not be built from the config ({exc}); read from tensor headers.")
    return st.from_records(report.root.iter_tensors(), config if isinstance(config, Mapping) else None)


def finetune_report(report: Report, target: Any, options: FinetuneOptions) -> Report:
    """``report`` with the plan as its ``fit`` section; ``target`` is what the report measured (a live model
    or a local path), or None for a remote target read header-only."""
    notes: list[str] = []
    if target is None or isinstance(target, (str, os.PathLike)) and not Path(target).exists():
        structure = _from_report(report, notes)
    else:
        structure = structure_of(target, notes)
    return report.with_section("fit", plan_structure(structure, options, notes).to_dict())


__all__ = ["finetune_report", "plan_finetune", "plan_structure", "structure_of"]

"""The parts of a model a fine-tuning plan needs, framework-free: parameters, the layers LoRA can
target and QLoRA quantizes, the output head, the largest block.

Read from a PyTorch module (a live model, or one transformers builds from ``config.json`` on the
meta device: nothing allocated, nothing from the folder run) or, failing that, from tensor
headers alone, where a layer is a 2-D ``*.weight`` (a stated approximation).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ...core import dtypes
from ...core.errors import ModelStateError, UnsupportedObjectError

LINEAR = "linear"  #: torch.nn.Linear and transformers' Conv1D (GPT-2), as peft treats both
CONV = "conv"
EMBEDDING = "embedding"
_HEADER_SKIP = re.compile(r"(embed|wte|wpe|shared|position|lm_head|(^|\.)output\.weight$)")


@dataclass(frozen=True)
class Layer:
    """One module LoRA can wrap: its name, kind and the sizes peft's adapter matrices take."""

    name: str
    kind: str
    in_features: int
    out_features: int
    kernel: int = 1  #: kernel elements (product of the kernel dims) for convolutions
    weight_numel: int = 0


@dataclass(frozen=True)
class Structure:
    """Everything the plan reads from the model."""

    source: str  #: how it was read (a sentence)
    params: tuple[tuple[str, tuple[int, ...], bool], ...]  #: (name, shape, floating) per unique parameter
    layers: tuple[Layer, ...]
    output_head: str | None  #: module name of the output embeddings (lm_head), excluded from all-linear
    largest_block_params: int  #: parameters of the largest repeated block (an FSDP unit)
    config: Mapping[str, Any] | None = None
    model: Any = field(default=None, compare=False, repr=False)  #: the torch module, when there is one

    @property
    def numel(self) -> int:
        return sum(_prod(shape) for _, shape, _ in self.params)

    @property
    def float_numel(self) -> int:
        return sum(_prod(shape) for _, shape, floating in self.params if floating)


def _prod(shape: Iterable[int]) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n


def from_module(model: Any, source: str, config: Mapping[str, Any] | None = None) -> Structure:
    """The structure of a ``torch.nn.Module`` (live or on the meta device)."""
    import torch

    params = tuple((name, tuple(p.shape), bool(p.is_floating_point())) for name, p in model.named_parameters())
    layers = []
    for name, mod in model.named_modules():
        layer = _layer(name, mod, torch)
        if layer is not None:
            layers.append(layer)
    head = None
    getter = getattr(model, "get_output_embeddings", None)
    if callable(getter):
        try:
            out = getter()
        except (NotImplementedError, AttributeError):
            out = None
        if out is not None:
            head = next((n for n, m in model.named_modules() if m is out), None)
    if config is None and hasattr(getattr(model, "config", None), "to_dict"):
        config = model.config.to_dict()
    return Structure(source, params, tuple(layers), head, _largest_block(model, torch), config, model)


def _layer(name: str, mod: Any, torch: Any) -> Layer | None:
    nn = torch.nn
    weight = getattr(mod, "weight", None)
    numel = int(weight.numel()) if isinstance(weight, torch.Tensor) else 0
    if isinstance(mod, nn.Linear):
        return Layer(name, LINEAR, int(mod.in_features), int(mod.out_features), 1, numel)
    if type(mod).__name__ == "Conv1D" and isinstance(weight, torch.Tensor) and weight.dim() == 2:
        return Layer(name, LINEAR, int(weight.shape[0]), int(weight.shape[1]), 1, numel)  # weight is (in, out)
    if isinstance(mod, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        return Layer(name, CONV, int(mod.in_channels), int(mod.out_channels), _prod(mod.kernel_size), numel)
    if isinstance(mod, nn.Embedding):
        return Layer(name, EMBEDDING, int(mod.num_embeddings), int(mod.embedding_dim), 1, numel)
    return None


def _largest_block(model: Any, torch: Any) -> int:
    best = 0
    for mod in model.modules():
        if isinstance(mod, torch.nn.ModuleList):
            for child in mod:
                best = max(best, sum(int(p.numel()) for p in child.parameters()))
    return best


def from_records(records: Iterable[Any], config: Mapping[str, Any] | None) -> Structure:
    """The structure from tensor headers alone: every 2-D ``*.weight`` but embeddings and the head is a layer."""
    seen: set[str] = set()
    params = []
    layers = []
    head = None
    for r in records:
        key = r.storage_key or f"path:{r.path}"
        if key in seen:
            continue
        seen.add(key)
        floating = dtypes.known(r.dtype) and dtypes.get(r.dtype).kind in ("float", "quantized")
        params.append((r.path, tuple(int(d) for d in r.shape), floating))
        if r.path.endswith(".weight") and len(r.shape) == 2 and floating:
            module = r.path[: -len(".weight")]
            if re.search(r"(^|\.)(lm_head|output)$", module):
                head = module
                layers.append(Layer(module, LINEAR, int(r.shape[1]), int(r.shape[0]), 1, int(r.numel)))
            elif not _HEADER_SKIP.search(r.path):
                layers.append(Layer(module, LINEAR, int(r.shape[1]), int(r.shape[0]), 1, int(r.numel)))
    if not params:
        raise ModelStateError("No tensors to plan fine-tuning for.")
    blocks: dict[str, int] = {}
    for name, shape, _ in params:
        m = re.search(r"^(.*?(?:layers|layer|h|blocks|block|blk)\.\d+)\.", name)
        if m:
            blocks[m.group(1)] = blocks.get(m.group(1), 0) + _prod(shape)
    source = ("tensor headers (no config.json): layers are the 2-D '*.weight' tensors other than embeddings, "
              "activations are not modelled")
    return Structure(source, tuple(params), tuple(layers), head, max(blocks.values(), default=0), config, None)


def config_object(data: Mapping[str, Any]) -> Any:
    """A transformers config from a ``config.json`` mapping; model types transformers does not know are refused
    (their ``auto_map`` would name code modelsize never runs)."""
    from ...core import optional

    transformers = optional.require("transformers", "building a model from its config.json")
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    model_type = data.get("model_type")
    if model_type not in CONFIG_MAPPING:
        raise UnsupportedObjectError(
            f"The config's model_type {model_type!r} is not one transformers {transformers.__version__} knows; "
            "modelsize never runs a repository's own code. Give the model object itself ('package.module:attr').")
    return transformers.AutoConfig.for_model(model_type, **{k: v for k, v in data.items() if k != "model_type"})


def from_config(data: Mapping[str, Any], where: str) -> Structure:
    """The structure of the architecture ``data`` describes, built by transformers on the meta device."""
    from ..from_config import build_meta

    model = build_meta(config_object(data))
    return from_module(model, f"{type(model).__name__} built from {where} on the meta device (no weights read)",
                       dict(data))

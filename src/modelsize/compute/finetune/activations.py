"""Activation memory of one training step, traced on the model's own architecture.

The model (a live one or the one transformers builds from ``config.json`` on the meta device) is
copied onto the meta device — the original is never touched — set up as the row trains it
(LoRA adapters inserted by peft; gradient checkpointing switched on, non-reentrant), cast to the
training dtype, and one forward + backward with labels (so the loss and its fp32 logits count)
is traced on fake tensors by :func:`modelsize.compute.torch_profile.run_passes`: every storage's
allocation and free, nothing allocated. What the peak holds (activations, gradients, workspace)
is kept apart, so the plan can shard gradients separately. The attention implementation,
MLP width and vocabulary logits are whatever the architecture's code does.
"""

from __future__ import annotations

import copy
import inspect as pyinspect
from dataclasses import dataclass
from typing import Any

from ...core.errors import ModelStateError
from ..activations import ACTIVATION, GRADIENT, INPUT, WORKSPACE


@dataclass(frozen=True)
class StepActivations:
    """Bytes of the traced step, in the training dtype."""

    at_peak: int  #: activations + inputs + kernel workspace at the forward/backward peak
    gradients_at_peak: int  #: gradients live at that moment
    at_end: int  #: activations and inputs still alive when backward ends
    gradients: int  #: all gradients at the end of backward
    inputs: str  #: the traced inputs, as a user would write them
    block_saved: tuple[int, ...] = ()  #: bytes saved for backward by each repeated block (layer)
    block_input: int = 0  #: bytes of one block's input (the hidden states between layers)


def checkpointed(step: StepActivations) -> StepActivations:
    """The same step with gradient checkpointing on every block (non-reentrant, as transformers does it).

    Each block keeps only its input instead of everything it saved for backward; in backward the
    blocks are recomputed one at a time, so one block's saved tensors come back. Two moments can
    hold the peak: the end of forward (everything outside the blocks — embeddings, logits, loss —
    plus every block's input, no gradients yet) and the recomputation of the first block at the end
    of backward (all gradients, that block's saved tensors and its input).
    """
    if not step.block_saved:
        return step
    start = step.at_peak - sum(step.block_saved) + len(step.block_saved) * step.block_input
    end = max(step.block_saved) + step.block_input
    if end + step.gradients > start:
        return StepActivations(end, step.gradients, step.at_end, step.gradients, step.inputs, step.block_saved,
                               step.block_input)
    return StepActivations(start, 0, step.at_end, step.gradients, step.inputs, step.block_saved, step.block_input)


def inputs_for(model: Any, batch: int, seq_len: int) -> tuple[Any, str]:
    """The input spec of one training step: token ids (and labels), or images for a vision config."""
    from ..inputs import InputSpec, TensorSpec

    config = getattr(model, "config", None)
    params = pyinspect.signature(model.forward).parameters
    tensors: list[Any] = []
    image = getattr(config, "image_size", None)
    if image is not None and "pixel_values" in params:
        size = image if isinstance(image, int) else int(image[0])
        channels = int(getattr(config, "num_channels", 3))
        tensors.append(TensorSpec((batch, channels, size, size), "float32", "pixel_values"))
        if "labels" in params:
            tensors.append(TensorSpec((batch,), "int64", "labels"))
        return InputSpec(tuple(tensors)), f"pixel_values {batch}×{channels}×{size}×{size}"
    if "input_ids" not in params:
        raise ModelStateError("Activations are traced for models that take input_ids or pixel_values "
                              f"(Hugging Face style); {type(model).__name__}.forward takes neither.")
    tensors.append(TensorSpec((batch, seq_len), "int64", "input_ids"))
    if "labels" in params:
        tensors.append(TensorSpec((batch, seq_len), "int64", "labels"))
    return InputSpec(tuple(tensors), tokens=batch * seq_len), f"input_ids and labels {batch}×{seq_len}"


def meta_copy(model: Any, dtype: Any) -> Any:
    """A deep copy of ``model`` on the meta device in ``dtype`` (floating tensors), sharing nothing with it."""
    import torch

    memo: dict[int, Any] = {}
    for module in model.modules():
        for t in list(module._parameters.values()) + list(module._buffers.values()):
            if t is None or id(t) in memo:
                continue
            m = t.detach().to("meta")
            if m.is_floating_point():
                m = m.to(dtype)
            memo[id(t)] = torch.nn.Parameter(m, requires_grad=t.requires_grad) if isinstance(
                t, torch.nn.Parameter) else m
    return copy.deepcopy(model, memo)


def prepared(model: Any, dtype: Any, lora: Any, checkpointing: bool) -> tuple[Any, list[str]]:
    """The meta copy set up as the row trains it; notes say what could not be set up."""
    notes: list[str] = []
    work = meta_copy(model, dtype)
    if checkpointing:
        enable = getattr(work, "gradient_checkpointing_enable", None)
        if callable(enable) and getattr(work, "supports_gradient_checkpointing", False):
            enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        else:
            notes.append(f"{type(model).__name__} has no gradient-checkpointing switch: its activations are "
                         "traced without checkpointing.")
    if lora is not None:
        from ...core import optional

        peft = optional.require("peft", "tracing LoRA fine-tuning")
        config = peft.LoraConfig(r=lora.rank, lora_alpha=lora.rank, lora_dropout=0.0,
                                 target_modules=sorted({layer.name for layer in lora.targets}))
        work = peft.get_peft_model(work, config)
    return work, notes


def trace(model: Any, dtype: Any, lora: Any, checkpointing: bool, batch: int, seq_len: int,
          inputs: Any = None) -> tuple[StepActivations, list[str]]:
    """Trace one training step of ``model`` set up for the row (see the module docstring)."""
    import warnings

    from ..torch_profile import run_passes

    with warnings.catch_warnings():  # transformers' deprecation notices about its own checkpointing names
        warnings.simplefilter("ignore", FutureWarning)
        return _trace(model, dtype, lora, checkpointing, (batch, seq_len, inputs), run_passes)


def _trace(model: Any, dtype: Any, lora: Any, checkpointing: bool, shape: tuple[int, int, Any],
           run_passes: Any) -> tuple[StepActivations, list[str]]:
    batch, seq_len, inputs = shape
    work, notes = prepared(model, dtype, lora, False)
    base = work.get_base_model() if callable(getattr(work, "get_base_model", None)) else work
    if inputs is not None:
        from ..inputs import resolve

        spec = resolve(inputs)[0].with_default_float(str(dtype).removeprefix("torch."))
        text = spec.user_text() + " (backward from the first output: no loss)"
    else:
        spec, text = inputs_for(base, batch, seq_len)
    passes = run_passes(work, spec, None, include_elementwise=False, backward=True)
    step = passes.trace
    if step is None:
        raise ModelStateError("The traced training step ran no backward (no output required grad).")
    at_peak = sum(step.at_peak.get(k, 0) for k in (ACTIVATION, INPUT, WORKSPACE))
    at_end = sum(step.at_end.get(k, 0) for k in (ACTIVATION, INPUT))
    blocks = _blocks(work)
    saved = tuple(passes.modules[p].saved_for_backward_bytes or 0 for p in blocks if p in passes.modules)
    traced = StepActivations(at_peak, step.at_peak.get(GRADIENT, 0), at_end, step.gradient_bytes, text, saved,
                             _block_input(base, spec, dtype))
    if not checkpointing:
        return traced, notes
    if not saved or not getattr(base, "supports_gradient_checkpointing", False):
        notes.append(f"{type(model).__name__} has no gradient-checkpointing switch or no repeated blocks: its "
                     "activations are counted without checkpointing.")
        return traced, notes
    return checkpointed(traced), notes


def _blocks(model: Any) -> list[str]:
    """Paths of the repeated blocks: children of the outermost ``ModuleList``\ s, those with parameters."""
    import torch

    out: list[str] = []
    for path, mod in model.named_modules():
        if isinstance(mod, torch.nn.ModuleList) and not any(path.startswith(p + ".") for p in out):
            out += [f"{path}.{name}" for name, child in mod.named_children() if any(True for _ in child.parameters())]
    return out  # outermost only: a T5 block's own list of sub-layers is inside a block already


def _block_input(model: Any, spec: Any, dtype: Any) -> int:
    """Bytes of the hidden states passed between blocks: tokens × hidden size in the training dtype."""
    import torch

    config = getattr(model, "config", None)
    hidden = next((getattr(config, k) for k in ("hidden_size", "n_embd", "d_model")
                   if isinstance(getattr(config, k, None), int)), None)
    if hidden is None:
        return 0
    tokens = spec.tokens
    image, patch = getattr(config, "image_size", None), getattr(config, "patch_size", None)
    if tokens is None and isinstance(image, int) and isinstance(patch, int):
        tokens = spec.tensors[0].shape[0] * ((image // patch) ** 2 + 1)
    return int(tokens or 0) * hidden * torch.empty((), dtype=dtype).element_size()


LAYER_KEYS = ("num_hidden_layers", "n_layer", "num_layers", "num_decoder_layers", "encoder_layers", "decoder_layers")
#: Deeper models built from a config are traced on 1- and 2-layer copies and extended linearly.
SHALLOW_ABOVE = 4


def depth(model: Any) -> int:
    """The largest layer count the model's config names (0 when it names none)."""
    config = getattr(model, "config", None)
    return max((getattr(config, k) for k in LAYER_KEYS if isinstance(getattr(config, k, None), int)), default=0)


def shallow_copy(model: Any, layers: int) -> Any:
    """The same architecture with ``layers`` layers per stack, built on the meta device from a copy of its config."""
    import torch

    config = copy.deepcopy(model.config)
    for key in LAYER_KEYS:
        if isinstance(getattr(config, key, None), int):
            setattr(config, key, min(layers, getattr(config, key)))
    for key in ("layer_types", "mlp_only_layers"):
        value = getattr(config, key, None)
        if isinstance(value, list):
            setattr(config, key, value[:layers])
    with torch.device("meta"):
        return type(model)(config)


def extended(one: StepActivations, two: StepActivations, layers: int) -> StepActivations:
    """The step of a ``layers``-deep model from the traces of its 1- and 2-layer copies: every term grows by
    the second layer's share per layer (a stack of identical layers), the largest block stays as traced."""
    def grow(a: int, b: int) -> int:
        return max(0, a + (layers - 1) * (b - a))

    n = len(one.block_saved)
    stacks = len(two.block_saved) - n  # one more block per stack (decoder; encoder and decoder)
    blocks = tuple(one.block_saved)
    if stacks > 0:
        extra = (sum(two.block_saved) - sum(one.block_saved)) // stacks
        blocks += (extra,) * ((layers - 1) * stacks)
    return StepActivations(grow(one.at_peak, two.at_peak), grow(one.gradients_at_peak, two.gradients_at_peak),
                           grow(one.at_end, two.at_end), grow(one.gradients, two.gradients), two.inputs, blocks,
                           two.block_input)


def trace_deep(model: Any, dtype: Any, lora: Any, checkpointing: bool, batch: int,
               seq_len: int, inputs: Any = None) -> tuple[StepActivations, list[str]]:
    """:func:`trace`, on 1- and 2-layer copies extended to the model's depth when it is deeper than
    :data:`SHALLOW_ABOVE` layers and on the meta device (built from a config: tracing 80 layers takes minutes)."""
    layers = depth(model)
    on_meta = all(p.device.type == "meta" for p in model.parameters())
    if layers <= SHALLOW_ABOVE or not on_meta or getattr(model, "config", None) is None or inputs is not None:
        return trace(model, dtype, lora, checkpointing, batch, seq_len, inputs)
    one, notes = trace(shallow_copy(model, 1), dtype, lora, False, batch, seq_len)
    two, more = trace(shallow_copy(model, 2), dtype, lora, False, batch, seq_len)
    step = extended(one, two, layers)
    notes = [*notes, *more, f"Activations traced on 1- and 2-layer copies of the architecture and extended to its "
             f"{layers} layers."]
    if checkpointing and step.block_saved and getattr(model, "supports_gradient_checkpointing", False):
        step = checkpointed(step)
    return step, notes

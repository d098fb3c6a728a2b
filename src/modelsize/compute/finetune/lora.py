"""LoRA adapters as peft builds them: which modules are wrapped and how many parameters train.

Per wrapped module, with rank ``r`` (peft's ``LoraLayer.update_layer``, ``bias="none"``):

* ``nn.Linear`` / GPT-2's ``Conv1D``: ``lora_A`` is ``r × in``, ``lora_B`` is ``out × r``;
* ``nn.Conv{1,2,3}d``: ``lora_A`` is a convolution ``in → r`` with the base kernel (``r × in × k``),
  ``lora_B`` a 1×1 convolution ``r → out`` (``out × r``);
* ``nn.Embedding``: ``lora_embedding_A`` is ``r × num_embeddings``, ``lora_embedding_B`` is
  ``embedding_dim × r``.

Names match as in peft's ``check_target_module_exists``: a module is targeted when its full name
equals a target or ends with ``"." + target``. ``all-linear`` is peft's
``_maybe_include_all_linear_layers``: every ``Linear``/``Conv1D`` except the output embeddings
(``get_output_embeddings()``, the LM head) of a transformers model.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...core.errors import option_error
from .options import ALL_LINEAR
from .structure import CONV, EMBEDDING, LINEAR, Layer, Structure


@dataclass(frozen=True)
class LoraAdapters:
    """The wrapped modules and the adapter parameters (what trains)."""

    targets: tuple[Layer, ...]
    rank: int

    @property
    def trainable_params(self) -> int:
        return sum(adapter_params(layer, self.rank) for layer in self.targets)

    @property
    def tensors(self) -> int:
        return 2 * len(self.targets)


def adapter_params(layer: Layer, rank: int) -> int:
    """lora_A + lora_B elements for one wrapped module (see the module docstring)."""
    if layer.kind == CONV:
        return rank * layer.in_features * layer.kernel + layer.out_features * rank
    return rank * layer.in_features + layer.out_features * rank  # Linear, Conv1D, Embedding alike


def _matches(name: str, targets: tuple[str, ...]) -> bool:
    return name in targets or any(name.endswith("." + t) for t in targets)


def resolve(structure: Structure, targets: tuple[str, ...] | str, rank: int) -> LoraAdapters:
    """The modules ``targets`` wraps in ``structure``; an unknown or unsupported target is an error, as in peft."""
    if not isinstance(targets, str):
        targets = tuple(targets)
    if targets == ALL_LINEAR:
        chosen = [layer for layer in structure.layers if layer.kind == LINEAR and layer.name != structure.output_head]
    else:
        chosen = [layer for layer in structure.layers if _matches(layer.name, tuple(targets))]
        if structure.model is not None:
            wrong = [n for n, m in structure.model.named_modules()
                     if _matches(n, tuple(targets)) and n not in {layer.name for layer in chosen}]
            if wrong:
                raise option_error("target-modules", "modules peft can wrap (Linear, Conv1D, Conv1d/2d/3d, "
                                   f"Embedding); {wrong[0]!r} is a {type(structure.model.get_submodule(wrong[0])).__name__}",
                                   ",".join(targets))
    if not chosen:
        known = sorted({layer.name.rsplit(".", 1)[-1] for layer in structure.layers if layer.kind != EMBEDDING})
        raise option_error("target-modules", "names of modules in the model, e.g. " + ",".join(known[:8]),
                           targets if isinstance(targets, str) else ",".join(targets))
    return LoraAdapters(tuple(chosen), rank)

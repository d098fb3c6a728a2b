"""Unstructured magnitude pruning, made permanent and stored sparse so the file really shrinks.

``torch.nn.utils.prune`` on its own makes a model *larger*: each pruned weight is kept as
``weight_orig`` plus a same-sized ``weight_mask``, and even after ``prune.remove`` the zeros are
stored densely. This recipe prunes (globally across layers, or the same fraction per layer),
optionally fine-tunes with the masks held fixed, removes the re-parametrisation, and hands the
runner a sparse saver (bitmask or CSR per tensor, whichever is smaller). The details show all
three sizes side by side: the masked state dict the tutorials save, the dense zeros, and the
sparse file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ...core.optional import require
from ..base import RecipeBase, ShrinkContext, Shrunk, check_choice, check_int, check_names, check_number, recipe_error
from .savers import SparseSaver

#: module kinds whose ``weight`` is pruned by default
PRUNABLE = ("Linear", "Conv1d", "Conv2d", "Conv3d")


def _targets(model: Any, kinds: tuple[str, ...], skip: tuple[str, ...]) -> list[tuple[str, Any]]:
    return [(name, m) for name, m in model.named_modules()
            if type(m).__name__ in kinds and name not in skip and getattr(m, "weight", None) is not None]


def _masked_state_bytes(model: Any) -> int:
    """Exact bytes of ``torch.save(model.state_dict())`` while the masks are attached."""
    from ...serialize.torch_save import plan_torch_save

    return int(plan_torch_save(model.state_dict(), "model.pt").total)


@dataclass
class MagnitudePrune(RecipeBase):
    """Zero the smallest-magnitude weights (L1), globally or per layer, then store sparse.

    ``amount``: fraction of the selected weights set to zero. ``scope``: ``"global"`` ranks all
    selected weights together (layers end up with different sparsities); ``"layer"`` prunes
    each layer by ``amount``. ``layers``: module kinds to prune; ``skip``: module names to keep.
    ``finetune``: epochs of training afterwards with the zeros held (needs training data).
    """

    amount: float = 0.5
    scope: str = "global"
    layers: tuple[str, ...] = PRUNABLE
    skip: tuple[str, ...] = ()
    finetune: int = 0
    lr: float = 1e-3

    name: ClassVar[str] = "prune"
    framework: ClassVar[str] = "pytorch"

    def apply(self, model: Any, context: ShrinkContext) -> Shrunk:
        torch = require("torch", "prune PyTorch models")
        prune = require("torch.nn.utils.prune", "prune PyTorch models")  # a submodule torch does not import
        amount = check_number(self.name, "amount", self.amount, 0, 1, low_open=True, high_open=True)
        scope = check_choice(self.name, "scope", self.scope, ("global", "layer"))
        kinds = check_names(self.name, "layers", self.layers)
        skip = check_names(self.name, "skip", self.skip)
        epochs = check_int(self.name, "finetune", self.finetune, 0)
        lr = check_number(self.name, "lr", self.lr, 0, 1, low_open=True)
        targets = _targets(model, kinds, skip)
        if not targets:
            found = sorted({type(m).__name__ for m in model.modules()} - {type(model).__name__})
            raise recipe_error(self.name, f"the model has no {', '.join(kinds)} layers with a weight to prune "
                                          f"(it has: {', '.join(found) or 'no submodules'})")
        if epochs and (context.data is None or context.data.train is None):
            raise recipe_error(self.name, f"fine-tuning for {epochs} epochs needs training data, and none was given",
                               "Pass data, or finetune=0.")
        pairs = [(m, "weight") for _, m in targets]
        if scope == "global":
            prune.global_unstructured(pairs, pruning_method=prune.L1Unstructured, amount=amount)
        else:
            for module, param in pairs:
                prune.l1_unstructured(module, param, amount=amount)
        masked_bytes = _masked_state_bytes(model)
        fit_log = None
        if epochs:
            from .train import TrainOptions, fit

            data = context.data
            fit_log = fit(model, data.train, data.val, TrainOptions(epochs=epochs, lr=lr, seed=context.seed)).to_dict()  # type: ignore[union-attr]
        for module, param in pairs:
            prune.remove(module, param)  # permanent: weight = weight_orig * mask, hooks gone
        per_layer = {}
        zeros = total = 0
        for name, module in targets:
            w = module.weight.detach()
            nz = int(torch.count_nonzero(w).item())
            per_layer[name] = round(1 - nz / w.numel(), 6)
            zeros += w.numel() - nz
            total += w.numel()
        saver = SparseSaver()
        details = {
            "amount": amount,
            "scope": scope,
            "pruned_weights": total,
            "sparsity_of_pruned_weights": zeros / total,
            "sparsity_by_layer": per_layer,
            "masked_state_dict_bytes": masked_bytes,
            "layouts": saver.layouts(model),
            "finetune": fit_log,
        }
        notes = (
            f"torch.nn.utils.prune alone saves weight_orig + weight_mask: {masked_bytes:,} bytes as a state dict, "
            "more than the unpruned model; the zeros only pay off once removed from storage (sparse file).",
        )
        return Shrunk(model, (saver,), saver.name, details, notes)

"""Structured channel pruning with Torch-Pruning's dependency graph: parameters really go away.

Removing an output channel of one layer removes the matching input channel of every layer
that consumes it (and the matching BatchNorm entries); Torch-Pruning's ``DependencyGraph``
finds those couplings by tracing the model once. The output layer is detected (the last
Linear/Conv that runs) and kept, so the model still predicts the same classes.

How a channel ratio becomes a parameter ratio: a weight between two pruned layers loses
channels on both sides, so it keeps ``(1 − r)²`` of its entries; the first layer (fixed input)
and the output layer (fixed classes) lose only one side and keep ``1 − r``. The details give
the measured ratio and this estimate per layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ...core.errors import internal_error, is_our_bug
from ...core.optional import require
from ..base import RecipeBase, ShrinkContext, Shrunk, check_choice, check_int, check_names, check_number, recipe_error
from .savers import StructuredSaver

ROOT_KINDS = ("Linear", "Conv1d", "Conv2d", "Conv3d")
IMPORTANCE = ("l2", "l1", "random")


def output_layer(model: Any, example: Any, torch: Any) -> str | None:
    """Name of the last Linear/Conv module that runs in a forward pass (the classifier)."""
    order: list[str] = []
    hooks = [m.register_forward_hook(lambda _m, _i, _o, n=name: order.append(n))
             for name, m in model.named_modules() if type(m).__name__ in ROOT_KINDS]
    modes = {m: m.training for m in model.modules()}
    try:
        model.eval()
        with torch.no_grad():
            model(example)
    finally:
        for h in hooks:
            h.remove()
        for m, training in modes.items():
            m.training = training
    return order[-1] if order else None


def _widths(model: Any) -> dict[str, tuple[int, int, int]]:
    """``{name: (in, out, params)}`` of every Linear/Conv module."""
    out = {}
    for name, m in model.named_modules():
        kind = type(m).__name__
        if kind == "Linear":
            out[name] = (m.in_features, m.out_features, sum(p.numel() for p in m.parameters()))
        elif kind.startswith("Conv"):
            out[name] = (m.in_channels, m.out_channels, sum(p.numel() for p in m.parameters()))
    return out


@dataclass
class ChannelPrune(RecipeBase):
    """Remove ``ratio`` of the channels (or hidden units) of every prunable layer.

    ``importance``: ``"l2"`` / ``"l1"`` norm of each channel's weights (Torch-Pruning's
    ``MagnitudeImportance``) or ``"random"``. ``skip``: module names kept whole (the output
    layer is always kept). ``finetune``: epochs of training afterwards (needs training data).
    """

    ratio: float = 0.5
    importance: str = "l2"
    skip: tuple[str, ...] = ()
    finetune: int = 0
    lr: float = 1e-3

    name: ClassVar[str] = "channels"
    framework: ClassVar[str] = "pytorch"

    def apply(self, model: Any, context: ShrinkContext) -> Shrunk:
        torch = require("torch", "prune PyTorch models")
        ratio = check_number(self.name, "ratio", self.ratio, 0, 1, low_open=True, high_open=True)
        importance = check_choice(self.name, "importance", self.importance, IMPORTANCE)
        skip = check_names(self.name, "skip", self.skip)
        epochs = check_int(self.name, "finetune", self.finetune, 0)
        lr = check_number(self.name, "lr", self.lr, 0, 1, low_open=True)
        example_np = context.example_batch(2)
        if example_np is None:
            raise recipe_error(self.name, "tracing the layer dependencies needs an example input, and there is no data",
                               "Pass data or example_input.")
        if epochs and (context.data is None or context.data.train is None):
            raise recipe_error(self.name, f"fine-tuning for {epochs} epochs needs training data, and none was given")
        before = _widths(model)
        params_before = sum(p.numel() for p in model.parameters())
        example = torch.as_tensor(example_np)
        prune_model(model, example, ratio, importance, skip, self.name, seed=context.seed)
        after = _widths(model)
        params_after = sum(p.numel() for p in model.parameters())
        if params_after == params_before:
            raise recipe_error(self.name, "no channel could be removed (only the output layer, or skipped layers, "
                                          "are prunable)")
        fit_log = None
        if epochs:
            from .train import TrainOptions, fit

            data = context.data
            fit_log = fit(model, data.train, data.val, TrainOptions(epochs=epochs, lr=lr, seed=context.seed)).to_dict()  # type: ignore[union-attr]
        layers = {}
        for name, (cin, cout, n) in before.items():
            new_in, new_out, new_n = after.get(name, (cin, cout, n))
            layers[name] = {
                "in": [cin, new_in], "out": [cout, new_out], "params": [n, new_n],
                "kept": round(new_n / n, 6) if n else None,
                "estimate": round(_estimate(cin, new_in, cout, new_out), 6),
            }
        details = {
            "channel_ratio": ratio,
            "importance": importance,
            "params_before": params_before,
            "params_after": params_after,
            "param_ratio": params_after / params_before,
            "channel_to_param_rule": f"a layer losing {ratio:.0%} of inputs and of outputs keeps "
                                     f"{(1 - ratio) ** 2:.0%} of its weights; first and output layers keep {1 - ratio:.0%}",
            "layers": layers,
            "finetune": fit_log,
        }
        saver = StructuredSaver()
        return Shrunk(model, (saver,), saver.name, details)


def _estimate(cin: int, new_in: int, cout: int, new_out: int) -> float:
    """Kept share of a layer's weights predicted from its kept input and output shares."""
    return (new_in / cin if cin else 1.0) * (new_out / cout if cout else 1.0)


def prune_model(model: Any, example: Any, ratio: float, importance: str, skip: tuple[str, ...],
                recipe: str, seed: int = 0) -> None:
    """Physically remove ``ratio`` of the channels of each prunable layer, in place."""
    torch = require("torch")
    tp = require("torch_pruning", "prune channels (pip install torch-pruning)")
    modules = dict(model.named_modules())
    unknown = [s for s in skip if s not in modules]
    if unknown:
        raise recipe_error(recipe, f"the model has no module named {', '.join(map(repr, unknown))} to skip")
    ignored = [modules[s] for s in skip]
    last = output_layer(model, example, torch)
    if last is None:
        raise recipe_error(recipe, "the model has no Linear or Conv layers, so it has no channels to remove")
    ignored.append(modules[last])
    scorer = tp.importance.RandomImportance() if importance == "random" else \
        tp.importance.MagnitudeImportance(p=1 if importance == "l1" else 2)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        try:
            pruner = tp.pruner.MetaPruner(model, example, importance=scorer, pruning_ratio=ratio,
                                          ignored_layers=ignored)
            pruner.step()
        except (RuntimeError, TypeError, ValueError, KeyError) as exc:  # tracing failed on this model
            if is_our_bug(exc):
                raise internal_error(exc, "pruning channels") from exc
            raise recipe_error(recipe, f"Torch-Pruning could not trace the model's dependencies "
                                       f"({type(exc).__name__}: {exc})") from exc

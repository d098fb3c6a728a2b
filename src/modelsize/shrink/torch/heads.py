"""Structured attention-head pruning: whole heads of ``nn.MultiheadAttention`` go away.

A head of ``torch.nn.MultiheadAttention`` is ``head_dim`` rows of each of the query, key and
value projections and ``head_dim`` columns of the output projection. The module ties its
width to the model's (``embed_dim = num_heads × head_dim``, and the residual stream that runs
through it is ``embed_dim`` wide), so a head cannot leave without its ``head_dim`` channels of
the residual stream: every layer on that stream (the embedding, LayerNorms, feed-forward
inputs and outputs, the classifier's inputs, the other attention layers) loses the same
channels. Torch-Pruning's ``DependencyGraph`` finds that coupled group by tracing the model
once; this recipe picks whole heads in it, ranked by the group's weight norms, and removes
them with Torch-Pruning's own ``MultiheadAttention`` pruner.

The output layer keeps its classes: a group that would narrow the model's outputs is refused.
Hugging Face attention modules (separate query/key/value Linears) are not handled here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ...core.errors import internal_error, is_our_bug
from ...core.optional import require
from ..base import RecipeBase, ShrinkContext, Shrunk, check_choice, check_int, check_number, recipe_error
from .channels import IMPORTANCE, output_layer
from .savers import StructuredSaver


def _kinds(model: Any) -> str:
    """The module kinds a model holds (for "it has: …" in messages)."""
    kinds = sorted({type(m).__name__ for m in model.modules()} - {type(model).__name__})
    return ", ".join(kinds) or "no submodules"


def _attention(model: Any, torch: Any) -> dict[str, Any]:
    """``{name: module}`` of every ``nn.MultiheadAttention``, in model order."""
    return {name: m for name, m in model.named_modules() if isinstance(m, torch.nn.MultiheadAttention)}


def _shape(m: Any) -> dict[str, int]:
    return {"heads": int(m.num_heads), "embed_dim": int(m.embed_dim), "head_dim": int(m.head_dim),
            "params": sum(p.numel() for p in m.parameters())}


def _run(model: Any, example: Any, torch: Any) -> Any:
    """The model's output on ``example`` in eval mode without gradients (modes restored)."""
    modes = {m: m.training for m in model.modules()}
    try:
        model.eval()
        with torch.no_grad():
            return model(example)
    finally:
        for m, training in modes.items():
            m.training = training


def heads_to_remove(heads: int, ratio: float) -> int:
    """``round(ratio × heads)``, at least one head removed and at least one kept."""
    return min(max(round(ratio * heads), 1), heads - 1)


@dataclass
class HeadPrune(RecipeBase):
    """Remove ``ratio`` of the heads of every ``nn.MultiheadAttention`` layer.

    ``importance``: ``"l2"`` / ``"l1"`` norm of the weights a head's channels touch across
    the coupled group (Torch-Pruning's ``MagnitudeImportance``, averaged per head) or
    ``"random"``. ``finetune``: epochs of training afterwards (needs training data).
    Per layer ``round(ratio × heads)`` heads go, at least one and never all.
    """

    ratio: float = 0.5
    importance: str = "l2"
    finetune: int = 0
    lr: float = 1e-3

    name: ClassVar[str] = "heads"
    framework: ClassVar[str] = "pytorch"

    def apply(self, model: Any, context: ShrinkContext) -> Shrunk:
        torch = require("torch", "prune PyTorch models")
        ratio = check_number(self.name, "ratio", self.ratio, 0, 1, low_open=True, high_open=True)
        importance = check_choice(self.name, "importance", self.importance, IMPORTANCE)
        epochs = check_int(self.name, "finetune", self.finetune, 0)
        lr = check_number(self.name, "lr", self.lr, 0, 1, low_open=True)
        attention = _attention(model, torch)
        if not attention:
            raise recipe_error(self.name, f"the model has no attention layers (it has: {_kinds(model)})",
                               "It removes heads of torch.nn.MultiheadAttention; for other layers use 'channels'.")
        example_np = context.example_batch(2)
        if example_np is None:
            raise recipe_error(self.name, "tracing the layer dependencies needs an example input, and there is no data",
                               "Pass data or example_input.")
        if epochs and (context.data is None or context.data.train is None):
            raise recipe_error(self.name, f"fine-tuning for {epochs} epochs needs training data, and none was given")
        before = {name: _shape(m) for name, m in attention.items()}
        params_before = sum(p.numel() for p in model.parameters())
        removed = prune_heads(model, torch.as_tensor(example_np), ratio, importance, self.name, seed=context.seed)
        params_after = sum(p.numel() for p in model.parameters())
        fit_log = None
        if epochs:
            from .train import TrainOptions, fit

            data = context.data
            fit_log = fit(model, data.train, data.val, TrainOptions(epochs=epochs, lr=lr, seed=context.seed)).to_dict()  # type: ignore[union-attr]
        layers = {}
        for name, old in before.items():
            new = _shape(attention[name])
            layers[name] = {"heads": [old["heads"], new["heads"]], "embed_dim": [old["embed_dim"], new["embed_dim"]],
                            "head_dim": new["head_dim"], "params": [old["params"], new["params"]],
                            "removed_heads": removed[name]}
        heads_before = sum(v["heads"][0] for v in layers.values())
        heads_after = sum(v["heads"][1] for v in layers.values())
        details = {
            "head_ratio": ratio,
            "importance": importance,
            "heads_before": heads_before,
            "heads_after": heads_after,
            "params_before": params_before,
            "params_after": params_after,
            "param_ratio": params_after / params_before,
            "layers": layers,
            "finetune": fit_log,
        }
        note = ("nn.MultiheadAttention ties its width to the model's (embed_dim = heads × head_dim), so removing "
                "heads also narrowed the residual stream: embeddings, LayerNorms, feed-forward and classifier "
                "inputs lost the same channels.")
        saver = StructuredSaver()
        return Shrunk(model, (saver,), saver.name, details, notes=(note,))


def prune_heads(model: Any, example: Any, ratio: float, importance: str, recipe: str,
                seed: int = 0) -> dict[str, list[int]]:
    """Remove ``ratio`` of the heads of each ``nn.MultiheadAttention``, in place.

    Attention layers on one residual stream are one coupled group, so they lose the same
    heads (ranked by the whole group's importance). Returns the removed head indices per layer.
    """
    torch = require("torch")
    tp = require("torch_pruning", "prune attention heads (pip install torch-pruning)")
    attention = _attention(model, torch)
    names = {m: name for name, m in attention.items()}
    for name, m in attention.items():
        if not m._qkv_same_embed_dim:
            raise recipe_error(recipe, f"{name!r} has key/value widths ({m.kdim}, {m.vdim}) other than its "
                                       f"embed_dim ({m.embed_dim}); only self-attention-shaped layers are supported")
    last = output_layer(model, example, torch)
    outputs_before = _run(model, example, torch)
    scorer = tp.importance.RandomImportance() if importance == "random" else \
        tp.importance.MagnitudeImportance(p=1 if importance == "l1" else 2)
    fn = tp.prune_multihead_attention_out_channels
    removed: dict[str, list[int]] = {}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        try:
            graph = tp.DependencyGraph().build_dependency(model, example_inputs=example)
        except (RuntimeError, TypeError, ValueError, KeyError) as exc:  # tracing failed on this model
            if is_our_bug(exc):
                raise internal_error(exc, "tracing attention heads") from exc
            raise recipe_error(recipe, f"Torch-Pruning could not trace the model's dependencies "
                                       f"({type(exc).__name__}: {exc})") from exc
        for name, m in attention.items():
            if name in removed:
                continue  # pruned with an earlier layer of its stream
            group = graph.get_pruning_group(m, fn, idxs=list(range(m.embed_dim)))
            coupled = [dep.target.module for dep, _ in group if dep.target.module in names]
            _check_group(group, graph, coupled, names, last, model, recipe)
            heads, head_dim = m.num_heads, m.head_dim
            score = scorer(group)
            if score is None:
                raise recipe_error(recipe, f"Torch-Pruning found no weights to rank the heads of {name!r} by")
            per_head = score.reshape(heads, head_dim).mean(dim=1)
            drop = sorted(int(i) for i in torch.argsort(per_head)[:heads_to_remove(heads, ratio)])
            idxs = [h * head_dim + j for h in drop for j in range(head_dim)]
            for module in coupled:
                # Torch-Pruning's MHA pruner keeps num_heads and sets head_dim = embed_dim // num_heads;
                # with the new head count set first, whole heads leave and head_dim stays.
                module.num_heads = heads - len(drop)
            graph.get_pruning_group(m, fn, idxs=idxs).prune()
            for module in coupled:
                removed[names[module]] = drop
    outputs_after = _check_runs(model, example, torch, recipe)
    if tuple(outputs_after.shape) != tuple(outputs_before.shape):
        raise recipe_error(recipe, f"removing heads changed the model's output shape from "
                                   f"{tuple(outputs_before.shape)} to {tuple(outputs_after.shape)}")
    return removed


def _check_group(group: Any, graph: Any, coupled: list[Any], names: dict[Any, str], last: str | None,
                 model: Any, recipe: str) -> None:
    """Refuse groups whose heads do not line up, or that would narrow the model's output."""
    first = coupled[0]
    other = next((m for m in coupled if (m.num_heads, m.embed_dim) != (first.num_heads, first.embed_dim)), None)
    if other is not None:
        raise recipe_error(recipe, f"attention layers {names[first]!r} and {names[other]!r} share one residual stream "
                                   f"but split it into different heads ({first.num_heads} and {other.num_heads})")
    if first.num_heads < 2:
        raise recipe_error(recipe, f"{names[first]!r} has a single head, and at least one must stay")
    output = dict(model.named_modules()).get(last) if last is not None else None
    for dep, _ in group:
        if dep.target.module is output and graph.is_out_channel_pruning_fn(dep.handler):
            raise recipe_error(recipe, f"the heads of {names[first]!r} are coupled to the outputs of the output "
                                       f"layer {last!r}, so removing them would change the model's outputs")


def _check_runs(model: Any, example: Any, torch: Any, recipe: str) -> Any:
    try:
        return _run(model, example, torch)
    except RuntimeError as exc:  # e.g. the raw input feeds the attention width directly
        raise recipe_error(recipe, f"the model no longer runs after removing heads ({type(exc).__name__}: {exc}); "
                                   "its input probably feeds the attention layers without an embedding layer") from exc

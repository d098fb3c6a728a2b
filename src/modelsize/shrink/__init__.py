"""Shrink models and show the real effect: size on disk after a save → load round trip,
accuracy on evaluation data, CPU latency — before and after.

    from modelsize.shrink import shrink, MagnitudePrune, DynamicInt8, Chain, data
    result = shrink(model, DynamicInt8(), data.mnist5k())
    result.deltas()["file_ratio"], result.to_dict()

Recipes store their parameters as given and check them in ``apply`` (see :mod:`.base`).
Importing this package loads no framework: each framework's backend and recipes live in a
subpackage (``torch``, ``keras``, ``sklearn``, ``boosting``, ``onnx``) imported when a recipe
of it runs, and the names below are loaded on first access.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY: dict[str, str] = {
    "shrink": "modelsize.shrink.runner",
    "shrink_each": "modelsize.shrink.runner",
    "RunOptions": "modelsize.shrink.runner",
    "ShrinkResult": "modelsize.shrink.result",
    "ShrinkRun": "modelsize.shrink.result",
    "Chain": "modelsize.shrink.base",
    "Recipe": "modelsize.shrink.base",
    "RecipeError": "modelsize.shrink.base",
    "ShrinkContext": "modelsize.shrink.base",
    "Shrunk": "modelsize.shrink.base",
    "ShrinkData": "modelsize.shrink.data",
    "Split": "modelsize.shrink.data",
    "load_data": "modelsize.shrink.data",
    "MagnitudePrune": "modelsize.shrink.torch.prune",
    "ChannelPrune": "modelsize.shrink.torch.channels",
    "HeadPrune": "modelsize.shrink.torch.heads",
    "Cast": "modelsize.shrink.torch.quantize",
    "Float16": "modelsize.shrink.torch.quantize",
    "BFloat16": "modelsize.shrink.torch.quantize",
    "DynamicInt8": "modelsize.shrink.torch.quantize",
    "StaticInt8": "modelsize.shrink.torch.quantize",
    "WeightOnlyInt8": "modelsize.shrink.torch.quantize",
    "WeightOnlyInt4": "modelsize.shrink.torch.int4",
    "Distill": "modelsize.shrink.torch.distill",
    "parse_recipe": "modelsize.shrink.spec",
    "to_budget": "modelsize.shrink.budget.search",
    "Goal": "modelsize.shrink.budget.goal",
    "SearchOptions": "modelsize.shrink.budget.goal",
    "BudgetResult": "modelsize.shrink.budget.search",
    "BudgetNotMetError": "modelsize.shrink.budget.errors",
    "MixedPrecision": "modelsize.shrink.torch.mixed",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(_LAZY[name])
        return getattr(module, "parse" if name == "parse_recipe" else name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])

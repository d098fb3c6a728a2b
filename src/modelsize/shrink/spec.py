"""Recipe specs, as written on the command line: ``name[:key=value,key=value][+name…]``.

``prune:amount=0.8`` → ``MagnitudePrune(amount=0.8)``; ``channels:ratio=0.5,finetune=2``;
``prune:amount=0.5+int8-dynamic`` → a :class:`~modelsize.shrink.base.Chain`. Values are read as
int, float, ``true``/``false``, ``none`` or text; ``a|b`` is a tuple (``skip=fc2|fc3``).

:data:`RECIPES` is a :class:`~modelsize.core.registry.Registry` of spec names → recipe classes,
each imported only when used; other packages add recipes through the ``modelsize.recipes``
entry-point group (or ``RECIPES.register(name, "module:Class")``).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from ..core.errors import OptionError
from ..core.registry import Registry
from ..core.suggest import did_you_mean

#: spec name -> "module:Class"
RECIPES = Registry("recipe", group="modelsize.recipes", entries={
    "prune": "modelsize.shrink.torch.prune:MagnitudePrune",
    "channels": "modelsize.shrink.torch.channels:ChannelPrune",
    "fp16": "modelsize.shrink.torch.quantize:Float16",
    "bf16": "modelsize.shrink.torch.quantize:BFloat16",
    "cast": "modelsize.shrink.torch.quantize:Cast",
    "int8-dynamic": "modelsize.shrink.torch.quantize:DynamicInt8",
    "int8-static": "modelsize.shrink.torch.quantize:StaticInt8",
    "int8-weight": "modelsize.shrink.torch.quantize:WeightOnlyInt8",
    "int4-weight": "modelsize.shrink.torch.int4:WeightOnlyInt4",
    "distill": "modelsize.shrink.torch.distill:Distill",
    "heads": "modelsize.shrink.torch.heads:HeadPrune",
    "tflite": "modelsize.shrink.keras.tflite:TFLiteConvert",
    "tflite-selective": "modelsize.shrink.keras.selective:TFLiteSelective",
    "tfmot-prune": "modelsize.shrink.keras.tfmot:TfmotPrune",
    "tfmot-cluster": "modelsize.shrink.keras.tfmot:TfmotCluster",
    "keras-distill": "modelsize.shrink.keras.distill:KerasDistill",
    "ccp": "modelsize.shrink.sklearn.trees:CostComplexityPrune",
    "smallest-forest": "modelsize.shrink.sklearn.trees:SmallestForest",
    "float32": "modelsize.shrink.sklearn.float32:Float32Storage",
    "select-k": "modelsize.shrink.sklearn.select:SelectK",
    "forest-distill": "modelsize.shrink.sklearn.distill:ForestDistill",
    "first-rounds": "modelsize.shrink.boosting.rounds:FirstRounds",
    "onnx-dynamic": "modelsize.shrink.onnx.quantize:OnnxDynamicInt8",
    "onnx-static": "modelsize.shrink.onnx.quantize:OnnxStaticInt8",
})

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")

def by_framework() -> dict[str, list[str]]:
    """Recipe names grouped by framework (registry order), for help texts: the label of the
    :data:`~modelsize.frameworks.FRAMEWORKS` entry whose modules hold the recipe."""
    from ..frameworks import FRAMEWORKS

    groups: dict[str, list[str]] = {}
    for name, where in RECIPES.specs().items():
        module = where.split(":")[0]
        label = next((f.label for f in FRAMEWORKS.values() if f.owns(module)), "other")
        groups.setdefault(label, []).append(name)
    return groups


def recipe_class(name: str) -> type:
    """The class registered under ``name``."""
    if name not in RECIPES:
        raise OptionError(f"The 'recipe' option must name one of {', '.join(sorted(RECIPES))}. Got {name!r}."
                          + did_you_mean(name, RECIPES))
    return RECIPES[name]


def parse_value(text: str) -> Any:
    """``'0.8'`` → 0.8, ``'3'`` → 3, ``'true'`` → True, ``'none'`` → None, ``'a|b'`` → ('a', 'b')."""
    if "|" in text:
        return tuple(parse_value(part) for part in text.split("|") if part)
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def parse_one(text: str) -> Any:
    """One recipe from ``name[:key=value,…]``."""
    name, _, rest = text.strip().partition(":")
    name = name.strip().lower()
    if not _NAME.match(name):
        raise OptionError(f"The 'recipe' option must look like 'name' or 'name:key=value,key=value'. Got {text!r}.")
    cls = recipe_class(name)
    fields = {f.name for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for item in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = item.partition("=")
        key = key.strip()
        if not eq or not key:
            raise OptionError(f"The 'recipe' option's settings must be key=value pairs. Got {item!r} in {text!r}.")
        if key not in fields:
            raise OptionError(f"The {key!r} option is not a setting of the {name!r} recipe; its settings are "
                              f"{', '.join(sorted(fields))}. Got {text!r}." + did_you_mean(key, fields))
        value = parse_value(value.strip())
        default = next(f.default for f in dataclasses.fields(cls) if f.name == key)
        if isinstance(default, tuple) and not isinstance(value, tuple):
            value = (value,)  # skip=fc2 means one name
        kwargs[key] = value
    return cls(**kwargs)


def parse(text: str) -> Any:
    """A recipe, or a chain when the spec joins several with ``+``."""
    parts = [p for p in text.split("+") if p.strip()]
    if not parts:
        raise OptionError(f"The 'recipe' option must name at least one recipe. Got {text!r}.")
    recipes = [parse_one(p) for p in parts]
    if len(recipes) == 1:
        return recipes[0]
    from .base import Chain

    return Chain(recipes)

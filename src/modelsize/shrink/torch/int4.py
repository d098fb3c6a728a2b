"""Weight-only int4 with per-group scales, stored packed (two codes per byte).

torchao's int4 weight-only path needs an extra kernel package on CPU, so modelsize packs the
weights itself: each row of a Linear weight is cut into groups of ``group_size`` values, each
group gets a float16 scale and minimum, and each value a 4-bit code (5 bits per weight in all
at group size 32). The file holds the codes; loading dequantizes them to float32, and the model
in memory computes with exactly those float32 values. So the *file* shrinks about 6×, while
memory stays float32 — the result says so, and the simulated-quantization check flags the
float32 weights on an int4 grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

from ...core.optional import require
from .. import layouts
from ..base import RecipeBase, ShrinkContext, Shrunk, check_int, check_names, recipe_error
from .savers import Int4Saver


@dataclass
class WeightOnlyInt4(RecipeBase):
    """4-bit weights of Linear layers, ``group_size`` values per float16 scale/minimum pair."""

    group_size: int = 32
    skip: tuple[str, ...] = ()

    name: ClassVar[str] = "int4-weight"
    framework: ClassVar[str] = "pytorch"

    def apply(self, model: Any, context: ShrinkContext) -> Shrunk:
        torch = require("torch", "quantize PyTorch models")
        group = check_int(self.name, "group_size", self.group_size, 2)
        if group % 2:
            from ..base import recipe_option_error

            raise recipe_option_error(self.name, "group_size", "an even integer >= 2 (two codes share a byte)", group)
        skip = check_names(self.name, "skip", self.skip)
        targets = [(name, m) for name, m in model.named_modules()
                   if type(m).__name__ == "Linear" and name not in skip and m.weight.dtype == torch.float32]
        if not targets:
            raise recipe_error(self.name, "the model has no float32 Linear layers to quantize")
        packed: dict[str, layouts.Int4Packed] = {}
        errors = {}
        with torch.no_grad():
            for name, module in targets:
                info, values = layouts.quantize_int4(module.weight, group)
                key = f"{name}.weight" if name else "weight"
                errors[key] = float((values - module.weight).abs().max())
                module.weight.copy_(values)
                packed[key] = info
        weights = sum(math.prod(info.shape) for info in packed.values())
        code_bytes = sum(info.nbytes for info in packed.values())
        details = {
            "group_size": group,
            "layers": [n for n, _ in targets],
            "weights_packed": weights,
            "packed_bytes": code_bytes,
            "bits_per_weight": round(8 * code_bytes / max(weights, 1), 4),
            "max_abs_error_by_weight": errors,
        }
        notes = ("int4-weight: 4-bit codes on disk, dequantized to float32 on load — memory and speed stay "
                 "float32 (no int4 CPU kernel is used).",)
        saver = Int4Saver(packed)
        return Shrunk(model, (saver,), saver.name, details, notes)

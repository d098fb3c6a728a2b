"""Detect simulated ("fake") quantization: a model that computes as if quantized while its
weights are still stored as floats — the usual answer to "why is my quantized model not smaller?".

Two kinds of evidence:

* **fake-quant modules** — observers and ``FakeQuantize`` modules inserted by
  ``prepare`` / ``prepare_qat`` (torch.ao) or QAT layer classes: the model was prepared but
  never converted, so every weight is still float32;
* **grid-valued float weights** — a floating weight whose values lie on a few levels: every
  aligned window of 32 non-zero values holds at most 16 distinct values (an int4 grid), or
  every row of at least 512 non-zero values holds at most 256 (an int8 grid). Float weights
  trained normally never look like that; dequantized ones always do. Windows with zeros are
  skipped, so pruning alone is not mistaken for quantization.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...core.optional import require

#: rows sampled per weight (the check is a heuristic; a few rows decide it)
SAMPLE_ROWS = 16
INT4_WINDOW, INT4_LEVELS = 32, 16
INT8_MIN_ROW, INT8_LEVELS = 512, 256


@dataclass(frozen=True)
class GridTensor:
    """One float weight whose values sit on a quantization grid."""

    path: str
    levels: int  #: 16 (int4-like) or 256 (int8-like)
    dtype: str
    stored_bytes: int
    packed_bytes: int  #: what its codes would take packed at log2(levels) bits

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "levels": self.levels, "dtype": self.dtype,
                "stored_bytes": self.stored_bytes, "packed_bytes": self.packed_bytes}


@dataclass(frozen=True)
class SimulatedQuantization:
    """What was found; ``found`` is False when the model shows no sign of simulated quantization."""

    fake_quant_modules: tuple[str, ...] = ()
    grid_tensors: tuple[GridTensor, ...] = field(default_factory=tuple)

    @property
    def found(self) -> bool:
        return bool(self.fake_quant_modules or self.grid_tensors)

    def message(self) -> str | None:
        """One sentence for the report's notes, or ``None``."""
        parts = []
        if self.fake_quant_modules:
            n = len(self.fake_quant_modules)
            parts.append(f"{n} fake-quantize/observer module{'s' if n > 1 else ''} "
                         f"({', '.join(self.fake_quant_modules[:3])}{', …' if n > 3 else ''}): the model was "
                         "prepared for quantization but not converted, so its weights are still stored as floats "
                         "(torch.ao.quantization.convert stores int8)")
        if self.grid_tensors:
            stored = sum(t.stored_bytes for t in self.grid_tensors)
            packed = sum(t.packed_bytes for t in self.grid_tensors)
            parts.append(f"{len(self.grid_tensors)} float weight(s) hold quantized values "
                         f"(≤ {max(t.levels for t in self.grid_tensors)} levels) but are stored as "
                         f"{self.grid_tensors[0].dtype}: {stored:,} bytes where packed codes would take about {packed:,}")
        return ("Simulated quantization: " + "; ".join(parts) + ".") if parts else None

    def to_dict(self) -> dict[str, Any]:
        return {"found": self.found, "fake_quant_modules": list(self.fake_quant_modules),
                "grid_tensors": [t.to_dict() for t in self.grid_tensors]}


def _is_fake_quant(module: Any) -> bool:
    mod = type(module).__module__
    name = type(module).__name__
    if mod.startswith("torch.ao.quantization") and (name.endswith("Observer") or "FakeQuantize" in name):
        return True
    return mod.startswith(("torch.ao.nn.qat", "torch.ao.nn.intrinsic.qat"))


def _grid_levels(weight: Any, torch: Any) -> int | None:
    """16 or 256 when the sampled rows sit on an int4 / int8 grid, else ``None``."""
    rows = weight.detach().reshape(weight.shape[0], -1).float()
    if rows.shape[0] == 0:
        return None
    step = max(1, rows.shape[0] // SAMPLE_ROWS)
    sample = rows[::step][:SAMPLE_ROWS]
    windows = 0
    int4 = True
    cols = sample.shape[1] - sample.shape[1] % INT4_WINDOW
    if cols:
        for row in sample[:, :cols].reshape(-1, INT4_WINDOW):
            if bool((row != 0).all()):
                windows += 1
                if torch.unique(row).numel() > INT4_LEVELS:
                    int4 = False
                    break
        if int4 and windows >= SAMPLE_ROWS // 2:
            return INT4_LEVELS
    checked = 0
    for row in sample:
        nonzero = row[row != 0]
        if nonzero.numel() < INT8_MIN_ROW:
            continue
        checked += 1
        if torch.unique(nonzero).numel() > INT8_LEVELS:
            return None
    return INT8_LEVELS if checked else None


def detect(model: Any) -> SimulatedQuantization:
    """Look for fake-quant modules and grid-valued float weights in a PyTorch model."""
    torch = require("torch")
    fake = tuple(name or "(model)" for name, m in model.named_modules() if _is_fake_quant(m))
    grids: list[GridTensor] = []
    with torch.no_grad():
        for name, param in model.named_parameters():
            if (type(param) not in (torch.Tensor, torch.nn.Parameter) or not param.is_floating_point()
                    or param.dim() < 2 or param.numel() < 256):
                continue
            levels = _grid_levels(param, torch)
            if levels:
                bits = 4 if levels == INT4_LEVELS else 8
                grids.append(GridTensor(name, levels, str(param.dtype).removeprefix("torch."),
                                        param.numel() * param.element_size(), -(-param.numel() * bits // 8)))
    return SimulatedQuantization(fake, tuple(grids))

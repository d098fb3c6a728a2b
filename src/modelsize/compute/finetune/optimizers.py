"""Bytes per trainable parameter for weights, gradients and optimizer state, by precision and optimizer.

Precision (what the ZeRO paper calls mixed-precision training, Rajbhandari et al. 2020, §3.1):

* ``bf16-mixed`` / ``fp16-mixed``: 2-byte weights and gradients, an fp32 master copy (4 B) of
  every trainable weight kept by the optimizer;
* ``fp32``: 4-byte weights and gradients, no master copy;
* ``bf16``: 2-byte weights and gradients, no master copy, optimizer state in bf16.

Optimizer state, by the real layouts:

* ``adamw`` (``torch.optim.AdamW``): ``exp_avg`` and ``exp_avg_sq`` per element (fp32, or bf16 in pure
  bf16) + a 4-byte ``step`` per tensor — with the fp32 master copy that is the paper's K = 12 bytes;
* ``adamw-8bit`` (``bitsandbytes.optim.AdamW8bit``): tensors of at least 4,096 elements keep both
  moments in uint8 with one fp32 absmax per block of 256 (``2 × (n + 4 × ceil(n / 256))``), smaller
  ones in fp32 (``8 × n``); plus a 4-byte step per tensor;
* ``sgd`` (``torch.optim.SGD``, momentum 0): no state;
* ``adafactor`` (``transformers.Adafactor``, ``beta1=None``): a tensor of 2+ dims keeps fp32 row and
  column second moments (``shape[:-1]`` and ``shape[:-2] + shape[-1:]``), a 1-D one a full fp32
  ``exp_avg_sq``; each keeps a 0-dim fp32 ``RMS`` too (its ``step`` is a Python int).
"""

from __future__ import annotations

from collections.abc import Iterable

EIGHT_BIT_MIN = 4096
EIGHT_BIT_BLOCK = 256
_HALF = ("bf16-mixed", "fp16-mixed", "bf16")


def weight_bytes_per_elem(precision: str) -> int:
    """Bytes of a weight (and of its gradient) in the training precision."""
    return 2 if precision in _HALF else 4


def master_bytes_per_elem(precision: str) -> int:
    """The fp32 master copy of a trainable weight under mixed precision."""
    return 4 if precision.endswith("-mixed") else 0


def _prod(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n


def state_bytes(optimizer: str, shapes: Iterable[tuple[int, ...]], precision: str, step_bytes: int = 4) -> int:
    """Optimizer state bytes for trainable tensors of ``shapes`` (no master copy; see the module docstring).

    ``step_bytes``: the step count kept per tensor (PyTorch's optimizers; 0 for DeepSpeed's flat partitions)."""
    total = 0
    adam_elem = 2 if precision == "bf16" else 4
    for shape in shapes:
        n = _prod(shape)
        if optimizer == "adamw":
            total += 2 * adam_elem * n + step_bytes
        elif optimizer == "adamw-8bit":
            total += (2 * (n + 4 * -(-n // EIGHT_BIT_BLOCK)) if n >= EIGHT_BIT_MIN else 8 * n) + step_bytes
        elif optimizer == "adafactor":
            if len(shape) >= 2:
                total += 4 * (_prod(shape[:-1]) + _prod(shape[:-2] + shape[-1:]))
            else:
                total += 4 * n
            total += 4  # the fp32 RMS of the parameter, a 0-dim tensor per parameter
        elif optimizer != "sgd":
            raise ValueError(optimizer)
    return total


def step_temporaries(optimizer: str, largest_numel: int, trainable_numel: int, precision: str, device: str,
                     shard: str) -> int:
    """Transient bytes of the optimizer step, by the implementation PyTorch picks.

    On CPU, AdamW updates one tensor at a time: ``exp_avg_sq.sqrt() / c`` and its sum with eps make
    two temporaries the size of the largest tensor. On CUDA its default ``foreach`` form makes one
    temporary list the size of all the GPU's states (``_foreach_sqrt``); DeepSpeed's fused Adam (ZeRO) none.
    """
    if optimizer != "adamw":
        return 0
    elem = 2 if precision == "bf16" else 4
    if device == "cpu":
        return 2 * largest_numel * elem
    return 0 if shard.startswith("zero") else trainable_numel * elem


def describe(optimizer: str, precision: str) -> str:
    w = weight_bytes_per_elem(precision)
    master = master_bytes_per_elem(precision)
    state = {"adamw": f"AdamW m and v ({'bf16' if precision == 'bf16' else 'fp32'})",
             "adamw-8bit": "8-bit AdamW m and v (uint8 + fp32 absmax per 256; tensors < 4,096 elements in fp32)",
             "sgd": "SGD without momentum (no state)",
             "adafactor": "Adafactor factored fp32 row/column second moments (no first moment)"}[optimizer]
    text = f"{precision}: {w}-byte weights and gradients"
    if master:
        text += f", fp32 master copy ({master} B) of each trainable weight"
    return text + f"; {state}."

"""What a fine-tuning plan is asked for: one small typed object, stored as given, checked in :meth:`validate`."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ...core.errors import option_error

METHODS = ("full", "lora", "qlora")
OPTIMIZERS = ("adamw", "adamw-8bit", "sgd", "adafactor")
PRECISIONS = ("bf16-mixed", "fp16-mixed", "fp32", "bf16")
SHARDS = ("ddp", "zero1", "zero2", "zero3", "fsdp")
DEVICES = ("cuda", "cpu")
ALL_LINEAR = "all-linear"
DEFAULT_SEQ_LEN = 2048
GIB = 1 << 30
#: CUDA context + allocator reserve per GPU, an assumption (as ``--fit`` inference uses).
OVERHEAD_BYTES = 1 * GIB


@dataclass(frozen=True)
class FinetuneOptions:
    """A fine-tuning setup, per GPU.

    ``batch`` is the micro-batch of one GPU (data parallel: every GPU sees its own); ``seq_len``
    defaults to :data:`DEFAULT_SEQ_LEN` capped at the model's context. ``target_modules`` is a
    tuple of module names (matched as peft matches them: the full name or its last ``.part``)
    or ``"all-linear"``. ``overhead_bytes`` is the per-GPU framework reserve (0 to compare with
    a CPU measurement).
    """

    budget_bytes: int | None = None
    method: str = "full"
    rank: int = 16
    target_modules: tuple[str, ...] | str = ALL_LINEAR
    optimizer: str = "adamw"
    precision: str = "bf16-mixed"
    grad_checkpointing: bool = False
    batch: int = 1
    seq_len: int | None = None
    gpus: int = 1
    shard: str = "ddp"
    overhead_bytes: int = OVERHEAD_BYTES
    device: str = "cuda"  #: whose optimizer implementation (cuda: foreach; cpu: one tensor at a time)
    inputs: Any = None  #: one step's inputs for models that take no input_ids/pixel_values ("8x3x32x32")

    def validate(self) -> None:
        """Raise :class:`~modelsize.core.errors.OptionError` for the first value out of range."""
        for name, value, allowed in (("training", self.method, METHODS), ("optimizer", self.optimizer, OPTIMIZERS),
                                     ("precision", self.precision, PRECISIONS), ("shard", self.shard, SHARDS)):
            if value not in allowed:
                raise option_error(name, f"one of {', '.join(allowed)}", value)
        for name, value, low in (("rank", self.rank, 1), ("batch", self.batch, 1), ("gpus", self.gpus, 1),
                                 ("overhead", self.overhead_bytes, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise option_error(name, f"an integer >= {low}", value)
        if self.seq_len is not None and (isinstance(self.seq_len, bool) or not isinstance(self.seq_len, int)
                                         or self.seq_len <= 0):
            raise option_error("seq-len", "an integer > 0", self.seq_len)
        if self.budget_bytes is not None and (isinstance(self.budget_bytes, bool)
                                              or not isinstance(self.budget_bytes, int) or self.budget_bytes <= 0):
            raise option_error("fit", "a memory size > 0 in bytes", self.budget_bytes)
        if not isinstance(self.grad_checkpointing, bool):
            raise option_error("grad-checkpointing", "True or False", self.grad_checkpointing)
        targets = self.target_modules
        if not (targets == ALL_LINEAR or (isinstance(targets, (tuple, list)) and targets
                                          and all(isinstance(t, str) and t for t in targets))):
            raise option_error("target-modules", "'all-linear' or module names such as q_proj,v_proj", targets)
        if self.device not in DEVICES:
            raise option_error("device", f"one of {', '.join(DEVICES)}", self.device)

    def with_(self, **changes: object) -> "FinetuneOptions":
        return replace(self, **changes)  # type: ignore[arg-type]


def parse_targets(text: str) -> tuple[str, ...] | str:
    """``"q_proj,v_proj"`` → ``("q_proj", "v_proj")``; ``"all-linear"`` stays as it is."""
    if text.strip().lower() == ALL_LINEAR:
        return ALL_LINEAR
    names = tuple(t.strip() for t in text.split(",") if t.strip())
    if not names:
        raise option_error("target-modules", "'all-linear' or module names such as q_proj,v_proj", text)
    return names

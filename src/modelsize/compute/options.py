"""Small typed option objects for a compute profile (stored as given, validated when used)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.errors import option_error

OPTIMIZERS = ("sgd", "sgd_momentum", "adam", "adamw")
MIXED_PRECISION = (None, "fp16", "bf16")


@dataclass(frozen=True)
class TrainingOptions:
    """How the training-memory estimate is made.

    ``optimizer``: ``sgd`` (no state), ``sgd_momentum`` (one buffer per parameter), ``adam`` /
    ``adamw`` (two). ``mixed_precision``: ``None`` (weights, gradients and states in the
    model's dtype) or ``"fp16"`` / ``"bf16"`` (half-precision weights, gradients and
    activations, plus fp32 master weights and fp32 optimizer state).
    """

    optimizer: str = "adamw"
    mixed_precision: str | None = None

    def validate(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise option_error("optimizer", f"one of {', '.join(OPTIMIZERS)}", self.optimizer)
        if self.mixed_precision not in MIXED_PRECISION:
            raise option_error("mixed_precision", "None, 'fp16' or 'bf16'", self.mixed_precision)


@dataclass(frozen=True)
class LatencyOptions:
    """Timed forward passes on real tensors: ``warmup`` untimed runs, then ``runs`` timed ones."""

    runs: int = 20
    warmup: int = 3

    def validate(self) -> None:
        for name, value, low in (("runs", self.runs, 1), ("warmup", self.warmup, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise option_error(name, f"an integer >= {low}", value)


@dataclass(frozen=True)
class MeasureOptions:
    """Measured footprint in a fresh subprocess.

    ``factory`` (``"package.module:attr"`` or ``"path/file.py:attr"``) rebuilds the model there
    before its state dict is loaded; without one the whole module is pickled with
    ``torch.save`` (its class must be importable in a fresh interpreter).
    """

    factory: str | None = None
    timeout_s: float = 600.0

    def validate(self) -> None:
        if self.factory is not None and (not isinstance(self.factory, str) or ":" not in self.factory):
            raise option_error("factory", "a 'package.module:attr' or 'file.py:attr' string", self.factory)
        if isinstance(self.timeout_s, bool) or not isinstance(self.timeout_s, (int, float)) or self.timeout_s <= 0:
            raise option_error("timeout_s", "a number of seconds > 0", self.timeout_s)


@dataclass(frozen=True)
class KVCacheOptions:
    """Cache size (K/V and recurrent state) for a Hugging Face style config; ``None`` fields come from the
    inputs/model (``encoder_length``: from the config, as Whisper's 1,500 frames, else the context)."""

    context_length: int | None = None
    batch: int | None = None
    dtype: str | None = None
    encoder_length: int | None = None  #: encoder–decoder models: positions the cross-attention attends over


@dataclass(frozen=True)
class ComputeOptions:
    """Everything ``modelsize.inspect(obj, inputs=..., compute=...)`` passes to the profile."""

    backward: bool = False
    include_elementwise: bool = True
    training: TrainingOptions = field(default_factory=TrainingOptions)
    kv_cache: KVCacheOptions | None = field(default_factory=KVCacheOptions)
    latency: LatencyOptions | None = None
    measure: MeasureOptions | None = None
    #: trace each distinct layer once and replay it for identical ones (None: on for models built
    #: from a config.json, off for live models)
    dedup_layers: bool | None = None

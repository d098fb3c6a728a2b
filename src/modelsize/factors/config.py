"""Small typed option objects of a sweep: how to train, what to measure.

Stored as given (a YAML mapping becomes one of these unchanged) and checked by ``validate``
when the sweep runs, the way scikit-learn estimators treat their parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from ..core.errors import option_error

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
FORMAT_SETS = ("main", "all", "none")


def _int(name: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise option_error(name, f"an integer >= {low}", value)


def _number(name: str, value: Any, low: float, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < low:
        raise option_error(name, f"a number >= {low}" + (" or null" if allow_none else ""), value)


@dataclass(frozen=True)
class FitConfig:
    """Training settings. Used by the PyTorch loop and Keras ``fit``; scikit-learn gets ``kwargs``.

    ``patience`` turns on early stopping on a validation split of ``validation_fraction`` of
    the training rows (best weights restored). ``kwargs`` are passed to ``model.fit`` as keyword
    arguments (scikit-learn, Keras); ``fit.<name>`` factors that are not fields land there too.
    """

    epochs: int = 10
    batch_size: int = 64
    optimizer: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.9
    patience: int | None = None
    validation_fraction: float = 0.1
    loss: str = "auto"
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, value: Any) -> "FitConfig":
        if value is None:
            return cls()
        if isinstance(value, FitConfig):
            return value
        if not isinstance(value, Mapping):
            raise option_error("fit", "a mapping of training settings", value)
        return cls().with_overrides(value)

    def with_overrides(self, values: Mapping[str, Any]) -> "FitConfig":
        """A copy with fields replaced; names that are not fields become ``fit`` keyword arguments."""
        names = {f.name for f in fields(self)} - {"kwargs"}
        known = {k: v for k, v in values.items() if k in names}
        extra = {k: v for k, v in values.items() if k not in names and k != "kwargs"}
        extra.update(values.get("kwargs") or {})
        return replace(self, **known, kwargs={**self.kwargs, **extra})

    def validate(self) -> None:
        _int("fit.epochs", self.epochs, 1)
        _int("fit.batch_size", self.batch_size, 1)
        if self.optimizer not in OPTIMIZERS:
            raise option_error("fit.optimizer", "one of " + ", ".join(OPTIMIZERS), self.optimizer)
        _number("fit.lr", self.lr, 0.0)
        _number("fit.weight_decay", self.weight_decay, 0.0)
        _number("fit.momentum", self.momentum, 0.0)
        if self.patience is not None:
            _int("fit.patience", self.patience, 1)
        if isinstance(self.validation_fraction, bool) or not isinstance(self.validation_fraction, (int, float)) \
                or not 0 < self.validation_fraction < 1:
            raise option_error("fit.validation_fraction", "a number between 0 and 1 (exclusive)", self.validation_fraction)
        if not isinstance(self.loss, str):
            raise option_error("fit.loss", "'auto' or a loss name", self.loss)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["kwargs"] = dict(self.kwargs)
        return out


@dataclass(frozen=True)
class MeasureConfig:
    """What each trial measures besides the report's totals.

    ``formats``: ``main`` (the usual files of the framework: pickle and joblib for
    scikit-learn, torch.save and safetensors for PyTorch, .keras and .weights.h5 for Keras,
    native files and pickle for XGBoost/LightGBM), ``all`` (every format ``inspect`` knows,
    slower: ONNX and TFLite conversions) or ``none``. ``compress`` adds each file's zstd size.
    Latency is the median of ``latency_runs`` predictions on ``latency_batch`` held-out rows
    (0 runs: not measured), stopped early after ``latency_budget_s``. ``timeout_s`` stops a
    trial (recorded as ``timeout``); it is not part of the sweep's identity. ``threads`` caps
    PyTorch's intra-op threads in a trial (parallel trials should not fight over cores).
    ``memory`` records the worker's peak RSS during training (the peak is reset before each
    trial on Linux); it is per process, so trials sharing a process — Dask worker threads —
    share their peaks.
    """

    formats: str = "main"
    compress: bool = True
    latency_runs: int = 10
    latency_batch: int = 1
    latency_budget_s: float = 1.0
    memory: bool = True
    timeout_s: float | None = None
    threads: int | None = 1

    @classmethod
    def parse(cls, value: Any) -> "MeasureConfig":
        if value is None:
            return cls()
        if isinstance(value, MeasureConfig):
            return value
        if not isinstance(value, Mapping):
            raise option_error("measure", "a mapping of measurement settings", value)
        names = {f.name for f in fields(cls)}
        unknown = set(value) - names
        if unknown:
            raise option_error("measure", "settings named " + ", ".join(sorted(names)), sorted(unknown))
        return cls(**dict(value))

    def validate(self) -> None:
        if self.formats not in FORMAT_SETS:
            raise option_error("measure.formats", "one of " + ", ".join(FORMAT_SETS), self.formats)
        for name in ("compress", "memory"):
            if not isinstance(getattr(self, name), bool):
                raise option_error(f"measure.{name}", "true or false", getattr(self, name))
        _int("measure.latency_runs", self.latency_runs, 0)
        _int("measure.latency_batch", self.latency_batch, 1)
        _number("measure.latency_budget_s", self.latency_budget_s, 0.0)
        _number("measure.timeout_s", self.timeout_s, 0.0, allow_none=True)
        if self.timeout_s is not None and self.timeout_s <= 0:
            raise option_error("measure.timeout_s", "a number > 0 or null", self.timeout_s)
        if self.threads is not None:
            _int("measure.threads", self.threads, 1)

    def identity(self) -> dict[str, Any]:
        """The settings that change the numbers (the timeout does not)."""
        out = asdict(self)
        out.pop("timeout_s")
        return out

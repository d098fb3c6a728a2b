"""The sweep's plain data types, below every module of the sweep engine.

The spec (:mod:`.spec`) runs through the runners (:mod:`.runners`), which run trials
(:mod:`.trial`), store them (:mod:`.store`) and collect them (:mod:`.results`); all of them
share these types, so they live here and this module imports nothing of ``modelsize.factors``:
every arrow between the sweep modules points down to it. :class:`SweepLike` is what the engine
reads from a :class:`~modelsize.factors.spec.Sweep`, so the modules below the spec never
import it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class TrialSpec:
    """One setting of the factors: its key in the store, the values, the seed it runs with."""

    key: str
    factors: Mapping[str, Any]
    seed: int

    @staticmethod
    def key_for(factors: Mapping[str, Any]) -> str:
        return hashlib.sha256(_canonical(dict(factors)).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class TrialResult:
    """What one trial produced. Plain data: it travels back from workers and into SQLite."""

    key: str
    factors: Mapping[str, Any]
    seed: int
    status: str
    metrics: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None
    traceback: str | None = None
    started: float = 0.0  #: Unix time the trial started
    duration_s: float = 0.0  #: the whole trial: data, build, train, measure
    worker: str = ""  #: host:pid:thread that ran it

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["factors"] = dict(self.factors)
        out["metrics"] = dict(self.metrics)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TrialResult":
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


class SweepLike(Protocol):
    """What the runners, trials and store read from a sweep (:class:`~modelsize.factors.spec.Sweep`)."""

    factory: Any
    score: Any
    params: Mapping[str, Any]
    post: Callable[..., Any] | str | None
    extra: Callable[..., Any] | str | None

    @property
    def label(self) -> str: ...

    @property
    def measure_config(self) -> Any: ...

    @property
    def fit_config(self) -> Any: ...

    @property
    def dataset_spec(self) -> Any: ...

    def validate(self) -> None: ...

    def trials(self) -> list[TrialSpec]: ...

    def spec_hash(self) -> str: ...

    def to_dict(self) -> dict[str, Any]: ...


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)

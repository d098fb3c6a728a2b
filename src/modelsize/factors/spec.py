"""A sweep: which model, which factors and values, which data, how to train and score.

``Sweep(factory, grid, dataset, fit=..., score=...)`` is the Python form; a YAML file with the
same keys is the CLI's (``modelsize sweep run spec.yaml``)::

    name: forest-size
    model: sklearn.ensemble:RandomForestClassifier     # or {factory: ..., params: {...}}
    params: {max_depth: 12}                            # fixed constructor arguments
    dataset: digits                                    # or {name: classification, n_features: 40}
    grid:
      n_estimators: {from: 10, to: 200, num: 5, scale: log}
      data.n_samples: [300, 600, 1200]
    fit: {epochs: 5, batch_size: 64, optimizer: adam, lr: 0.001, patience: 2}
    score: accuracy
    seed: 0
    measure: {formats: main, latency_runs: 10, timeout_s: 300}

The sweep's identity — and so the key of its results in the store — is everything except its
name, its grid and the timeout: adding values to the grid reuses every trial already done.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.errors import InvalidFileError, OptionError, option_error
from ..core.suggest import did_you_mean
from . import grid as _grid
from . import refs
from .config import FitConfig, MeasureConfig
from .datasets import DatasetSpec
from .types import TrialSpec, _canonical

if TYPE_CHECKING:  # pragma: no cover
    from .results import SweepResult
    from .runners import Event

#: Bump when a change to the engine changes the numbers a trial produces.
ENGINE_VERSION = 1

SCORES = ("accuracy", "balanced_accuracy", "f1_macro", "r2", "mse", "rmse", "mae")
YAML_KEYS = ("name", "model", "factory", "params", "dataset", "grid", "fit", "score", "seed", "measure", "post", "extra")


@dataclass(frozen=True)
class Sweep:
    """A factor sweep. Arguments are kept as given and checked by :meth:`validate` when run.

    ``factory`` builds a model from keyword arguments (a class such as ``RandomForestClassifier``,
    a function, or a ``"module:attr"`` string). Arguments named ``n_features``, ``n_outputs``,
    ``n_classes``, ``input_shape`` or ``task`` in its signature are filled from the data unless
    given; ``random_state`` is set to the trial's seed unless given. ``grid`` maps factor
    names to values (see :mod:`modelsize.factors.grid`). ``score`` is a name in :data:`SCORES`
    or ``score(model, X_test, y_test) -> float`` (default: accuracy or R²). ``post(model, data)``
    may return another model to measure (cast to float16, quantize …); ``extra(model, report,
    data)`` may return a mapping of additional numeric metrics to record.
    """

    factory: str | Callable[..., Any] | None
    grid: Mapping[str, Any]
    dataset: Any = "digits"
    fit: Any = None
    score: str | Callable[..., float] | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0
    measure: Any = None
    post: str | Callable[..., Any] | None = None
    extra: str | Callable[..., Any] | None = None
    name: str | None = None

    # ------------------------------------------------------------------ parts, parsed

    @property
    def dataset_spec(self) -> DatasetSpec:
        return DatasetSpec.parse(self.dataset)

    @property
    def fit_config(self) -> FitConfig:
        return FitConfig.parse(self.fit)

    @property
    def measure_config(self) -> MeasureConfig:
        return MeasureConfig.parse(self.measure)

    @property
    def label(self) -> str:
        """The sweep's name, or one made from the factory and the factors."""
        if self.name:
            return str(self.name)
        model = refs.name_of(self.factory) or "factory"
        return f"{model.rpartition(':')[2].split('#')[0]} over {', '.join(self.grid)}"

    def factors(self) -> dict[str, list[Any]]:
        """Each factor's values, ranges expanded."""
        if not isinstance(self.grid, Mapping) or not self.grid:
            raise option_error("grid", "a non-empty mapping of factor names to values", self.grid)
        return {str(name): _grid.expand_values(str(name), values) for name, values in self.grid.items()}

    def trials(self) -> list[TrialSpec]:
        """Every trial of the grid, in grid order (first factor slowest)."""
        out = []
        for combo in _grid.product(self.factors()):
            seed = combo.get("seed", self.seed)
            out.append(TrialSpec(TrialSpec.key_for(combo), combo, int(seed)))
        return out

    # ------------------------------------------------------------------ checks and identity

    def validate(self) -> None:
        """Raise :class:`~modelsize.core.errors.OptionError` for anything that cannot run."""
        factors = self.factors()
        for name, values in factors.items():
            target, _ = _grid.route(name)
            if target == "seed" and any(isinstance(v, bool) or not isinstance(v, int) for v in values):
                raise option_error("grid.seed", "a list of integers", values)
            if target == "factory" and not all(refs.is_ref(v) for v in values):
                raise option_error("grid.factory", f"a list of {refs.FORMS} references", values)
        if self.factory is None and "factory" not in factors:
            raise OptionError("The 'factory' option is missing: give a class, a function or a 'module:attr' "
                              "reference, or make 'factory' a factor of the grid.")
        if self.factory is not None and not callable(self.factory) and not refs.is_ref(self.factory):
            raise option_error("factory", f"a class, a function or {refs.FORMS}", self.factory)
        if not isinstance(self.params, Mapping):
            raise option_error("params", "a mapping of constructor arguments", self.params)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise option_error("seed", "an integer", self.seed)
        if self.score is not None and not callable(self.score) and self.score not in SCORES \
                and not refs.is_ref(self.score):
            raise option_error("score", "one of " + ", ".join(SCORES) + ", a callable or 'module:function'", self.score)
        for hook in ("post", "extra"):
            value = getattr(self, hook)
            if value is not None and not callable(value) and not refs.is_ref(value):
                raise option_error(hook, f"a callable or {refs.FORMS}", value)
        self.dataset_spec.validate()
        self.fit_config.validate()
        self.measure_config.validate()

    def identity(self) -> dict[str, Any]:
        """What makes two sweeps' trials interchangeable (not the name, grid or timeout)."""
        return {
            "engine": ENGINE_VERSION,
            "factory": refs.name_of(self.factory),
            "params": dict(self.params),
            "dataset": self.dataset_spec.to_dict(),
            "fit": self.fit_config.to_dict(),
            "score": refs.name_of(self.score),
            "seed": self.seed,
            "measure": self.measure_config.identity(),
            "post": refs.name_of(self.post),
            "extra": refs.name_of(self.extra),
        }

    def spec_hash(self) -> str:
        """16 hex digits of SHA-256 over :meth:`identity` (the store's key for this sweep)."""
        return hashlib.sha256(_canonical(self.identity()).encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        """The spec as plain data (what the store keeps; YAML-shaped)."""
        return {"name": self.label, "grid": self.factors(), **self.identity()}

    # ------------------------------------------------------------------ loading

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], base: str | os.PathLike[str] | None = None) -> "Sweep":
        """A sweep from YAML-shaped data; ``base`` is the folder relative references resolve against."""
        if not isinstance(data, Mapping):
            raise option_error("spec", "a mapping with at least 'model' and 'grid'", type(data).__name__)
        unknown = set(data) - set(YAML_KEYS)
        if unknown:
            first = sorted(unknown)[0]
            raise OptionError(f"The 'spec' option must be keys among {', '.join(YAML_KEYS)}. Got {sorted(unknown)!r}."
                              + did_you_mean(first, YAML_KEYS))
        model = data.get("model", data.get("factory"))
        params = dict(data.get("params") or {})
        if isinstance(model, Mapping):
            params = {**dict(model.get("params") or {}), **params}
            model = model.get("factory")
        grid = data.get("grid")
        if isinstance(grid, Mapping) and base is not None and "factory" in grid and isinstance(grid["factory"], list):
            grid = {**grid, "factory": [refs.absolute_ref(v, base) if isinstance(v, str) else v for v in grid["factory"]]}

        def ref(value: Any) -> Any:
            return refs.absolute_ref(value, base) if base is not None and refs.is_ref(value) else value

        return cls(
            factory=ref(model),
            grid=grid if grid is not None else {},
            dataset=DatasetSpec.parse(data.get("dataset", "digits"), base),
            fit=data.get("fit"),
            score=ref(data.get("score")),
            params=params,
            seed=data.get("seed", 0),
            measure=data.get("measure"),
            post=ref(data.get("post")),
            extra=ref(data.get("extra")),
            name=data.get("name"),
        )

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str]) -> "Sweep":
        """Load a YAML spec file (PyYAML's safe loader: no Python objects are built from tags)."""
        from ..core.optional import require

        yaml = require("yaml", "read sweep specs")
        file = Path(path)
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidFileError(f"The sweep spec {str(file)!r} cannot be read ({exc}). Check the path.") from exc
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InvalidFileError(f"The sweep spec {str(file)!r} is not valid YAML: {exc}") from exc
        return cls.from_dict(data or {}, base=file.resolve().parent)

    # ------------------------------------------------------------------ running

    def stream(self, *, jobs: int = 1, cluster: str | None = None, client: Any = None,
               store: Any = None, retry_failed: bool = False) -> Iterator["Event"]:
        """Run the sweep and yield events as trials finish (see :func:`modelsize.factors.runners.run`)."""
        from .runners import run

        return run(self, jobs=jobs, cluster=cluster, client=client, store=store, retry_failed=retry_failed)

    def run(self, *, jobs: int = 1, cluster: str | None = None, client: Any = None,
            store: Any = None, retry_failed: bool = False) -> "SweepResult":
        """Run the sweep to the end and return its results (trials already stored are not rerun).

        ``jobs``: local worker processes (1: run in this process). ``cluster``: a Dask scheduler
        address (``tcp://host:8786``) or ``client`` a ``distributed.Client``. ``store``: a
        :class:`~modelsize.factors.store.Store` or a path to its SQLite file (default: in memory).
        """
        from .runners import Finished

        for event in self.stream(jobs=jobs, cluster=cluster, client=client, store=store, retry_failed=retry_failed):
            if isinstance(event, Finished):
                return event.result
        raise AssertionError("the sweep ended without a result")  # pragma: no cover

"""One trial: build the model for one setting of the factors, train, measure, record.

:func:`execute_trial` never raises for a problem of the trial itself: a model that fails to
build, train or measure is recorded with its error text (and whatever was measured before the
failure), a trial past its time limit is recorded as ``timeout``, and the sweep goes on.

Determinism: every framework's global generator is seeded with the trial's seed right before
the model is built (and the model is built again if building it imported a framework whose
generator could not be seeded yet — the first trial in a fresh worker). scikit-learn
estimators get ``random_state=seed``. Frameworks with global generators (PyTorch, Keras) run
one trial at a time per process, so threads of a Dask worker cannot interleave their draws.
"""

from __future__ import annotations

import inspect
import os
import random
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core import optional
from ..core.errors import ModelStateError, internal_error, is_our_bug
from . import datasets, refs, transforms
from .grid import route
from .measure import formats, latency, report_of, scorer, size_metrics
from .timeout import TrialTimeout, time_limit
from ..frameworks import can
from .training import framework, train
from .types import SweepLike as Sweep
from .types import TrialResult, TrialSpec

STATUSES = ("ok", "failed", "timeout")
#: Constructor arguments a factory may take that the sweep fills from the data.
INJECTED = ("n_features", "n_outputs", "n_classes", "input_shape", "task")
_FRAMEWORKS = ("torch", "keras", "tf_keras", "tensorflow")
_GLOBAL_RNG = threading.RLock()


def execute_trial(sweep: Sweep, trial: TrialSpec) -> TrialResult:
    """Run one trial of ``sweep`` (in whichever process or thread the runner chose).

    The time limit covers building, training and measuring the model; loading the data and
    importing the factory's module (slow only the first time in a worker) come before it.
    """
    started = time.time()
    clock = time.perf_counter()
    metrics: dict[str, Any] = {}
    status, error, trace = "ok", None, None
    timeout = sweep.measure_config.timeout_s
    try:
        prepared = _prepare(sweep, trial, metrics)
        with time_limit(timeout):
            _train_and_measure(sweep, trial, prepared, metrics)
    except TrialTimeout:
        status = "timeout"
        error = f"TrialTimeout: the trial ran past its time limit of {timeout:g} s."
    except Exception as exc:  # noqa: BLE001 - a failing trial is data: recorded, and the sweep goes on
        if is_our_bug(exc):  # only the user's model, data or code make a failed trial
            raise internal_error(exc, f"running trial {trial.key}") from exc
        status = "failed"
        error = f"{type(exc).__name__}: {exc}".strip()
        trace = "".join(traceback.format_exception(exc))[-4000:]
    worker = f"{socket.gethostname()}:{os.getpid()}:{threading.current_thread().name}"
    return TrialResult(trial.key, dict(trial.factors), trial.seed, status, metrics, error, trace,
                       started, time.perf_counter() - clock, worker)


@dataclass(frozen=True)
class _Prepared:
    data: datasets.Data
    fit: Any
    factory: Callable[..., Any]
    kwargs: Mapping[str, Any]


def _split_factors(factors: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    parts: dict[str, dict[str, Any]] = {"model": {}, "fit": {}, "data": {}, "dataset": {}}
    for name, value in factors.items():
        target, argument = route(name)
        if target in parts:
            parts[target][argument] = value
    return parts


def _prepare(sweep: Sweep, trial: TrialSpec, metrics: dict[str, Any]) -> _Prepared:
    """Data with the trial's transforms, training settings, the factory and its arguments."""
    from ..adapters import registry  # noqa: F401 - imported here so the time limit does not pay for it

    parts = _split_factors(trial.factors)
    spec = sweep.dataset_spec
    if parts["dataset"]:
        spec = spec.with_params(**parts["dataset"])
    data = transforms.apply(datasets.load(spec), parts["data"], spec.split_seed)
    metrics.update(n_train=len(data.X_train), n_test=len(data.X_test), n_features=data.n_features)
    fit = sweep.fit_config.with_overrides(parts["fit"]) if parts["fit"] else sweep.fit_config
    factory = refs.resolve(trial.factors.get("factory", sweep.factory), "factory")
    kwargs = factory_kwargs(factory, {**dict(sweep.params), **parts["model"]}, data, trial.seed)
    return _Prepared(data, fit, factory, kwargs)


def _train_and_measure(sweep: Sweep, trial: TrialSpec, prepared: _Prepared, metrics: dict[str, Any]) -> None:
    config = sweep.measure_config
    data = prepared.data
    with _framework_guard(config.threads) as guard:
        model = build(prepared.factory, prepared.kwargs, trial.seed)
        guard.keep(can(framework(model), "global_state"))  # the framework entry says whether training is process-wide
        before = _rss("current") if config.memory else None
        clock = time.perf_counter()
        model, info = train(model, data, prepared.fit, trial.seed)
        metrics["train_time_s"] = time.perf_counter() - clock
        if before is not None:
            peak = _rss("peak")
            metrics.update(peak_rss_bytes=peak, train_rss_delta_bytes=max(0, peak - before))
        metrics.update(epochs_run=info.epochs_run, final_loss=info.final_loss)
        if sweep.post is not None:
            model = refs.resolve(sweep.post, "post")(model, data)
        report, adapter = report_of(model)
        metrics.update(size_metrics(report))
        metrics.update(formats(model, adapter, config))
        metrics["score"] = scorer(sweep.score, data.task)(model, data)
        metrics["latency_s"] = latency(model, data, config)
        if sweep.extra is not None:
            metrics.update(_extra(refs.resolve(sweep.extra, "extra")(model, report, data), metrics))


def factory_kwargs(factory: Callable[..., Any], given: Mapping[str, Any], data: datasets.Data, seed: int) -> dict[str, Any]:
    """``given`` plus what the factory's signature asks for and the data knows, and its ``random_state``."""
    kwargs = dict(given)
    try:
        names = set(inspect.signature(factory).parameters)
    except (TypeError, ValueError):  # some builtins and C types have no signature
        return kwargs
    known = {"n_features": data.n_features, "n_outputs": data.n_outputs, "n_classes": data.n_classes,
             "input_shape": data.image_shape, "task": data.task}
    for name in INJECTED:
        if name in names and name not in kwargs:
            kwargs[name] = known[name]
    if "random_state" in names and "random_state" not in kwargs:
        kwargs["random_state"] = seed
    return kwargs


def build(factory: Callable[..., Any], kwargs: Mapping[str, Any], seed: int) -> Any:
    """Seed every loaded framework, then call the factory (twice if it imported a new one)."""
    _check_parameters(factory, kwargs)
    before = {name for name in _FRAMEWORKS if name in sys.modules}
    seed_everything(seed)
    model = factory(**kwargs)
    if {name for name in _FRAMEWORKS if name in sys.modules} - before:
        seed_everything(seed)
        model = factory(**kwargs)
    return model


def _check_parameters(factory: Callable[..., Any], kwargs: Mapping[str, Any]) -> None:
    """A parameter the factory does not take is the spec's mistake, not ours.

    Python raises that ``TypeError`` in the calling frame, which is modelsize's line; checked
    here first, it fails the trial as the user's error (with the factory's own wording), instead
    of looking like a bug of ours.
    """
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):  # a builtin or C factory without a signature: let the call decide
        return
    try:
        signature.bind(**kwargs)
    except TypeError as exc:
        name = getattr(factory, "__qualname__", repr(factory))
        raise ModelStateError(f"{name}() {exc}") from None


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and every loaded framework's global generator."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch = optional.loaded("torch")
    if torch is not None:
        torch.manual_seed(seed)
    for name in ("keras", "tf_keras"):
        keras = optional.loaded(name)
        utils = getattr(keras, "utils", None) if keras is not None else None
        if utils is not None and hasattr(utils, "set_random_seed"):
            utils.set_random_seed(seed)


class _Guard:
    """Holds the process-wide lock for frameworks with global state; releases it otherwise.

    Also caps PyTorch's threads for the trial and puts the previous count back afterwards.
    """

    def __init__(self, threads: int | None) -> None:
        self.held = True
        self.threads = threads
        self.previous_threads: int | None = None

    def keep(self, exclusive: bool) -> None:
        """Called once the model is built: keep the lock only for PyTorch and Keras models."""
        torch = optional.loaded("torch")
        if exclusive and torch is not None and self.threads and self.previous_threads is None:
            self.previous_threads = torch.get_num_threads()
            torch.set_num_threads(self.threads)
        if not exclusive and self.held:
            self.held = False
            _GLOBAL_RNG.release()

    def close(self) -> None:
        if self.previous_threads is not None:
            optional.loaded("torch").set_num_threads(self.previous_threads)
        if self.held:
            self.held = False
            _GLOBAL_RNG.release()


@contextmanager
def _framework_guard(threads: int | None) -> Iterator[_Guard]:
    _GLOBAL_RNG.acquire()
    guard = _Guard(threads)
    try:
        yield guard
    finally:
        guard.close()


def _rss(which: str) -> int:
    from ..compute import rss

    if which == "current":
        rss.reset_peak()
        return rss.current()
    return rss.peak()


def _extra(values: Any, metrics: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(values, Mapping):
        raise TypeError(f"The 'extra' function must return a mapping of metric names to numbers. Got {type(values).__name__}.")
    clash = sorted(set(values) & set(metrics))
    if clash:
        raise ValueError(f"The 'extra' function returned metrics that the sweep already records: {clash}. Rename them.")
    return {str(k): (v.item() if hasattr(v, "item") else v) for k, v in values.items()}

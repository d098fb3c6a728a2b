"""Run recipes on a model and measure both sides the same way.

For the original and for each shrunk model: the Report (parameters, bytes in memory,
sparsity), every saver's file written, measured, compressed and reloaded into a wiped model
(outputs compared), the score on the evaluation data, the CPU latency and a check for
simulated quantization. The original is measured once and never changed: every recipe works
on its own copy.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import ModelSizeError, ModelStateError, OptionError, UnsupportedObjectError, option_error
from ..frameworks import view
from .base import Backend, Recipe, RecipeError, Saver, ShrinkContext, describe, recipe_error, techniques
from .data import ShrinkData
from .result import ShrinkResult, Side
from .savers import CHECK_SAMPLES, round_trip

#: framework id -> backend class, a view of :data:`modelsize.frameworks.FRAMEWORKS` (its order),
#: imported only when a model of it comes. Other packages add backends through the
#: ``modelsize.shrink_backends`` entry-point group.
BACKENDS = view("shrink backend", "backend", group="modelsize.shrink_backends", instantiate=False)


@dataclass(frozen=True)
class RunOptions:
    """What to measure besides sizes, and where files go.

    ``accuracy``: score both models on the evaluation split (needs one). ``latency``: time
    ``latency_runs`` batch-1 forward passes after ``latency_warmup``. ``save_dir``: keep the
    written files there (default: a temporary folder removed afterwards). ``threads``: CPU
    threads for the whole run — training and timing — restored afterwards (``None``: as
    configured; small models on a busy machine often run faster on 1).
    """

    accuracy: bool = True
    latency: bool = True
    latency_runs: int = 20
    latency_warmup: int = 5
    seed: int = 0
    save_dir: str | Path | None = None
    threads: int | None = None

    def validate(self) -> None:
        if self.threads is not None and (isinstance(self.threads, bool) or not isinstance(self.threads, int)
                                         or self.threads < 1):
            raise option_error("threads", "an integer >= 1 or None", self.threads)
        for name in ("accuracy", "latency"):
            if not isinstance(getattr(self, name), bool):
                raise option_error(name, "True or False", getattr(self, name))
        for name, low in (("latency_runs", 1), ("latency_warmup", 0), ("seed", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise option_error(name, f"an integer >= {low}", value)


def backend_for(model: Any) -> Backend:
    """The backend whose framework ``model`` belongs to."""
    for backend_class in BACKENDS.values():
        backend = backend_class()  # a fresh one per run: backends hold the run's thread settings
        if backend.can_handle(model):
            return backend
    raise UnsupportedObjectError(
        f"modelsize shrink works on {', '.join(BACKENDS)} models. Got {type(model).__module__}.{type(model).__qualname__}.")


def shrink(model: Any, recipe: Recipe, data: ShrinkData | None = None, *, metric: Any = None,
           options: RunOptions = RunOptions(), example_input: Any = None) -> ShrinkResult:
    """Apply ``recipe`` (or a :class:`~modelsize.shrink.base.Chain`) to a copy of ``model``
    and measure the original and the result. See :func:`shrink_each`."""
    return shrink_each(model, [recipe], data, metric=metric, options=options, example_input=example_input,
                       keep_going=False)[0]


def shrink_each(model: Any, recipes: Sequence[Recipe], data: ShrinkData | None = None, *, metric: Any = None,
                options: RunOptions = RunOptions(), example_input: Any = None,
                progress: Callable[[int, str], None] | None = None, keep_going: bool = True) -> list[ShrinkResult]:
    """Apply each recipe to its own copy of ``model``; the original is measured once.

    ``data``: train / validation / evaluation splits (:mod:`modelsize.shrink.data`).
    ``metric(y_true, scores) -> float`` replaces accuracy. ``example_input``: inputs to check
    reloaded files and time latency when there is no data (``options.accuracy=False``).
    ``progress(done, label)`` is called before the original and before each recipe. A recipe that
    fails (:data:`RECIPE_FAILURES`) gives a result with ``error`` set and an empty ``after``; the
    other recipes still run. ``keep_going=False`` raises the first failure instead.
    """
    say = progress or (lambda done, label: None)
    recipes = list(recipes)
    backend = _validated(model, recipes, data, metric, options)
    check_X = _check_inputs(data, example_input)
    if check_X is None:
        raise RecipeError(f"The {_names(recipes)} cannot be checked: reloading the saved files is verified on "
                          "real inputs, and there is neither data nor an example_input.")
    metric_name = getattr(metric, "__name__", "metric") if metric is not None else "accuracy"
    base_context = ShrinkContext(backend, data, metric, options.seed, model, check_X[:8])
    primary = getattr(backend, "default_primary", "")  # "the saved model" when a recipe names no format
    with backend.threads(options.threads), tempfile.TemporaryDirectory(prefix="modelsize-shrink-") as tmp:
        root = Path(options.save_dir) if options.save_dir is not None else Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        say(0, "measuring the original …")
        before, _ = _side(backend, model, model, backend.default_savers(), primary, check_X, root / "original",
                          base_context, options)
        results = []
        for index, recipe in enumerate(recipes, start=1):
            say(index - 1, f"{describe(recipe)} …")
            run = _RecipeRun(backend, model, before, primary, check_X, base_context, options, metric_name, data)
            try:
                results.append(run.result(recipe, root / f"{index}-{'+'.join(techniques(recipe))}"))
            except RECIPE_FAILURES as exc:
                if not keep_going or isinstance(exc, OptionError):  # a bad option is the caller's to fix: stop
                    raise
                results.append(run.failed(recipe, exc))
    return results


#: what a recipe may raise and still leave the other recipes' results standing: our own errors and the
#: frameworks' refusals (an invalid parameter, a shape they cannot handle, running out of memory)
RECIPE_FAILURES = (RecipeError, ModelStateError, UnsupportedObjectError, ValueError, RuntimeError, ArithmeticError,
                   MemoryError, NotImplementedError)


@dataclass
class _RecipeRun:
    """One recipe on its own copy of the model, measured like the original, or its failure."""

    backend: Backend
    model: Any
    before: Side
    primary: str
    check_X: Any
    context: ShrinkContext
    options: RunOptions
    metric_name: str
    data: ShrinkData | None

    def result(self, recipe: Recipe, folder: Path) -> ShrinkResult:
        backend, model, before, options = self.backend, self.model, self.before, self.options
        shrunk = recipe.apply(backend.copy(model), self.context)
        savers = _merge_savers(backend.default_savers(), shrunk.savers)
        after, after_report = _side(backend, shrunk.model, model, savers, shrunk.primary or self.primary, self.check_X,
                                    folder, self.context, options)
        paired_before = before
        if options.latency:
            with backend.threads(options.threads or 1):  # pinned: both sides on the same thread count
                latency_before, latency_after = paired_latency(backend, model, shrunk.model, self.check_X[:1], options)
            paired_before = replace(before, latency=latency_before)
            after = replace(after, latency=latency_after)
        notes = list(shrunk.notes) + _notes(before, after, self.data, after_report.notes)
        return ShrinkResult(
            recipe=describe(recipe), techniques=techniques(recipe), params=_params(recipe), before=paired_before,
            after=after, metric=self.metric_name if options.accuracy else None, details=shrunk.details,
            notes=tuple(dict.fromkeys(notes)), data=self.data.describe() if self.data is not None else None,
            model=shrunk.model, report=after_report, artifacts=shrunk.artifacts)

    def failed(self, recipe: Recipe, exc: BaseException) -> ShrinkResult:
        from .result import empty_side

        reason = str(exc) if isinstance(exc, ModelSizeError) else f"{type(exc).__name__}: {exc}"  # ours speak plainly
        return ShrinkResult(
            recipe=describe(recipe), techniques=techniques(recipe), params=_params(recipe), before=self.before,
            after=empty_side(), metric=self.metric_name if self.options.accuracy else None,
            notes=(f"{describe(recipe)} failed: {reason}",),
            data=self.data.describe() if self.data is not None else None, error=reason)


def shape_text(shape: Sequence[int]) -> str:
    """``(1, 8, 8)`` → ``1x8x8`` (the CLI's shape syntax)."""
    return "x".join(str(d) for d in shape) or "a scalar"


def expected_input(model: Any) -> str | None:
    """What the model's first layer takes, in words (PyTorch ``in_features`` / ``in_channels``), or ``None``."""
    modules = getattr(model, "modules", None)
    if not callable(modules):
        return None
    try:
        for module in modules():
            kind = type(module).__name__
            if hasattr(module, "in_channels") and kind.startswith("Conv"):
                dims = kind[-2] if kind[-2:-1].isdigit() else "2"
                return f"{module.in_channels} channel(s) and {dims} spatial dimension(s) (its first layer is {kind})"
            if hasattr(module, "in_features") and kind == "Linear":
                return f"{module.in_features} features (its first layer is Linear({module.in_features}, …))"
    except Exception:  # noqa: BLE001 - a model whose modules() fails just gets no hint
        return None
    return None


def _reshape_hint(model: Any, per_sample: int) -> str:
    """An ``--input-shape`` suggestion for a CNN fed flat samples (``64`` → ``1x8x8``)."""
    modules = getattr(model, "modules", None)
    first = next((m for m in modules() if hasattr(m, "in_channels") or hasattr(m, "in_features")), None) \
        if callable(modules) else None
    channels = getattr(first, "in_channels", None)
    if isinstance(channels, int) and type(first).__name__ == "Conv2d" and channels and per_sample % channels == 0:
        side = int(round((per_sample // channels) ** 0.5))
        if side * side * channels == per_sample:
            return f" Reshape the samples: --input-shape {channels}x{side}x{side} (CLI) or data.reshaped(...)."
    return " Reshape the samples to what the model takes (CLI: --input-shape, e.g. 1x8x8 or 28,28,1)."


def check_accepts(backend: Backend, model: Any, X: np.ndarray, data_name: str) -> None:
    """One forward pass on one sample; a model that rejects the data's shape is the user's error.

    Raises :class:`~modelsize.core.errors.ModelStateError` naming the given shape and, when the
    first layer says it, the expected one — one line instead of the framework's traceback.
    """
    try:
        backend.predict(model, X[:1])
    except Exception as exc:  # noqa: BLE001 - the user's forward: any failure is reported, not hidden
        given = shape_text(X.shape[1:])
        expected = expected_input(model)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        wants = f" The model expects {expected}." if expected else ""
        raise ModelStateError(
            f"The model rejects the samples of {data_name} (shape {given} per sample):{wants} "
            f"{type(exc).__name__}: {first}.{_reshape_hint(model, int(np.prod(X.shape[1:])))}") from exc


#: a latency is measured in this many rounds, alternating the two models, so drift hits both alike
LATENCY_ROUNDS = 5


def paired_latency(backend: Backend, original: Any, shrunk: Any, x: np.ndarray,
                   options: RunOptions) -> tuple[dict[str, Any], dict[str, Any]]:
    """Latency of both models measured interleaved: warm-up, then rounds alternating which goes
    first. Each side's result is the median of its round medians, with ``spread`` = (slowest −
    fastest round) / median, so a reader (and :meth:`ShrinkResult.latency_problem`) can tell a
    steady measurement from a noisy one."""
    per_round = max(1, -(-options.latency_runs // LATENCY_ROUNDS))
    for model in (original, shrunk):
        backend.latency_ns(model, x, 1, options.latency_warmup)
    rounds: dict[int, list[dict[str, Any]]] = {0: [], 1: []}
    for i in range(LATENCY_ROUNDS):
        order = (0, 1) if i % 2 == 0 else (1, 0)
        for side in order:
            model = original if side == 0 else shrunk
            rounds[side].append(backend.latency_ns(model, x, per_round, 1))
    return _summary(rounds[0]), _summary(rounds[1])


def _summary(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    import statistics

    medians = sorted(int(r["median_ns"]) for r in rounds)
    median = int(statistics.median(medians))
    out = dict(rounds[-1])
    out.update(median_ns=median, min_ns=min(int(r.get("min_ns", r["median_ns"])) for r in rounds),
               p90_ns=max(int(r.get("p90_ns", r["median_ns"])) for r in rounds), rounds=len(rounds),
               runs=sum(int(r.get("runs", 1)) for r in rounds), round_medians_ns=medians,
               spread=(medians[-1] - medians[0]) / median if median else None, interleaved=True)
    out.pop("mean_ns", None)
    return out


def _names(recipes: Sequence[Recipe]) -> str:
    """``'prune' recipe`` or ``'prune', 'fp16' recipes`` for messages."""
    names = ", ".join(repr(r.name) for r in recipes)
    return f"{names} recipe{'s' if len(recipes) > 1 else ''}"


def _validated(model: Any, recipes: list[Recipe], data: ShrinkData | None, metric: Any,
               options: RunOptions) -> Backend:
    """Check the run's arguments (when the work starts) and pick the model's backend."""
    if not isinstance(options, RunOptions):
        raise option_error("options", "a RunOptions", options)
    options.validate()
    if not recipes or not all(isinstance(r, Recipe) for r in recipes):
        raise option_error("recipes", "a non-empty sequence of recipes", recipes)
    if data is not None and not isinstance(data, ShrinkData):
        raise option_error("data", "a ShrinkData (see modelsize.shrink.data) or None", type(data).__name__)
    if metric is not None and not callable(metric):
        raise option_error("metric", "a function metric(y_true, scores) -> float", metric)
    backend = backend_for(model)
    for recipe in recipes:
        if recipe.framework != backend.name:
            raise recipe_error(recipe.name, f"it works on {recipe.framework} models and this is a {backend.name} model")
    if options.accuracy and (data is None or data.test is None or not len(data.test)):
        raise RecipeError(
            f"The {_names(recipes)} cannot be evaluated: accuracy was asked for but there is no evaluation data. "
            "Pass data with an evaluation (test) split, or accuracy=False.")
    return backend


def _check_inputs(data: ShrinkData | None, example_input: Any) -> np.ndarray | None:
    if data is not None:
        for split in (data.test, data.val, data.train):
            if split is not None and len(split):
                return split.X[:CHECK_SAMPLES]
    if example_input is None:
        return None
    array = example_input.detach().cpu().numpy() if hasattr(example_input, "detach") else np.asarray(example_input)
    return array[:CHECK_SAMPLES]


def _merge_savers(defaults: Sequence[Saver], own: Sequence[Saver]) -> tuple[Saver, ...]:
    merged = {s.name: s for s in defaults}
    merged.update({s.name: s for s in own})
    return tuple(merged.values())


def _params(recipe: Any) -> dict[str, Any]:
    get = getattr(recipe, "get_params", None)
    params = get() if callable(get) else {}
    if "steps" in params:
        params = {"steps": [{"name": s.name, **_params(s)} for s in params["steps"]]}
    return params


def _side(backend: Backend, model: Any, original: Any, savers: Sequence[Saver], primary: str, check_X: np.ndarray,
          folder: Path, context: ShrinkContext, options: RunOptions) -> tuple[Side, Any]:
    """Measure one model: report, files, score, latency, simulated quantization."""
    report = backend.measure(model)  # first: it refuses an unusable model (unfitted …) in its own words
    if model is original:
        check_accepts(backend, model, check_X, context.data.name if context.data is not None else "the example input")
    folder.mkdir(parents=True, exist_ok=True)
    files = tuple(round_trip(backend, saver, model, original, check_X, folder, "model") for saver in savers)
    if not any(f.format == primary and f.bytes is not None for f in files):
        primary = next((f.format for f in files if f.bytes is not None), primary)
    score = context.score(model) if options.accuracy else None
    latency = None  # timed later, interleaved with the model it is compared to (paired_latency)
    simulated = _simulated(backend, model)
    totals = report.totals
    # A measurement that found no tensors at all (e.g. an ONNX file whose numbers are node
    # attributes) has not counted the model: its parameters and bytes are unknown, never 0.
    counted = totals.tensors > 0
    side = Side(params=totals.params if counted else None,
                stored_bytes=totals.stored_bytes if counted else None,
                dense_bytes=totals.dense_bytes if counted else None,
                sparsity=totals.sparsity, bytes_by_dtype=dict(totals.bytes_by_dtype), files=files, primary=primary,
                score=score, latency=latency, simulated_quantization=simulated)
    return side, report


def _simulated(backend: Backend, model: Any) -> dict[str, Any] | None:
    return backend.simulated_quantization(model)


def _notes(before: Side, after: Side, data: ShrinkData | None, report_notes: Sequence[str]) -> list[str]:
    notes = list(report_notes)
    for f in after.files:
        if f.bytes is not None and not f.reproduces:
            notes.append(f"Reloading the {f.format} file did NOT reproduce the shrunk model's outputs "
                         f"(max abs difference {f.max_abs_diff}).")
    sim = after.simulated_quantization or {}
    if sim.get("message"):
        notes.append(str(sim["message"]))
    chance = chance_note(before.score, data)
    if chance:
        notes.append(chance)
    return notes


def chance_note(score: float | None, data: ShrinkData | None) -> str | None:
    """A warning when the original's score is near chance (below 1.5 / classes): its changes are noise."""
    classes = data.classes if data is not None else 0
    if score is not None and classes > 1 and score < 1.5 / classes:
        return (f"The original model scores {score:.3f}, near chance for {classes} classes: it looks "
                "untrained, so score changes say little. Train it first (CLI: --train-epochs).")
    return None

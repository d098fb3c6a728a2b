"""The recipe contract: a recipe stores its parameters as given and checks them in ``apply``.

scikit-learn's estimator contract, applied to shrinking: ``MagnitudePrune(amount=1.5)`` builds
fine and fails in ``apply`` with ``The 'amount' option of the 'prune' recipe must be …``, so
recipes can be built from a spec string, listed, copied and compared before any work runs.

``apply(model, context)`` receives a private copy of the model (the runner copies it, so a
recipe may change it in place) and returns a :class:`Shrunk`: the shrunk model, the savers
that write it in the technique's own format, and JSON-ready details (sparsity reached, the
channel → parameter ratio, the alone-trained student's accuracy …). A :class:`Chain` runs
recipes one after another. Nothing here knows a framework: a recipe names the framework it
works on, and the runner picks the matching :class:`Backend` (one per framework subpackage:
PyTorch, Keras, scikit-learn, XGBoost/LightGBM, ONNX; see :mod:`modelsize.shrink.runner`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from ..core.errors import OptionError, RecipeError
from .protocols import Backend, Metric, Saver

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from .data import ShrinkData


def recipe_error(recipe: str, reason: str, hint: str = "") -> RecipeError:
    """``The 'int8-dynamic' recipe cannot be applied: <reason>. <hint>``."""
    text = f"The {recipe!r} recipe cannot be applied: {reason}."
    return RecipeError(f"{text} {hint}".strip())


def recipe_option_error(recipe: str, name: str, allowed: str, got: object) -> OptionError:
    """The one option-error template, naming the recipe the option belongs to."""
    return OptionError(f"The {name!r} option of the {recipe!r} recipe must be {allowed}. Got {got!r}.")


# --------------------------------------------------------------------------- option checks


def check_number(recipe: str, name: str, value: Any, low: float, high: float,
                 *, low_open: bool = False, high_open: bool = False) -> float:
    """A real number in the interval; bools are refused (``True`` is not an amount)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok:
        above = value > low if low_open else value >= low
        below = value < high if high_open else value <= high
        ok = above and below
    if not ok:
        left, right = ("(" if low_open else "["), (")" if high_open else "]")
        raise recipe_option_error(recipe, name, f"a number in {left}{low:g}, {high:g}{right}", value)
    return float(value)


def check_int(recipe: str, name: str, value: Any, low: int) -> int:
    """An integer >= ``low``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise recipe_option_error(recipe, name, f"an integer >= {low}", value)
    return value


def check_choice(recipe: str, name: str, value: Any, choices: Sequence[str]) -> str:
    """One of ``choices`` (exact, case-sensitive: specs are lower-case)."""
    if not isinstance(value, str) or value not in choices:
        raise recipe_option_error(recipe, name, "one of " + ", ".join(repr(c) for c in choices), value)
    return value


def check_names(recipe: str, name: str, value: Any) -> tuple[str, ...]:
    """A tuple (or list) of strings; a single string is one name."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise recipe_option_error(recipe, name, "a sequence of names", value)


# --------------------------------------------------------------------------- context and outcome


@dataclass(frozen=True)
class ShrinkContext:
    """What a recipe may use besides the model: data, the metric, the seed, the original.

    ``score(model)`` evaluates a model on the evaluation split with the run's metric (``None``
    when there is no evaluation data); recipes that train a second model (distillation's
    alone-trained student) use it so both numbers come from the same data and metric.
    """

    backend: "Backend"
    data: "ShrinkData | None" = None
    metric: Metric | None = None
    seed: int = 0
    original: Any = None
    example: "np.ndarray | None" = None

    def score(self, model: Any) -> float | None:
        """The metric on the evaluation split, or ``None`` without evaluation data."""
        from .evaluate import score

        if self.data is None or self.data.test is None:
            return None
        return score(self.backend, model, self.data.test, self.metric)

    def example_batch(self, n: int = 8) -> "np.ndarray | None":
        """A few real inputs (for tracing a graph), from the data or the given example."""
        if self.data is not None:
            for split in (self.data.train, self.data.val, self.data.test):
                if split is not None and len(split.X):
                    return split.X[:n]
        return self.example


@dataclass
class Shrunk:
    """What a recipe returns.

    ``savers`` write the model in the technique's own format (sparse bitmask, packed int4,
    shape-carrying state dict); ``primary`` names the saver whose file is "the saved model" in
    the before/after comparison (``None``: the framework's usual format). ``details`` are
    JSON-ready facts for the report; ``artifacts`` are objects for the caller that do not go
    into JSON (distillation's alone-trained student).
    """

    model: Any
    savers: tuple["Saver", ...] = ()
    primary: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    artifacts: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- protocols


@runtime_checkable
class Recipe(Protocol):
    """A shrinking technique: parameters as given, checked in :meth:`apply`."""

    #: spec name (``"prune"``, ``"int8-dynamic"``)
    name: ClassVar[str]
    #: framework it works on: the name of a registered shrink backend (``"pytorch"``,
    #: ``"keras"``, ``"sklearn"``, ``"boosting"``, ``"onnx"``)
    framework: ClassVar[str]

    def get_params(self) -> dict[str, Any]: ...

    def apply(self, model: Any, context: ShrinkContext) -> Shrunk: ...


class RecipeBase:
    """Shared behaviour of dataclass recipes: parameters, a readable description.

    A subclass sets ``name`` (its spec name) and ``framework`` (the backend it works on); there
    is no default framework, so a recipe that forgets it fails loudly instead of being run as
    PyTorch.
    """

    name: ClassVar[str] = "recipe"
    framework: ClassVar[str]

    def get_params(self) -> dict[str, Any]:
        """The parameters exactly as given (models and callables kept as objects)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    def describe(self) -> str:
        """``prune(amount=0.8, scope='global')``: only parameters that differ from the default."""
        parts = []
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            default = f.default if f.default is not dataclasses.MISSING else (
                f.default_factory() if f.default_factory is not dataclasses.MISSING else dataclasses.MISSING)
            if default is dataclasses.MISSING or not _same(value, default):
                parts.append(f"{f.name}={_short(value)}")
        return f"{self.name}({', '.join(parts)})" if parts else self.name


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b) and type(a) is type(b)
    except Exception:  # noqa: BLE001 - e.g. comparing tensors; treat as different
        return False


def _short(value: Any) -> str:
    if isinstance(value, (str, int, float, bool, tuple, list)) or value is None:
        return repr(value)
    return type(value).__name__


def describe(recipe: Any) -> str:
    """A recipe's description (``describe()`` when it has one, else its name)."""
    method = getattr(recipe, "describe", None)
    return str(method()) if callable(method) else str(getattr(recipe, "name", type(recipe).__name__))


def techniques(recipe: Any) -> tuple[str, ...]:
    """The spec names a recipe (or chain) is made of."""
    if isinstance(recipe, Chain):
        return tuple(name for step in recipe.steps for name in techniques(step))
    return (str(getattr(recipe, "name", type(recipe).__name__)),)


@dataclass
class Chain(RecipeBase):
    """Recipes applied one after another (``prune`` then ``int8-dynamic``).

    Savers accumulate (a later saver replaces an earlier one of the same name), the primary
    format is the last one a step named, and details are kept per step.
    """

    steps: Sequence[Any] = ()

    name: ClassVar[str] = "chain"

    @property
    def framework(self) -> str:  # type: ignore[override]
        names = {getattr(s, "framework", "unknown") for s in self.steps}
        return names.pop() if len(names) == 1 else "mixed"

    def describe(self) -> str:
        return " + ".join(describe(step) for step in self.steps)

    def apply(self, model: Any, context: ShrinkContext) -> Shrunk:
        steps = list(self.steps) if isinstance(self.steps, (list, tuple)) else None
        if not steps or not all(isinstance(s, Recipe) for s in steps):
            raise recipe_option_error(self.name, "steps", "a non-empty sequence of recipes", self.steps)
        savers: dict[str, Saver] = {}
        primary: str | None = None
        details: dict[str, Any] = {}
        notes: list[str] = []
        artifacts: dict[str, Any] = {}
        for index, step in enumerate(steps):
            out = step.apply(model, context)
            model = out.model
            for saver in out.savers:
                savers[saver.name] = saver
            primary = out.primary or primary
            details[f"{index + 1}:{step.name}"] = out.details
            notes.extend(out.notes)
            artifacts.update(out.artifacts)
        return Shrunk(model, tuple(savers.values()), primary, {"steps": details}, tuple(notes), artifacts)

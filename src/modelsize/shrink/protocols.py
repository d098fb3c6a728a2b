"""What the shrink runner needs from a framework (:class:`Backend`) and a file format (:class:`Saver`).

These types sit below the recipe contract (:mod:`.base`), the evaluation (:mod:`.evaluate`) and
the savers' round trip (:mod:`.savers`), which all use them; this module imports nothing else of
``modelsize.shrink`` at run time, so every arrow between them points down.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ContextManager, Protocol, runtime_checkable

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from ..core.report import Report
    from .data import Split

#: ``metric(y_true, scores) -> float`` on NumPy arrays
Metric = Callable[["np.ndarray", "np.ndarray"], float]


@runtime_checkable
class Saver(Protocol):
    """Writes a model to one file and reads it back (the round trip the result checks)."""

    #: label in the report, e.g. ``"sparse bitmask (safetensors)"``
    name: str
    #: file name suffix, e.g. ``".safetensors"``
    suffix: str
    #: what the loader fills: ``"shrunk"`` (a copy of the shrunk model with every value wiped)
    #: or ``"original"`` (the original architecture: the file must carry the new shapes)
    loads_into: str

    def check(self, model: Any) -> str | None:
        """Why this model cannot be written in this format, or ``None`` when it can."""
        ...

    def save(self, model: Any, path: Any) -> None: ...

    def load(self, path: Any, like: Any) -> Any:
        """Read the file into ``like`` (a wiped model of the right architecture) and return it."""
        ...


class Backend(Protocol):
    """Everything the runner needs from a framework: copy, run, measure, time, save."""

    name: str

    def can_handle(self, model: Any) -> bool: ...

    def copy(self, model: Any) -> Any: ...

    def wiped_copy(self, model: Any) -> Any:
        """A copy whose values are all overwritten (NaN), so a load that misses one shows."""
        ...

    def predict(self, model: Any, X: "np.ndarray") -> "np.ndarray": ...

    def latency_ns(self, model: Any, x: "np.ndarray", runs: int, warmup: int) -> dict[str, Any]: ...

    def measure(self, model: Any) -> "Report": ...

    def default_savers(self) -> tuple[Saver, ...]: ...

    def threads(self, count: int | None) -> ContextManager[None]:
        """Run with ``count`` threads (``None``: as configured); restored afterwards."""
        ...

    def fit(self, model: Any, train: "Split", val: "Split | None", epochs: int, seed: int) -> dict[str, Any]: ...

    # Sweeps (``modelsize.factors.training``) train and predict through the same backend; a
    # backend of a framework sweeps do not build (ONNX) leaves these two out.

    def train(self, model: Any, data: Any, fit: Any, seed: int) -> dict[str, Any]:
        """Train as a sweep's ``FitConfig`` says on ``data.X_train``/``data.y_train``; returns
        what happened (``epochs_run``, ``final_loss``, ``stopped_early``; empty when not applicable)."""
        ...

    def predict_target(self, model: Any, X: "np.ndarray", task: str) -> "np.ndarray":
        """Labels (``task="classification"``) or values for rows of features."""
        ...

    def simulated_quantization(self, model: Any) -> dict[str, Any] | None:
        """What shows the model only *simulates* quantization (fake-quant modules, float weights
        on an integer grid), JSON-ready with a ``message``; ``None`` where the framework has no check."""
        ...

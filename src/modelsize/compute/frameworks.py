"""Which framework's profiler handles a model: one registry entry per framework.

Each entry is a small class with ``name``, ``can_handle(model)`` (checks ``sys.modules`` only,
never imports a framework) and ``profile(model, inputs, options)``. The first entry that
answers yes runs; other packages add profilers through the ``modelsize.profilers`` entry-point
group (tried after these).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core import optional
from ..frameworks import view

if TYPE_CHECKING:  # pragma: no cover
    from .options import ComputeOptions
    from .result import ComputeProfile

#: framework id -> profiler, a view of :data:`modelsize.frameworks.FRAMEWORKS` (its order:
#: Keras before PyTorch, a Keras 3 model on the torch backend is an nn.Module).
PROFILERS = view("compute profiler", "profiler", group="modelsize.profilers", instantiate=True)


def is_keras(model: Any) -> bool:
    """A Keras 3 or tf_keras model (without importing either)."""
    keras = optional.loaded("keras")
    tf_keras = optional.loaded("tf_keras")
    return any(k is not None and isinstance(model, k.Model) for k in (keras, tf_keras))


class KerasProfiler:
    """Keras models: FLOPs and memory from layer configs and shapes."""

    name = "keras"

    def can_handle(self, model: Any) -> bool:
        return is_keras(model)

    def profile(self, model: Any, inputs: Any, options: "ComputeOptions") -> "ComputeProfile":
        from .keras_flops import profile_keras

        return profile_keras(model, inputs, options)


class TorchProfiler:
    """PyTorch modules: traced on fake tensors."""

    name = "pytorch"

    def can_handle(self, model: Any) -> bool:
        torch = optional.loaded("torch")
        return torch is not None and isinstance(model, torch.nn.Module)

    def profile(self, model: Any, inputs: Any, options: "ComputeOptions") -> "ComputeProfile":
        from .torch_api import profile_torch

        return profile_torch(model, inputs, options)
